"""Stateless neural-network operations: every input, weight and buffer is an argument.

Each function here validates its arguments and applies one differentiable
:class:`~numtorch.autograd.Function`. The layers in :mod:`numtorch.nn` own
parameters and buffers and pass them to these functions; they compute nothing
themselves.

Convolution and pooling work on *windows*: ``_windows`` makes a strided view of
shape ``(N, C, kH, kW, OH, OW)`` without copying, convolution turns it into one
matrix (im2col) and multiplies once, pooling reduces over it one kernel offset
at a time.
"""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd import Function
from ..random import generator
from ..tensor import Tensor, int64

__all__ = ["linear", "conv1d", "conv2d", "avg_pool2d", "max_pool2d", "relu", "sigmoid", "tanh",
           "softmax", "log_softmax", "dropout", "batch_norm", "cross_entropy", "nll_loss",
           "mse_loss", "interpolate"]


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _output_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _windows(x, kernel, stride, dilation, out_size):
    """A read-only view of ``x`` (N, C, H, W) with shape (N, C, kH, kW, OH, OW)."""
    n, c, _, _ = x.shape
    s = x.strides
    return as_strided(x, (n, c) + kernel + out_size,
                      (s[0], s[1], s[2] * dilation[0], s[3] * dilation[1], s[2] * stride[0], s[3] * stride[1]),
                      writeable=False)


def _offset_slices(kernel, stride, dilation, out_size):
    """For each kernel offset (i, j): the slice of the padded input that offset reads."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    return [(i, j, (Ellipsis, slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                    slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)))
            for i in range(kh) for j in range(kw)]


def _pad(x, padding, value=0.0):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _unpad(x, padding):
    ph, pw = padding
    return x[..., ph:x.shape[-2] - ph, pw:x.shape[-1] - pw]


def _check_rank(input, ranks, name):
    if input.dim() not in ranks:
        expected = f"{ranks[0]}D (unbatched) or {ranks[1]}D (batched)" if len(ranks) == 2 else f"{ranks[0]}D"
        raise RuntimeError(f"Expected {expected} input to {name}, but got input of size: {list(input.shape)}")


# ----- linear -----------------------------------------------------------------------------------
class _Linear(Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        out = x @ w.T
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        g2, x2 = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
        grad_x = g @ w if ctx.needs_input_grad[0] else None
        return grad_x, g2.T @ x2, g2.sum(axis=0)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``; ``weight`` has shape ``(out_features, in_features)``."""
    if input.dim() == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are 0D and {weight.dim()}D")
    if input.shape[-1] != weight.shape[-1]:
        rows = math.prod(input.shape[:-1])
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
                           f"{weight.shape[-1]}x{weight.shape[0]}): the input has {input.shape[-1]} "
                           f"features but the weight expects in_features={weight.shape[-1]}")
    return _Linear.apply(input, weight, bias)


