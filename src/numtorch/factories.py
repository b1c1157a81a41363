"""Functions that make a new tensor: from data (``tensor``, ``from_numpy``), filled (``zeros``, ``full``, ...),
ranges (``arange``, ``linspace``) and random (``randn``, ``randint``, ``randperm``, ...)."""
import numpy as np

from .dtypes import default_dtype, float32, int64, scalar_type
from .random import numpy_generator
from .shapes import new_size, shape_args
from .tensor import Tensor


def tensor(data, dtype=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (floats become float32, integers int64)."""
    if isinstance(data, Tensor):
        data = data.array
    if isinstance(data, np.ndarray) or dtype is not None:
        array = np.array(data, dtype=dtype)
    else:
        array = default_dtype(np.array(data))
    return Tensor._make(array).requires_grad_(requires_grad)


def from_numpy(array):
    """A tensor sharing memory with the NumPy array (same dtype)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor._make(array)


def as_tensor(data, dtype=None):
    """``data`` itself if it is already a tensor of that dtype, else :func:`tensor`."""
    return data if isinstance(data, Tensor) and dtype in (None, data.dtype) else tensor(data, dtype)


def _filled(fill, shape, dtype, requires_grad):
    dtype = float32 if dtype is None else np.dtype(dtype)
    return Tensor._make(np.full(new_size(shape), fill, dtype=dtype)).requires_grad_(requires_grad)


def zeros(*size, dtype=None, requires_grad=False):
    """A tensor of zeros (float32 unless ``dtype`` says otherwise)."""
    if any(n < 0 for n in shape_args(size)):  # torch's zeros words it its own way
        raise RuntimeError("zeros: Dimension size must be non-negative.")
    return _filled(0, size, dtype, requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    """A tensor of ones (float32 unless ``dtype`` says otherwise)."""
    return _filled(1, size, dtype, requires_grad)


def empty(*size, dtype=None, requires_grad=False):
    """Uninitialised in torch; zeros here, so a forgotten initialisation is at least deterministic."""
    return _filled(0, size, dtype, requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    """A tensor of ``size`` filled with ``fill_value``."""
    if dtype is None:
        dtype = default_dtype(np.array(fill_value)).dtype
    return _filled(fill_value, size, dtype, requires_grad)


def zeros_like(input, dtype=None, requires_grad=False):
    """Zeros shaped like ``input``."""
    return _filled(0, input.shape, dtype or input.dtype, requires_grad)


def ones_like(input, dtype=None, requires_grad=False):
    """Ones shaped like ``input``."""
    return _filled(1, input.shape, dtype or input.dtype, requires_grad)


def full_like(input, fill_value, dtype=None, requires_grad=False):
    """A tensor shaped like ``input`` filled with ``fill_value``."""
    return _filled(fill_value, input.shape, dtype or input.dtype, requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """Values from ``start`` to ``end`` (excluded) in steps of ``step``; int64 for integers, float32 otherwise."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    array = np.arange(start, end, step)
    array = default_dtype(array) if dtype is None else array.astype(dtype)
    return Tensor._make(array).requires_grad_(requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` (included)."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    return Tensor._make(np.linspace(start, end, steps, dtype=dtype or float32)).requires_grad_(requires_grad)


# Random values come from numtorch's generator, or from ``generator`` (a numtorch.Generator) where one is given.
def _random_floats(kernel, dtype):
    """Random floats of ``dtype`` (float32 by default); torch has no such kernel for integers or booleans."""
    dtype = float32 if dtype is None else np.dtype(dtype)
    if dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{scalar_type(dtype)}\'')
    return dtype


def randn(*size, generator=None, dtype=None, requires_grad=False):
    """Standard-normal values."""
    dtype = _random_floats("normal_kernel_cpu", dtype)
    array = numpy_generator(generator).standard_normal(new_size(size), dtype=np.float32).astype(dtype)
    return Tensor._make(array).requires_grad_(requires_grad)


def rand(*size, generator=None, dtype=None, requires_grad=False):
    """Uniform values in [0, 1)."""
    dtype = _random_floats("check_uniform_bounds", dtype)
    array = numpy_generator(generator).random(new_size(size), dtype=np.float32).astype(dtype)
    return Tensor._make(array).requires_grad_(requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None):
    """Integers in ``[low, high)`` of shape ``size``: ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None:  # randint(high, size): torch's signature has an optional first argument
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=size)
        low, high = 0, low
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint() expected size to be a tuple of ints, but got {type(size).__name__}")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return Tensor._make(numpy_generator(generator).integers(low, high, size=new_size(size), dtype=dtype or int64))


def randperm(n, *, generator=None, dtype=None):
    """A random permutation of ``0 .. n-1``."""
    new_size((n,))
    return Tensor._make(numpy_generator(generator).permutation(n).astype(dtype or int64))


def randn_like(input, dtype=None, requires_grad=False):
    """Standard-normal values shaped like ``input``."""
    return randn(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)


def rand_like(input, dtype=None, requires_grad=False):
    """Uniform values in [0, 1) shaped like ``input``."""
    return rand(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)
