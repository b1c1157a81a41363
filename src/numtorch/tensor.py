"""Tensor: a NumPy array that remembers how it was made.

``array`` holds the values (a NumPy array), ``requires_grad`` says whether gradients flow to it,
``grad`` receives them, and a non-leaf tensor's ``_node`` records the operation
that produced it (see :mod:`numtorch.autograd`). The functions that make tensors live in
:mod:`numtorch.factories`, dtypes and type promotion in :mod:`numtorch.dtypes`.
"""
import copy
import math
import numbers
import re
import warnings

import numpy as np

from . import autograd, ops, saved_values
from .dtypes import bool_, c_type, default_dtype, float32, float64, int64, promote, promote_tensors, scalar_type
from .grad_mode import is_grad_enabled
from .random import generator
from .shapes import Size, check_assignable, check_broadcast, dim_index, expanded_size, shape_args


def _result_dtype(a, b):
    """The dtype of a binary op between tensor ``a`` and ``b``, a tensor or a Python number."""
    if isinstance(b, Tensor):
        return promote_tensors(a.dtype, a.array.ndim, b.dtype, b.array.ndim)
    return promote(a.dtype, b)


def _binary(fn, a, b, **options):
    if type(b) is float and a.array.dtype.kind == "f":  # the common case, made cheap
        return fn.apply(a, Tensor._make(np.asarray(b, a.array.dtype)), **options)
    if not isinstance(b, (Tensor, numbers.Number, np.ndarray, np.generic, list, tuple)):
        raise TypeError(f"unsupported operand type(s) for {fn.__name__.lower()}: 'Tensor' and '{type(b).__name__}'")
    dtype = _result_dtype(a, b)
    if not isinstance(b, Tensor):
        b = Tensor._make(np.asarray(b, dtype=dtype))
    try:
        out = fn.apply(a, b, **options)
    except ValueError:
        check_broadcast(a.array.shape, b.array.shape)  # torch's words, if that was the problem
        raise
    if out.array.dtype != dtype:
        out.array = out.array.astype(dtype)
    return out


def _refuse_bool_subtraction(a, b):
    """torch has no ``-`` for booleans: a mask is inverted with ``~``. ``b`` is a tensor or a Python number."""
    a_bool = a.array.dtype.kind == "b"
    b_bool = b.array.dtype.kind == "b" if isinstance(b, Tensor) else b is True or b is False or isinstance(b, np.bool_)
    if a_bool and b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if a_bool or b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
                           "invert a mask, use the `~` or `logical_not()` operator instead.")


def _compare(compare, a, b):
    """A comparison of tensor ``a`` with ``b``, a tensor or a number: a bool tensor, with no gradient."""
    other = _unwrap(b)
    try:
        return Tensor._make(np.asarray(compare(a.array, other)))
    except ValueError:
        check_broadcast(a.array.shape, np.shape(other))  # torch's words, if that was the problem
        raise


def _matmul_dtype_message(a, b, a_dims: int, b_dims: int) -> str:
    """torch's words for a product of dtypes ``a`` and ``b``, which differ: they name the kernel the ranks pick."""
    if a_dims == 1 and b_dims == 1:
        return f"dot : expected both vectors to have same dtype, but found {scalar_type(a)} and {scalar_type(b)}"
    if b_dims == 1:
        return (f"addmv input tensors must have the same dtype, but got {scalar_type(b)}, {scalar_type(a)}, "
                f"and {scalar_type(b)}")
    if b_dims == 2:
        return f"expected m1 and m2 to have the same dtype, but got: {c_type(a)} != {c_type(b)}"
    return f"expected scalar type {scalar_type(a)} but found {scalar_type(b)}"


def _matmul_shape_message(a, b):
    """torch's words for a product of shapes ``a`` and ``b`` whose inner sizes differ: they name the kernel the ranks
    pick (a dot product, a matrix times a vector, two matrices, two batches of matrices)."""
    rows = math.prod(a[:-1])
    if len(a) == len(b) == 1:
        return (f"inconsistent tensor size, expected tensor [{a[0]}] and src [{b[0]}] to have the same number of "
                f"elements, but got {a[0]} and {b[0]} elements respectively")
    if len(b) == 1:
        return f"size mismatch, got input ({rows}), mat ({rows}x{a[-1]}), vec ({b[0]})"
    if len(b) == 2:
        return f"mat1 and mat2 shapes cannot be multiplied ({rows}x{a[-1]} and {b[0]}x{b[1]})"
    batch = math.prod(np.broadcast_shapes(a[:-2], b[:-2]))
    return (f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {a[-1]}] but got: "
            f"[{batch}, {b[-2]}].")