# ----- convolution ------------------------------------------------------------------------------
class _Conv2d(Function):
    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        n, c, _, _ = x.shape
        out_channels, _, kh, kw = w.shape
        xp = _pad(x, padding)
        out_size = tuple(_output_size(x.shape[2 + d], w.shape[2 + d], stride[d], padding[d], dilation[d])
                         for d in range(2))
        # Channel-major im2col: rows are (channel, kernel offset), columns are (sample, output pixel),
        # so one GEMM per group does the whole batch and the columns serve again for the weight gradient.
        cols = np.ascontiguousarray(_windows(xp, (kh, kw), stride, dilation, out_size).transpose(1, 2, 3, 0, 4, 5))
        cols = cols.reshape(groups, -1, n * out_size[0] * out_size[1])
        w_mat = w.reshape(groups, out_channels // groups, -1)
        out = np.matmul(w_mat, cols).reshape((out_channels, n) + out_size).transpose(1, 0, 2, 3)
        ctx.save_for_backward(cols, w_mat)
        ctx.geometry = (xp.shape, (kh, kw), stride, padding, dilation, out_size, groups)
        result = np.empty(out.shape, dtype=out.dtype)  # back to (N, C, H, W), adding the bias on the way
        if b is None:
            np.copyto(result, out)
            return result
        return np.add(out, b[:, None, None], out=result)

    @staticmethod
    def backward(ctx, g):
        cols, w_mat = ctx.saved
        xp_shape, kernel, stride, padding, dilation, out_size, groups = ctx.geometry
        g_mat = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(groups, w_mat.shape[1], -1)
        # (cols @ g.T).T rather than g @ cols.T: the same product, but BLAS is faster at this shape.
        grad_w = np.matmul(cols, g_mat.transpose(0, 2, 1)).transpose(0, 2, 1)
        grad_w = grad_w.reshape(-1, w_mat.shape[2] // (kernel[0] * kernel[1]), *kernel)
        grad_b = g_mat.sum(axis=2).reshape(-1)
        grad_x = None
        if ctx.needs_input_grad[0]:
            n, c = xp_shape[0], xp_shape[1]
            grad_cols = np.matmul(w_mat.transpose(0, 2, 1), g_mat).reshape((c,) + kernel + (n,) + out_size)
            # Scatter each kernel offset's columns back with one strided add, in (C, N, H, W) layout.
            grad_xp = np.zeros((c, n) + xp_shape[2:], dtype=g.dtype)
            for i, j, where in _offset_slices(kernel, stride, dilation, out_size):
                grad_xp[where] += grad_cols[:, i, j]
            grad_x = _unpad(grad_xp, padding).transpose(1, 0, 2, 3)
        return grad_x, grad_w, grad_b


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of ``input`` (N, C_in, H, W) with ``weight`` (C_out, C_in/groups, kH, kW)."""
    return _conv(input, weight, bias, _pair(stride), _pair(padding), _pair(dilation), groups, "conv2d")


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of ``input`` (N, C_in, L) with ``weight`` (C_out, C_in/groups, k).

    Computed as a 2-D convolution over a height of one.
    """
    if weight.dim() != 3:
        raise RuntimeError(f"conv1d: expected a 3D weight (out_channels, in_channels/groups, kernel_size), "
                           f"but got weight of size {list(weight.shape)}")
    _check_rank(input, (2, 3), "conv1d")
    if input.dim() == 2:  # unbatched (C, L)
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    _check_channels(input, weight, bias, groups)  # before the shapes gain a height of one
    one = lambda v: v[0] if isinstance(v, (tuple, list)) else v  # noqa: E731
    out = _conv(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, one(stride)), (0, one(padding)),
                (1, one(dilation)), groups, "conv1d")
    return out.squeeze(-2)


def _conv(input, weight, bias, stride, padding, dilation, groups, name):
    _check_rank(input, (3, 4), name)
    if input.dim() == 3:  # unbatched (C, H, W)
        return _conv(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups, name).squeeze(0)
    if weight.dim() != 4:
        raise RuntimeError(f"{name}: expected a 4D weight, but got weight of size {list(weight.shape)}")
    _check_channels(input, weight, bias, groups)
    for d in range(2):
        padded = input.shape[2 + d] + 2 * padding[d]
        if padded < dilation[d] * (weight.shape[2 + d] - 1) + 1:
            raise RuntimeError(f"Calculated padded input size per channel: {padded}. Kernel size: "
                               f"{dilation[d] * (weight.shape[2 + d] - 1) + 1}. Kernel size can't be greater "
                               "than actual input size")
    return _Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def _check_channels(input, weight, bias, groups):
    if input.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {weight.shape[1] * groups} channels, "
                           f"but got {input.shape[1]} channels instead")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {list(weight.shape)} instead")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{weight.shape[0]} elements, but got bias of size {list(bias.shape)} instead")


# ----- pooling ----------------------------------------------------------------------------------
def _pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode, name):
    _check_rank(input, (3, 4), name)
    if ceil_mode:
        raise NotImplementedError(f"{name}: numtorch supports ceil_mode=False only")
    kernel = _pair(kernel_size)
    stride = kernel if stride is None or stride == [] else _pair(stride)
    padding, dilation = _pair(padding), _pair(dilation)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise RuntimeError(f"{name}: pad should be at most half of effective kernel size, "
                           f"but got pad={padding} and kernel_size={kernel}")
    out_size = tuple(_output_size(input.shape[-2 + d], kernel[d], stride[d], padding[d], dilation[d])
                     for d in range(2))
    if min(out_size) < 1:
        raise RuntimeError(f"{name}: given input size {list(input.shape)}, the output size {list(out_size)} is too small")
    return kernel, stride, padding, dilation, out_size


