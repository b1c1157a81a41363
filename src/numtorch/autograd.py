"""Reverse-mode automatic differentiation. The Functions live in ``ops.py`` and ``nn/_functions.py``.

:meth:`Function.apply` runs an operation's ``forward`` on NumPy arrays and, when an input requires a
gradient, leaves a :class:`Context` on the output as its ``grad_fn``. :func:`backward` sorts those
topologically and walks them once in reverse.
"""
import numpy as np

from . import grad_mode, saved_values
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad  # noqa: F401  (torch.autograd has them)


class Context:
    """One call of a Function, kept for its backward: on the output it is the ``grad_fn``. ``parents`` holds each
    input's ``grad_fn`` as it was at this call: an in-place operation may give the input a new one later, but the
    gradient must reach the value actually used. ``versions`` records the versions of the values ``saved``
    (:mod:`numtorch.saved_values`)."""

    def __init__(self, fn, inputs, needs_input_grad):
        self.fn, self.inputs, self.needs_input_grad, self.name = fn, inputs, needs_input_grad, fn.name
        self.saved, self.versions = (), []

    def save_for_backward(self, *arrays):
        """Keep ``arrays`` for backward, and the version of each input among them (:mod:`numtorch.saved_values`).

        ``forward`` receives the inputs' own arrays, so an input is saved exactly when its array is
        passed here. If it is then overwritten in place, its version moves on and backward refuses.
        The output's is recorded once the output exists (:meth:`Function.apply`).
        """
        self.saved, self.versions = arrays, saved_values.records_of(arrays, self.inputs)

    @property
    def saved_tensors(self):
        """What a Function written as in torch saved: its tensors."""
        if self.saved is FREED:
            raise RuntimeError(SECOND_BACKWARD)
        return self.saved


# What a context saved, once a backward without retain_graph has walked it: torch frees saved values then, so a
# second backward through them fails. A context that saved nothing (an Add, a Sum, a reshape) may be walked again.
FREED = object()
SECOND_BACKWARD = ("Trying to backward through the graph a second time (or directly access saved tensors after they "
                   "have already been freed). Saved intermediate values of the graph are freed when you call "
                   ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
                   "graph a second time or if you need to access saved tensors after calling backward.")


class Function:
    """A differentiable operation; subclasses define ``name``, ``forward`` and ``backward``.

    ``name`` is torch's ``grad_fn`` name (``forward`` may refine it in ``ctx.name``). Inputs are
    tensors or ``None`` (an absent bias); keyword options never get gradients. ``backward`` returns
    one gradient per input, in broadcast shape, and computes it only where ``ctx.needs_input_grad``
    says so (``None`` elsewhere; a free one, such as Add's, may be returned anyway: it is dropped).

    A subclass without ``name`` is written as for ``torch.autograd.Function``: ``forward(ctx, *args)``
    gets the tensors themselves and records nothing, ``ctx.save_for_backward(*tensors)`` keeps them for
    ``ctx.saved_tensors``, and ``backward(ctx, grad_output)`` gets and returns tensors, one gradient
    (or ``None``) per argument of ``forward``. Its output's grad_fn is ``<ClassName>Backward``.
    """

    name = None

    @classmethod
    def apply(cls, *inputs, **options):
        if cls.name is None:
            return _apply_as_in_torch(cls, inputs, options)
        for t in inputs:
            if t is not None and t._view is not None:
                t._catch_up()
        needs = tuple(grad_mode._enabled and t is not None and t._requires_grad for t in inputs)
        ctx = Context(cls, inputs, needs)
        array = cls.forward(ctx, *[None if t is None else t.array for t in inputs], **options)
        if True not in needs:
            return _tensor(array)
        ctx.parents = tuple(None if t is None else t._node for t in inputs)
        out = _tensor(array, grad_fn=ctx)
        if ctx.saved:
            saved_values.record_output(ctx, out)
        return out


_Tensor = None  # numtorch.tensor.Tensor, once _tensor_class has imported it


def _tensor_class():
    """numtorch.tensor.Tensor. tensor.py imports this module (through ops.py, whose Functions build on it),
    so this module cannot import tensor.py at its top: it does so here, once, on first use."""
    global _Tensor
    if _Tensor is None:
        from .tensor import Tensor
        _Tensor = Tensor
    return _Tensor


def _tensor(array, grad_fn=None):
    """A new Tensor holding ``array``: every Function's output and every gradient is made here."""
    return _tensor_class()._make(array, grad_fn)


