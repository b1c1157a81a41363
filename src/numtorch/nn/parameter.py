"""Parameter: a Tensor that a Module registers as learnable when assigned to an attribute."""
from ..tensor import Tensor, empty


class Parameter(Tensor):
    """A leaf tensor with ``requires_grad=True`` that :class:`~numtorch.nn.Module` recognises.

    Assigning one to a module attribute (``self.weight = Parameter(...)``) puts it in
    ``module.parameters()``, in ``state_dict()``, and so in front of an optimizer.
    It shares its values with the tensor it wraps.

    Args:
        data (Tensor): the initial values (default: an empty tensor).
        requires_grad (bool): default ``True``.
    """

    def __init__(self, data=None, requires_grad=True):
        data = empty(0) if data is None else data
        self.array, self._node, self.grad, self._requires_grad = data.array, None, None, False
        self._version = data._version
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
