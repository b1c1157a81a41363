"""Random single operations on random tensors, run on numtorch and on torch: each gives the same dtype, shape and
values, or both raise the same exception in the same words.

The tensors ``a`` and ``b`` have random dtypes (float32, float64, int64, bool) and shapes (0-d, empty, 1 to 3
dimensions); ``b``'s shape often broadcasts with ``a``'s, sometimes not. The operations cover arithmetic with
tensors and Python numbers, comparisons, elementwise functions, reductions, shapes and indexing. Left out: what
numtorch does not implement (``rounding_mode``, the one-argument ``where``) and corners where torch's own message
names something else than the call (``expand`` or ``unflatten`` of a 0-d tensor, a matrix product of booleans).
"""
import random

import numpy as np
import pytest

import numtorch

DTYPES = ["float32", "float32", "float64", "int64", "int64", "bool"]
SCALARS = [2, -1, 0, 3, 2.5, -0.5, 0.0, True, False]
BINARY = ["a + b", "a - b", "a * b", "a / b", "a // b", "a % b", "a ** b", "a == b", "a < b", "a >= b", "a != b",
          "a.sub(b, alpha=2)", "T.max(a, b)", "T.where(a > 0, a, b)", "T.cat([a, b], {d})", "T.stack([a, b])",
          "T.equal(a, b)", "T.allclose(a.float(), b.float())"]
WITH_A_NUMBER = ["a + {s}", "{s} - a", "a * {s}", "a / {s}", "{s} / a", "a ** {s}", "{s} ** a", "a // {s}", "a % {s}",
                 "{s} % a", "a > {s}", "a == {s}", "T.where(a > 0, a, {s})", "a.clamp(min={s})", "a.clamp({s}, 1)",
                 "T.full_like(a, {s})"]
UNARY = ["-a", "abs(a)", "a.exp()", "a.log()", "a.sqrt()", "a.sigmoid()", "a.tanh()", "a.relu()", "a.float()",
         "a.long()", "a.double()", "a.clone()", "bool(a)", "float(a)", "a.item()", "a.tolist()", "len(a)"]
REDUCTIONS = ["a.sum()", "a.sum(dim={d}, keepdim={k})", "a.sum(dim=({d}, {e}))", "a.sum(())", "a.mean()",
              "a.mean(dim={d}, keepdim={k})", "a.max()", "a.max(dim={d}, keepdim={k})", "a.min({d})", "a.argmax()",
              "a.argmax(dim={d}, keepdim={k})", "a.var({d})", "a.std(dim={d}, correction=0)", "T.sum(a, {d})"]
SHAPES = ["a.reshape(-1)", "a.view(-1)", "a.flatten()", "a.flatten({d})", "a.squeeze()", "a.squeeze({d})",
          "a.unsqueeze({d})", "a.t()", "a.T", "a.transpose({d}, {e})", "a.permute({perm})", "a.size({d})"]
INDEXING = ["a[{i}]", "a[:, {i}]", "a[..., None]", "a[a > 0]", "a[1:]", "a[::2]", "a[-1]", "a[[0, {i}]]",
            "a[T.tensor([0, {i}])]", "a[{i}, ..., 0]", "a[:, None, {i}:]"]
NOT_FOR_BOOL = {"a ** b", "a.sub(b, alpha=2)"}  # torch: "pow" not implemented for 'Bool'; alpha keeps a bool sum
PROGRAMS_PER_SEED = 100


def shape(rng, dims=None):
    dims = rng.choice([0, 1, 1, 2, 2, 3]) if dims is None else dims
    return tuple(rng.choice([0, 1, 2, 3] if rng.random() < 0.1 else [1, 2, 3]) for _ in range(dims))


def partner(rng, of):
    """A shape that mostly broadcasts with ``of``: trailing dimensions of it, some made 1, sometimes one made 4."""
    dims = list(of[rng.randrange(len(of) + 1):] if rng.random() < 0.3 else of)
    dims = [1 if rng.random() < 0.3 else n for n in dims]
    if dims and rng.random() < 0.1:
        dims[rng.randrange(len(dims))] = 4
    return tuple(dims)


