"""The differentiable primitives behind Tensor's methods and operators: one Function per operation.

``forward`` works on NumPy arrays; ``backward`` maps the output's gradient to each input's.
Broadcasting is undone by the engine (:func:`numtorch.autograd.backward`), so the binary
operations here return gradients in the broadcast shape. A gradient that costs more than a
sign change is computed only where ``ctx.needs_input_grad`` asks for it. Each saves what torch's
saves, and no more (a product saves each operand only for the other's gradient), even an input its
backward does not read: a backward after a saved input or output was changed in place is refused,
and one after an unsaved one was changed is allowed, as in torch
(:meth:`numtorch.autograd.Context.save_for_backward`).
"""
import math

import numpy as np

from .autograd import Function
from .blas import matmul


class Add(Function):
    name = "AddBackward0"

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    name = "SubBackward0"

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, -g


class Rsub(Function):
    """``b - a``: what ``1 - x`` computes (not ``-(x - 1)``, which prints ``-0.``)."""

    name = "RsubBackward1"

    @staticmethod
    def forward(ctx, a, b):
        return b - a

    @staticmethod
    def backward(ctx, g):
        return -g, g


class Mul(Function):
    name = "MulBackward0"

    @staticmethod
    def forward(ctx, a, b):
        _save_each_for_the_other(ctx, a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return (g * b if ctx.needs_input_grad[0] else None), (g * a if ctx.needs_input_grad[1] else None)


def _save_each_for_the_other(ctx, a, b):
    """Save, as torch does for a product, each operand only where the other's gradient needs it (``None`` stands
    for one not saved), so that overwriting an operand that was not saved is allowed, as in torch."""
    need_a, need_b = ctx.needs_input_grad
    ctx.save_for_backward(a if need_b else None, b if need_a else None)


class Div(Function):
    name = "DivBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)  # a only for the divisor's gradient
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return (g / b if ctx.needs_input_grad[0] else None), (-g * a / (b * b) if ctx.needs_input_grad[1] else None)


class Remainder(Function):
    """``a % b`` with the sign of ``b``, as Python's ``%`` (C's ``fmod`` keeps the sign of ``a``)."""

    name = "RemainderBackward0"

    @staticmethod
    def forward(ctx, a, b, by_tensor=True):
        _refuse_integer_division(a, b, "remainder_cpu")
        if by_tensor:
            ctx.name = "RemainderBackward1"  # torch's overload for a tensor divisor
        if ctx.needs_input_grad[1]:  # only the divisor's gradient needs values: saved, as torch saves them, for it
            ctx.save_for_backward(a, b)
        return np.remainder(a, b)

    @staticmethod
    def backward(ctx, g):
        return g, (-g * np.floor_divide(*ctx.saved) if ctx.needs_input_grad[1] else None)


class FloorDivide(Function):
    """``a // b``: the quotient rounded down, as Python's ``//``. torch has no gradient for it: its output records an
    operation whose backward raises."""

    name = "NotImplemented"

    @staticmethod
    def forward(ctx, a, b):
        _refuse_integer_division(a, b, "div_floor_cpu")
        with np.errstate(divide="ignore", invalid="ignore"):  # x // 0.0 is inf or nan, as in torch, without a warning
            return np.floor_divide(a, b)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


def _refuse_integer_division(a, b, kernel):
    """torch's refusals of a division whose result is an integer: by zero (NumPy would warn and give 0), and of
    two booleans (``kernel`` is the name torch's error gives it). A floating-point one gives inf or nan."""
    np.broadcast_shapes(a.shape, b.shape)  # shapes that do not broadcast are refused first, as in torch
    kind = np.result_type(a, b).kind
    if kind == "b":
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')
    if kind in "iu" and not b.all():
        raise RuntimeError("ZeroDivisionError")


class Pow(Function):
    name = "PowBackward0"

    @staticmethod
    def forward(ctx, a, b):
        out = _integer_power(a, b) if np.result_type(a, b).kind in "biu" else a ** b
        ctx.save_for_backward(a, b, out if ctx.needs_input_grad[1] else None)  # out only for the exponent's gradient
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved
        grad_b = None
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_b = np.where(a > 0, g * out * np.log(np.where(a > 0, a, 1)), 0).astype(out.dtype)
        grad_a = g * b * a ** (b - 1) if ctx.needs_input_grad[0] else None
        return grad_a, grad_b


def _integer_power(a, b):
    """``a ** b`` for integers as torch computes it: a negative exponent (which NumPy refuses) gives the integer part
    of the true power, 0 unless the base is 1 or -1."""
    if not np.any(b < 0):
        return a ** b
    a, b = np.broadcast_arrays(a.astype(np.int64), b.astype(np.int64))
    odd = b % 2 == 1
    negative_exponent = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0))
    return np.where(b < 0, negative_exponent, a ** np.maximum(b, 0))


