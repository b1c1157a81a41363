"""torch's functions over several tensors that are not methods of Tensor: joining (``cat``, ``stack``,
``where``) and comparing (``equal``, ``allclose``)."""
import numpy as np

from . import ops
from .dtypes import promote, promote_tensors
from .factories import tensor
from .shapes import check_broadcast, dim_index
from .tensor import Tensor


def cat(tensors, dim=0):
    """Join tensors along an existing dimension ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    zero_dimensional = next((i for i, t in enumerate(tensors) if t.dim() == 0), None)
    if zero_dimensional is not None:
        raise RuntimeError(f"zero-dimensional tensor (at position {zero_dimensional}) cannot be concatenated")
    dim = dim_index(dim, tensors[0].dim())
    for i, t in enumerate(tensors[1:], start=1):
        if t.dim() != tensors[0].dim():
            raise RuntimeError(f"Tensors must have same number of dimensions: got {tensors[0].dim()} and {t.dim()}")
        for d, (expected, got) in enumerate(zip(tensors[0].shape, t.shape)):
            if d != dim and expected != got:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. "
                                   f"Expected size {expected} but got size {got} for tensor number {i} in the list.")
    return ops.Cat.apply(*_promoted(tensors), dim=dim)


def _promoted(tensors):
    """The tensors in the dtype torch's promotion gives them together (int64 and float32 make float32)."""
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = promote(dtype, t.dtype)
    return [t.type(dtype) for t in tensors]


concat = cat


def stack(tensors, dim=0):
    """Join equal-shaped tensors along a new dimension ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    other = next((i for i, t in enumerate(tensors) if t.shape != tensors[0].shape), None)
    if other is not None:
        raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at entry 0 "
                           f"and {list(tensors[other].shape)} at entry {other}")
    return ops.Stack.apply(*_promoted(tensors), dim=dim_index(dim, tensors[0].dim() + 1))


def where(condition, input, other):
    """Elementwise ``input if condition else other``; either of them may be a Python number."""
    if not isinstance(input, Tensor):
        input = tensor(input, dtype=other.dtype if isinstance(other, Tensor) else None)
    if isinstance(other, Tensor):
        dtype = promote_tensors(input.dtype, input.dim(), other.dtype, other.dim())
    else:
        dtype = promote(input.dtype, other)
        other = tensor(other, dtype=dtype)
    condition = np.asarray(condition, dtype=np.bool_)
    try:
        out = ops.Where.apply(input, other, condition=condition)
    except ValueError:  # torch's words, if shapes that do not broadcast were the problem
        check_broadcast(condition.shape, input.array.shape)
        check_broadcast(np.broadcast_shapes(condition.shape, input.array.shape), other.array.shape)
        raise
    return out if out.array.dtype == dtype else out.type(dtype)


def equal(input, other):
    """True if both tensors have the same shape and the same elements."""
    return input.shape == other.shape and bool(np.array_equal(input.array, other.array))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if every element of ``input`` is within ``atol + rtol * |other|`` of ``other``."""
    other = np.asarray(other)
    try:
        return bool(np.allclose(input.array, other, rtol=rtol, atol=atol, equal_nan=equal_nan))
    except ValueError:
        check_broadcast(input.array.shape, other.shape)  # torch's words, if that was the problem
        raise


def is_tensor(obj):
    """True for numtorch tensors (and Parameters)."""
    return isinstance(obj, Tensor)