def values(rng, of, dtype):
    draw = np.random.default_rng(rng.randrange(1 << 30))
    if dtype == "bool":
        return np.asarray(draw.random(of) < 0.5)
    if dtype == "int64":
        return np.asarray(draw.integers(-3, 4, size=of), dtype=np.int64)
    return np.asarray((draw.standard_normal(of) * 2).round(2), dtype=dtype)


def program(rng):
    """(source, a, b): one operation, and the arrays its tensors ``a`` and ``b`` hold."""
    a_shape = shape(rng)
    a_dtype, b_dtype = rng.choice(DTYPES), rng.choice(DTYPES)
    dims = len(a_shape)
    order = list(range(dims))
    rng.shuffle(order)
    fill = dict(d=rng.randrange(-dims, dims) if dims else rng.choice([0, -1]), e=rng.randrange(-dims, dims) if dims
                else 0, k=rng.choice([True, False]), s=repr(rng.choice(SCALARS)), i=rng.randrange(-3, 3), perm=order)
    family = rng.choice([BINARY, WITH_A_NUMBER, UNARY, REDUCTIONS, SHAPES, INDEXING])
    if family is INDEXING and 0 in a_shape:  # torch checks no index into a tensor of no elements
        family = SHAPES
    source = rng.choice(family).format(**fill)
    if "bool" in (a_dtype, b_dtype) and source in NOT_FOR_BOOL:
        a_dtype = b_dtype = "float32"
    return source, values(rng, a_shape, a_dtype), values(rng, partner(rng, a_shape), b_dtype)


def outcome(lib, source, a, b):
    """What ``source`` gives on ``lib``: ("value", dtype, shape, array) for a tensor, ("value", type, value) for
    anything else, or ("raised", type, message)."""
    tensors = {"a": lib.from_numpy(a.copy()), "b": lib.from_numpy(b.copy())}
    try:
        result = eval(source, {"T": lib, **tensors})
    except Exception as error:  # noqa: BLE001  (the exception is what is compared)
        return "raised", type(error).__name__, str(error).replace("numtorch.", "torch.")
    if isinstance(result, tuple) and hasattr(result, "indices"):  # max(dim): values and indices
        return "values and indices", outcome_of(result.values), outcome_of(result.indices)
    return outcome_of(result)


def outcome_of(result):
    if hasattr(result, "dtype") and hasattr(result, "numpy"):  # a tensor of either library
        return "value", str(result.dtype).rsplit(".", 1)[-1], tuple(result.shape), result.numpy()
    if isinstance(result, tuple):  # a Size
        return "value", "size", tuple(result)
    return "value", type(result).__name__, result


def same(ours, theirs):
    if ours[0] != theirs[0]:
        return False
    if ours[0] == "values and indices":
        return same(ours[1], theirs[1]) and same(ours[2], theirs[2])
    if ours[0] == "raised" or ours[1] != theirs[1]:
        return ours == theirs
    if ours[1] == "size" or not isinstance(ours[-1], np.ndarray):
        mine, yours = np.asarray(ours[-1], dtype=float), np.asarray(theirs[-1], dtype=float)
        return mine.shape == yours.shape and np.allclose(mine, yours, rtol=1e-5, atol=1e-6, equal_nan=True)
    return ours[2] == theirs[2] and np.allclose(ours[3].astype(float), theirs[3].astype(float), rtol=1e-5, atol=1e-6,
                                                equal_nan=True)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")  # each library's, on nan and the like
@pytest.mark.parametrize("seed", range(10))
def test_random_operations_give_torchs_values_or_its_errors(torch, seed):
    rng = random.Random(seed)
    for number in range(PROGRAMS_PER_SEED):
        source, a, b = program(rng)
        ours, theirs = outcome(numtorch, source, a, b), outcome(torch, source, a, b)
        assert same(ours, theirs), (f"program {number} of seed {seed}: {source} with a = {a!r}, b = {b!r}\n"
                                    f"  numtorch: {ours}\n  torch:    {theirs}")
