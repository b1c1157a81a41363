"""Module: the base class that turns a function into a layer with state.

A Module keeps four things: its parameters (learnable tensors), its buffers
(state that is saved but not learned, like BatchNorm's running statistics), its
child modules, and the ``training`` flag. ``__setattr__`` sorts assigned values
into those dictionaries, which is how ``self.weight = Parameter(...)`` is all it
takes for an optimizer, ``state_dict`` and ``repr`` to know about a weight (and
``self.mean = Buffer(...)`` all it takes to register a buffer); ``__getattr__``,
``__delattr__`` and ``__dir__`` read those dictionaries back.
"""
import warnings
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from ...autograd import no_grad
from ...tensor import Tensor
from ..parameter import Buffer, Parameter


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


class RemovableHandle:
    """Returned by ``register_*_hook``; ``remove()`` (or leaving a ``with handle:`` block) takes the hook out.

    ``extra_dicts`` hold per-hook flags such as ``with_kwargs``, removed with the hook.
    """

    _next_id = 0

    def __init__(self, hooks, *extra_dicts):
        self.hooks, self.extra_dicts, self.id = hooks, extra_dicts, RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        for store in (self.hooks, *self.extra_dicts):
            store.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


def _add_hook(hooks, with_kwargs_ids, hook, prepend, with_kwargs, always_called_ids=None, always_call=False):
    handle = RemovableHandle(hooks, with_kwargs_ids, *([] if always_called_ids is None else [always_called_ids]))
    hooks[handle.id] = hook
    if with_kwargs:
        with_kwargs_ids[handle.id] = True
    if always_call:
        always_called_ids[handle.id] = True
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _typename(value):
    """How torch names a value in errors: ``numtorch.nn.functional.relu``, ``int``, ``numtorch.Tensor``."""
    if isinstance(value, Tensor):
        return "numtorch.Tensor"
    if hasattr(value, "__qualname__"):
        module, name = getattr(value, "__module__", "") or "", value.__qualname__
    else:
        module, name = type(value).__module__, type(value).__qualname__
    return name if module in ("", "builtins") else f"{module}.{name}"


