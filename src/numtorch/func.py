"""numtorch.func: models as functions of their state, and transforms of such functions, as in ``torch.func``.

The Module keeps state; ``functional_call`` borrows the Module's code (its ``forward``
and hooks) with state you pass in, which turns a model into a function of its
parameters: ``loss(params) = F.mse_loss(functional_call(model, params, x), y)``.
``grad`` turns such a function into the function that returns its gradient, ``vmap``
maps a function over a batch dimension, and ``stack_module_state`` stacks the state of
several models so that ``vmap`` can run them as one ensemble.

How numtorch does it, which is not how torch does (torch transforms every operation as
it runs, so its transforms compose to any order):

- ``grad`` runs ``backward`` on fresh leaves made from the inputs. Its result is cut from
  the graph: a gradient of a gradient, as in full second-order MAML, is torch's only.
- ``vmap`` is a Python loop over the mapped dimension that stacks the results. The values
  and the gradients are torch's; the speed is a loop's, and a random operation inside the
  function draws for each sample in turn where torch raises (``randomness="error"``).
"""
import functools

from . import autograd, coverage
from .factories import zeros_like
from .functions import stack
from .grad_mode import enable_grad
from .nn.modules.module import Module
from .tensor import Tensor

__all__ = ["functional_call", "grad", "grad_and_value", "vmap", "stack_module_state"]

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


# ----- grad ---------------------------------------------------------------------------------------------

def _tree_map(fn, tree, leaves_only_tensors=False):
    """``tree`` (tensors nested in dicts, lists and tuples) with ``fn`` applied to every tensor.

    Other leaves are kept, or, with ``leaves_only_tensors``, given to ``fn`` too.
    """
    if isinstance(tree, Tensor):
        return fn(tree)
    if isinstance(tree, dict):
        return type(tree)((key, _tree_map(fn, value, leaves_only_tensors)) for key, value in tree.items())
    if isinstance(tree, (list, tuple)):
        return type(tree)(_tree_map(fn, value, leaves_only_tensors) for value in tree)
    return fn(tree) if leaves_only_tensors else tree


def _positions(argnums, count):
    """``argnums`` as a tuple of non-negative positions among ``count`` positional arguments."""
    many = isinstance(argnums, tuple)
    if not (isinstance(argnums, int) or many and argnums and all(isinstance(n, int) for n in argnums)):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for n in argnums if many else (argnums,):
        if not -count <= n < count:
            raise RuntimeError(f"Got argnum={n}, but only {count} positional inputs")
    return tuple(n % count for n in (argnums if many else (argnums,)))


_grad_depth = 0  # how many grad calls are running: numtorch refuses to nest them