def _apply_as_in_torch(cls, args, kwargs):
    Tensor = _tensor_class()
    tensors = tuple(a if isinstance(a, Tensor) else None for a in args)
    for t in tensors:
        if t is not None and t._view is not None:
            t._catch_up()
    needs = tuple(grad_mode._enabled and t is not None and t._requires_grad for t in tensors)
    ctx = Context(_WrittenAsInTorch(cls), tensors, needs)
    with no_grad():
        out = cls.forward(ctx, *args, **kwargs)
    if not isinstance(out, Tensor):
        raise TypeError(f"{cls.__name__}.forward must return a Tensor, but got {type(out).__name__}")
    if True not in needs:
        return Tensor._make(out.array)  # a tensor of its own, even when forward returned one of its inputs
    ctx.parents = tuple(None if t is None else t._node for t in tensors)
    result = Tensor._make(out.array, grad_fn=ctx)
    saved_values.record_output(ctx, result)
    return result


class _WrittenAsInTorch:
    """A Function written as in torch, seen by backward(), which hands each Function arrays and takes arrays back."""

    def __init__(self, cls):
        self.cls, self.name = cls, f"{cls.__name__}Backward"

    def backward(self, ctx, grad):
        grads = self.cls.backward(ctx, _tensor(grad))
        grads = grads if isinstance(grads, tuple) else (grads,)
        if len(grads) != len(ctx.inputs):
            raise RuntimeError(f"function {self.name} returned an incorrect number of gradients "
                               f"(expected {len(ctx.inputs)}, got {len(grads)})")
        arrays = []
        for i, (g, t, need) in enumerate(zip(grads, ctx.inputs, ctx.needs_input_grad)):
            g = None if g is None or not need else np.asarray(getattr(g, "array", g))
            if g is not None and _broadcast_shape(t.array.shape, g.shape) != g.shape:
                raise RuntimeError(f"Function {self.name} returned an invalid gradient at index {i} - got "
                                   f"{list(g.shape)} but expected shape compatible with {list(t.array.shape)}")
            arrays.append(g)
        return tuple(arrays)


def _broadcast_shape(a, b):
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None


def _sum_to_shape(grad, shape):
    """Undo broadcasting: sum ``grad`` down to ``shape``."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)


def _topological_order(root):
    """The contexts ``root`` depends on, each after every context it depends on."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p, need in zip(node.parents, node.needs_input_grad) if need and p is not None)
    return order


def backward(root, gradient=None, retain_graph=False):
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
    for leaf, g in leaf_gradients(root, gradient, retain_graph).values():  # each leaf's .grad written once, summed
        _accumulate(leaf, g)


def leaf_gradients(root, gradient=None, retain_graph=False):
    """d(root)/d(leaf) for every leaf that requires grad, as ``{id(leaf): (leaf, array)}``, writing no ``.grad``.

    ``backward`` accumulates these into ``.grad``; ``numtorch.func.grad`` returns them instead. Unless
    ``retain_graph``, what the graph saved is freed on the way.
    """
    if not root.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    if gradient is None and root.array.size != 1:
        raise RuntimeError(f"grad can be implicitly created only for scalar outputs, but got an output of shape "
                           f"{tuple(root.shape)}")
    gradient = np.ones_like(root.array) if gradient is None else np.asarray(getattr(gradient, "array", gradient))
    if gradient.shape != root.array.shape:
        raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {tuple(gradient.shape)} and output[0] "
                           f"has a shape of {tuple(root.shape)}.")
    gradient = gradient.astype(root.array.dtype, copy=False)
    if root._node is None:
        return {id(root): (root, gradient)}
    grads, leaves = {id(root._node): gradient}, {}  # gradients by id of context or leaf; leaves by id
    with no_grad():
        for node in reversed(_topological_order(root._node)):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node.saved is FREED:
                raise RuntimeError(SECOND_BACKWARD)
            saved_values.check(node)
            in_grads = node.fn.backward(node, g)
            if node.saved and not retain_graph:
                node.saved = FREED
            for inp, parent, need, ig in zip(node.inputs, node.parents, node.needs_input_grad,
                                             in_grads if isinstance(in_grads, tuple) else (in_grads,)):
                if need and ig is not None:
                    ig, key = _sum_to_shape(np.asarray(ig), inp.array.shape), id(inp if parent is None else parent)
                    grads[key] = grads[key] + ig if key in grads else ig
                    if parent is None:
                        leaves[key] = inp
    return {key: (leaf, grads[key]) for key, leaf in leaves.items()}


def _accumulate(leaf, g):
    g = np.array(g, dtype=leaf.array.dtype)  # a fresh array: never a view of a saved one
    leaf.grad = _tensor(g if leaf.grad is None else leaf.grad.array + g)
