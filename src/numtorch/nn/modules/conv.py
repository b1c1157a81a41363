import math

from ...factories import empty
from .. import functional as F
from .. import init
from ...grad_mode import no_grad
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module
from .utils import _ntuple


class _ConvNd(Module):
    """What Conv1d and Conv2d share: argument checks, parameters, initialisation and repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, dims):
        super().__init__()
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"groups must be a positive integer, but got {groups}")
        if in_channels % groups != 0:
            raise ValueError(f"in_channels must be divisible by groups, but got in_channels={in_channels} "
                             f"and groups={groups}")
        if out_channels % groups != 0:
            raise ValueError(f"out_channels must be divisible by groups, but got out_channels={out_channels} "
                             f"and groups={groups}")
        if padding_mode != "zeros":
            raise NotImplementedError(f"numtorch supports padding_mode='zeros' only, but got '{padding_mode}'")
        as_tuple = _ntuple(dims)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = as_tuple(kernel_size)
        self.stride = as_tuple(stride)
        self.padding = as_tuple(padding)
        self.dilation = as_tuple(dilation)
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(empty(out_channels, in_channels // groups, *self.kernel_size))
        if bias:
            self.bias = Parameter(empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def extra_repr(self):
        dims = len(self.kernel_size)
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * dims:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * dims:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over ``(N, C_in, L)`` inputs; see :class:`Conv2d` for the arguments.

    Shape:
        Input ``(N, C_in, L_in)``; output ``(N, C_out, L_out)`` with
        ``L_out = (L_in + 2*padding - dilation*(kernel_size-1) - 1) // stride + 1``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dims=1)

    def forward(self, input):
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over ``(N, C_in, H, W)`` inputs.

    Args:
        in_channels (int): channels of the input.
        out_channels (int): channels produced.
        kernel_size (int or tuple): size of the kernel.
        stride (int or tuple): step between windows. Default: 1.
        padding (int or tuple): zeros added on both sides. Default: 0.
        dilation (int or tuple): spacing between kernel elements. Default: 1.
        groups (int): input and output channels are split into this many independent groups. Default: 1.
        bias (bool): learn a per-channel bias. Default: ``True``.
        padding_mode (str): only ``'zeros'``.

    Shape:
        Input ``(N, C_in, H, W)``; output ``(N, C_out, H_out, W_out)`` with
        ``H_out = (H + 2*padding[0] - dilation[0]*(kernel_size[0]-1) - 1) // stride[0] + 1`` (likewise W).

    Attributes:
        weight: ``(out_channels, in_channels // groups, *kernel_size)``, kaiming-uniform with ``a=sqrt(5)``.
        bias: ``(out_channels,)``, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    Examples::

        >>> conv = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        >>> conv(numtorch.randn(1, 3, 32, 32)).shape
        numtorch.Size([1, 16, 32, 32])
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros"):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, dims=2)

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class LazyConv2d(LazyModuleMixin, Conv2d):
    """A :class:`Conv2d` whose ``in_channels`` is the channel size of its first input; then it is a ``Conv2d``.

    Takes :class:`Conv2d`'s arguments but ``in_channels``. Until the first call ``weight`` and
    ``bias`` are :class:`~numtorch.nn.UninitializedParameter` and ``in_channels`` is 0.

    Examples::

        >>> conv = nn.LazyConv2d(16, kernel_size=3)
        >>> conv(numtorch.randn(1, 3, 8, 8)).shape
        numtorch.Size([1, 16, 6, 6])
    """

    cls_to_become = Conv2d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros"):
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode)
        self.weight = UninitializedParameter()
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter()

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        if not self.has_uninitialized_params():
            return
        if input.dim() not in (3, 4):
            raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to {type(self).__name__}, "
                               f"but got input of size: {list(input.shape)}")
        with no_grad():
            self.in_channels = input.shape[1] if input.dim() == 4 else input.shape[0]
            if self.in_channels % self.groups != 0:
                raise ValueError("in_channels must be divisible by groups")
            self.weight.materialize((self.out_channels, self.in_channels // self.groups, *self.kernel_size))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()
