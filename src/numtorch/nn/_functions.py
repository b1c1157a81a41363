"""The neural-network kernels behind :mod:`numtorch.nn.functional`: one forward/backward pair each.

``nn.functional`` checks arguments and calls ``apply`` on one of these; each ``forward`` works on
NumPy arrays, each ``backward`` maps the output's gradient to its inputs' (see
:mod:`numtorch.autograd`), computing an input's gradient only where ``ctx.needs_input_grad`` asks. Each saves what torch's
saves, even an input its backward does not read: changed in place before backward, that input is then
refused as torch refuses it (:meth:`numtorch.autograd.Context.save_for_backward`), and a second backward
finds what was saved freed.

Convolution and pooling work on *windows*: :func:`windows` makes a strided view of shape
``(N, C, kH, kW, OH, OW)`` without copying; convolution turns it into one matrix (im2col) and
multiplies once, pooling reduces over it one kernel offset at a time (:func:`offset_slices`).
"""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd import Function
from ..blas import matmul
from ..random import generator


def output_size(size, kernel, stride, padding, dilation):
    """How many windows fit along one dimension."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def windows(x, kernel, stride, dilation, out_size):
    """A read-only view of ``x`` (N, C, H, W) with shape (N, C, kH, kW, OH, OW)."""
    n, c, _, _ = x.shape
    s = x.strides
    return as_strided(x, (n, c) + kernel + out_size,
                      (s[0], s[1], s[2] * dilation[0], s[3] * dilation[1], s[2] * stride[0], s[3] * stride[1]),
                      writeable=False)


def offset_slices(kernel, stride, dilation, out_size):
    """For each kernel offset (i, j): the slice of the padded input that offset reads."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    return [(i, j, (Ellipsis, slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                    slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)))
            for i in range(kh) for j in range(kw)]


