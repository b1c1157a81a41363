import math

from ...factories import empty
from .. import functional as F
from .. import init
from ...grad_mode import no_grad
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module


class Identity(Module):
    """Returns its input unchanged (a placeholder where a layer is optional)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """Applies ``y = x @ weight.T + bias``.

    Args:
        in_features (int): size of each input sample.
        out_features (int): size of each output sample.
        bias (bool): if ``False``, no bias is learned (``self.bias`` is ``None``). Default: ``True``.

    Shape:
        Input ``(*, in_features)``; output ``(*, out_features)``.

    Attributes:
        weight: ``(out_features, in_features)``, initialised from U(-1/sqrt(in_features), 1/sqrt(in_features)).
        bias: ``(out_features,)``, initialised from the same range.

    Examples::

        >>> fc = nn.Linear(20, 30)
        >>> fc(numtorch.randn(128, 20)).shape
        numtorch.Size([128, 30])
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in_features))
        if bias:
            self.bias = Parameter(empty(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # a=sqrt(5) makes kaiming_uniform_'s bound exactly 1/sqrt(fan_in), torch's long-standing default.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LazyLinear(LazyModuleMixin, Linear):
    """A :class:`Linear` whose ``in_features`` is the last size of its first input; then it is a ``Linear``.

    Until that first call ``weight`` and ``bias`` are :class:`~numtorch.nn.UninitializedParameter`
    and ``in_features`` is 0.

    Args:
        out_features (int): size of each output sample.
        bias (bool): if ``False``, no bias is learned. Default: ``True``.

    Examples::

        >>> fc = nn.LazyLinear(30)
        >>> fc(numtorch.randn(128, 20)).shape
        numtorch.Size([128, 30])
        >>> fc
        Linear(in_features=20, out_features=30, bias=True)
    """

    cls_to_become = Linear

    def __init__(self, out_features, bias=True):
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter()
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter()

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input):
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
