"""Parametrizations built on :mod:`.parametrize`: ``weight_norm``."""
from ..modules.module import Module
from . import parametrize

__all__ = ["weight_norm"]


def _norm_except_dim(v, dim):
    """The 2-norm of ``v`` over every dimension but ``dim``, kept as size-1 dimensions (all of them if dim is -1)."""
    if dim == -1:
        return (v ** 2).sum().sqrt()
    dims = tuple(d for d in range(v.dim()) if d != dim % v.dim())
    return (v ** 2).sum(dim=dims, keepdim=True).sqrt()


class _WeightNorm(Module):
    """``weight = g * v / ||v||``: the magnitude ``g`` (original0) and the direction ``v`` (original1) learn apart."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` (norm over every dimension but ``dim``); returns it.

    The module then learns ``parametrizations.<name>.original0`` (``g``, one magnitude per slice
    along ``dim``) and ``original1`` (``v``, the direction), starting from the weight's own values.

    Examples::

        >>> layer = weight_norm(nn.Linear(20, 40))
        >>> layer.parametrizations.weight.original0.shape
        numtorch.Size([40, 1])
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module