def pad(x, padding, value=0.0):
    """``x`` (N, C, H, W) with ``padding`` rows and columns of ``value`` on each side."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def batch_innermost(shape, dtype):
    """Zeros of ``shape`` (N, C, H, W), laid out in memory as (C, H, W, N)."""
    n, c, h, w = shape
    return np.zeros((c, h, w, n), dtype).transpose(3, 0, 1, 2)


def unpad(x, padding):
    """The inverse of :func:`pad`: a view without the padding."""
    ph, pw = padding
    return x[..., ph:x.shape[-2] - ph, pw:x.shape[-1] - pw]


class Affine(Function):
    """``x @ w.T + b``: ``linear``."""

    name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, x, w, b):
        if x.ndim != 2:  # torch reshapes the batch dimensions around its GEMM, and names that step
            ctx.name = ("ViewBackward0" if b is not None else "SqueezeBackward4" if x.ndim == 1
                        else "UnsafeViewBackward0")
        elif b is None:
            ctx.name = "MmBackward0"
        need_x, need_w, _ = ctx.needs_input_grad
        ctx.save_for_backward(x if need_w else None, w if need_x else None)  # each only for the other's gradient
        out = matmul(x, w.T)
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        need_x, need_w, need_b = ctx.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1])
        grad_x = matmul(g, w) if need_x else None
        grad_w = matmul(g2.T, x.reshape(-1, x.shape[-1])) if need_w else None
        return grad_x, grad_w, (g2.sum(axis=0) if need_b else None)


class Convolution(Function):
    """Cross-correlation of ``x`` (N, C, H, W) with ``w`` (C_out, C/groups, kH, kW): ``conv2d``.

    Computed as im2col and one matrix product (GEMM) per group. The padded input, the columns and
    the output keep the batch axis innermost in memory (laid out as C, H, W, N): every copy then
    moves runs of whole rows of the batch instead of one image row at a time, which is most of
    the cost on small images.
    """

    name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        n, c, h, w_width = x.shape
        out_channels, _, kh, kw = w.shape
        ph, pw = padding
        xp = batch_innermost((n, c, h + 2 * ph, w_width + 2 * pw), x.dtype)
        xp[:, :, ph:ph + h, pw:pw + w_width] = x
        out_size = tuple(output_size(x.shape[2 + d], w.shape[2 + d], stride[d], padding[d], dilation[d])
                         for d in range(2))
        # im2col: rows are (channel, kernel offset), columns are (output pixel, sample), so one GEMM
        # per group does the whole batch and the columns serve again for the weight gradient.
        cols = np.ascontiguousarray(windows(xp, (kh, kw), stride, dilation, out_size).transpose(1, 2, 3, 4, 5, 0))
        cols = cols.reshape(groups, -1, out_size[0] * out_size[1] * n)
        w_mat = w.reshape(groups, out_channels // groups, -1)
        out = matmul(w_mat, cols).reshape((out_channels,) + out_size + (n,)).transpose(3, 0, 1, 2)
        ctx.save_for_backward(cols, w_mat, x)  # x unread: saved as torch saves it
        ctx.geometry = (xp.shape, (kh, kw), stride, padding, dilation, out_size, groups)
        return out if b is None else np.add(out, b[:, None, None])  # np.add keeps out's memory layout

    @staticmethod
    def backward(ctx, g):
        cols, w_mat, _ = ctx.saved
        xp_shape, kernel, stride, padding, dilation, out_size, groups = ctx.geometry
        g_mat = np.ascontiguousarray(g.transpose(1, 2, 3, 0)).reshape(groups, w_mat.shape[1], -1)
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_x = grad_w = grad_b = None
        if need_w:  # (cols @ g.T).T rather than g @ cols.T: the same product, but BLAS is faster at this shape.
            grad_w = matmul(cols, g_mat.transpose(0, 2, 1)).transpose(0, 2, 1)
            grad_w = grad_w.reshape(-1, w_mat.shape[2] // (kernel[0] * kernel[1]), *kernel)
        if need_b:
            grad_b = g_mat.sum(axis=2).reshape(-1)
        if need_x:
            n, c = xp_shape[0], xp_shape[1]
            grad_cols = matmul(w_mat.transpose(0, 2, 1), g_mat).reshape((c,) + kernel + out_size + (n,))
            # col2im: add each kernel offset's columns back where that offset read them.
            grad_xp = batch_innermost(xp_shape, g.dtype)
            for i, j, where in offset_slices(kernel, stride, dilation, out_size):
                grad_xp[where] += grad_cols[:, i, j].transpose(3, 0, 1, 2)
            grad_x = unpad(grad_xp, padding)
        return grad_x, grad_w, grad_b


class WindowMax(Function):
    """The maximum of each window: ``max_pool2d``."""

    name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, out_size):
        xp = pad(x, padding, -np.inf)
        slices = offset_slices(kernel, stride, dilation, out_size)
        out = xp[slices[0][2]].copy()
        for _, _, where in slices[1:]:
            np.maximum(out, xp[where], out=out)
        if not ctx.needs_input_grad[0]:  # no backward: which offset held each maximum is never asked
            return out
        # Which kernel offset held the maximum: the first one, on ties, as in torch. The smallest
        # integer type that can count the offsets (a 17x17 kernel has 289: more than uint8 holds).
        index_type = np.min_scalar_type(len(slices) - 1)
        winner = np.full(out.shape, len(slices) - 1, dtype=index_type)
        for k in range(len(slices) - 2, -1, -1):
            winner = np.where(xp[slices[k][2]] == out, index_type.type(k), winner)
        ctx.save_for_backward(winner, x)  # x unread: saved as torch saves it
        # Windows that do not overlap can write their gradient instead of adding it.
        overlap = any(s < k * d for s, k, d in zip(stride, kernel, dilation))
        ctx.geometry = (xp.shape, slices, padding, overlap)
        return out

    @staticmethod
    def backward(ctx, g):
        (winner, _), (xp_shape, slices, padding, overlap) = ctx.saved, ctx.geometry
        grad_xp = np.zeros(xp_shape, dtype=g.dtype)
        for k, (_, _, where) in enumerate(slices):
            if overlap:
                grad_xp[where] += np.where(winner == k, g, 0)
            else:
                np.multiply(g, winner == k, out=grad_xp[where])
        return unpad(grad_xp, padding)


class WindowMean(Function):
    """The mean of each window: ``avg_pool2d``."""

    name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, out_size, count_include_pad, divisor_override):
        xp = pad(x, padding)
        slices = offset_slices(kernel, stride, (1, 1), out_size)
        total = np.zeros(x.shape[:-2] + out_size, dtype=x.dtype)
        for _, _, where in slices:
            total += xp[where]
        if divisor_override:
            divisor = np.asarray(divisor_override, dtype=x.dtype)
        elif count_include_pad or padding == (0, 0):
            divisor = np.asarray(kernel[0] * kernel[1], dtype=x.dtype)
        else:  # count only the real (unpadded) pixels of each window
            ones = pad(np.ones((1, 1) + x.shape[-2:], dtype=x.dtype), padding)
            divisor = sum(ones[where] for _, _, where in slices)
        ctx.geometry = (xp.shape, slices, padding, divisor)
        ctx.save_for_backward(x)  # unread: saved as torch saves it
        return total / divisor

    @staticmethod
    def backward(ctx, g):
        xp_shape, slices, padding, divisor = ctx.geometry
        share = g / divisor
        grad_xp = np.zeros(xp_shape, dtype=g.dtype)
        for _, _, where in slices:
            grad_xp[where] += share
        return unpad(grad_xp, padding)


class SoftmaxOverDim(Function):
    """``exp(x) / exp(x).sum(dim)``: ``softmax``."""

    name = "SoftmaxBackward0"

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


class LogSoftmaxOverDim(Function):
    """``x - logsumexp(x, dim)``: ``log_softmax``."""

    name = "LogSoftmaxBackward0"

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


class ScaledMask(Function):
    """``x`` times a random mask of 0 and ``1/(1-p)``: ``dropout`` in training."""

    name = "MulBackward0"  # torch multiplies by its mask too

    @staticmethod
    def forward(ctx, x, p):
        # keep with probability 1 - p, and scale what is kept so the expected value is unchanged
        scaled_mask = (generator().random(x.shape, dtype=np.float32) >= p) * np.asarray(1 / (1 - p), x.dtype)
        ctx.save_for_backward(scaled_mask)
        return x * scaled_mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved[0]


class BatchNormalize(Function):
    """Normalisation by each channel's mean and variance, then scale and shift: ``batch_norm``."""

    name = "NativeBatchNormBackward0"

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
        ctx.save_for_backward(xhat, invstd, weight, x)  # x unread: saved as torch saves it
        ctx.batch_stats = training
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        xhat, invstd, weight, _ = ctx.saved
        need_x, need_weight, need_bias = ctx.needs_input_grad
        n, c = g.shape[:2]
        g3 = g.reshape(n, c, -1)
        # Both sums are also what the input's gradient needs in training.
        grad_bias = np.einsum("ncm->c", g3)
        grad_weight = np.einsum("ncm,ncm->c", g3, xhat)
        grad_x = None
        if need_x:
            scale = invstd if weight is None else invstd * weight
            grad_x = g3 * scale[:, None]
            if ctx.batch_stats:  # the batch's own mean and variance depend on x too
                count = xhat.shape[0] * xhat.shape[2]
                grad_x -= xhat * (grad_weight * scale / count)[:, None]
                grad_x -= (grad_bias * scale / count)[:, None]
            grad_x = grad_x.reshape(g.shape)
        return grad_x, (grad_weight if need_weight else None), (grad_bias if need_bias else None)


