"""Reverse-mode automatic differentiation, in one screen.

Every differentiable operation is a :class:`Function` with a ``forward`` that
computes NumPy arrays and a ``backward`` that maps the gradient of the output
to the gradients of the inputs. :meth:`Function.apply` runs ``forward`` and, if
any input requires a gradient, remembers how the output was made. ``backward``
on a tensor sorts that graph topologically and walks it once in reverse.
"""
import functools
from contextlib import contextmanager

import numpy as np

_grad_enabled = True


def is_grad_enabled():
    """False inside ``no_grad()``."""
    return _grad_enabled


@contextmanager
def _grad_mode(enabled):
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, enabled
    try:
        yield
    finally:
        _grad_enabled = previous


class no_grad:
    """Context manager (and decorator) that stops recording operations for autograd."""

    def __enter__(self):
        self._mode = _grad_mode(False)
        self._mode.__enter__()

    def __exit__(self, *exc):
        self._mode.__exit__(*exc)

    def __call__(self, fn):
        @functools.wraps(fn)  # keeps the name, docstring and signature for help()
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Context manager that turns recording back on inside a ``no_grad`` block."""

    def __enter__(self):
        self._mode = _grad_mode(True)
        self._mode.__enter__()


class Context:
    """Scratch space a Function's forward leaves for its backward."""

    def save_for_backward(self, *arrays):
        self.saved = arrays


class Node:
    """How a non-leaf tensor was made: the Function, its context, its inputs and their nodes.

    ``parents`` records each input's own node as it was when this one was made. An
    in-place operation later gives the input tensor a new node, but this edge must
    still lead to the value that was actually used.

    ``saved`` pairs each input whose array the forward saved for backward with the
    input's version counter at that moment. If the array is overwritten in place
    before ``backward`` (an optimizer step between forward and backward, say), the
    gradient would silently be wrong, so :meth:`check_saved` refuses instead.
    """

    __slots__ = ("fn", "ctx", "inputs", "parents", "saved")

    def __init__(self, fn, ctx, inputs):
        self.fn, self.ctx, self.inputs = fn, ctx, inputs
        self.parents = tuple(None if t is None else t._node for t in inputs)
        kept = getattr(ctx, "saved", ())
        self.saved = tuple((t, t._version[0]) for t in inputs if t is not None and any(
            a is t.array or getattr(a, "base", None) is t.array for a in kept))

    def check_saved(self):
        for t, version in self.saved:
            if t._version[0] != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: [{t.array.dtype} {list(t.array.shape)}] is at version {t._version[0]}; expected "
                    f"version {version} instead. Hint: run backward before changing the tensor (an optimizer "
                    "step, a copy_ or +=), or change a clone.")

    def name(self):
        return self.fn.__name__.lstrip("_") + "Backward0"


class Function:
    """Base class of differentiable operations.

    Subclasses define ``forward(ctx, *arrays, **options)`` returning an array and
    ``backward(ctx, grad)`` returning one gradient (or ``None``) per array input.
    Inputs to :meth:`apply` are tensors or ``None`` (an absent bias, say);
    keyword arguments are plain options and never get gradients.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **options):
        ctx = Context()
        data = cls.forward(ctx, *[None if t is None else t.array for t in inputs], **options)
        out = _tensor_type._make(data)
        if _grad_enabled:
            needs = tuple(t is not None and t._requires_grad for t in inputs)
            if True in needs:
                out._requires_grad = True
                ctx.needs_input_grad = needs
                out._node = Node(cls, ctx, inputs)
        return out


_tensor_type = None  # numtorch.Tensor; tensor.py imports this module, then registers itself here


def register_tensor_type(cls):
    global _tensor_type
    _tensor_type = cls


def _sum_to_shape(grad, shape):
    """Undo broadcasting: sum ``grad`` down to ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def _topological_order(root):
    """The nodes ``root`` depends on, each after all the nodes it depends on."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for parent, needed in zip(node.parents, node.ctx.needs_input_grad)
                     if needed and parent is not None and id(parent) not in seen)
    return order


def backward(root, gradient=None):
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
    Tensor = _tensor_type
    if not root.requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    if gradient is None:
        if root.array.size != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs, "
                               f"but got an output of shape {tuple(root.shape)}")
        gradient = np.ones_like(root.array)
    else:
        gradient = gradient.array if isinstance(gradient, Tensor) else np.asarray(gradient)
        if gradient.shape != root.array.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {tuple(gradient.shape)} "
                               f"and output[0] has a shape of {tuple(root.shape)}.")
    gradient = gradient.astype(root.array.dtype, copy=False)
    leaves = {}  # id -> (leaf, summed gradient), written to .grad once at the end
    if root._node is None:
        leaves[id(root)] = (root, gradient)
    else:
        grads = {id(root._node): gradient}
        with _grad_mode(False):
            for node in reversed(_topological_order(root._node)):
                g = grads.pop(id(node), None)
                if g is None:
                    continue
                node.check_saved()
                in_grads = node.fn.backward(node.ctx, g)
                if not isinstance(in_grads, tuple):
                    in_grads = (in_grads,)
                for inp, parent, needed, ig in zip(node.inputs, node.parents, node.ctx.needs_input_grad, in_grads):
                    if not needed or ig is None:
                        continue
                    ig = _sum_to_shape(np.asarray(ig), inp.array.shape)
                    if parent is None:
                        leaf, total = leaves.get(id(inp), (inp, 0))
                        leaves[id(inp)] = (leaf, total + ig)
                    else:
                        key = id(parent)
                        grads[key] = ig if key not in grads else grads[key] + ig
    for leaf, g in leaves.values():
        g = Tensor._make(np.array(g, dtype=leaf.array.dtype))  # a fresh array: never a view of a saved one
        leaf.grad = g if leaf.grad is None else Tensor._make(leaf.grad.array + g.array)
