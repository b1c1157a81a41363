"""The engine's own random number generator.

Everything random in numtorch (``randn``, ``nn.init``, dropout masks, a shuffling
``DataLoader``) draws from one generator, so ``manual_seed`` reproduces a whole run;
a :class:`Generator` of its own, where an API takes one, stands apart. The numbers are
not the ones torch draws for the same seed: torch's generator is not NumPy's.
"""
import numpy as np

_STATE_BYTES = 48  # PCG64's 128-bit state and increment, its buffered 32-bit half-draw, and the seed

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


def get_rng_state():
    """The global generator's state, as a ``uint8`` tensor for :func:`set_rng_state`.

    As in torch, a tensor of bytes; what the bytes hold is numtorch's own (NumPy's PCG64 state and
    the seed), so a state from torch does not load here, nor this one into torch.
    """
    return _pack(_generator, _seed)


def set_rng_state(new_state):
    """Put the global generator back in the state :func:`get_rng_state` returned: the draws that followed it
    (``randn``, dropout masks, a ``DataLoader``'s shuffles) come again."""
    global _seed
    _seed = _unpack(new_state, _generator, "numtorch.set_rng_state")


def _pack(numpy_generator, seed):
    state = numpy_generator.bit_generator.state
    data = (state["state"]["state"].to_bytes(16, "little") + state["state"]["inc"].to_bytes(16, "little")
            + state["has_uint32"].to_bytes(4, "little") + state["uinteger"].to_bytes(4, "little")
            + seed.to_bytes(8, "little"))
    from .tensor import Tensor  # the tensor module imports this one

    return Tensor._make(np.frombuffer(data, dtype=np.uint8).copy())


def _unpack(new_state, numpy_generator, who):
    """Write a packed state into ``numpy_generator``; return the seed it carries."""
    array = getattr(new_state, "array", None)
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.shape != (_STATE_BYTES,):
        got = (f"dtype {array.dtype} and shape {tuple(array.shape)}" if isinstance(array, np.ndarray)
               else type(new_state).__name__)
        raise RuntimeError(f"{who} expects the uint8 tensor of {_STATE_BYTES} bytes that numtorch's get_rng_state "
                           f"or get_state returned, but got {got}")
    data = array.tobytes()
    numpy_generator.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": int.from_bytes(data[:16], "little"), "inc": int.from_bytes(data[16:32], "little")},
        "has_uint32": int.from_bytes(data[32:36], "little"), "uinteger": int.from_bytes(data[36:40], "little")}
    return int.from_bytes(data[40:], "little")


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

    def get_state(self):
        """This generator's state, as a ``uint8`` tensor for :meth:`set_state` (numtorch's own bytes, as
        :func:`get_rng_state`'s are)."""
        return _pack(self._numpy, self._seed)

    def set_state(self, new_state):
        """Put this generator back in the state :meth:`get_state` returned; returns the generator."""
        self._seed = _unpack(new_state, self._numpy, "Generator.set_state")
        return self


def numpy_generator(generator=None):
    """The NumPy ``Generator`` behind a :class:`Generator`, or the global one if ``generator`` is ``None``."""
    return _generator if generator is None else generator._numpy
