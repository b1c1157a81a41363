"""Parameter and Buffer: the two kinds of Tensor a Module sorts into its dictionaries when assigned; and
UninitializedParameter, a Parameter whose shape a lazy module learns at its first call."""
import numpy as np

from ..dtypes import float32
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

    _keeps_grad_when_deepcopied = False  # as in torch: a copied model starts without gradients

    def __init__(self, data=None, requires_grad=True):
        data = empty(0) if data is None else data
        self._share(data)
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class UninitializedParameter(Parameter):
    """A Parameter without a shape or values yet: a lazy module (``nn.LazyLinear``) holds these until its first call.

    Any use of its values raises; ``materialize(shape)`` gives it values, and turns it into a
    plain :class:`Parameter`, the same object: an optimizer built before the first call
    already holds the right tensor.
    """

    cls_to_become = Parameter

    def __init__(self, requires_grad=True):
        super().__init__(empty(0), requires_grad)
        self.array = None  # no values: every Tensor operation reads ``array``, which raises until materialize()

    @property
    def array(self):
        values = self.__dict__["array"]
        if values is not None:
            return values
        raise ValueError("Attempted to use an uninitialized parameter. This error happens when you are using a "
                         "`LazyModule` or explicitly manipulating `numtorch.nn.parameter.UninitializedParameter` "
                         "objects. When using LazyModules Call `forward` with a dummy batch to initialize the "
                         "parameters before calling numtorch functions")

    @array.setter
    def array(self, values):
        self.__dict__["array"] = values

    def materialize(self, shape, dtype=float32):
        """Give the parameter uninitialized values of ``shape``; it becomes a :class:`Parameter`."""
        self.__class__ = self.cls_to_become
        self.array = np.empty(tuple(shape), dtype=dtype)

    def detach(self):
        return self  # nothing to cut from a graph yet: a lazy module's state_dict holds the parameter itself

    def __repr__(self):
        return "<UninitializedParameter>"


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