def _unwrap(value):
    return value.array if isinstance(value, Tensor) else value


def _full(shape, value, dtype):
    return Tensor._make(np.full(shape, value, dtype=dtype))


_VIEW_OF_A_LEAF = "a view of a leaf Variable that requires grad is being used in an in-place operation."


class Tensor:
    """A multi-dimensional array with autograd. Make one with :func:`numtorch.tensor`."""

    __array_priority__ = 1000  # so ``ndarray + Tensor`` defers to Tensor.__radd__

    def __init__(self, data, requires_grad=False):
        self.array = default_dtype(np.array(data))
        self._node = None
        self._grad = None
        self._version = [0]
        self.requires_grad = requires_grad

    @classmethod
    def _make(cls, data, grad_fn=None):
        """The engine's constructor: a tensor holding ``data`` itself (no copy, no dtype change).

        With ``grad_fn`` (an :class:`~numtorch.autograd.Context`), the tensor is that operation's
        output and requires grad; without, it is a leaf that does not.
        """
        if type(data) is not np.ndarray:  # NumPy gives scalars, not 0-d arrays, from 0-d arithmetic
            data = np.asarray(data)
        t = cls.__new__(cls)
        t.array, t._node, t._grad, t._requires_grad = data, grad_fn, None, grad_fn is not None
        t._version = [0]  # in-place changes so far; a list so that detach() can share it
        return t

    def _share(self, other):
        """Make ``self`` a leaf holding ``other``'s array and in-place version counter (how ``Parameter(t)``
        shares memory with ``t``)."""
        self.array, self._node, self._grad, self._requires_grad = other.array, None, None, False
        self._version = other._version

    # ----- attributes --------------------------------------------------------------
    _keeps_grad_when_deepcopied = True  # torch's tensors do; its Parameters do not (nn.Parameter says False)

    def __deepcopy__(self, memo):
        copied = memo[id(self)] = type(self).__new__(type(self))
        for name, value in self.__dict__.items():
            drop = name == "_grad" and not self._keeps_grad_when_deepcopied
            copied.__dict__[name] = None if drop else copy.deepcopy(value, memo)
        return copied

    @property
    def grad(self):
        """The gradient backward accumulated here (a leaf that requires grad), or None."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value.array.shape != self.array.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of size "
                                   f"'{list(self.shape)}'. Please ensure that the gradient and the tensor are the same "
                                   "size")
            if value.array.dtype != self.array.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype '{c_type(value.dtype)}' to a tensor "
                                   f"with grad_dtype '{scalar_type(self.dtype)}'. The gradient must match the tensor's "
                                   "grad_dtype (defaults to the tensor's dtype). You can set the tensor's grad_dtype "
                                   "attribute with a specific dtype, or None to allow any dtype. Set grad_dtype with "
                                   "caution. Diverging the dtypes of a tensor and its gradient may break downstream "
                                   "systems that assume they match.")
        self._grad = value

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self.array.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients, "
                               f"but got dtype {self.array.dtype}")
        if not value and self._node is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables.")
        self._requires_grad = bool(value)

    @property
    def data(self):
        """This tensor's values as a tensor outside autograd, sharing memory (torch's ``.data``)."""
        return Tensor._make(self.array)

    @data.setter
    def data(self, value):
        self.array = value.array if isinstance(value, Tensor) else np.asarray(value)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return ``self``."""
        self.requires_grad = requires_grad
        return self

    @property
    def shape(self):
        return Size(self.array.shape)

    def size(self, dim=None):
        """The shape as a ``numtorch.Size``, or its length along ``dim``."""
        if dim is None:
            return self.shape
        if self.array.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        return self.array.shape[dim_index(dim, self.array.ndim)]

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def device(self):
        return "cpu"

    @property
    def ndim(self):
        return self.array.ndim

    def dim(self):
        """The number of dimensions."""
        return self.array.ndim

    def numel(self):
        """The number of elements."""
        return self.array.size

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        self._catch_up()
        return None if self._node is None else self._node.name

    # ----- conversion ----------------------------------------------------------------
    def numpy(self):
        """The values as a NumPy array sharing memory (refused while ``requires_grad`` is set, as in torch)."""
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self.array

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise RuntimeError(f"a Tensor with {self.array.size} elements cannot be converted to Scalar")
        return self.array.item()

    def tolist(self):
        """The values as (nested) Python lists."""
        return self.array.tolist()

    def __float__(self):
        return float(self._only_element())

    def __int__(self):
        return int(self._only_element())

    def _only_element(self):
        if self.array.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous" if self.array.size
                               else "Boolean value of Tensor with no values is ambiguous")
        return bool(self.array.item())

    def __len__(self):
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.array)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __hash__(self):
        return id(self)

    def to(self, *args, **kwargs):
        """Only the CPU exists here; a dtype argument converts, anything else returns ``self``."""
        dtype = kwargs.get("dtype") or next((a for a in args if isinstance(a, np.dtype)), None)
        return self.type(dtype) if dtype is not None else self

    def cpu(self):
        """``self``: numtorch lives on the CPU."""
        return self

    def type(self, dtype):
        """A copy converted to ``dtype`` (``self`` if it already has it); differentiable."""
        if np.dtype(dtype) == self.array.dtype:
            return self
        return ops.Cast.apply(self, dtype=np.dtype(dtype))

    def float(self):
        """Converted to float32."""
        return self.type(float32)

    def double(self):
        """Converted to float64."""
        return self.type(float64)

    def long(self):
        """Converted to int64."""
        return self.type(int64)

    def detach(self):
        """The same values, cut from the graph; it shares memory and the in-place version counter."""
        out = Tensor._make(self.array)
        out._version = self._version
        return out

    def clone(self):
        """A copy with its own memory that stays in the graph (gradients flow back to ``self``)."""
        return ops.Cast.apply(self, dtype=self.array.dtype)

    def contiguous(self):
        """``self``: NumPy handles memory layout."""
        return self

    def backward(self, gradient=None, retain_graph=None):
        """Accumulate the gradient of this tensor into ``.grad`` of every leaf it depends on; then free what the
        graph saved for it, unless ``retain_graph``."""
        self._catch_up()
        autograd.backward(self, gradient, bool(retain_graph))

    # ----- printing --------------------------------------------------------------------
    def __repr__(self):
        data = self.array
        finite = data[np.isfinite(data)] if data.dtype.kind == "f" else None
        if finite is not None and data.size and np.all(finite == np.round(finite)):
            body = np.array2string(data, separator=", ", prefix="tensor(", floatmode="maxprec", precision=4)
        else:
            body = np.array2string(data, separator=", ", prefix="tensor(", floatmode="fixed", precision=4)
        extras = []
        if data.dtype not in (float32, int64, bool_) or (data.size == 0 and data.dtype != float32):
            extras.append(f"dtype=numtorch.{data.dtype}")  # an empty tensor's elements cannot show an integer's
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if data.size == 0:
            body = "[]" if data.ndim == 1 else body
            extras.insert(0, f"size={tuple(data.shape)}") if data.ndim > 1 else None
        return "tensor(" + ", ".join([body] + extras) + ")"

    # ----- arithmetic -------------------------------------------------------------------
    def __add__(self, other):
        return _binary(ops.Add, self, other)

    def __radd__(self, other):
        return _binary(ops.Add, self, other)

    def __sub__(self, other):
        _refuse_bool_subtraction(self, other)
        return _binary(ops.Sub, self, other)

    def __rsub__(self, other):
        _refuse_bool_subtraction(self, other)
        return _binary(ops.Rsub, self, other)

    def __mul__(self, other):
        return _binary(ops.Mul, self, other)

    def __rmul__(self, other):
        return _binary(ops.Mul, self, other)

    def __truediv__(self, other):
        if self.array.dtype.kind != "f" and not (isinstance(other, Tensor) and other.dtype.kind == "f"):
            return self.float() / other  # torch's true division of integers gives floats
        return _binary(ops.Div, self, other)

    def __rtruediv__(self, other):
        return _full(self.array.shape, other, _result_dtype(self, other)) / self

    def __pow__(self, exponent):
        if self.array.dtype.kind in "biu" and isinstance(exponent, numbers.Integral) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return _binary(ops.Pow, self, exponent)

    def __rpow__(self, base):
        return _full(self.array.shape, base, _result_dtype(self, base)) ** self

    def __mod__(self, other):
        return _binary(ops.Remainder, self, other, by_tensor=isinstance(other, Tensor))

    def __rmod__(self, other):
        return _full(self.array.shape, other, _result_dtype(self, other)) % self

    def __floordiv__(self, other):
        return _binary(ops.FloorDivide, self, other)

    def __rfloordiv__(self, other):
        return _full(self.array.shape, other, _result_dtype(self, other)) // self

    def __neg__(self):
        if self.array.dtype == bool_:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                               "invert a mask, use the `~` or `logical_not()` operator instead.")
        return ops.Neg.apply(self)

    def __matmul__(self, other):
        if self.array.ndim == 0 or other.array.ndim == 0:
            raise RuntimeError("both arguments to matmul need to be at least 1D, "
                               f"but they are {self.array.ndim}D and {other.array.ndim}D")
        if self.array.ndim == other.array.ndim == 1 and self.dtype != other.dtype:  # torch's dot checks this first
            raise RuntimeError(_matmul_dtype_message(self.dtype, other.dtype, 1, 1))
        if other.array.ndim > 2:  # batched: the batch dimensions must broadcast
            check_broadcast(self.array.shape[:-2], other.array.shape[:-2])
        if self.shape[-1] != (other.shape[0] if other.array.ndim == 1 else other.shape[-2]):
            raise RuntimeError(_matmul_shape_message(self.array.shape, other.array.shape))
        if self.dtype != other.dtype:  # torch promotes elementwise ops, never a matrix product
            raise RuntimeError(_matmul_dtype_message(self.dtype, other.dtype, self.array.ndim, other.array.ndim))
        return ops.MatMul.apply(self, other)

    matmul = __matmul__

    def add(self, other, alpha=1):
        """``self + alpha * other``."""
        return self + (other * alpha if alpha != 1 else other)

    def sub(self, other, alpha=1):
        """``self - alpha * other``."""
        if alpha == 1:
            return self - other
        _refuse_bool_subtraction(self, other)  # before scaling turns a bool into a number
        return self - other * alpha

    def mul(self, other):
        """``self * other``."""
        return self * other

    def div(self, other):
        """``self / other`` (true division, floats even for integers)."""
        return self / other

    def pow(self, exponent):
        """``self ** exponent``."""
        return self ** exponent

    def floor_divide(self, other):
        """``self // other``: the quotient rounded down (``-7 // 2`` is -4), with no gradient, as in torch."""
        return self // other

    def remainder(self, other):
        """``self % other``: Python's rule, the result has the sign of ``other`` (``-7 % 3`` is 2)."""
        return self % other

    def __abs__(self):
        return self.abs()

    # comparisons give bool tensors and never gradients
    def __eq__(self, other):
        return _compare(np.equal, self, other)

    def __ne__(self, other):
        return _compare(np.not_equal, self, other)

    def __lt__(self, other):
        return _compare(np.less, self, other)

    def __le__(self, other):
        return _compare(np.less_equal, self, other)

    def __gt__(self, other):
        return _compare(np.greater, self, other)

    def __ge__(self, other):
        return _compare(np.greater_equal, self, other)

    # ----- elementwise functions --------------------------------------------------------------
    def exp(self):
        """``e ** x`` elementwise."""
        return ops.Exp.apply(self._floating())

    def log(self):
        """Natural logarithm elementwise."""
        return ops.Log.apply(self._floating())

    def sqrt(self):
        """Square root elementwise."""
        return ops.Sqrt.apply(self._floating())

    def abs(self):
        """Absolute value elementwise."""
        self._refuse_bool('"abs_cpu" not implemented for \'Bool\'', NotImplementedError)
        return ops.Abs.apply(self)

    def tanh(self):
        """Hyperbolic tangent elementwise."""
        return ops.Tanh.apply(self._floating())

    def sigmoid(self):
        """``1 / (1 + exp(-x))`` elementwise."""
        return ops.Sigmoid.apply(self._floating())

    def _refuse_bool(self, message, error=RuntimeError):
        """torch's refusal of an operation it does not define for booleans."""
        if self.array.dtype == bool_:
            raise error(message)

    def _floating(self):
        """``self``, or for integers and booleans a float32 copy: what torch's exp, log, sqrt... compute on."""
        return self if self.array.dtype.kind == "f" else Tensor._make(self.array.astype(float32))

    def relu(self):
        """``max(x, 0)`` elementwise (gradient 0 at 0, as in torch)."""
        self._refuse_bool("Boolean inputs not supported for relu")
        return ops.Relu.apply(self)

    def clamp(self, min=None, max=None):
        """Limit every element to ``[min, max]``; gradient 0 where an element was clipped."""
        if min is None and max is None:
            raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
        dtype = self.array.dtype
        for bound in (min, max):
            dtype = dtype if bound is None else promote(dtype, bound)  # an integer tensor clamped to 0.5 is float32
        if dtype == bool_:
            kernel = "clamp_scalar_cpu" if min is not None and max is not None else \
                "clamp_min_scalar_cpu" if min is not None else "clamp_max_scalar_cpu"
            raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')
        return ops.Clamp.apply(self.type(dtype), min=min, max=max)

    # ----- reductions ---------------------------------------------------------------------------
    def sum(self, dim=None, keepdim=False):
        """Sum over all elements, or over ``dim`` (an int or a tuple), keeping it if ``keepdim``."""
        return ops.Sum.apply(self, dim=_dims(dim, self.array.ndim), keepdim=keepdim)

    def mean(self, dim=None, keepdim=False):
        """Mean over all elements or over ``dim``; floating-point tensors only."""
        if self.array.dtype.kind != "f":
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                               f"complex dtype. Got: {scalar_type(self.array.dtype)}")
        return ops.Mean.apply(self, dim=_dims(dim, self.array.ndim), keepdim=keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """Variance over all elements or over ``dim``; unbiased (``correction=1``) unless told otherwise."""
        return self._variance(dim, unbiased, keepdim, correction, "var")

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """Square root of :meth:`var`."""
        return self._variance(dim, unbiased, keepdim, correction, "std").sqrt()

    def _variance(self, dim, unbiased, keepdim, correction, name):
        if self.array.dtype.kind != "f":
            raise RuntimeError("std and var only support floating point and complex dtypes")
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        out = ops.Var.apply(self, dim=_dims(dim, self.array.ndim), correction=correction, keepdim=keepdim)
        if self.array.size // max(out.array.size, 1) - correction <= 0:  # the result is inf or nan: torch says why
            warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                          "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
        return out

    def max(self, dim=None, keepdim=False):
        """``max()`` is the largest element; ``max(dim)`` returns ``(values, indices)``."""
        if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
            return _binary(ops.Maximum, self, dim)
        return self._extreme(dim, keepdim, smallest=False)

    def min(self, dim=None, keepdim=False):
        """``min()`` is the smallest element; ``min(dim)`` returns ``(values, indices)``."""
        if isinstance(dim, Tensor):  # torch.min(a, b) is the elementwise minimum
            return _binary(ops.Maximum, self, dim, smallest=True)
        return self._extreme(dim, keepdim, smallest=True)

    def _extreme(self, dim, keepdim, smallest, name=None):
        name = name or ("min" if smallest else "max")
        if dim is None:
            if self.array.size == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
                                   "the reduction dim with the 'dim' argument.")
            return ops.Max.apply(self, smallest=smallest)
        dim = dim_index(dim, self.array.ndim)
        if self.array.ndim == 0:  # one element, along a dimension of size 1 that the result never keeps
            return self.reshape(1)._extreme(0, False, smallest, name)
        if self.array.shape[dim] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
        indices = (self.array.argmin if smallest else self.array.argmax)(axis=dim)
        out = ops.Max.apply(self, dim=dim, keepdim=keepdim, smallest=smallest, indices=indices)
        indices = np.expand_dims(indices, dim) if keepdim else indices
        # the indices a copy: backward keeps the original
        return MaxResult(out, Tensor._make(indices.copy()), "min" if smallest else "max")

    def argmax(self, dim=None, keepdim=False):
        """Index of the largest element (flattened), or indices along ``dim``."""
        self._refuse_bool("argmax(): does not support bool input")
        if dim is None:
            if self.array.size == 0:
                raise IndexError("argmax(): Expected reduction dim to be specified for input.numel() == 0.")
            return Tensor._make(np.asarray(self.array.argmax()))
        return self._extreme(dim, keepdim, smallest=False, name="argmax").indices

    # ----- shape ----------------------------------------------------------------------------
    def reshape(self, *shape):
        """The same elements in a new shape (one dimension may be -1)."""
        shape = shape_args(shape)
        if self.array.shape == shape:
            return self
        if shape.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        bad = next((i for i, n in enumerate(shape) if n < -1), None)
        if bad is not None:
            raise RuntimeError(f"invalid shape dimension {shape[bad]} at index {bad} of shape {list(shape)}")
        try:
            np.empty(self.array.shape, dtype=np.bool_).reshape(shape)
        except ValueError:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {self.array.size}") from None
        return self._viewing(ops.Reshape.apply(self, shape=shape), lambda a: a.reshape(shape))

    view = reshape

    def view_as(self, other):
        """Reshaped to ``other.shape``."""
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        """Merge dimensions ``start_dim`` to ``end_dim`` into one."""
        if self.array.ndim == 0:
            return self.reshape(1)
        start, end = dim_index(start_dim, self.array.ndim), dim_index(end_dim, self.array.ndim)
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        shape = self.array.shape
        return self.reshape(shape[:start] + (-1,) + shape[end + 1:])

    def unflatten(self, dim, sizes):
        """Split dimension ``dim`` into ``sizes`` (one of them may be -1): the inverse of :meth:`flatten`."""
        shape = self.array.shape
        if not shape:
            raise RuntimeError(f"unflatten: Dimension specified as {dim} but tensor has no dimensions")
        dim = dim_index(dim, self.array.ndim)
        known = math.prod(s for s in sizes if s != -1)
        if (-1 not in sizes and known != shape[dim]) or (-1 in sizes and (known == 0 or shape[dim] % known)):
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                               f"({shape[dim]}) in the input tensor")
        sizes = tuple(shape[dim] // known if s == -1 else s for s in sizes)  # -1 from this dim, not from every element
        return self.reshape(shape[:dim] + sizes + shape[dim + 1:])

    def permute(self, *dims):
        """Reorder the dimensions."""
        dims = tuple(dim_index(d, self.array.ndim) for d in shape_args(dims))
        if sorted(dims) != list(range(self.array.ndim)):
            raise RuntimeError(f"permute(): number of dims don't match or repeated dims: "
                               f"expected a permutation of {self.array.ndim} dims, but got {list(dims)}")
        return self._permuted(dims, "PermuteBackward0")

    def _permuted(self, dims, name):
        """A view with the dimensions in the order ``dims``, recorded as torch's ``name`` for the operation."""
        return self._viewing(ops.Permute.apply(self, dims=dims, name=name), lambda a: a.transpose(dims))

    def transpose(self, dim0, dim1):
        """Swap two dimensions."""
        return self._swapped(dim0, dim1, "TransposeBackward0")

    def _swapped(self, dim0, dim1, name):
        dims = list(range(self.array.ndim))
        dim0, dim1 = dim_index(dim0, self.array.ndim), dim_index(dim1, self.array.ndim)
        if dims:  # a 0-d tensor has only the one dimension of size 1 that torch sees in it: nothing to swap
            dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return self._permuted(tuple(dims), name)

    def t(self):
        """Transpose of a tensor of at most 2 dimensions (one of fewer is itself, as a view)."""
        if self.array.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.array.ndim}D")
        return self._swapped(0, -1, "TBackward0")

    @property
    def T(self):
        return self.permute(tuple(reversed(range(self.array.ndim))))

    def unsqueeze(self, dim):
        """Insert a dimension of size 1 at ``dim``."""
        dim = dim_index(dim, self.array.ndim + 1)
        return self.reshape(self.array.shape[:dim] + (1,) + self.array.shape[dim:])

    def squeeze(self, dim=None):
        """Remove dimensions of size 1 (all of them, or only ``dim``)."""
        shape = self.array.shape
        if dim is None:
            return self.reshape(tuple(s for s in shape if s != 1))
        dim = dim_index(dim, len(shape))
        return self.reshape(shape[:dim] + shape[dim + 1:]) if shape and shape[dim] == 1 else self

    def expand(self, *sizes):
        """Broadcast to ``sizes`` (-1 keeps a dimension)."""
        return self + _full(expanded_size(self.array.shape, shape_args(sizes), self.dtype), 0, self.dtype)

    def __getitem__(self, index):
        index = tuple(_unwrap(i) for i in index) if isinstance(index, tuple) else _unwrap(index)
        try:
            out = ops.GetItem.apply(self, index=index)
        except IndexError as error:
            raise _index_error(error, index, self.array.shape) from None
        return self._viewing(out, lambda a: a[index])

    # ----- views ---------------------------------------------------------------------------------
    # (base, function, version, made without grad): this tensor is function(base.array), in base's memory; its
    # grad_fn was set when their shared version counter stood at version; it was made under no_grad() or not.
    # See _viewing.
    _view = None

    def _viewing(self, out, view):
        """``out``, which ``view`` (a reshape, a permutation or a basic index, array to array) made from ``self``.

        Where NumPy gave a view of ``self``'s memory, ``out`` is a view as in torch: it shares the version counter
        of the tensor whose memory it is (its base); an in-place change of it is recorded on the base
        (:meth:`_assign`), whose values it changes; and once their memory has been changed in place, through the
        base or any view of it, its grad_fn takes its values from the base's history (:meth:`_catch_up`).
        """
        if out.array.base is not None and np.may_share_memory(out.array, self.array):
            out._version = self._version
            if self._view is None:
                base, of_base = self, view
            else:
                base, inner = self._view[:2]
                of_base = lambda a: view(inner(a))  # noqa: E731
            out._view = (base, of_base, self._version[0], not is_grad_enabled())
        return out

    def _in_base(self):
        """``(base, positions)`` if this tensor is a view still in its base's memory: ``positions`` holds, in this
        tensor's shape, where each element lies in the base, flattened."""
        if self._view is None or not np.may_share_memory(self.array, self._view[0].array):
            return None
        base, of_base = self._view[:2]
        return base, of_base(np.arange(base.array.size).reshape(base.array.shape))

    def _catch_up(self):
        """If this view's memory was changed in place since its grad_fn was set, take its values from its base's
        history from now on, as torch regenerates a view's grad_fn (AsStridedBackward0). Called before the view is
        used in an operation or differentiated."""
        if self._view is None or self._view[2] == self._version[0] or not is_grad_enabled():
            return
        self._view = self._view[:2] + (self._version[0],) + self._view[3:]
        base = self._view[0]
        in_base = self._in_base()
        if in_base is not None and base._requires_grad:
            self._node = ops.AsStrided.apply(base, positions=in_base[1])._node
            self._requires_grad = True

    def _refuse_a_view_made_without_grad(self):
        """An in-place change, with autograd on, of a view made under no_grad() of a tensor that requires grad: it is
        unclear whether it should be recorded, so torch refuses it."""
        if self._view is not None and self._view[3] and self._view[0]._requires_grad and is_grad_enabled():
            raise RuntimeError(
                "A view was created in no_grad mode and is being modified inplace with grad mode enabled. Given that "
                "this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both "
                "the view and the inplace either both inside the no_grad block (if you don't want the inplace to be "
                "tracked) or both outside (if you want the inplace to be tracked).")

    def __setitem__(self, index, value):
        index = tuple(_unwrap(i) for i in index) if isinstance(index, tuple) else _unwrap(index)
        self._refuse_a_view_made_without_grad()
        advanced = bool(ops.index_arrays(index))
        try:
            if is_grad_enabled() and (self._requires_grad or getattr(value, "_requires_grad", False)):
                if self._requires_grad and self._node is None and not advanced:  # torch writes through a view of it
                    raise RuntimeError(_VIEW_OF_A_LEAF)
                value = value if isinstance(value, Tensor) else Tensor._make(np.asarray(value, dtype=self.array.dtype))
                self._assign(ops.IndexPut.apply(self, value, index=index))
                return
            self.array[index] = _unwrap(value)
        except ValueError:
            check_assignable(np.shape(_unwrap(value)), self.array[index].shape, self.dtype, advanced)  # torch's words
            raise
        except IndexError as error:
            raise _index_error(error, index, self.array.shape) from None
        self._version[0] += 1

    # ----- in place ---------------------------------------------------------------------------
    def _assign(self, result):
        """Make ``self`` hold ``result``, in its own memory, as the output of the operation that computed ``result``
        (which, when a graph is recorded, did so from ``self`` or through :meth:`_overwrite`)."""
        if result.array.shape != self.array.shape:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                               f"{list(result.shape)}")
        if not np.can_cast(result.array.dtype, self.array.dtype, "same_kind"):
            raise RuntimeError(f"result type {result.array.dtype} can't be cast to the desired output type "
                               f"{self.array.dtype}")
        self._refuse_a_view_made_without_grad()
        if not (is_grad_enabled() and (self._requires_grad or result._requires_grad)):
            self.array[...] = result.array
            self._version[0] += 1  # lets backward notice values it saved were overwritten
            return self
        in_base = self._in_base()
        if self._requires_grad and self._node is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if in_base is not None and in_base[0]._requires_grad and in_base[0]._node is None:
            raise RuntimeError(_VIEW_OF_A_LEAF)
        saved_values.keep_own_copy(result._node, self)
        self.array[...] = result.array
        self._version[0] += 1
        saved_values.output_written_into(result._node, self, result)
        # The recorded operation now produces this tensor; contexts recorded earlier keep pointing at the grad_fn
        # it had (see autograd.Context).
        self._node, self._requires_grad = result._node, True
        if in_base is not None:  # the base's values changed too: it now comes from this operation where the view lies
            base, positions = in_base
            was = Tensor._make(base.array, base._node)
            was._requires_grad = base._requires_grad
            base._node = ops.CopySlices.apply(was, result, positions=positions)._node
            base._requires_grad = True
            self._catch_up()
        return self

    def add_(self, other, alpha=1):
        """In place: ``self += alpha * other``."""
        return self._assign(self.add(other, alpha))

    def sub_(self, other, alpha=1):
        """In place: ``self -= alpha * other``."""
        return self._assign(self.sub(other, alpha))

    def mul_(self, other):
        """In place: ``self *= other``."""
        return self._assign(self * other)

    def div_(self, other):
        """In place: ``self /= other``."""
        return self._assign(self / other)

    def clamp_(self, min=None, max=None):
        """In place: :meth:`clamp`."""
        return self._assign(self.clamp(min, max))

    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_

    def _overwrite(self, values, name):
        """In place: ``values``, which depend on none of ``self``'s (``name`` is torch's grad_fn for the operation)."""
        return self._assign(ops.Overwrite.apply(self, values, name=name))

    def relu_(self):
        """In place: :meth:`relu`."""
        return self._assign(self.relu())

    def sigmoid_(self):
        """In place: :meth:`sigmoid`."""
        return self._assign(self.sigmoid())

    def tanh_(self):
        """In place: :meth:`tanh`."""
        return self._assign(self.tanh())

    def zero_(self):
        """In place: fill with zeros."""
        return self._overwrite(_full(self.array.shape, 0, self.dtype), "ZeroBackward0")

    def fill_(self, value):
        """In place: fill with ``value``."""
        return self._overwrite(_full(self.array.shape, _unwrap(value), self.dtype),
                               "FillBackward3" if isinstance(value, Tensor) else "FillBackward2")

    def copy_(self, src):
        """In place: copy ``src``'s values (broadcast, converted to this dtype)."""
        src = src if isinstance(src, Tensor) else Tensor._make(np.asarray(src))
        # copy_ converts to this dtype, unlike add_
        return self._overwrite((src + _full(self.array.shape, 0, self.dtype)).type(self.dtype), "CopyBackwards")

    def uniform_(self, a=0.0, b=1.0):
        """In place: fill from U(a, b) drawn from numtorch's generator."""
        return self._overwrite(Tensor._make(generator().uniform(a, b, self.array.shape)), "UniformBackward0")

    def normal_(self, mean=0.0, std=1.0):
        """In place: fill from N(mean, std²) drawn from numtorch's generator."""
        return self._overwrite(Tensor._make(generator().normal(mean, std, self.array.shape)), "NormalBackward0")


