from .. import functional as F
from .module import Module


class Dropout(Module):
    """During training, zeroes each element with probability ``p`` and scales the rest by ``1/(1-p)``;
    in eval mode, returns its input unchanged.

    It has no parameters and no buffers: all it keeps is ``p`` and the module's
    ``training`` flag, which it hands to :func:`F.dropout`.

    Args:
        p (float): probability of an element to be zeroed. Default: 0.5.
        inplace (bool): overwrite the input. Default: ``False``.

    Shape:
        Any; the output has the input's shape.
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
