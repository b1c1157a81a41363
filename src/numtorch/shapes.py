"""Sizes and dimensions: ``numtorch.Size``, the two conventions torch's shape arguments follow, and broadcasting
checked in torch's words."""
import numpy as np

from .dtypes import scalar_type


class Size(tuple):
    """The shape of a tensor: a tuple that prints like torch's."""

    def __repr__(self):
        return f"numtorch.Size({list(self)})"

    def numel(self):
        """The number of elements."""
        return int(np.prod(self, dtype=np.int64))


def dim_index(dim, ndim):
    """``dim`` as an index in ``range(ndim)``; negative counts from the end, as in torch."""
    low, high = -max(ndim, 1), max(ndim, 1) - 1
    if not low <= dim <= high:
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})")
    return dim % max(ndim, 1)


def shape_args(shape):
    """Accept both ``f(2, 3)`` and ``f((2, 3))``, as torch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def new_size(size):
    """A new tensor's size, from ``f(2, 3)`` or ``f((2, 3))``: no dimension may be negative, as in torch."""
    shape = shape_args(size)
    negative = next((n for n in shape if n < 0), None)
    if negative is not None:
        raise RuntimeError(f"Trying to create tensor with negative dimension {negative}: {list(shape)}")
    return shape


def check_broadcast(a, b):
    """Raise torch's error unless shapes ``a`` and ``b`` broadcast together."""
    for i in range(1, min(len(a), len(b)) + 1):
        if a[-i] != b[-i] and 1 not in (a[-i], b[-i]):
            raise RuntimeError(f"The size of tensor a ({a[-i]}) must match the size of tensor b ({b[-i]}) "
                               f"at non-singleton dimension {max(len(a), len(b)) - i}")


def expanded_size(shape, sizes, dtype):
    """``sizes`` with each -1 replaced by the size it keeps, after checking, as torch does, that a tensor of
    ``shape`` and ``dtype`` can be expanded (broadcast) to it."""
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand(torch.{scalar_type(dtype)}Tensor{{{list(shape)}}}, size={list(sizes)}): the number "
                           f"of sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions in "
                           f"the tensor ({len(shape)})")
    offset = len(sizes) - len(shape)
    for i, n in enumerate(shape):
        target = sizes[offset + i]
        if target != -1 and n != 1 and n != target:
            raise RuntimeError(f"The expanded size of the tensor ({target}) must match the existing size ({n}) at "
                               f"non-singleton dimension {offset + i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                               f"{list(shape)}")
    leading = next((i for i in range(offset) if sizes[i] == -1), None)
    if leading is not None:
        raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension "
                           f"{leading}")
    return tuple(shape[i - offset] if n == -1 and i >= offset else n for i, n in enumerate(sizes))


def check_assignable(shape, target, dtype, advanced):
    """Raise torch's error unless a value of ``shape`` can be assigned to the ``target``-shaped result of indexing
    (``advanced``: with an integer or boolean array)."""
    stripped = shape
    while len(stripped) > len(target) and stripped[0] == 1:  # leading dimensions of size 1 are dropped, as in torch
        stripped = stripped[1:]
    if not advanced:
        expanded_size(stripped, target, dtype)
        return
    try:
        if np.broadcast_shapes(stripped, target) == tuple(target):
            return
    except ValueError:
        pass
    raise RuntimeError(f"shape mismatch: value tensor of shape {list(shape)} cannot be broadcast to indexing "
                       f"result of shape {list(target)}")