class MaxResult(tuple):
    """``(values, indices)`` as returned by ``max(dim)`` or ``min(dim)``, like torch's named tuple."""

    def __new__(cls, values, indices, name="max"):
        result = super().__new__(cls, (values, indices))
        result.name = name
        return result

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])

    def __getnewargs__(self):  # for copy and pickle
        return self[0], self[1], self.name

    def __repr__(self):
        return f"numtorch.return_types.{self.name}(\nvalues={self.values!r},\nindices={self.indices!r})"


def _index_error(error, index, shape):
    """NumPy's IndexError for indexing an array of ``shape`` with ``index``, in torch's words where NumPy's differ
    (the dimension an index is out of bounds for is the tensor's own, which torch counts otherwise past a None or
    an index tensor)."""
    message = str(error)
    parts = index if isinstance(index, tuple) else (index,)
    if found := re.fullmatch(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)", message):
        message = "index {} is out of bounds for dimension {} with size {}".format(*found.groups())
    elif message.startswith("too many indices for array"):
        alone = parts[0] if len(parts) == 1 and not shape else None  # the one index into a 0-d tensor
        if isinstance(alone, slice):
            message = "slice() cannot be applied to a 0-dim tensor."
        elif isinstance(alone, numbers.Integral) and alone == 0:  # loss[0], from code older than PyTorch 0.4
            message = ("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ "
                       "to convert a 0-dim tensor to a number")
        elif isinstance(alone, numbers.Integral):
            message = f"index {alone} is out of bounds for dimension 0 with size 0"
        else:
            message = f"too many indices for tensor of dimension {len(shape)}"
    elif message.startswith("shape mismatch: indexing arrays could not be broadcast together with shapes"):
        shapes = [[int(n) for n in found.split(",") if n.strip()] for found in re.findall(r"\(([\d, ]*)\)", message)]
        message = ("shape mismatch: indexing tensors could not be broadcast together with shapes "
                   + ", ".join(map(str, shapes)))
    elif (found := re.match(r"boolean index did not match indexed array along axis (\d+); .* boolean axis is (\d+)",
                            message)) and np.ndim(parts[0]) and np.asarray(parts[0]).dtype == bool_:
        axis, size = (int(n) for n in found.groups())
        mask = np.shape(parts[0])  # a mask that leads the index: its dimensions are the tensor's first
        if axis < len(mask) and mask[axis] == size:
            message = (f"The shape of the mask {list(mask)} at index {axis} does not match the shape of the indexed "
                       f"tensor {list(shape)} at index {axis}")
    elif message.startswith("only integers, slices") and (odd := [p for p in parts if isinstance(p, float)]):
        message = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices "
                   f"(got {type(odd[0]).__name__})")
    return IndexError(message)


def _dims(dim, ndim):
    """A reduction's ``dim`` (None, an int, or a tuple or list of ints) as NumPy axes, checked as torch checks it."""
    if dim is None or (isinstance(dim, (tuple, list)) and not dim):  # torch reduces over all for () as for None
        return None
    if isinstance(dim, (tuple, list)):
        axes = tuple(dim_index(d, ndim) for d in dim)
        repeated = next((d for d in axes if axes.count(d) > 1), None)
        if repeated is not None:
            raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
    else:
        axes = dim_index(dim, ndim)
    # To torch a 0-d tensor has one dimension of size 1, so a reduction along it changes nothing (NumPy's axis=()).
    return () if ndim == 0 else axes