class NegLogLikelihood(Function):
    """Minus the log-probability of each target class, weighted and reduced: ``nll_loss``."""

    name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, logp, target, class_weight, ignore_index, reduction):
        picked_weight = np.where(target == ignore_index, 0, class_weight[np.where(target == ignore_index, 0, target)])
        picked = np.take_along_axis(logp, np.where(target == ignore_index, 0, target)[:, None], 1)[:, 0]
        losses = -picked * picked_weight
        ctx.shape, ctx.reduction = logp.shape, reduction
        ctx.save_for_backward(target)  # as torch does: a second backward finds it freed
        ctx.weight = picked_weight / picked_weight.sum() if reduction == "mean" else picked_weight
        if reduction == "none":
            return losses
        return np.asarray(losses.sum() / (picked_weight.sum() if reduction == "mean" else 1), dtype=logp.dtype)

    @staticmethod
    def backward(ctx, g):
        grad = np.zeros(ctx.shape, dtype=g.dtype)
        target = np.where(ctx.weight == 0, 0, ctx.saved[0])
        np.put_along_axis(grad, target[:, None], (-ctx.weight * g)[:, None], 1)
        return grad, None


class SquaredError(Function):
    """The squared difference of ``input`` and ``target``, elementwise, then averaged or summed: ``mse_loss``."""

    name = "MseLossBackward0"

    @staticmethod
    def forward(ctx, input, target, reduction):
        ctx.save_for_backward(input, target)
        ctx.reduction = reduction
        squared = (input - target) ** 2
        if reduction == "none":
            return squared
        return np.asarray(squared.mean() if reduction == "mean" else squared.sum(), dtype=squared.dtype)

    @staticmethod
    def backward(ctx, g):
        input, target = ctx.saved
        per_element = g / input.size if ctx.reduction == "mean" else g
        grad = per_element * 2 * (input - target)
        need_input, need_target = ctx.needs_input_grad
        return (grad if need_input else None), (-grad if need_target else None)