class Neg(Function):
    name = "NegBackward0"

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class MatMul(Function):
    name = "MatMulBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.ndims = a.ndim, b.ndim
        _save_each_for_the_other(ctx, a, b)
        return matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        (a_ndim, b_ndim), (need_a, need_b) = ctx.ndims, ctx.needs_input_grad
        if a_ndim == 1 and b_ndim == 1:  # a dot product: g is a scalar
            return (g * b if need_a else None), (g * a if need_b else None)  # cheap: two vectors
        # Treat vectors as 1-row / 1-column matrices, then drop that axis again.
        g2 = g
        if a_ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b_ndim == 1:
            g2 = np.expand_dims(g2, -1)
        ga = gb = None
        if need_a:
            ga = matmul(g2, np.swapaxes(b[:, None] if b_ndim == 1 else b, -1, -2))
            ga = ga[..., 0, :] if a_ndim == 1 else ga
        if need_b:
            gb = matmul(np.swapaxes(a[None, :] if a_ndim == 1 else a, -1, -2), g2)
            gb = gb[..., 0] if b_ndim == 1 else gb
        return ga, gb


class Exp(Function):
    name = "ExpBackward0"

    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved[0]


class Log(Function):
    name = "LogBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, g):
        return g / ctx.saved[0]


class Sqrt(Function):
    name = "SqrtBackward0"

    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return g / (2 * ctx.saved[0])


class Abs(Function):
    name = "AbsBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        return g * np.sign(ctx.saved[0])


class Relu(Function):
    name = "ReluBackward0"

    @staticmethod
    def forward(ctx, a):
        out = np.maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return g * (ctx.saved[0] > 0)


class Tanh(Function):
    name = "TanhBackward0"

    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return g * (1 - ctx.saved[0] ** 2)


