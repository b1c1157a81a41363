"""Stateless neural-network operations: every input, weight and buffer is an argument.

Each function here has torch's signature, validates its arguments and applies one
differentiable Function from :mod:`numtorch.nn._functions`, where the maths lives.
The layers in :mod:`numtorch.nn` own parameters and buffers and pass them to these
functions; they compute nothing themselves.
"""
import math

import numpy as np

from .. import coverage
from ..dtypes import c_type, float16, float32, int32, int64, scalar_type, uint8
from ..shapes import dim_index, expanded_size
from ..tensor import Tensor
from . import _functions
from .modules.utils import _pair, _single

__all__ = ["linear", "conv1d", "conv2d", "avg_pool2d", "max_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
           "relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax", "dropout", "batch_norm", "layer_norm",
           "embedding", "cross_entropy", "nll_loss", "mse_loss", "interpolate"]
__getattr__ = coverage.module_getattr(__name__)  # torch's names that numtorch lacks say so


def _check_rank(input, ranks, name):
    if input.dim() not in ranks:
        expected = f"{ranks[0]}D (unbatched) or {ranks[1]}D (batched)" if len(ranks) == 2 else f"{ranks[0]}D"
        raise RuntimeError(f"Expected {expected} input to {name}, but got input of size: {list(input.shape)}")


# ----- linear -----------------------------------------------------------------------------------

def linear(input, weight, bias=None):
    """``input @ weight.T + bias``; ``weight`` has shape ``(out_features, in_features)``."""
    if input.dim() == 0:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are 0D and {weight.dim()}D")
    if input.shape[-1] != weight.shape[-1]:
        rows = math.prod(input.shape[:-1])
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
                           f"{weight.shape[-1]}x{weight.shape[0]}): the input has {input.shape[-1]} "
                           f"features but the weight expects in_features={weight.shape[-1]}")
    if bias is not None:  # it is broadcast to the result (rows x out_features), and refused in torch's words
        expanded_size(bias.shape, (math.prod(input.shape[:-1]), weight.shape[0]), bias.dtype)
    if bias is not None and bias.dtype != weight.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {scalar_type(bias.dtype)} and "
                           f"{scalar_type(weight.dtype)}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {scalar_type(input.dtype)} and "
                           f"{scalar_type(weight.dtype)}" if bias is not None else
                           f"expected m1 and m2 to have the same dtype, but got: {c_type(input.dtype)} != "
                           f"{c_type(weight.dtype)}")
    return _functions.Affine.apply(input, weight, bias)


# ----- convolution ------------------------------------------------------------------------------

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
    out = _conv(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1,) + _single(stride), (0,) + _single(padding),
                (1,) + _single(dilation), groups, "conv1d")
    return out.squeeze(-2)


def _conv(input, weight, bias, stride, padding, dilation, groups, name):
    _check_rank(input, (3, 4), name)
    if input.dim() == 3:  # unbatched (C, H, W)
        return _conv(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups, name).squeeze(0)
    if weight.dim() != 4:
        raise RuntimeError(f"{name}: expected a 4D weight, but got weight of size {list(weight.shape)}")
    _check_channels(input, weight, bias, groups)
    if bias is not None and bias.dtype != input.dtype:
        raise RuntimeError(f"Input type ({c_type(input.dtype)}) and bias type ({c_type(bias.dtype)}) should be "
                           "the same")
    if weight.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {scalar_type(input.dtype)} but found {scalar_type(weight.dtype)}")
    padded = [input.shape[2 + d] + 2 * padding[d] for d in range(2)]
    kernel = [dilation[d] * (weight.shape[2 + d] - 1) + 1 for d in range(2)]
    if padded[0] < kernel[0] or padded[1] < kernel[1]:
        shown = slice(1, 2) if name == "conv1d" else slice(0, 2)  # conv1d runs as a conv2d of height one
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded[shown]))}). "
                           f"Kernel size: ({' x '.join(map(str, kernel[shown]))}). Kernel size can't be greater "
                           "than actual input size")
    return _functions.Convolution.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation,
                                        groups=groups)


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
    too_much = [d for d in range(2) if 2 * padding[d] > kernel[d]]
    if too_much and dilation != (1, 1):  # torch checks a dilated max pooling elsewhere, in other words
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got padW = {padding[1]}, "
                           f"padH = {padding[0]}, kW = {kernel[1]}, kH = {kernel[0]}")
    if too_much:
        d = too_much[0]
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={padding[d]}, "
                           f"kernel_size={kernel[d]} and dilation={dilation[d]}")
    out_size = tuple(_functions.output_size(input.shape[-2 + d], kernel[d], stride[d], padding[d], dilation[d])
                     for d in range(2))
    if min(out_size) < 1:
        channels = input.shape[-3]
        raise RuntimeError(f"Given input size: ({channels}x{input.shape[-2]}x{input.shape[-1]}). Calculated output "
                           f"size: ({channels}x{out_size[0]}x{out_size[1]}). Output size is too small")
    return kernel, stride, padding, dilation, out_size



