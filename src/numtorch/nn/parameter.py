"""Parameter and Buffer: the two kinds of Tensor a Module sorts into its dictionaries when assigned."""
from ..factories import empty
from ..tensor import Tensor


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
        self._share(data)
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class _BufferMeta(type):
    # Buffer(t) returns a plain Tensor carrying a flag, as torch's does; this makes isinstance see the flag.
    def __instancecheck__(cls, instance):
        if cls is Buffer and isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False):
            return True
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """Marks a tensor as a buffer: assigning it to a module attribute registers it in ``_buffers``.

    ``self.running_mean = nn.Buffer(numtorch.zeros(3))`` is the same as
    ``self.register_buffer("running_mean", numtorch.zeros(3))``. The result is a plain
    Tensor (``type(b) is numtorch.Tensor``) sharing memory with ``data``, cut from the graph.

    Args:
        data (Tensor): the values (default: an empty tensor).
        persistent (bool): whether the buffer is saved in ``state_dict`` (default: ``True``).
    """

    def __new__(cls, data=None, *, persistent=True):
        data = empty(0) if data is None else data
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t