class Sigmoid(Function):
    name = "SigmoidBackward0"

    @staticmethod
    def forward(ctx, a):
        out = np.exp(-np.logaddexp(0, -a)).astype(a.dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        s = ctx.saved[0]
        return g * s * (1 - s)


class Clamp(Function):
    name = "ClampBackward1"  # torch's for bounds that are numbers

    @staticmethod
    def forward(ctx, a, min=None, max=None):
        ctx.save_for_backward(a)
        ctx.bounds = (min, max)
        return np.clip(a, min, max)

    @staticmethod
    def backward(ctx, g):
        (a,), (lo, hi) = ctx.saved, ctx.bounds
        inside = np.ones(a.shape, dtype=bool)
        if lo is not None:
            inside &= a >= lo
        if hi is not None:
            inside &= a <= hi
        return g * inside


def _restore_reduced(g, ctx):
    """The gradient of a reduction over ``ctx.dim``, with the reduced dimensions back (size 1) so it broadcasts."""
    return np.expand_dims(g, ctx.dim) if ctx.dim is not None and not ctx.keepdim else g


class Sum(Function):
    name = "SumBackward0"

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        ctx.shape, ctx.dim, ctx.keepdim = a.shape, dim, keepdim
        if dim is not None:
            ctx.name = "SumBackward1"  # torch's overload with a dim
        return np.asarray(a.sum(axis=dim, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        return np.broadcast_to(_restore_reduced(g, ctx), ctx.shape)


class Mean(Function):
    name = "MeanBackward0"

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False):
        ctx.shape, ctx.dim, ctx.keepdim = a.shape, dim, keepdim
        if dim is not None:
            ctx.name = "MeanBackward1"  # torch's overload with a dim
        out = np.asarray(a.mean(axis=dim, keepdims=keepdim), dtype=a.dtype)
        ctx.count = a.size // max(out.size, 1)
        return out

    @staticmethod
    def backward(ctx, g):
        return np.broadcast_to(_restore_reduced(g, ctx) / ctx.count, ctx.shape)


class Var(Function):
    name = "VarBackward0"

    @staticmethod
    def forward(ctx, a, dim=None, correction=1, keepdim=False):
        mean = a.mean(axis=dim, keepdims=True)
        n = math.prod(a.shape[axis] for axis in (range(a.ndim) if dim is None else np.atleast_1d(dim)))
        ctx.save_for_backward(a - mean, a)  # a unread: saved as torch saves it
        ctx.dim, ctx.keepdim, ctx.denom = dim, keepdim, max(n - correction, 0)
        return np.asarray(np.sum((a - mean) ** 2, axis=dim, keepdims=keepdim) / ctx.denom, dtype=a.dtype)

    @staticmethod
    def backward(ctx, g):
        centered, _ = ctx.saved
        return _restore_reduced(g, ctx) * 2 * centered / ctx.denom


class Max(Function):
    """Maximum (or, with ``smallest``, minimum) over all elements (ties share the gradient) or along
    ``dim``, where the first arg-max gets it: ``indices``, which the caller computed (it returns them too)."""

    name = "MaxBackward1"

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, smallest=False, indices=None):
        ctx.shape, ctx.dim, ctx.keepdim = a.shape, dim, keepdim
        # torch's names: MaxBackward1 over everything, MaxBackward0 along a dim; likewise Min.
        ctx.name = ("MinBackward" if smallest else "MaxBackward") + ("1" if dim is None else "0")
        if dim is None:
            out = np.asarray(a.min() if smallest else a.max())
            ctx.save_for_backward(a == out, a, out)  # a and out unread: saved as torch saves them
            return out
        ctx.save_for_backward(indices)  # as torch does: a second backward finds them freed
        out = np.take_along_axis(a, np.expand_dims(indices, dim), dim)
        return out if keepdim else out.squeeze(dim)

    @staticmethod
    def backward(ctx, g):
        if ctx.dim is None:
            mask, _, _ = ctx.saved
            return mask * (g / mask.sum())
        (indices,) = ctx.saved
        grad = np.zeros(ctx.shape, dtype=g.dtype)
        np.put_along_axis(grad, np.expand_dims(indices, ctx.dim), _restore_reduced(g, ctx), ctx.dim)
        return grad


class Maximum(Function):
    """Elementwise maximum (or, with ``smallest``, minimum); where the two are equal, each gets half the
    gradient, as in torch."""

    name = "MaximumBackward0"

    @staticmethod
    def forward(ctx, a, b, smallest=False):
        ctx.save_for_backward(a, b)
        ctx.smallest = smallest
        if smallest:
            ctx.name = "MinimumBackward0"
        return np.minimum(a, b) if smallest else np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        grad_a = np.where(a < b if ctx.smallest else a > b, g, np.where(a == b, g / 2, 0))
        return grad_a, (g - grad_a if ctx.needs_input_grad[1] else None)


class Where(Function):
    name = "WhereBackward0"

    @staticmethod
    def forward(ctx, a, b, condition):
        ctx.save_for_backward(condition)
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx, g):
        (condition,), (need_a, need_b) = ctx.saved, ctx.needs_input_grad
        return (np.where(condition, g, 0) if need_a else None), (np.where(condition, 0, g) if need_b else None)


