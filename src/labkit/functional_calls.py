"""Watch the calls a model makes into its engine's ``nn.functional``, from outside the engine.

Layers call their functional through the module attribute (``F.dropout(...)`` looks up
``dropout`` in ``<engine>.nn.functional`` at every call), in numtorch and in PyTorch
alike. So replacing those attributes with reporting wrappers, for the length of a
``with`` block, sees every such call without the engine's help. Nothing here imports
an engine: it works on whichever ``nn.functional`` module it is handed.

What it cannot see, on either engine: a name imported beforehand
(``from torch.nn.functional import dropout``) and a layer that skips the functional
(PyTorch's ``nn.Sigmoid`` calls ``torch.sigmoid``).
"""
import importlib
import inspect
from contextlib import contextmanager


def engine_of(obj):
    """The engine package (``numtorch`` or ``torch``) whose ``nn.Module`` or ``Tensor`` ``obj`` is an instance or subclass of."""
    cls = obj if isinstance(obj, type) else type(obj)
    for base in cls.__mro__:
        module = base.__module__ or ""
        if base.__name__ == "Module" and ".nn.modules" in module:
            return importlib.import_module(module.split(".nn.modules")[0])
        if base.__name__ == "Tensor" and module.split(".")[0] != "builtins":
            return importlib.import_module(module.split(".")[0])
    raise TypeError(f"expected an engine's nn.Module or Tensor, but got {cls.__module__}.{cls.__qualname__}")


def functional_of(obj):
    """The ``nn.functional`` module of the engine ``obj`` belongs to (``obj`` may be the engine itself)."""
    engine = obj if inspect.ismodule(obj) else engine_of(obj)
    return importlib.import_module(engine.__name__.split(".")[0] + ".nn.functional")


def public_functions(functional):
    """Names of the functions ``functional`` offers: its ``__all__`` if it has one, else every public function.

    Without ``__all__`` (PyTorch's has none), Python functions count only if defined there,
    which leaves out helpers it imports (``handle_torch_function``); compiled ones
    (``torch.conv2d`` published as ``F.conv2d``) cannot say where they were published, so all count.
    """
    names = getattr(functional, "__all__", None)
    if names is None:
        names = [n for n, v in vars(functional).items() if not n.startswith("_")
                 and (inspect.isbuiltin(v) or inspect.isfunction(v) and v.__module__ == functional.__name__)]
    return [n for n in names
            if inspect.isfunction(getattr(functional, n)) or inspect.isbuiltin(getattr(functional, n))]


def received_argument(functional, name, args, kwargs, argument):
    """The value of ``argument`` in a call ``functional.<name>(*args, **kwargs)``, defaults included.

    None if the function has no such parameter, or hides its signature (a compiled builtin).
    """
    try:
        signature = inspect.signature(getattr(functional, name))
        bound = signature.bind(*args, **kwargs)
    except (TypeError, ValueError):
        return None
    if argument not in signature.parameters:
        return None
    bound.apply_defaults()
    return bound.arguments[argument]


@contextmanager
def trace_calls(functional, callback, *, when="returned"):
    """Report every call of ``functional``'s public functions made inside the ``with`` block.

    ``callback(name, args, kwargs, output)`` runs after each outermost call returns (a
    ``cross_entropy`` that calls ``log_softmax`` reports itself only). With
    ``when="started"`` it runs as each outermost call starts, with ``output=None``, so that
    a call that raises is reported too. The attributes are swapped for reporting wrappers
    while the block runs and put back after, even if it raises, so watching costs nothing
    when it is off.
    """
    if when not in ("returned", "started"):
        raise ValueError(f"when must be 'returned' or 'started', but got {when!r}")
    originals = {name: getattr(functional, name) for name in public_functions(functional)}
    depth = 0

    def wrap(name, fn):
        def traced(*args, **kwargs):
            nonlocal depth
            if depth == 0 and when == "started":
                callback(name, args, kwargs, None)
            depth += 1
            try:
                out = fn(*args, **kwargs)
            finally:
                depth -= 1
            if depth == 0 and when == "returned":
                callback(name, args, kwargs, out)
            return out
        traced.__name__, traced.__doc__, traced.__wrapped__ = name, fn.__doc__, fn
        return traced

    for name, fn in originals.items():
        setattr(functional, name, wrap(name, fn))
    try:
        yield
    finally:
        for name, fn in originals.items():
            setattr(functional, name, fn)