def _addindent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class Module:
    """Base class for all neural-network layers and models.

    Subclasses call ``super().__init__()`` first, assign their parameters,
    buffers and submodules as attributes, and define ``forward``. Call the
    module, not ``forward``: ``module(x)`` also runs the registered hooks.

    Examples::

        >>> class TwoLayer(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = nn.Linear(4, 8)
        ...         self.out = nn.Linear(8, 2)
        ...     def forward(self, x):
        ...         return self.out(F.relu(self.hidden(x)))
    """

    # The format of this module's state, which its state dicts record (in ``_metadata``, as torch's do), and the
    # entries added in a later format, by the version that added them: a state dict of an older format, or one that
    # records none (made by hand), may lack them, and loading keeps the module's own.
    _version = 1
    _added_in_version = {}

    def __init__(self):
        set_ = super().__setattr__
        set_("training", True)
        set_("_parameters", OrderedDict())
        set_("_buffers", OrderedDict())
        set_("_non_persistent_buffers_set", set())
        set_("_modules", OrderedDict())
        set_("_forward_pre_hooks", OrderedDict())
        set_("_forward_pre_hooks_with_kwargs", OrderedDict())
        set_("_forward_hooks", OrderedDict())
        set_("_forward_hooks_with_kwargs", OrderedDict())
        set_("_forward_hooks_always_called", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks):
            return self.forward(*args, **kwargs)
        # Each hook is called right here, not through a helper (twice below, on either path): chapter 7 counts the
        # Python calls a hook adds, one per hook.
        output, called = None, set()
        try:
            for hook_id, hook in list(self._forward_pre_hooks.items()):
                if hook_id in self._forward_pre_hooks_with_kwargs:
                    result = hook(self, args, kwargs)
                    if result is not None:
                        if not (isinstance(result, tuple) and len(result) == 2):
                            raise RuntimeError("forward pre-hook must return None or a tuple "
                                               f"of (new_args, new_kwargs), but got {result}.")
                        args, kwargs = result
                else:
                    result = hook(self, args)
                    if result is not None:
                        args = result if isinstance(result, tuple) else (result,)
            output = self.forward(*args, **kwargs)
            for hook_id, hook in list(self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called:
                    called.add(hook_id)
                result = (hook(self, args, kwargs, output) if hook_id in self._forward_hooks_with_kwargs
                          else hook(self, args, output))
                if result is not None:
                    output = result
            return output
        except Exception:
            # As torch: hooks registered with always_call=True still see the call (output None if forward raised),
            # and an error of theirs is only a warning, so the original error is the one that propagates.
            for hook_id, hook in list(self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called and hook_id not in called:
                    try:
                        result = (hook(self, args, kwargs, output) if hook_id in self._forward_hooks_with_kwargs
                                  else hook(self, args, output))
                    except Exception as error:
                        warnings.warn("module forward hook with ``always_call=True`` raised an exception that was "
                                      f"silenced as another error was raised in forward: {error}", stacklevel=2)
                        continue
                    if result is not None:
                        output = result
            raise

    # ----- registration ---------------------------------------------------------------------
    def _check_name(self, name, kind):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, but got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", but got "{name}"')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')

    def _check_registration(self, kind, store, name, value, required, required_name):
        """What register_parameter and register_buffer check before storing ``value`` in ``store``."""
        if store not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        self._check_name(name, kind)
        if hasattr(self, name) and name not in self.__dict__[store]:
            raise KeyError(f"attribute '{name}' already exists")
        if value is not None and not isinstance(value, required):
            raise TypeError(f"cannot assign '{_typename(value)}' object to {kind} '{name}' "
                            f"({required_name} or None required)")

    def register_parameter(self, name, param):
        """Add a parameter (a :class:`Parameter`, or ``None`` for an absent one such as ``bias=False``)."""
        self._check_registration("parameter", "_parameters", name, param, Parameter, "numtorch.nn.Parameter")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer: state that moves and (if ``persistent``) saves with the module but is not learned."""
        self._check_registration("buffer", "_buffers", name, tensor, Tensor, "numtorch Tensor")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add a child module, reachable as an attribute named ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        self._check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                "(numtorch.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if "_modules" not in self.__dict__:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            self._modules[name] = value
        elif name in self.__dict__.get("_modules", ()):
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' "
                                "(numtorch.nn.Module or None expected)")
            self._modules[name] = None
        elif isinstance(value, Buffer) or name in self.__dict__.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' "
                                "(numtorch.nn.Buffer, numtorch.Tensor or None expected)")
            # An nn.Buffer says whether it is saved; a plain tensor keeps what the name had.
            persistent = value.persistent if isinstance(value, Buffer) else name not in self._non_persistent_buffers_set
            self.register_buffer(name, value, persistent)
        else:
            super().__setattr__(name, value)

    def _forget(self, name, keep):
        """Drop ``name`` from every place an attribute can live but ``keep``, before it is re-registered there.

        Replacing an entry of ``keep`` leaves it in its place, so the state_dict order does not change.
        """
        self.__dict__.pop(name, None)
        for store in ("_parameters", "_buffers", "_modules"):
            if store != keep:
                self.__dict__[store].pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name):
        # Only reached when normal lookup fails: parameters, buffers and children live in dicts.
        for store in ("_parameters", "_buffers", "_modules"):
            values = self.__dict__.get(store)
            if values is not None and name in values:
                return values[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(store, ()):
                del self.__dict__[store][name]
                self._non_persistent_buffers_set.discard(name)
                return
        super().__delattr__(name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    # ----- traversal ------------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """This module and every descendant, as ``(dotted_name, module)``, parents first."""
        memo = set() if memo is None else memo
        if remove_duplicate and id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, store, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Every parameter as ``(dotted_name, Parameter)``; a shared parameter appears once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def get_submodule(self, target):
        module = self
        for name in target.split(".") if target else []:
            if name not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
            module = module._modules[name]
        return module

    def get_parameter(self, target):
        """The parameter at the dotted name ``target`` ("0.bias")."""
        return self._get_own(target, "_parameters", "an nn.Parameter")

    def get_buffer(self, target):
        """The buffer at the dotted name ``target`` ("1.running_mean")."""
        return self._get_own(target, "_buffers", "a buffer")

    def _get_own(self, target, kind, what):
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        if name not in getattr(module, kind):
            raise AttributeError(f"`{name}` is not {what}")
        return getattr(module, kind)[name]

    # ----- modes and gradients ----------------------------------------------------------------------
    def train(self, mode=True):
        """Set the ``training`` flag on this module and every descendant; returns ``self``."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        """Same as ``train(False)``: Dropout stops dropping, BatchNorm uses its running statistics."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for param in self.parameters():
            if param.grad is not None:
                if set_to_none:
                    param.grad = None
                else:
                    param.grad.zero_()

    def apply(self, fn):
        """Call ``fn`` on every submodule (children first) and then on ``self``; returns ``self``."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs):
        """Only the CPU exists here; a dtype converts every parameter and floating buffer."""
        dtype = kwargs.get("dtype") or next((a for a in args if not isinstance(a, str)), None)
        if dtype is not None:
            with no_grad():
                for t in list(self.parameters()) + [b for b in self.buffers() if b.dtype.kind == "f"]:
                    t.array = t.array.astype(dtype)
        return self

    def cpu(self):
        return self

    def float(self):
        return self.to(dtype="float32")

    def double(self):
        return self.to(dtype="float64")

    # ----- hooks --------------------------------------------------------------------------------------
    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """``hook(module, args, output)`` runs after every ``forward``; a non-None result replaces the output.

        With ``with_kwargs=True`` it is called as ``hook(module, args, kwargs, output)``;
        with ``prepend=True`` it runs before the hooks already registered; with
        ``always_call=True`` it also runs when a pre-hook or ``forward`` raises (output ``None``).
        """
        return _add_hook(self._forward_hooks, self._forward_hooks_with_kwargs, hook, prepend, with_kwargs,
                         self._forward_hooks_always_called, always_call)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` runs before every ``forward``; a non-None result replaces the arguments.

        With ``with_kwargs=True`` it is called as ``hook(module, args, kwargs)`` and may
        return ``(new_args, new_kwargs)``, so it can change keyword arguments too;
        with ``prepend=True`` it runs before the hooks already registered.
        """
        return _add_hook(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs, hook, prepend, with_kwargs)

    # ----- state --------------------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name, in registration order, detached."""
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = {"version": self._version}
        for name, value in self._own_state():
            destination[prefix + name] = value if keep_vars else value.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def _own_state(self):
        """This module's own entries of the state_dict (not its children's): parameters, then persistent buffers."""
        for name, param in self._parameters.items():
            if param is not None:
                yield name, param
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                yield name, buf

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from ``state_dict`` into this module's parameters and buffers, in place.

        Returns ``(missing_keys, unexpected_keys)``. A shape mismatch is always an
        error; with ``strict=True`` so are missing and unexpected keys. Every
        problem is collected and reported in one ``RuntimeError``.

        With ``assign=True`` the module takes the given tensors themselves instead of
        copying into its own (so their dtype, and their memory, come along): a parameter
        becomes the given tensor wrapped as a :class:`Parameter` that keeps the old
        parameter's ``requires_grad``; a buffer becomes the given tensor. Build the
        optimizer after such a load: it would still hold the old parameters.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        slots, unexpected = [], []  # slots: (key, owning module, local name, current tensor)
        # Like torch, each module claims the keys under its prefix, so the report follows the module tree.
        for prefix, module in self.named_modules(remove_duplicate=False):
            prefix += "." if prefix else ""
            own = dict(module._own_state())
            slots += [(prefix + name, module, name, target) for name, target in own.items()]
            for key in state_dict:
                if key.startswith(prefix):
                    head, dot, _ = key[len(prefix):].partition(".")
                    if head not in (module._modules if dot else own):
                        unexpected.append(key)
        recorded = getattr(state_dict, "_metadata", None) or {}
        missing = [key for key, module, name, _ in slots if key not in state_dict
                   and recorded.get(key[:-len(name) - 1], {}).get("version", 0) >= module._added_in_version.get(name, 0)]
        errors = []
        for key, _, _, target in slots:
            if key not in state_dict:
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                errors.append(f'While copying the parameter named "{key}", expected a numtorch Tensor from '
                              f"checkpoint but received {type(value)}")
            elif value.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape {value.shape} from checkpoint, "
                              f"the shape in current model is {target.shape}.")
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        with no_grad():
            for key, module, name, target in slots:
                if key not in state_dict:
                    continue
                value = state_dict[key]
                if not assign:
                    target.copy_(value)
                    continue
                if isinstance(target, Parameter):
                    if isinstance(value, Parameter):
                        value.requires_grad_(target.requires_grad)
                    else:
                        value = Parameter(value, requires_grad=target.requires_grad)
                setattr(module, name, value)
        return _IncompatibleKeys(missing, unexpected)

    # ----- printing -----------------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside this module's parentheses in ``repr``; layers override it."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra_lines = self.extra_repr().split("\n") if self.extra_repr() else []
        child_lines = [f"({name}): " + _addindent(repr(module), 2) for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            body = extra_lines[0] if len(extra_lines) == 1 and not child_lines else "\n  " + "\n  ".join(lines) + "\n"
        return self._get_name() + "(" + body + ")"
