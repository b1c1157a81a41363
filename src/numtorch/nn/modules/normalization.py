from ...factories import empty
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module


class LayerNorm(Module):
    """Normalises each sample over its last dimensions (``normalized_shape``), then scales and shifts.

    Every sample uses its own mean and variance, so there are no running statistics and
    ``train()``/``eval()`` change nothing (unlike :class:`BatchNorm1d`).

    Args:
        normalized_shape (int or tuple): the trailing dimensions to normalise over.
        eps (float): added to the variance before the square root. Default: 1e-5.
        elementwise_affine (bool): learn ``weight`` (ones) and ``bias`` (zeros). Default: ``True``.
        bias (bool): learn ``bias`` too, if ``elementwise_affine``. Default: ``True``.

    Shape:
        Input ``(*, *normalized_shape)``; output the same.

    Examples::

        >>> nn.LayerNorm(64)(numtorch.randn(8, 10, 64)).shape
        numtorch.Size([8, 10, 64])
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                                 else tuple(normalized_shape))
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(empty(self.normalized_shape))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(empty(self.normalized_shape))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")
