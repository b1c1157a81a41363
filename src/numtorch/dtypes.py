"""dtypes and torch's type promotion.

numtorch's dtypes are NumPy's. ``numtorch.float``, ``numtorch.int`` and ``numtorch.bool``
(torch's names) are set in ``numtorch/__init__.py`` only: here, and everywhere in the engine,
those names stay Python's builtins and the dtypes are ``float32``, ``int32`` and ``bool_``.
"""
import numbers

import numpy as np

float32 = np.dtype("float32")
float64 = double = np.dtype("float64")
float16 = half = np.dtype("float16")
int64 = long = np.dtype("int64")
int32 = np.dtype("int32")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")

# How torch's errors name a dtype: its ScalarType ("Float") and its C++ type ("float").
_TORCH_NAMES = {float32: ("Float", "float"), float64: ("Double", "double"), float16: ("Half", "c10::Half"),
                int64: ("Long", "long int"), int32: ("Int", "int"), uint8: ("Byte", "unsigned char"),
                bool_: ("Bool", "bool")}


def scalar_type(dtype) -> str:
    """``Float`` for float32: the name torch's errors give a dtype in "expected scalar type Float"."""
    return _TORCH_NAMES.get(np.dtype(dtype), (str(dtype),) * 2)[0]


def c_type(dtype) -> str:
    """``float`` for float32: the name torch's errors give a dtype in "but got: float != double"."""
    return _TORCH_NAMES.get(np.dtype(dtype), (str(dtype),) * 2)[1]


def default_dtype(array):
    """torch's defaults: Python floats become float32, Python ints int64."""
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype.kind in "iu" and array.dtype != np.int64:
        return array.astype(np.int64)
    return array


def _category(dtype):
    return {"b": 0, "i": 1, "u": 1, "f": 2}[dtype.kind]


def promote(dtype, other):
    """torch's type promotion for a binary op between a tensor of ``dtype`` and ``other``: another tensor's
    dtype, or a Python number."""
    if isinstance(other, np.dtype):
        if _category(dtype) == _category(other):
            return np.promote_types(dtype, other)
        return dtype if _category(dtype) > _category(other) else other
    kind = 0 if isinstance(other, bool) else 1 if isinstance(other, numbers.Integral) else 2
    if kind <= _category(dtype):
        return dtype
    return float32 if kind == 2 else int64


def promote_tensors(dtype, ndim, other, other_ndim):
    """torch's promotion between two tensors: beside a tensor with dimensions, a 0-d tensor of the same category
    (boolean, integer or floating point) leaves its dtype alone, as a Python number would."""
    if (ndim == 0) != (other_ndim == 0) and _category(dtype) == _category(other):
        return dtype if other_ndim == 0 else other
    return promote(dtype, other)