def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Maximum over each ``kernel_size`` window; ``stride`` defaults to ``kernel_size``."""
    if return_indices:
        raise NotImplementedError("max_pool2d: numtorch does not return indices")
    if input.dim() == 3:  # unbatched (C, H, W)
        return max_pool2d(input.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode).squeeze(0)
    kernel, stride, padding, dilation, out_size = _pool_geometry(
        input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    return _functions.WindowMax.apply(input, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                                      out_size=out_size)



def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over each ``kernel_size`` window; ``stride`` defaults to ``kernel_size``."""
    if input.dim() == 3:  # unbatched (C, H, W)
        return avg_pool2d(input.unsqueeze(0), kernel_size, stride, padding, ceil_mode, count_include_pad,
                          divisor_override).squeeze(0)
    kernel, stride, padding, _, out_size = _pool_geometry(
        input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    return _functions.WindowMean.apply(input, kernel=kernel, stride=stride, padding=padding, out_size=out_size,
                                       count_include_pad=count_include_pad, divisor_override=divisor_override)


def _adaptive_output_size(input, output_size, name):
    if input.dim() not in (3, 4):
        raise RuntimeError(f"{name}(): Expected 3D or 4D tensor, but got: {list(input.shape)}")
    # None keeps that dimension's input size
    return tuple(input.shape[-2 + d] if size is None else size for d, size in enumerate(_pair(output_size)))


def adaptive_avg_pool2d(input, output_size):
    """Mean over the windows that divide the input into ``output_size`` cells, whatever the input's size."""
    out_size = _adaptive_output_size(input, output_size, "adaptive_avg_pool2d")
    return _functions.AdaptiveMean.apply(input, out_size=out_size)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Maximum over the windows that divide the input into ``output_size`` cells, whatever the input's size."""
    if return_indices:
        raise NotImplementedError("adaptive_max_pool2d: numtorch does not return indices")
    out_size = _adaptive_output_size(input, output_size, "adaptive_max_pool2d")
    return _functions.AdaptiveMax.apply(input, out_size=out_size)


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


def gelu(input, approximate="none"):
    """``x * Phi(x)``, Phi the standard normal's distribution function; ``approximate="tanh"`` uses
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))`` instead."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, but got '{approximate}'")
    if input.dtype.kind != "f":
        raise NotImplementedError(f'"GeluKernelImpl" not implemented for \'{scalar_type(input.dtype)}\'')
    return _functions.Gelu.apply(input, approximate=approximate)


def _softmax_dim(input, dim, name):
    """``dim`` checked as torch checks it (None: torch's legacy implicit choice); floating point only."""
    if dim is None:
        dim = 0 if input.dim() in (0, 1, 3) else 1
    dim = dim_index(dim, input.dim())
    if input.dtype.kind != "f":
        kernel = "lastdim_kernel_impl" if dim == max(input.dim(), 1) - 1 else "kernel_impl"
        raise NotImplementedError(f'"{name}_{kernel}" not implemented for \'{scalar_type(input.dtype)}\'')
    return dim


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``exp(x) / exp(x).sum(dim)``, computed after subtracting the max so it cannot overflow."""
    input = input if dtype is None else input.type(dtype)
    return _functions.SoftmaxOverDim.apply(input, dim=_softmax_dim(input, dim, "softmax"))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``log(softmax(x))`` computed as ``x - logsumexp(x)``: stable where the composition is not."""
    input = input if dtype is None else input.type(dtype)
    return _functions.LogSoftmaxOverDim.apply(input, dim=_softmax_dim(input, dim, "log_softmax"))


# ----- dropout ---------------------------------------------------------------------------------------

def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``.

    Note the default ``training=True``: this function knows nothing about any
    module's mode. Inside a Module, pass ``training=self.training``.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if input.dtype.kind != "f" and p != 1.0:  # the kept elements are scaled by 1/(1-p), a float
        raise RuntimeError(f"result type Float can't be cast to the desired output type {scalar_type(input.dtype)}")
    out = input * 0.0 if p == 1.0 else _functions.ScaledMask.apply(input, p=p)
    return input._assign(out) if inplace else out


# ----- batch normalisation ----------------------------------------------------------------------------

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
    _check_parameter_dtypes(input, weight, bias, running_mean, running_var)
    buffers = [None if t is None else t.array for t in (running_mean, running_var)]
    return _functions.BatchNormalize.apply(input, weight, bias, running_mean=buffers[0], running_var=buffers[1],
                                           training=training, momentum=momentum, eps=eps)


# ----- layer normalisation ----------------------------------------------------------------------------

def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    """Normalise each sample over its last ``len(normalized_shape)`` dimensions, then scale and shift.

    Unlike :func:`batch_norm`, the statistics are each sample's own, so training and
    evaluation compute the same thing and there is nothing to keep between calls.
    """
    if not isinstance(normalized_shape, (tuple, list)):  # nn.LayerNorm accepts an int; the function does not
        raise TypeError(f"layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, "
                        f"not {type(normalized_shape).__name__}")
    normalized_shape = tuple(normalized_shape)
    dims = len(normalized_shape)
    if dims == 0 or input.dim() < dims or tuple(input.shape[input.dim() - dims:]) != normalized_shape:
        # "size[2, 3]", without a space, is torch's text
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, normalized_shape))}], but got input of size{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{list(t.shape)} and normalized_shape = {list(normalized_shape)}")
    _check_parameter_dtypes(input, weight, bias)
    return _functions.LayerNormalize.apply(input, weight, bias, dims=dims, eps=eps)


def _check_parameter_dtypes(input, *parameters):
    """A normalisation's parameters and statistics have the input's dtype, as torch requires (in its words).

    torch's one exception, a float16 input with float32 parameters, is allowed here too."""
    given = [t for t in parameters if t is not None]
    odd = [t for t in given if t.dtype != input.dtype]
    if not odd:
        return
    if given[0].dtype == input.dtype:
        raise RuntimeError(f"expected scalar type {scalar_type(input.dtype)} but found {scalar_type(odd[0].dtype)}")
    if any(t.dtype != float32 for t in given):
        raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
    if input.dtype != float16:
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


# ----- embedding -----------------------------------------------------------------------------------------

def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Row ``i`` of ``weight`` for each index ``i`` in ``input``: output shape ``input.shape + (dim,)``.

    The row ``padding_idx``, if given, gets no gradient.
    """
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: numtorch implements neither max_norm, scale_grad_by_freq nor sparse")
    if input.dtype not in (int64, int32):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input.dtype} instead (while checking arguments for embedding)")
    rows = weight.shape[0]
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise AssertionError(f"Padding_idx must be within num_embeddings ({rows}), but got padding_idx={padding_idx}")
        padding_idx = padding_idx % rows
    indices = input.array
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        bad = indices[(indices < 0) | (indices >= rows)][0]
        raise IndexError(f"index out of range in self: index {bad} is not in [0, {rows}) (num_embeddings={rows})")
    return _functions.EmbeddingLookup.apply(weight, indices=indices, padding_idx=padding_idx)


# ----- losses ------------------------------------------------------------------------------------------
def _reduction(size_average, reduce, reduction):
    """The reduction to apply; torch's deprecated ``size_average`` and ``reduce`` flags win if given."""
    if size_average is not None or reduce is not None:
        reduce = reduce is None or reduce
        return "none" if not reduce else "mean" if size_average is None or size_average else "sum"
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of the ``target`` classes, given log-probabilities ``input`` (N, C, ...)."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.dtype not in (int64, uint8):  # class indices
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {scalar_type(target.dtype)}")
    if input.dim() == 1:  # unbatched: scores (C,), one class index (0-d, or 1-D of size 1)
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if target.numel() != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target.numel()}")
        out = nll_loss(input.unsqueeze(0), target.reshape(1), weight, ignore_index=ignore_index, reduction=reduction)
        return out.reshape(()) if reduction == "none" else out
    _check_target_shape(input, target)
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
    return _functions.NegLogLikelihood.apply(input, target=target.array, class_weight=class_weight,
                                             ignore_index=ignore_index, reduction=reduction)


