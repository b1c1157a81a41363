"""The engine's own random number generator.

Everything random in numtorch (``randn``, ``nn.init``, dropout masks, a shuffling
``DataLoader``) draws from one generator, so ``manual_seed`` reproduces a whole run;
a :class:`Generator` of its own, where an API takes one, stands apart. The numbers are
not the ones torch draws for the same seed: torch's generator is not NumPy's.
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


class Generator:
    """A generator of its own, for code that must not disturb (or depend on) the global one.

    Like ``torch.Generator``: ``g = numtorch.Generator().manual_seed(42)``, then pass ``generator=g``
    (to a ``DataLoader``, say). Its numbers are NumPy's, not torch's.
    """

    def __init__(self, device="cpu"):
        self.device = device
        self.manual_seed(67280421310721)  # torch.Generator's default seed

    def manual_seed(self, seed):
        self._seed = int(seed)
        self._numpy = np.random.default_rng(self._seed)
        return self

    def initial_seed(self):
        return self._seed


def numpy_generator(generator=None):
    """The NumPy ``Generator`` behind a :class:`Generator`, or the global one if ``generator`` is ``None``."""
    return _generator if generator is None else generator._numpy
