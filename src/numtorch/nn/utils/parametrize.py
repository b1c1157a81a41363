"""Parametrizations: a tensor of a module that is computed from other tensors each time it is read.

After ``register_parametrization(module, "weight", P())``, ``module.weight`` is no longer a
parameter: it is a property that returns ``P()(original)``, where ``original`` (the old
Parameter object itself, so an optimizer that holds it still trains it) lives in
``module.parametrizations.weight.original``. The module keeps the state (``original``); the
parametrization is a small module whose ``forward`` is the maths. To give ``module`` the
property, its class is swapped for a subclass made on the spot, ``Parametrized<Class>``,
as torch does; ``remove_parametrizations`` swaps it back.
"""
from contextlib import contextmanager

from ...grad_mode import no_grad
from ...tensor import Tensor
from ..modules.container import ModuleDict, ModuleList
from ..parameter import Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "ParametrizationList"]

_cache_depth = 0
_cache = {}


@contextmanager
def cached():
    """Inside this block a parametrized tensor is computed once, at its first read, and then reused.

    Worth it when a forward reads the same parametrized weight many times (a recurrent layer).
    """
    global _cache_depth, _cache
    _cache_depth += 1
    try:
        yield
    finally:
        _cache_depth -= 1
        if not _cache_depth:
            _cache = {}


def _register_tensor(module, name, tensor):
    if isinstance(tensor, Parameter):
        module.register_parameter(name, tensor)
    else:
        module.register_buffer(name, tensor)


def _check_same(before, after, what):
    if not isinstance(after, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(after).__name__}.")
    if after.dtype != before.dtype:
        raise ValueError(f"Registering a parametrization may not change the dtype of the tensor, unless `unsafe` "
                         f"flag is enabled.\n{what} dtype: {before.dtype}\nparametrized dtype: {after.dtype}")
    if after.shape != before.shape:
        raise ValueError(f"Registering a parametrization may not change the shape of the tensor, unless `unsafe` "
                         f"flag is enabled.\n{what} shape: {before.shape}\nparametrized shape: {after.shape}")


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the tensor(s) they start from.

    ``original`` is the tensor that was registered, holding ``right_inverse`` of its value if the
    first parametrization has one; a ``right_inverse`` that returns several tensors (weight
    norm's magnitude and direction) gives ``original0``, ``original1``, ... instead.
    """

    def __init__(self, modules, original, unsafe=False):
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new = original
            for module in reversed(self):
                if hasattr(module, "right_inverse"):
                    new = module.right_inverse(new)
        if not isinstance(new, (Tensor, list, tuple)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                             f"Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new.dtype != original.dtype:
                raise ValueError(f"When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                                 f"original.dtype: {original.dtype}\nright_inverse(original).dtype: {new.dtype}")
            if new is not original:
                original.data = new.detach()  # the same Parameter object, so an optimizer's hold on it stays good
            _register_tensor(self, "original", original)
        else:
            for i, part in enumerate(new):
                part = part.detach()
                if isinstance(original, Parameter):
                    part = Parameter(part, original.requires_grad)
                _register_tensor(self, f"original{i}", part)
        if not unsafe:
            _check_same(original, self(), "unparametrized")

    def right_inverse(self, value):
        """Store ``value`` as the parametrized tensor: what ``module.weight = value`` does."""
        with no_grad():
            for module in reversed(self):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
                self.original.data = value.detach()
            else:
                for i, part in enumerate(value):
                    getattr(self, f"original{i}").data = part.detach()

    def forward(self):
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in list(self)[1:]:
            x = module(x)
        return x


def _inject_property(module, tensor_name):
    def get_parametrized(self):
        if not _cache_depth:
            return self.parametrizations[tensor_name]()
        key = (id(self), tensor_name)
        if key not in _cache:
            _cache[key] = self.parametrizations[tensor_name]()
        return _cache[key]

    def set_original(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(type(module), tensor_name, property(get_parametrized, set_original))


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` read as ``parametrization(original)``; returns ``module``.

    Registering a second parametrization on the same name chains it after the first.

    Args:
        module (Module): the module that holds the tensor.
        tensor_name (str): the name of a parameter or buffer of ``module``.
        parametrization (Module): its ``forward`` maps the original to the value the module sees;
            an optional ``right_inverse`` maps a value back (used at registration and on assignment).
        unsafe (bool): allow the parametrization to change the shape or dtype (default: ``False``).

    Examples::

        >>> class Symmetric(nn.Module):
        ...     def forward(self, X):
        ...         return (X + X.T) / 2
        >>> layer = register_parametrization(nn.Linear(3, 3), "weight", Symmetric())
        >>> sorted(layer.state_dict())
        ['bias', 'parametrizations.weight.original']
    """
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            current = getattr(module, tensor_name)
            _check_same(current, parametrization(current), "unparametrized")
        module.parametrizations[tensor_name].append(parametrization)
        module.parametrizations[tensor_name].unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            cls = type(module)
            # A class of its own per module: the property must not reach other instances of cls.
            module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {})
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = parametrizations
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element "
                         f"with name '{tensor_name}'")
    return module


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` has a parametrization (on ``tensor_name``, if given)."""
    parametrizations = getattr(module, "parametrizations", None)
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Turn ``module.<tensor_name>`` back into a plain parameter (or buffer); returns ``module``.

    With ``leave_parametrized=True`` it keeps the value it had as a parametrized tensor; with
    ``False`` it gets back ``original``. Either way it is the ``original`` Parameter object.
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                original.data = getattr(module, tensor_name).detach()
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                             "parametrized in terms of a sequence of tensors.")
        with no_grad():
            value = getattr(module, tensor_name).detach()
        first = parametrizations.original0
        original = Parameter(value, first.requires_grad) if isinstance(first, Parameter) else value
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register_tensor(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module
