from .. import functional as F
from .module import Module


class CrossEntropyLoss(Module):
    """Cross-entropy between raw scores ``(N, C)`` and class indices ``(N,)``: ``F.cross_entropy``.

    Args:
        weight (Tensor, optional): a weight per class (kept as a buffer).
        ignore_index (int): targets with this value contribute nothing. Default: -100.
        reduction (str): ``'mean'`` | ``'sum'`` | ``'none'``. Default: ``'mean'``.
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class NLLLoss(Module):
    """Negative log-likelihood of class indices, given log-probabilities: ``F.nll_loss``."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(Module):
    """Mean squared error: ``F.mse_loss``. Args: reduction (str): ``'mean'`` | ``'sum'`` | ``'none'``."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)