class Reshape(Function):
    name = "ReshapeBackward0"

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Permute(Function):
    name = "PermuteBackward0"

    @staticmethod
    def forward(ctx, a, dims, name="PermuteBackward0"):
        ctx.dims, ctx.name = dims, name  # torch's names: TransposeBackward0 for transpose, TBackward0 for t
        return a.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(np.argsort(ctx.dims))


def index_arrays(index):
    """The parts of an index that are integer or boolean arrays (or lists): an "advanced" index has some, and selects
    copies where slices and integers select a view."""
    return [part for part in (index if isinstance(index, tuple) else (index,))
            if isinstance(part, list) or np.ndim(part) > 0]


class GetItem(Function):
    name = "GetItemBackward0"

    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        # torch saves the indices of an advanced (array) index, so a second backward finds them freed; a slice's
        # gradient needs nothing saved
        ctx.save_for_backward(*index_arrays(index))
        return np.asarray(a[index])

    @staticmethod
    def backward(ctx, g):
        grad = np.zeros(ctx.shape, dtype=ctx.dtype)
        np.add.at(grad, ctx.index, g)  # add.at, not +=, so repeated indices accumulate
        return grad


class IndexPut(Function):
    """``a`` with ``a[index] = value``: item assignment, recorded. The assigned elements' gradient goes to ``value``;
    the others' to ``a``."""

    name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, a, value, index):
        if not index_arrays(index):
            ctx.name = "CopySlices"  # torch's name for writing through a view
        ctx.index = index
        out = a.copy()
        out[index] = value
        return out

    @staticmethod
    def backward(ctx, g):
        grad_a = None
        if ctx.needs_input_grad[0]:
            grad_a = g.copy()
            grad_a[ctx.index] = 0
        return grad_a, (g[ctx.index] if ctx.needs_input_grad[1] else None)


class Overwrite(Function):
    """What an in-place fill, copy or random draw leaves in a tensor whose history needed gradients: ``values``,
    which depend on none of ``a``'s (so ``a``'s history gets zeros)."""

    name = "CopyBackwards"

    @staticmethod
    def forward(ctx, a, values, name):
        ctx.name = name
        return values

    @staticmethod
    def backward(ctx, g):
        return (np.zeros_like(g) if ctx.needs_input_grad[0] else None), g


class CopySlices(Function):
    """The base of a view that an in-place operation changed: ``a`` whose elements at the flat positions
    ``positions`` (an array of the view's shape) now hold ``result``. Called once those are written, so ``forward``
    writes nothing; the gradient of those elements goes to ``result``, the others' to ``a``."""

    name = "CopySlices"

    @staticmethod
    def forward(ctx, a, result, positions):
        ctx.positions = positions
        return a

    @staticmethod
    def backward(ctx, g):
        grad_a = None
        if ctx.needs_input_grad[0]:
            grad_a = g.copy()
            np.put(grad_a, ctx.positions, 0)
        return grad_a, (g.reshape(-1)[ctx.positions] if ctx.needs_input_grad[1] else None)


class AsStrided(Function):
    """The elements of ``a`` at the flat positions ``positions`` (no position twice), in their shape: how a view
    whose memory was changed in place reads its base (see ``Tensor._catch_up``)."""

    name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, a, positions):
        ctx.shape, ctx.positions = a.shape, positions
        return a.reshape(-1)[positions]

    @staticmethod
    def backward(ctx, g):
        grad = np.zeros(ctx.shape, dtype=g.dtype)
        grad.reshape(-1)[ctx.positions] = g
        return grad


class Cat(Function):
    name = "CatBackward0"

    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim = dim
        ctx.splits = np.cumsum([a.shape[dim] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.split(g, ctx.splits, axis=ctx.dim))


class Stack(Function):
    name = "StackBackward0"

    @staticmethod
    def forward(ctx, *arrays, dim=0):
        ctx.dim = dim
        return np.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return tuple(np.moveaxis(g, ctx.dim, 0))


class Cast(Function):
    """A copy converted to ``dtype`` (the same dtype for ``clone``); the gradient converts back."""

    name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        if dtype == a.dtype:
            ctx.name = "CloneBackward0"
        return a.astype(dtype, copy=True)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.dtype)
