from .. import functional as F
from .module import Module


class CrossEntropyLoss(Module):
    """Cross-entropy between raw scores ``(N, C)`` and class indices ``(N,)``: ``F.cross_entropy``.

    Args:
        weight (Tensor, optional): a weight per class (kept as a buffer).
        ignore_index (int): targets with this value contribute nothing. Default: -100.
        reduction (str): ``'mean'`` | ``'sum'`` | ``'none'``. Default: ``'mean'``.
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.reduction = F._reduction(size_average, reduce, reduction)
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)


class NLLLoss(Module):
    """Negative log-likelihood of class indices, given log-probabilities: ``F.nll_loss``."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.reduction = F._reduction(size_average, reduce, reduction)

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class MSELoss(Module):
    """Mean squared error: ``F.mse_loss``. Args: reduction (str): ``'mean'`` | ``'sum'`` | ``'none'``."""

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = F._reduction(size_average, reduce, reduction)

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)