class _MaxPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, out_size):
        xp = _pad(x, padding, -np.inf)
        slices = _offset_slices(kernel, stride, dilation, out_size)
        out = xp[slices[0][2]].copy()
        for _, _, where in slices[1:]:
            np.maximum(out, xp[where], out=out)
        # Which kernel offset held the maximum: the first one, on ties, as in torch.
        winner = np.full(out.shape, len(slices) - 1, dtype=np.uint8)
        for k in range(len(slices) - 2, -1, -1):
            winner = np.where(xp[slices[k][2]] == out, np.uint8(k), winner)
        ctx.save_for_backward(winner)
        # Windows that do not overlap can write their gradient instead of adding it.
        overlap = any(s < k * d for s, k, d in zip(stride, kernel, dilation))
        ctx.geometry = (xp.shape, slices, padding, overlap)
        return out

    @staticmethod
    def backward(ctx, g):
        (winner,), (xp_shape, slices, padding, overlap) = ctx.saved, ctx.geometry
        grad_xp = np.zeros(xp_shape, dtype=g.dtype)
        for k, (_, _, where) in enumerate(slices):
            if overlap:
                grad_xp[where] += np.where(winner == k, g, 0)
            else:
                np.multiply(g, winner == k, out=grad_xp[where])
        return _unpad(grad_xp, padding)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Maximum over each ``kernel_size`` window; ``stride`` defaults to ``kernel_size``."""
    if return_indices:
        raise NotImplementedError("max_pool2d: numtorch does not return indices")
    if input.dim() == 3:  # unbatched (C, H, W)
        return max_pool2d(input.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode).squeeze(0)
    kernel, stride, padding, dilation, out_size = _pool_geometry(
        input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    return _MaxPool2d.apply(input, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                            out_size=out_size)


class _AvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, padding, out_size, count_include_pad, divisor_override):
        xp = _pad(x, padding)
        slices = _offset_slices(kernel, stride, (1, 1), out_size)
        total = np.zeros(x.shape[:-2] + out_size, dtype=x.dtype)
        for _, _, where in slices:
            total += xp[where]
        if divisor_override:
            divisor = np.asarray(divisor_override, dtype=x.dtype)
        elif count_include_pad or padding == (0, 0):
            divisor = np.asarray(kernel[0] * kernel[1], dtype=x.dtype)
        else:  # count only the real (unpadded) pixels of each window
            ones = _pad(np.ones((1, 1) + x.shape[-2:], dtype=x.dtype), padding)
            divisor = sum(ones[where] for _, _, where in slices)
        ctx.geometry = (xp.shape, slices, padding, divisor)
        return total / divisor

    @staticmethod
    def backward(ctx, g):
        xp_shape, slices, padding, divisor = ctx.geometry
        share = g / divisor
        grad_xp = np.zeros(xp_shape, dtype=g.dtype)
        for _, _, where in slices:
            grad_xp[where] += share
        return _unpad(grad_xp, padding)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each ``kernel_size`` window; ``stride`` defaults to ``kernel_size``."""
    if input.dim() == 3:  # unbatched (C, H, W)
        return avg_pool2d(input.unsqueeze(0), kernel_size, stride, padding, ceil_mode, count_include_pad,
                          divisor_override).squeeze(0)
    kernel, stride, padding, _, out_size = _pool_geometry(
        input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    return _AvgPool2d.apply(input, kernel=kernel, stride=stride, padding=padding, out_size=out_size,
                            count_include_pad=count_include_pad, divisor_override=divisor_override)


# ----- activations ----------------------------------------------------------------------------------
def relu(input, inplace=False):
    """``max(input, 0)`` elementwise."""
    out = input.relu()
    return input._assign(out) if inplace else out


def sigmoid(input):
    """``1 / (1 + exp(-input))`` elementwise."""
    return input.sigmoid()


def tanh(input):
    """``tanh(input)`` elementwise."""
    return input.tanh()


def _softmax_dim(input, dim):
    if dim is None:  # torch's legacy implicit choice
        return 0 if input.dim() in (0, 1, 3) else 1
    return dim


class _Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        e = np.exp(x - x.max(axis=dim, keepdims=True))
        out = e / e.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved
        return s * (g - (g * s).sum(axis=ctx.dim, keepdims=True))


class _LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        shifted = x - x.max(axis=dim, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        return g - np.exp(out) * g.sum(axis=ctx.dim, keepdims=True)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``exp(x) / exp(x).sum(dim)``, computed after subtracting the max so it cannot overflow."""
    input = input if dtype is None else input.type(dtype)
    return _Softmax.apply(input, dim=_softmax_dim(input, dim))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``log(softmax(x))`` computed as ``x - logsumexp(x)``: stable where the composition is not."""
    input = input if dtype is None else input.type(dtype)
    return _LogSoftmax.apply(input, dim=_softmax_dim(input, dim))


# ----- dropout ---------------------------------------------------------------------------------------
class _Dropout(Function):
    @staticmethod
    def forward(ctx, x, p):
        # keep with probability 1 - p, and scale what is kept so the expected value is unchanged
        scaled_mask = (generator().random(x.shape, dtype=np.float32) >= p) * np.asarray(1 / (1 - p), x.dtype)
        ctx.save_for_backward(scaled_mask)
        return x * scaled_mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved[0]


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``.

    Note the default ``training=True``: this function knows nothing about any
    module's mode. Inside a Module, pass ``training=self.training``.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    out = input * 0.0 if p == 1.0 else _Dropout.apply(input, p=p)
    return input._assign(out) if inplace else out


# ----- batch normalisation ----------------------------------------------------------------------------
class _BatchNorm(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        n, c = x.shape[:2]
        x3 = x.reshape(n, c, -1)
        if training:
            count = x3.shape[0] * x3.shape[2]
            mean = np.einsum("ncm->c", x3) / count
            xhat = x3 - mean[:, None]  # centred here, scaled to unit variance below
            var = np.einsum("ncm,ncm->c", xhat, xhat) / count
            if running_mean is not None:
                running_mean[...] = (1 - momentum) * running_mean + momentum * mean
            if running_var is not None:  # the unbiased estimate, as torch keeps it
                running_var[...] = (1 - momentum) * running_var + momentum * var * (count / (count - 1))
        else:
            mean, var = running_mean, running_var
            xhat = x3 - mean.astype(x.dtype)[:, None]
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        xhat *= invstd[:, None]
        out = xhat * weight[:, None] if weight is not None else xhat.copy()
        if bias is not None:
            out += bias[:, None]
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.batch_stats = training
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        xhat, invstd, weight = ctx.saved
        n, c = g.shape[:2]
        g3 = g.reshape(n, c, -1)
        grad_bias = np.einsum("ncm->c", g3)
        grad_weight = np.einsum("ncm,ncm->c", g3, xhat)
        scale = invstd if weight is None else invstd * weight
        grad_x = g3 * scale[:, None]
        if ctx.batch_stats:  # the batch's own mean and variance depend on x too
            count = xhat.shape[0] * xhat.shape[2]
            grad_x -= xhat * (grad_weight * scale / count)[:, None]
            grad_x -= (grad_bias * scale / count)[:, None]
        return grad_x.reshape(g.shape), grad_weight, grad_bias


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-05):
    """Normalise each channel (dimension 1) to zero mean and unit variance, then scale and shift.

    In training, the batch's statistics are used and, if given, ``running_mean``
    and ``running_var`` are updated *in place*:
    ``running = (1 - momentum) * running + momentum * batch_statistic``, with the
    unbiased variance. Otherwise the running statistics are used. The function
    has nowhere to keep statistics of its own, which is why the buffers are arguments.
    """
    if input.dim() < 2:
        raise ValueError(f"batch_norm: expected at least 2D input (got {input.dim()}D input)")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    if training and input.numel() // c <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("batch_norm: running_mean and running_var must be given when training=False")
    buffers = [None if t is None else t.array for t in (running_mean, running_var)]
    return _BatchNorm.apply(input, weight, bias, running_mean=buffers[0], running_var=buffers[1],
                            training=training, momentum=momentum, eps=eps)


# ----- losses ------------------------------------------------------------------------------------------
def _reduction(size_average, reduce, reduction):
    """The reduction to apply; torch's deprecated ``size_average`` and ``reduce`` flags win if given."""
    if size_average is not None or reduce is not None:
        reduce = reduce is None or reduce
        return "none" if not reduce else "mean" if size_average is None or size_average else "sum"
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss, reduction):
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


class _NLLLoss(Function):
    @staticmethod
    def forward(ctx, logp, target, class_weight, ignore_index, reduction):
        picked_weight = np.where(target == ignore_index, 0, class_weight[np.where(target == ignore_index, 0, target)])
        picked = np.take_along_axis(logp, np.where(target == ignore_index, 0, target)[:, None], 1)[:, 0]
        losses = -picked * picked_weight
        ctx.shape, ctx.target, ctx.reduction = logp.shape, target, reduction
        ctx.weight = picked_weight / picked_weight.sum() if reduction == "mean" else picked_weight
        if reduction == "none":
            return losses
        return np.asarray(losses.sum() / (picked_weight.sum() if reduction == "mean" else 1), dtype=logp.dtype)

    @staticmethod
    def backward(ctx, g):
        grad = np.zeros(ctx.shape, dtype=g.dtype)
        target = np.where(ctx.weight == 0, 0, ctx.target)
        np.put_along_axis(grad, target[:, None], (-ctx.weight * g)[:, None], 1)
        return grad, None


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of the ``target`` classes, given log-probabilities ``input`` (N, C, ...)."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.dtype != int64:
        raise RuntimeError(f"expected scalar type Long but found {target.dtype}: targets are class indices")
    if input.dim() == 1 and target.dim() == 0:  # unbatched: scores (C,), one class index
        out = nll_loss(input.unsqueeze(0), target.reshape(1), weight, ignore_index=ignore_index, reduction=reduction)
        return out.reshape(()) if reduction == "none" else out
    if input.dim() != target.dim() + 1 or input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0] if target.dim() else 1}) and input of one more dimension than target, "
                         f"but got input {list(input.shape)} and target {list(target.shape)}")
    c = input.shape[1]
    bad = (target.array != ignore_index) & ((target.array < 0) | (target.array >= c))
    if bad.any():
        raise IndexError(f"Target {target.array[bad][0]} is out of bounds for {c} classes.")
    if input.dim() > 2:  # (N, C, d1, ...) -> (N * d1 * ..., C)
        moved = input.permute(0, *range(2, input.dim()), 1)
        out = nll_loss(moved.reshape(-1, c), target.reshape(-1), weight, ignore_index=ignore_index,
                       reduction=reduction)
        return out.reshape(target.shape) if reduction == "none" else out
    class_weight = np.ones(c, dtype=input.dtype) if weight is None else weight.array
    return _NLLLoss.apply(input, target=target.array, class_weight=class_weight, ignore_index=ignore_index,
                          reduction=reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """``nll_loss(log_softmax(input, 1), target)``: takes raw scores (logits), not probabilities."""
    if label_smoothing:
        raise NotImplementedError("cross_entropy: numtorch does not implement label_smoothing")
    class_dim = 0 if input.dim() == 1 else 1
    return nll_loss(log_softmax(input, class_dim), target, weight, size_average, ignore_index, reduce, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean of ``(input - target) ** 2`` (or its sum, or no reduction)."""
    reduction = _reduction(size_average, reduce, reduction)
    if input.shape != target.shape:
        raise RuntimeError(f"mse_loss: input size {list(input.shape)} and target size {list(target.shape)} "
                           "differ; numtorch does not broadcast them")
    return _reduce((input - target) ** 2, reduction)


# ----- resampling --------------------------------------------------------------------------------------
def _source_coordinates(in_size, out_size, scale_factor, align_corners, mode):
    dst = np.arange(out_size, dtype=np.float64)
    if mode == "bilinear" and align_corners:
        return dst * ((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    scale = 1.0 / scale_factor if scale_factor else in_size / out_size
    if mode == "nearest":
        return np.minimum(np.floor(dst * scale), in_size - 1)
    return np.maximum((dst + 0.5) * scale - 0.5, 0.0)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Resize the last two dimensions of ``input`` (N, C, H, W) by ``"nearest"`` or ``"bilinear"`` sampling."""
    _check_rank(input, (4,), "interpolate")
    if mode not in ("nearest", "bilinear"):
        raise NotImplementedError(f"interpolate: numtorch implements mode 'nearest' and 'bilinear', got '{mode}'")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    in_size = input.shape[-2:]
    factors = _pair(scale_factor) if scale_factor is not None else (None, None)
    out_size = _pair(size) if size is not None else tuple(int(math.floor(n * f)) for n, f in zip(in_size, factors))
    ys, xs = (_source_coordinates(in_size[d], out_size[d], factors[d], align_corners, mode) for d in range(2))
    if mode == "nearest":
        return input[:, :, ys.astype(np.int64)[:, None], xs.astype(np.int64)[None, :]]
    y0, x0 = np.floor(ys).astype(np.int64), np.floor(xs).astype(np.int64)
    y1, x1 = np.minimum(y0 + 1, in_size[0] - 1), np.minimum(x0 + 1, in_size[1] - 1)
    wy = Tensor._make((ys - y0).astype(input.dtype)[:, None])
    wx = Tensor._make((xs - x0).astype(input.dtype)[None, :])
    top = input[:, :, y0[:, None], x0[None, :]] * (1 - wx) + input[:, :, y0[:, None], x1[None, :]] * wx
    bottom = input[:, :, y1[:, None], x0[None, :]] * (1 - wx) + input[:, :, y1[:, None], x1[None, :]] * wx
    return top * (1 - wy) + bottom * wy