def adaptive_windows(in_size, out_size):
    """For each output cell along one dimension: the input slice it pools, as torch chooses it.

    Cell ``i`` covers ``floor(i * in / out)`` to ``ceil((i + 1) * in / out)``: windows of nearly equal
    size that cover the input, and overlap where ``in`` is not a multiple of ``out``.
    """
    return [slice(i * in_size // out_size, -(-(i + 1) * in_size // out_size)) for i in range(out_size)]


class AdaptiveMean(Function):
    """The mean of each adaptive window: ``adaptive_avg_pool2d``."""

    name = "AdaptiveAvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, out_size):
        rows, cols = (adaptive_windows(x.shape[-2 + d], out_size[d]) for d in range(2))
        out = np.empty(x.shape[:-2] + out_size, dtype=x.dtype)
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                out[..., i, j] = x[..., r, c].mean(axis=(-2, -1))
        ctx.geometry = (x.shape, rows, cols)
        if out_size == (1, 1):  # torch computes this case as a mean over the last two dimensions
            ctx.name = "MeanBackward1"
        return out

    @staticmethod
    def backward(ctx, g):
        shape, rows, cols = ctx.geometry
        grad = np.zeros(shape, dtype=g.dtype)
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                window = grad[..., r, c]
                window += (g[..., i, j] / (window.shape[-2] * window.shape[-1]))[..., None, None]
        return grad


class AdaptiveMax(Function):
    """The maximum of each adaptive window: ``adaptive_max_pool2d``."""

    name = "AdaptiveMaxPool2DBackward0"

    @staticmethod
    def forward(ctx, x, out_size):
        rows, cols = (adaptive_windows(x.shape[-2 + d], out_size[d]) for d in range(2))
        out = np.empty(x.shape[:-2] + out_size, dtype=x.dtype)
        winner = np.empty(out.shape, dtype=np.int64)  # where in its window (row-major) the maximum was
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                window = x[..., r, c].reshape(x.shape[:-2] + (-1,))
                winner[..., i, j] = window.argmax(axis=-1)  # the first maximum on ties, as in torch
                out[..., i, j] = np.take_along_axis(window, winner[..., i, j, None], -1)[..., 0]
        ctx.save_for_backward(winner)
        ctx.geometry = (x.shape, rows, cols)
        return out

    @staticmethod
    def backward(ctx, g):
        (winner,), (shape, rows, cols) = ctx.saved, ctx.geometry
        grad = np.zeros(shape, dtype=g.dtype)
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                window = grad[..., r, c]
                flat = np.zeros(shape[:-2] + (window.shape[-2] * window.shape[-1],), dtype=g.dtype)
                np.put_along_axis(flat, winner[..., i, j, None], g[..., i, j, None], -1)
                window += flat.reshape(window.shape)
        return grad


class LayerNormalize(Function):
    """Normalisation of each sample over its last dimensions, then scale and shift: ``layer_norm``."""

    name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, dims, eps):
        axes = tuple(range(x.ndim - dims, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        rstd = 1.0 / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)
        xhat = centred * rstd
        out = xhat * weight if weight is not None else xhat.copy()
        if bias is not None:
            out += bias
        ctx.save_for_backward(xhat, rstd, weight, x)  # x unread: saved as torch saves it
        ctx.axes = axes
        return out

    @staticmethod
    def backward(ctx, g):
        xhat, rstd, weight, _ = ctx.saved
        need_x, need_weight, need_bias = ctx.needs_input_grad
        batch_axes = tuple(range(g.ndim - len(ctx.axes)))
        grad_x = None
        if need_x:
            gx = g * weight if weight is not None else g
            # The sample's own mean and variance depend on x: remove gx's mean and its part along xhat.
            grad_x = rstd * (gx - gx.mean(axis=ctx.axes, keepdims=True)
                             - xhat * (gx * xhat).mean(axis=ctx.axes, keepdims=True))
        grad_weight = (g * xhat).sum(axis=batch_axes) if need_weight else None
        grad_bias = g.sum(axis=batch_axes) if need_bias else None
        return grad_x, grad_weight, grad_bias


class EmbeddingLookup(Function):
    """Row ``i`` of ``weight`` for each index ``i``: ``embedding``."""

    name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, weight, indices, padding_idx):
        ctx.rows, ctx.padding_idx = weight.shape[0], padding_idx
        ctx.save_for_backward(indices)  # as torch does: a second backward finds them freed
        return weight[indices]

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved
        grad = np.zeros((ctx.rows,) + g.shape[indices.ndim:], dtype=g.dtype)
        np.add.at(grad, indices, g)  # an index used twice collects both gradients
        if ctx.padding_idx is not None:
            grad[ctx.padding_idx] = 0  # the padding row is a constant, never learned
        return grad


_erf = np.vectorize(math.erf, otypes=[np.float64])  # NumPy has no erf; math's is exact


class Gelu(Function):
    """``x * Phi(x)``, Phi the standard normal's distribution function, or its tanh approximation: ``gelu``."""

    name = "GeluBackward0"

    @staticmethod
    def forward(ctx, x, approximate):
        x64 = x.astype(np.float64)
        if approximate == "tanh":
            inner = math.sqrt(2 / math.pi) * (x64 + 0.044715 * x64 ** 3)
            t = np.tanh(inner)
            out = 0.5 * x64 * (1 + t)
            # d/dx of 0.5 x (1 + tanh(inner))
            slope = 0.5 * (1 + t) + 0.5 * x64 * (1 - t * t) * math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x64 ** 2)
        else:
            cdf = 0.5 * (1 + _erf(x64 / math.sqrt(2)))
            out = x64 * cdf
            slope = cdf + x64 * np.exp(-0.5 * x64 * x64) / math.sqrt(2 * math.pi)
        ctx.save_for_backward(slope.astype(x.dtype), x)  # x unread: saved as torch saves it
        return out.astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.saved[0]
