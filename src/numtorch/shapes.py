"""Sizes and dimensions: ``numtorch.Size``, and the two conventions torch's shape arguments follow."""
import numpy as np


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
