"""The engine's own random number generator.

Everything random in numtorch (``randn``, ``nn.init``, dropout masks) draws from
one generator, so ``manual_seed`` reproduces a whole run. The numbers are not
the ones torch draws for the same seed: torch's generator is not NumPy's.
"""
import numpy as np

_generator = np.random.default_rng(0)
_seed = 0


def manual_seed(seed):
    """Reset the generator so that what follows is reproducible."""
    global _generator, _seed
    _seed = int(seed)
    _generator = np.random.default_rng(_seed)
    return _seed


def initial_seed():
    """The seed last given to :func:`manual_seed` (0 at start)."""
    return _seed


def generator():
    """The current NumPy ``Generator`` (changes on every ``manual_seed``)."""
    return _generator