def grad_and_value(func, argnums=0, has_aux=False):
    """Like :func:`grad`, but the new function returns ``(gradient, value)``: the value comes for free.

    With ``has_aux=True`` it returns ``(gradient, (value, aux))``.
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        global _grad_depth
        where = "grad_and_value(f)(*args)"
        if _grad_depth:
            # The inner gradient is cut from the graph: the outer one would be a silent zero.
            raise NotImplementedError("numtorch's grad is first-order only: grad of a function that calls grad "
                                      "(a second derivative, full MAML) needs torch.func.grad")
        positions = _positions(argnums, len(args))
        args = list(args)
        for i in positions:  # fresh leaves: the gradient is the function's alone, and no .grad is written
            args[i] = _tree_map(lambda t: t.detach().requires_grad_(), args[i])
        _grad_depth += 1
        try:
            with enable_grad():  # like torch: an outer no_grad does not stop grad
                output = func(*args, **kwargs)
        finally:
            _grad_depth -= 1
        aux = None
        if has_aux:
            if not (isinstance(output, tuple) and len(output) == 2):
                raise RuntimeError(f"{where}: output of function f should be a tuple: (output, aux) "
                                   "if has_aux is True")
            output, aux = output
        if not isinstance(output, Tensor):
            raise RuntimeError(f"{where}: Expected f(*args) to return a Tensor, got {type(output)}")
        if output.dim() != 0:
            raise RuntimeError(f"{where}: Expected f(*args) to return a scalar Tensor, got tensor with "
                               f"{output.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?")
        found = autograd.leaf_gradients(output) if output.requires_grad else {}
        # An input the output does not depend on gets zeros, as in torch.
        gradient_of = lambda leaf: Tensor._make(found[id(leaf)][1]) if id(leaf) in found else zeros_like(leaf.detach())
        grads = tuple(_tree_map(gradient_of, args[i]) for i in positions)
        grads = grads if isinstance(argnums, tuple) else grads[0]
        value = output.detach()
        if has_aux:
            return grads, (value, _tree_map(_detached_tensor, aux, leaves_only_tensors=True))
        return grads, value

    return wrapper


def _detached_tensor(value):
    if not isinstance(value, Tensor):  # called by _tree_map on leaves: a leaf that is no tensor lands here
        raise RuntimeError(f"Expected tensors, got unsupported type {type(value)}")
    return value.detach()


def grad(func, argnums=0, has_aux=False):
    """The function that returns the gradient of ``func`` (which returns a scalar) with respect to its arguments.

    Args:
        func (callable): returns a 0-dimensional tensor (and, with ``has_aux``, something else beside it).
        argnums (int or tuple of ints): which positional arguments to differentiate with respect to;
            a tuple gives a tuple of gradients (default: ``0``). An argument may be a tensor or a
            dict, list or tuple of tensors (a model's parameters by name): its gradient has the same form.
        has_aux (bool): ``func`` returns ``(output, aux)``; the new function returns
            ``(gradient, aux)`` (default: ``False``).

    numtorch computes the gradient with one ``backward`` on fresh leaves, so the result is cut
    from the graph (torch's is differentiable again) and no ``.grad`` of any tensor changes.

    Examples::

        >>> grad(lambda x: (x ** 2).sum())(numtorch.tensor([1.0, 2.0]))
        tensor([2., 4.])
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        grads, value = grad_and_value(func, argnums, has_aux)(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapper


# ----- vmap ---------------------------------------------------------------------------------------------

def _leaves_with_dims(dims, tree):
    """Pairs ``(dim, tensor)`` for every tensor of ``tree``; an int or None in ``dims`` covers a whole subtree."""
    if dims is None or isinstance(dims, int):
        if isinstance(tree, Tensor):
            yield dims, tree
        elif isinstance(tree, dict):
            for value in tree.values():
                yield from _leaves_with_dims(dims, value)
        elif isinstance(tree, (list, tuple)):
            for value in tree:
                yield from _leaves_with_dims(dims, value)
        return
    keys = list(tree) if isinstance(tree, dict) and isinstance(dims, dict) else None
    if keys is not None and set(keys) == set(dims):
        for key in keys:
            yield from _leaves_with_dims(dims[key], tree[key])
    elif isinstance(dims, (list, tuple)) and isinstance(tree, (list, tuple)) and len(dims) == len(tree):
        for d, value in zip(dims, tree):
            yield from _leaves_with_dims(d, value)
    else:
        raise ValueError(f"vmap: in_dims is not compatible with the structure of `inputs`: in_dims has {dims!r} "
                         f"where the input is a {type(tree).__name__}")


def _select(dims, tree, index):
    """``tree`` with each tensor mapped along its dim replaced by its slice ``index`` there."""
    if isinstance(tree, Tensor):
        if dims is None:
            return tree
        # A one-wide slice, squeezed, rather than an integer index: always a view, even of a 1-d tensor, so that
        # an in-place update inside func (batch norm's running statistics) lands in the batched tensor, as in torch.
        dim = dims % tree.dim()
        return tree[(slice(None),) * dim + (slice(index, index + 1),)].squeeze(dim)
    if isinstance(tree, dict):
        return type(tree)((k, _select(dims if not isinstance(dims, dict) else dims[k], v, index))
                          for k, v in tree.items())
    if isinstance(tree, (list, tuple)):
        each = dims if isinstance(dims, (list, tuple)) else [dims] * len(tree)
        return type(tree)(_select(d, v, index) for d, v in zip(each, tree))
    return tree


def _stack_results(results, out_dims, name):
    """Stack the per-sample results (trees of tensors of one structure) along ``out_dims``."""
    first = results[0]
    if isinstance(first, Tensor):
        return stack(results, dim=out_dims if out_dims >= 0 else out_dims + first.dim() + 1)
    if isinstance(first, (list, tuple)) and not isinstance(first, Tensor):
        each = out_dims if isinstance(out_dims, (list, tuple)) else [out_dims] * len(first)
        return type(first)(_stack_results([r[i] for r in results], d, name) for i, d in enumerate(each))
    if isinstance(first, dict):
        return type(first)((k, _stack_results([r[k] for r in results], out_dims, name)) for k in first)
    raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(first)}. "
                     "Did you mean to set out_dims= to None for output?")


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """The function that runs ``func`` on every slice of its inputs along a dimension and stacks the results.

    ``func`` is written for one sample; ``vmap(func)`` takes a batch. With ``in_dims=(None, 0, 0)``,
    ``vmap(grad(loss), in_dims)(params, x, y)`` gives one gradient per sample.

    Args:
        func (callable): takes tensors (or dicts, lists, tuples of them), returns tensors.
        in_dims (int or tuple): the dimension to map over, for every argument (an int) or
            for each positional argument (a tuple with an int or ``None``, "not mapped", per
            argument; a dict argument may get a dict) (default: ``0``).
        out_dims (int or tuple): where the mapped dimension goes in each output (default: ``0``).
        randomness, chunk_size: accepted for torch's signature; numtorch's loop ignores them.

    numtorch's vmap is a Python loop over the mapped dimension: the values and gradients are
    torch's, the speed is not (torch runs the batched operations once).

    Examples::

        >>> dot = lambda a, b: (a * b).sum()
        >>> vmap(dot)(numtorch.ones(3, 2), numtorch.ones(3, 2))
        tensor([2., 2., 2.])
    """
    name = getattr(func, "__name__", repr(func))

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
        if not isinstance(in_dims, (int, tuple)):
            raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching the "
                             f"structure of inputs, got: {type(in_dims)}.")
        dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`: "
                             f"{len(dims)} in_dims for {len(args)} positional inputs")
        for dim, arg in zip(dims, args):
            if isinstance(dim, int) and not isinstance(arg, (Tensor, dict, list, tuple)):
                raise ValueError(f"{where}: Got in_dim={dim} for an input but the input is of type {type(arg)}. "
                                 "We cannot vmap over non-Tensor arguments, please use None as the respective in_dim")
        sizes = []
        for dim, tensor in _leaves_with_dims(dims, args):
            if dim is None:
                continue
            if not -tensor.dim() <= dim < tensor.dim():
                raise ValueError(f"{where}: Got in_dim={dim} for some input, but that input is a Tensor of "
                                 f"dimensionality {tensor.dim()} so expected in_dim to satisfy "
                                 f"-{tensor.dim()} <= in_dim < {tensor.dim()}.")
            sizes.append(tensor.shape[dim])
        if not sizes:
            raise ValueError("vmap: Expected at least one Tensor to vmap over")
        if len(set(sizes)) > 1:
            raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, "
                             f"got sizes {sizes} for the mapped dimension")
        results = [func(*_select(dims, tuple(args), i), **kwargs) for i in range(sizes[0])]
        return _stack_results(results, out_dims, name)

    return wrapper


# ----- ensembles ----------------------------------------------------------------------------------------

def stack_module_state(models):
    """The parameters and buffers of several models of one class, stacked: ``(params, buffers)`` by name.

    Each stacked parameter is a new leaf (requiring grad when the models' do), so an optimizer
    can train the whole ensemble through ``vmap(functional_call...)``; the models keep their own.

    Examples::

        >>> models = [nn.Linear(3, 2) for _ in range(4)]
        >>> params, buffers = stack_module_state(models)
        >>> params["weight"].shape
        numtorch.Size([4, 2, 3])
    """
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if len({type(m) for m in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named, name):
        tensors = [named_tensors[name] for named_tensors in named]
        flags = {t.requires_grad for t in tensors}
        if len(flags) > 1:
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        result = stack([t.detach() for t in tensors])
        return result.requires_grad_() if flags == {True} else result

    params = [dict(m.named_parameters()) for m in models]
    buffers = [dict(m.named_buffers()) for m in models]
    return ({name: stacked(params, name) for name in params[0]}, {name: stacked(buffers, name) for name in buffers[0]})


__getattr__ = coverage.module_getattr(__name__)  # torch's names that numtorch lacks say so
