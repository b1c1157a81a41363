"""numtorch.func: call a Module with tensors other than its own, as ``torch.func.functional_call`` does.

The Module keeps state; ``functional_call`` borrows the Module's code (its ``forward``
and hooks) with state you pass in, which turns a model into a function of its
parameters: ``loss(params) = F.mse_loss(functional_call(model, params, x), y)``.
"""
from .nn.modules.module import Module
from .tensor import Tensor

__all__ = ["functional_call"]

_MISSING = object()  # marks a name the module did not have before the call


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """Call ``module(*args, **kwargs)`` with the given tensors in place of its parameters and buffers.

    The module's own tensors are put back afterwards, even if the call raises.

    Args:
        module (Module): the module to call.
        parameter_and_buffer_dicts (dict or sequence of dicts): tensors by dotted name
            (``"0.weight"``); names left out keep the module's own tensors. Several dicts
            must not share a key.
        args (Any or tuple): the positional arguments; a non-tuple is one argument.
        kwargs (dict): the keyword arguments (default: none).
        tie_weights (bool): a tensor the module uses under several names (a shared
            parameter) is replaced under all of them (default: ``True``).
        strict (bool): every parameter and buffer must be given, and nothing else
            (default: ``False``).

    Examples::

        >>> model = nn.Linear(3, 1)
        >>> zero = {name: numtorch.zeros_like(p) for name, p in model.named_parameters()}
        >>> functional_call(model, zero, numtorch.ones(2, 3))
        tensor([[0.],
                [0.]])
    """
    values = _merge(parameter_and_buffer_dicts)
    swapped = _untie(module, values) if tie_weights else values
    if strict:
        _check_keys(module, swapped)
    args = () if args is None else args if isinstance(args, tuple) else (args,)
    originals = {}
    try:
        for name, tensor in swapped.items():
            originals[name] = _swap(module, name, tensor)
        return module(*args, **(kwargs or {}))
    finally:
        # In reverse, so that a name reached twice (a shared submodule) gets its first, true original back.
        final = {name: _swap(module, name, tensor) for name, tensor in reversed(originals.items())}
        # A forward that reassigns a buffer (self.n = self.n + 1) leaves its new value in the caller's dict.
        values.update({name: final[name] for name in values if name in final})


def _merge(dicts):
    if isinstance(dicts, dict):
        return dicts
    if not isinstance(dicts, (list, tuple)):
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, "
                         f"but got {type(dicts)}")
    if not all(isinstance(d, dict) for d in dicts):
        raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
    counts = {}
    for d in dicts:
        for key in d:
            counts[key] = counts.get(key, 0) + 1
    repeated = [key for key, n in counts.items() if n > 1]
    if repeated:
        raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
    return {key: value for d in dicts for key, value in d.items()}


def _all_tensors(module):
    """Every parameter and buffer under every name it is reachable by."""
    yield from module.named_parameters(remove_duplicate=False)
    yield from module.named_buffers(remove_duplicate=False)


def _untie(module, values):
    """``values`` plus, for each given name of a shared tensor, the same value under its other names."""
    names_of = {}
    for name, tensor in _all_tensors(module):
        names_of.setdefault(id(tensor), set()).add(name)
    tied = {name: names for names in names_of.values() if len(names) > 1 for name in names}
    untied = dict(values)
    for name in [name for name in values if name in tied]:
        given = tied[name] & values.keys()
        if len({id(values[other]) for other in given}) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(tied[name])}, "
                             "which are tied. Consider using tie_weights=False")
        untied.update(dict.fromkeys(tied[name], values[name]))
    return untied


def _check_keys(module, values):
    valid = {name for name, _ in _all_tensors(module)}
    errors = []
    unexpected, missing = sorted(values.keys() - valid), sorted(valid - values.keys())
    if unexpected:
        errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if errors:
        raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(module._get_name(), "\n\t".join(errors)))


def _swap(module, name, tensor):
    """Put ``tensor`` (or nothing, for ``_MISSING``) at dotted ``name`` and return what was there."""
    if tensor is not _MISSING and tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(f"{tensor} is not an instance of numtorch.Tensor")
    path, _, attr = name.rpartition(".")
    owner, reached = module, []
    for part in path.split(".") if path else []:
        try:
            child = getattr(owner, part)
        except AttributeError as error:
            raise AttributeError(f"{owner._get_name()} has no attribute `{part}`") from error
        reached.append(part)
        if not isinstance(child, Module):
            raise TypeError(f"submodule `{'.'.join(reached)}`: {child} is not an instance of numtorch.nn.Module")
        owner = child
    # Written into the dictionaries directly: a plain tensor may stand in for a Parameter during the call.
    for store in (owner._parameters, owner._buffers):
        if attr in store:
            original = store[attr]
            if tensor is _MISSING:
                del store[attr]
            else:
                store[attr] = tensor
            return original
    original = getattr(owner, attr, _MISSING)
    if original is not _MISSING and original is not None and not isinstance(original, Tensor):
        raise TypeError(f"attribute `{attr}`: {original} is not an instance of numtorch.Tensor")
    if tensor is not _MISSING:
        setattr(owner, attr, tensor)
    elif original is not _MISSING:
        delattr(owner, attr)
    return original
