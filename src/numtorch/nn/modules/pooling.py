from .. import functional as F
from .module import Module


class MaxPool2d(Module):
    """Maximum over windows of ``kernel_size``; no parameters, so it is the same as :func:`F.max_pool2d`.

    Args:
        kernel_size (int or tuple): window size.
        stride (int or tuple): step between windows. Default: ``kernel_size``.
        padding (int or tuple): implicit -inf padding on both sides. Default: 0.
        dilation (int or tuple): spacing between window elements. Default: 1.

    Shape:
        Input ``(N, C, H, W)``; output ``(N, C, H_out, W_out)``.
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over windows of ``kernel_size``; no parameters, so it is the same as :func:`F.avg_pool2d`.

    Args:
        kernel_size (int or tuple): window size.
        stride (int or tuple): step between windows. Default: ``kernel_size``.
        padding (int or tuple): implicit zero padding on both sides. Default: 0.
        count_include_pad (bool): count the padding zeros in the mean. Default: ``True``.

    Shape:
        Input ``(N, C, H, W)``; output ``(N, C, H_out, W_out)``.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Mean over windows chosen so that the output is ``output_size``, whatever the input's size.

    Args:
        output_size (int or tuple): ``(H_out, W_out)``, or one int for both; ``None`` keeps that input size.

    Shape:
        Input ``(N, C, H, W)``; output ``(N, C, H_out, W_out)``.

    Examples::

        >>> nn.AdaptiveAvgPool2d(1)(numtorch.randn(2, 16, 5, 7)).shape   # global average pooling
        numtorch.Size([2, 16, 1, 1])
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Maximum over windows chosen so that the output is ``output_size``, whatever the input's size.

    Args:
        output_size (int or tuple): ``(H_out, W_out)``, or one int for both; ``None`` keeps that input size.

    Shape:
        Input ``(N, C, H, W)``; output ``(N, C, H_out, W_out)``.
    """

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"
