from ...dtypes import int64
from ...factories import empty, ones, tensor, zeros
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share. They differ only in the input ranks they accept."""

    # torch's format 2 added the count: a state dict without it loads, unless it records format 2 (see Module).
    _version = 2
    _added_in_version = {"num_batches_tracked": 2}

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *, bias=True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(empty(num_features))
            if bias:
                self.bias = Parameter(empty(num_features))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features))
            self.register_buffer("running_var", ones(num_features))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        self._check_input_dim(input)
        # The module's only job besides holding state: count batches, and turn momentum=None
        # into a cumulative average (factor 1/n for the n-th batch).
        factor = self.momentum if self.momentum is not None else 0.0
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch_stats = self.training or self.running_mean is None
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over ``(N, C)`` or ``(N, C, L)`` inputs, per channel C.

    See :class:`BatchNorm2d` for the arguments and the train/eval behaviour.
    """

    def _check_input_dim(self, input):
        if input.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over ``(N, C, H, W)`` inputs, per channel C.

    In training mode the output uses the batch's mean and (biased) variance, and
    the buffers ``running_mean``/``running_var`` move towards them:
    ``running = (1 - momentum) * running + momentum * batch`` (the unbiased variance),
    or a cumulative average if ``momentum=None``. In eval mode the running
    statistics are used instead, so the output no longer depends on the rest of the batch.

    Args:
        num_features (int): C, the number of channels.
        eps (float): added to the variance for stability. Default: 1e-5.
        momentum (float or None): weight of the new batch in the running statistics. Default: 0.1.
        affine (bool): learn a per-channel ``weight`` (ones) and ``bias`` (zeros). Default: ``True``.
        bias (bool, keyword-only): with ``affine``, learn the ``bias`` too. Default: ``True``.
        track_running_stats (bool): keep running statistics; if ``False``, batch statistics are used
            in eval mode too. Default: ``True``.

    Shape:
        Input ``(N, C, H, W)``; output the same.
    """

    def _check_input_dim(self, input):
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")