def _check_target_shape(input, target):
    """torch's checks, in its words, that ``target`` holds a class index for each score vector of ``input``
    (N, C, d1, ...): its shape is (N, d1, ...)."""
    batch = target.shape[0] if target.dim() else 0  # torch's count for a 0-d target
    if input.shape[0] != batch:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({batch}), but "
                         f"got input {list(input.shape)} and target {list(target.shape)}")
    if input.dim() == 2 and target.dim() != 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input.dim() == 4 and target.dim() != 3:
        raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got targets of dimension: "
                           f"{target.dim()}")
    if target.shape[1:] != input.shape[2:]:
        if input.dim() == 4:
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: {list(target.shape)}")
        raise RuntimeError(f"Expected target size {[input.shape[0], *input.shape[2:]]}, got {list(target.shape)}")


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """``nll_loss(log_softmax(input, 1), target)``: takes raw scores (logits), not probabilities."""
    if label_smoothing:
        raise NotImplementedError("cross_entropy: numtorch does not implement label_smoothing")
    if input.shape == target.shape and input.dim() > 0:  # torch reads a target of the input's shape as probabilities
        if target.dtype.kind == "f":
            raise NotImplementedError("cross_entropy: numtorch does not implement class-probability targets (a "
                                      "floating-point target of the input's shape); give class indices (int64)")
        raise RuntimeError(f"Expected floating point type for target with class probabilities, got "
                           f"{scalar_type(target.dtype)}")
    class_dim = 0 if input.dim() == 1 else 1
    return nll_loss(log_softmax(input, class_dim), target, weight, size_average, ignore_index, reduce, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Mean of ``(input - target) ** 2`` (or its sum, or no reduction)."""
    reduction = _reduction(size_average, reduce, reduction)
    if input.shape != target.shape:
        raise RuntimeError(f"mse_loss: input size {list(input.shape)} and target size {list(target.shape)} "
                           "differ; numtorch does not broadcast them")
    return _functions.SquaredError.apply(input, target, reduction=reduction)


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
