"""Tensor: creation, dtypes, shapes, indexing, reductions, arithmetic and printing, against torch."""
import copy
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import numtorch

from .parity import assert_parity, rand


def dtype_name(t):
    return str(t.dtype).replace("torch.", "")


# ----- creation and dtypes -------------------------------------------------------------------------
@pytest.mark.parametrize("data", [[1.5, 2.0], [1, 2], 3, 2.5, [[True, False]], [[1, 2], [3, 4]], []])
def test_tensor_infers_torchs_default_dtype(torch, data):
    ours, theirs = numtorch.tensor(data), torch.tensor(data)
    assert dtype_name(ours) == dtype_name(theirs)
    assert ours.tolist() == theirs.tolist()


def test_tensor_keeps_a_numpy_arrays_dtype_and_honours_dtype_argument():
    assert numtorch.tensor(np.zeros(2, dtype=np.float64)).dtype == numtorch.float64
    assert numtorch.tensor([1, 2], dtype=numtorch.float32).dtype == numtorch.float32
    assert numtorch.tensor([1.7, 2.2], dtype=numtorch.int64).tolist() == [1, 2]


def test_tensor_copies_its_data_but_from_numpy_shares_memory():
    a = np.zeros(3, dtype=np.float32)
    copied, shared = numtorch.tensor(a), numtorch.from_numpy(a)
    a[0] = 5
    assert copied.tolist() == [0, 0, 0]
    assert shared.tolist() == [5, 0, 0]
    shared.add_(1)
    assert a.tolist() == [6, 1, 1]


def test_numpy_returns_the_values_and_refuses_a_tensor_that_requires_grad():
    t = numtorch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        t.numpy()
    assert t.detach().numpy().tolist() == [1.0, 2.0]


def test_only_floating_tensors_can_require_grad():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        numtorch.tensor([1, 2], requires_grad=True)


@pytest.mark.parametrize("make", [
    lambda lib: lib.zeros(2, 3), lambda lib: lib.zeros((2, 3)), lambda lib: lib.ones(4),
    lambda lib: lib.empty(2, 2).shape, lambda lib: lib.full((2, 2), 7), lambda lib: lib.full((2,), 1.5),
    lambda lib: lib.arange(5), lambda lib: lib.arange(1, 7, 2), lambda lib: lib.arange(0, 1, 0.25),
    lambda lib: lib.zeros_like(lib.ones(2, 3, dtype=lib.int64)), lambda lib: lib.ones_like(lib.zeros(3)),
    lambda lib: lib.zeros(2, dtype=lib.float64), lambda lib: lib.ones(3, requires_grad=True).requires_grad,
])
def test_factories_match_torch_in_shape_dtype_and_values(torch, make):
    ours, theirs = make(numtorch), make(torch)
    if isinstance(theirs, torch.Tensor):
        assert dtype_name(ours) == dtype_name(theirs)
        assert ours.tolist() == theirs.tolist()
    else:
        assert tuple(ours) == tuple(theirs) if isinstance(theirs, tuple) else ours == theirs


def test_randn_and_rand_have_the_requested_shape_float32_and_plausible_values():
    n, u = numtorch.randn(200, 50), numtorch.rand(200, 50)
    assert n.shape == (200, 50) and n.dtype == numtorch.float32
    assert abs(n.mean().item()) < 0.05 and abs(n.var().item() - 1) < 0.05
    assert 0 <= u.min().item() and u.max().item() < 1 and abs(u.mean().item() - 0.5) < 0.02


def test_manual_seed_makes_random_numbers_reproducible():
    numtorch.manual_seed(42)
    first = (numtorch.randn(5), numtorch.rand(5), numtorch.nn.Linear(3, 2).weight.detach())
    numtorch.manual_seed(42)
    second = (numtorch.randn(5), numtorch.rand(5), numtorch.nn.Linear(3, 2).weight.detach())
    assert all(numtorch.equal(a, b) for a, b in zip(first, second))
    assert not numtorch.equal(first[0], numtorch.randn(5))


@pytest.mark.parametrize("make, low, shape", [
    (lambda lib: lib.randint(10, (100,)), 0, (100,)), (lambda lib: lib.randint(3, 10, (4, 25)), 3, (4, 25)),
    (lambda lib: lib.randint(10, size=(100,)), 0, (100,)), (lambda lib: lib.randint(high=10, size=(5, 20)), 0, (5, 20)),
    (lambda lib: lib.randint(-5, 10, size=(100,)), -5, (100,)),
], ids=["high, size", "low, high, size", "high, size=", "high=, size=", "negative low"])
def test_randint_takes_high_and_size_or_low_high_and_size_like_torch(lib, make, low, shape):
    t = make(lib)
    values = t.flatten().tolist()
    assert t.shape == shape and t.dtype == lib.int64
    assert low <= min(values) and max(values) < 10 and len(set(values)) > 3


def test_randint_without_a_tuple_size_is_a_type_error_like_torchs(lib):
    with pytest.raises(TypeError):
        lib.randint(10)
    with pytest.raises(TypeError):
        lib.randint(3, 10)  # a size, not a high


@pytest.mark.parametrize("draw", [
    lambda lib, g: lib.randperm(20, generator=g), lambda lib, g: lib.randint(0, 100, (20,), generator=g),
    lambda lib, g: lib.randn(20, generator=g), lambda lib, g: lib.rand(20, generator=g),
], ids=["randperm", "randint", "randn", "rand"])
def test_a_generator_of_its_own_reproduces_its_draws_and_leaves_the_global_one_alone(lib, draw):
    lib.manual_seed(0)
    expected_global = lib.rand(3)
    first = draw(lib, lib.Generator().manual_seed(7))
    assert lib.equal(first, draw(lib, lib.Generator().manual_seed(7)))
    assert not lib.equal(first, draw(lib, lib.Generator().manual_seed(8)))
    lib.manual_seed(0)
    draw(lib, lib.Generator().manual_seed(7))
    assert lib.equal(lib.rand(3), expected_global)


def test_randperm_is_a_permutation_of_int64s(lib):
    assert sorted(lib.randperm(50).tolist()) == list(range(50)) and lib.randperm(5).dtype == lib.int64


def test_equal_and_allclose_compare_like_torch(lib):
    a = lib.tensor([1.0, 2.0])
    assert lib.equal(a, lib.tensor([1.0, 2.0]))
    assert not lib.equal(a, lib.tensor([1.0, 2.0, 3.0]))
    assert not lib.equal(a, lib.tensor([1.0, 2.000001]))
    assert lib.allclose(a, lib.tensor([1.0, 2.000001]))
    assert not lib.allclose(a, lib.tensor([1.0, 2.1]))


# ----- size and shape --------------------------------------------------------------------------------
def test_shape_is_a_size_that_prints_like_torchs(torch):
    t = numtorch.zeros(2, 3, 4)
    assert isinstance(t.shape, numtorch.Size) and isinstance(t.shape, tuple)
    assert t.shape == (2, 3, 4) and t.size() == t.shape
    assert t.size(1) == 3 and t.size(-1) == 4
    assert t.dim() == 3 and t.ndim == 3 and t.numel() == 24 and t.shape.numel() == 24
    assert repr(t.shape) == repr(torch.zeros(2, 3, 4).shape).replace("torch", "numtorch")


def test_item_returns_a_python_number_and_refuses_more_than_one_element():
    assert numtorch.tensor(2.5).item() == 2.5 and isinstance(numtorch.tensor([3]).item(), int)
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        numtorch.tensor([1.0, 2.0]).item()


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.view(6, 4), lambda lib, x: x.view(-1), lambda lib, x: x.view(x.size(0), -1),
    lambda lib, x: x.reshape(4, 3, 2), lambda lib, x: x.reshape((3, -1)), lambda lib, x: x.flatten(),
    lambda lib, x: x.flatten(1), lambda lib, x: x.flatten(0, 1), lambda lib, x: lib.flatten(x, 1),
    lambda lib, x: x.permute(2, 0, 1), lambda lib, x: x.permute((1, 2, 0)), lambda lib, x: x.transpose(0, 2),
    lambda lib, x: x.transpose(-1, -2), lambda lib, x: x.unsqueeze(0), lambda lib, x: x.unsqueeze(-1),
    lambda lib, x: x.unsqueeze(1).squeeze(), lambda lib, x: x[:1].squeeze(0), lambda lib, x: x.squeeze(1),
    lambda lib, x: x.flatten(1).t(), lambda lib, x: x.flatten(1).T, lambda lib, x: x.unflatten(1, (3, 1)),
    lambda lib, x: x.unflatten(-1, (2, -1)), lambda lib, x: x.flatten().unflatten(0, [4, 3, 2]),
    lambda lib, x: lib.unflatten(x, 0, (1, 2)),
])
def test_shape_methods_match_torch_forward_and_backward(fn):
    assert_parity(fn, rand(2, 3, 4))


def test_reshape_to_an_impossible_shape_says_so():
    with pytest.raises(RuntimeError, match=r"shape '\[4, 4\]' is invalid for input of size 6"):
        numtorch.zeros(2, 3).view(4, 4)


def test_flatten_refuses_start_dim_after_end_dim(lib):
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        lib.zeros(2, 3, 4).flatten(2, 1)


def test_unflatten_refuses_sizes_that_do_not_multiply_to_the_dimension(lib):
    with pytest.raises(RuntimeError, match=r"unflatten: Provided sizes \[5, -1\] don't multiply up to the size of "
                                           r"dim 1 \(12\) in the input tensor"):
        lib.zeros(2, 12).unflatten(1, (5, -1))
    with pytest.raises(RuntimeError, match="Dimension specified as 0 but tensor has no dimensions"):
        lib.tensor(1.0).unflatten(0, (1,))


@pytest.mark.parametrize("fn", [
    lambda lib, a, b: lib.cat([a, b]), lambda lib, a, b: lib.cat((a, b), dim=1), lambda lib, a, b: lib.cat([a, b], -1),
    lambda lib, a, b: lib.stack([a, b]), lambda lib, a, b: lib.stack([a, b], dim=2),
    lambda lib, a, b: lib.stack((a, b, a), dim=-1),
])
def test_cat_and_stack_match_torch_forward_and_backward(fn):
    assert_parity(fn, rand(2, 3), rand(2, 3, seed=1))


# ----- indexing ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("index", [
    lambda lib: 1, lambda lib: -1, lambda lib: (slice(None), 2), lambda lib: (Ellipsis, 1),
    lambda lib: (slice(1, None), slice(None, None, 2)), lambda lib: (None, 0), lambda lib: (0, 1, 2),
    lambda lib: lib.tensor([0, 2, 0]), lambda lib: (lib.tensor([1, 0]), lib.tensor([3, 3])),
    lambda lib: [0, 0, 2],
])
def test_indexing_matches_torch_and_repeated_indices_accumulate_gradient(index):
    assert_parity(lambda lib, x: x[index(lib)], rand(3, 4, 5))


def test_boolean_mask_indexing_matches_torch():
    assert_parity(lambda lib, x: x[x > 0], rand(4, 5))


def test_setitem_writes_in_place_without_grad(lib):
    x = lib.zeros(2, 3)
    x[0, 1] = 5.0
    x[1] = lib.tensor([1.0, 2.0, 3.0])
    assert x.tolist() == [[0, 5, 0], [1, 2, 3]]


# ----- reductions --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda lib, x: x.sum(), lambda lib, x: x.sum(dim=1), lambda lib, x: x.sum(-1, keepdim=True),
    lambda lib, x: x.sum(dim=(0, 2)), lambda lib, x: lib.sum(x, 0), lambda lib, x: x.mean(),
    lambda lib, x: x.mean(dim=0), lambda lib, x: x.mean(dim=(1, 2), keepdim=True), lambda lib, x: lib.mean(x, -2),
    lambda lib, x: x.max(), lambda lib, x: x.max(dim=1)[0], lambda lib, x: x.max(1, keepdim=True).values,
    lambda lib, x: lib.max(x, -1)[0], lambda lib, x: x.min(dim=2).values, lambda lib, x: x.var(),
    lambda lib, x: x.var(dim=1), lambda lib, x: x.var(dim=0, keepdim=True), lambda lib, x: x.var(2, unbiased=False),
    lambda lib, x: x.std(dim=1),
])
def test_reductions_match_torch_forward_and_backward(fn):
    assert_parity(fn, rand(2, 3, 4))


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.sum(0), lambda lib, x: x.sum(-1, keepdim=True), lambda lib, x: x.sum(dim=(0,)),
    lambda lib, x: x.mean(dim=0), lambda lib, x: x.max(0)[0], lambda lib, x: x.min(-1, keepdim=True).values,
    lambda lib, x: x.var(0, correction=0), lambda lib, x: x.var(0),
])
@pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning")  # each library's, for x.var(0)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's 0 / 0, which numtorch silences outside the tests
def test_a_reduction_along_the_one_dimension_torch_sees_in_a_0d_tensor_changes_nothing(fn):
    assert_parity(fn, np.array(1.5, dtype=np.float32))


@pytest.mark.parametrize("fn", [lambda lib, x: x.sum(()), lambda lib, x: x.sum([]), lambda lib, x: x.mean(())])
def test_an_empty_tuple_of_dims_reduces_over_every_dimension_as_in_torch(fn):
    assert_parity(fn, rand(2, 3))


@pytest.mark.parametrize("fn, arrays", [
    (lambda lib, x: x.argmax(0, keepdim=True), [np.array(1.5, dtype=np.float32)]),
    (lambda lib, x: x.transpose(0, -1), [np.array(1.5, dtype=np.float32)]),
    (lambda lib, x: x.unflatten(0, (1, -1)), [np.zeros((1, 0), dtype=np.float32)]),
    (lambda lib, x: x.var(0), [np.zeros((2, 0), dtype=np.float32)]),
    (lambda lib, x: x.std(1), [np.zeros((2, 0), dtype=np.float32)]),
    # integer powers with a negative exponent, which NumPy refuses: 0 unless the base is 1 or -1
    (lambda lib, x, y: x ** y, [np.array([2, 3, -2, 0, 1, -1]), np.array([-1])]),
    (lambda lib, x, y: x ** y, [np.array([-1, -1, 2]), np.array([-3, 4, 0])]),
    (lambda lib, x: 2 ** x, [np.array([-1, 0, 2])]),
    # a floating-point division by an integer zero gives inf or nan; only an integer one is refused
    (lambda lib, x, y: x // y, [np.array([1.5, -2.0, 3.0], dtype=np.float32), np.array([0, 0, 2])]),
    (lambda lib, x, y: x % y, [np.array([1.5, -2.0, 3.0], dtype=np.float32), np.array([0, 0, 2])]),
    # beside a tensor with dimensions, a 0-d tensor of the same kind promotes as a Python number would
    (lambda lib, x, y: x + y, [rand(3), np.array(2.0)]),
    (lambda lib, x, y: y - x, [rand(3), np.array(2.0)]),
    (lambda lib, x, y: x * y, [np.array([1, 2], dtype=np.int32), np.array(3)]),
    (lambda lib, x, y: x * y, [np.array([1, 2]), np.array(0.5)]),
    (lambda lib, x, y: lib.where(x > 0, x, y), [rand(3), np.array(2.0)]),
])
@pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning")  # each library's
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's inf and nan, which numtorch silences outside the tests
def test_edge_cases_give_torchs_values_and_dtypes(fn, arrays):
    assert_parity(fn, *arrays, grad=False)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name, fn", [("var", lambda lib: lib.tensor(1.0).var()),
                                      ("std", lambda lib: lib.zeros(2, 3).std(1, correction=3)),
                                      ("var", lambda lib: lib.zeros(2, 0).var(0))])
def test_a_variance_without_degrees_of_freedom_warns_in_torchs_words(lib, name, fn):
    with pytest.warns(UserWarning, match=rf"^{name}\(\): degrees of freedom is <= 0. Correction should be strictly less "
                                         r"than the reduction factor \(input numel divided by output numel\)."):
        fn(lib)


def test_an_empty_tensor_that_is_not_float32_prints_its_dtype_as_in_torch(torch):
    for make in (lambda lib: lib.tensor([], dtype=lib.bool), lambda lib: lib.zeros(2, 0, dtype=lib.int64),
                 lambda lib: lib.zeros(0), lambda lib: lib.zeros(0, dtype=lib.float64)):
        assert repr(make(numtorch)) == repr(make(torch)).replace("torch.", "numtorch.")


def test_max_with_dim_returns_values_and_indices_like_torch(torch):
    for keepdim in (False, True):
        ours = numtorch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]).max(dim=1, keepdim=keepdim)
        theirs = torch.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]).max(dim=1, keepdim=keepdim)
        assert ours.values.tolist() == theirs.values.tolist()
        assert ours.indices.tolist() == theirs.indices.tolist() and ours.indices.dtype == numtorch.int64
        values, indices = ours
        assert numtorch.equal(values, ours[0]) and numtorch.equal(indices, ours[1])
    assert numtorch.tensor([[1.0, 5.0], [7.0, 0.0]]).argmax(dim=1).tolist() == [1, 0]


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_with_dim_print_copy_and_pickle_like_torchs_named_tuple(torch, name):
    ours, theirs = (getattr(lib.tensor([[1.0, 5.0], [7.0, 0.0]]), name)(1) for lib in (numtorch, torch))
    assert repr(ours) == repr(theirs).replace("torch.", "numtorch.", 1)
    for copied in (copy.deepcopy(ours), pickle.loads(pickle.dumps(ours))):
        assert repr(copied) == repr(ours) and copied.indices.tolist() == ours.indices.tolist()


def test_max_without_dim_shares_gradient_between_ties_like_torch():
    assert_parity(lambda lib, x: x.max(), np.array([1.0, 3.0, 3.0, 2.0], dtype=np.float32))


def test_sum_of_booleans_counts_them(lib):
    correct = (lib.tensor([1, 2, 3]) == lib.tensor([1, 0, 3])).sum()
    assert correct.item() == 2 and correct.dtype == lib.int64


# ----- elementwise functions --------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, low, high", [
    (lambda lib, x: x.exp(), -2, 2), (lambda lib, x: lib.exp(x), -2, 2), (lambda lib, x: x.log(), 0.1, 3),
    (lambda lib, x: x.sqrt(), 0.1, 3), (lambda lib, x: x.abs(), -2, 2), (lambda lib, x: abs(x), -2, 2),
    (lambda lib, x: x.clamp(min=-0.5), -2, 2), (lambda lib, x: x.clamp(max=0.5), -2, 2),
    (lambda lib, x: x.clamp(-0.5, 0.5), -2, 2), (lambda lib, x: lib.clamp(x, min=0.0), -2, 2),
    (lambda lib, x: x.relu(), -2, 2), (lambda lib, x: x.tanh(), -2, 2), (lambda lib, x: x.sigmoid(), -4, 4),
    (lambda lib, x: -x, -2, 2),
])
def test_elementwise_functions_match_torch_forward_and_backward(fn, low, high):
    assert_parity(fn, rand(3, 4, low=low, high=high))


def test_relu_and_clamp_gradients_at_the_kink_match_torch():
    x = np.array([-1.0, 0.0, 0.5, 1.0], dtype=np.float32)
    assert_parity(lambda lib, x: x.relu(), x)
    assert_parity(lambda lib, x: lib.nn.functional.relu(x), x)
    assert_parity(lambda lib, x: x.clamp(0.0, 1.0), x)
    assert_parity(lambda lib, x: x.abs(), x)


# ----- arithmetic and broadcasting -----------------------------------------------------------------------------
BINARY = {
    "add": lambda lib, a, b: a + b, "sub": lambda lib, a, b: a - b, "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / b, "pow": lambda lib, a, b: a ** b, "add_alpha": lambda lib, a, b: a.add(b, alpha=2),
    "where": lambda lib, a, b: lib.where(a > 1, a, b), "maximum": lambda lib, a, b: lib.max(a, b),
    "minimum": lambda lib, a, b: lib.min(a, b),
}


@settings(max_examples=20, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2 ** 16))
def test_binary_operators_broadcast_and_reduce_gradients_like_torch(shapes, op, seed):
    a = rand(*shapes.input_shapes[0], seed=seed, low=0.5, high=2.0)
    b = rand(*shapes.input_shapes[1], seed=seed + 1, low=0.5, high=2.0)
    assert_parity(BINARY[op], a, b)


@pytest.mark.parametrize("a, b", [
    ([-7, 7, -7, 7, 0], [3, 3, -3, -3, 5]), ([-7, 7, -1, 0], 3), ([-7, 7, -1, 0], -3), ([-7, 7, 5], 2.5),
    ([-7.5, 7.5, -0.25, 2.0], [2.0, -2.0, 1.0, 2.0]), ([-7.5, 7.5, -0.25], -2.0), ([True, False], 2),
])
def test_remainder_has_the_sign_of_the_divisor_like_torch(torch, a, b):
    for op in (lambda lib, x, y: x % y, lambda lib, x, y: lib.remainder(x, y), lambda lib, x, y: x.remainder(y)):
        ours, theirs = (op(lib, lib.tensor(a), lib.tensor(b) if isinstance(b, list) else b)
                        for lib in (numtorch, torch))
        assert dtype_name(ours) == dtype_name(theirs)
        assert ours.tolist() == theirs.tolist()


def test_a_number_modulo_a_tensor_matches_torch(torch):
    for b in ([3, -3, 4], [2.5, -2.5, 0.75]):
        ours, theirs = 7 % numtorch.tensor(b), 7 % torch.tensor(b)
        assert dtype_name(ours) == dtype_name(theirs) and ours.tolist() == theirs.tolist()
    assert (-7.5 % numtorch.tensor([2, -2])).tolist() == (-7.5 % torch.tensor([2, -2])).tolist()


@pytest.mark.parametrize("fn", [lambda lib, x, y: x % y, lambda lib, x, y: x % 0.75, lambda lib, x, y: x % -0.75],
                         ids=["tensor", "number", "negative number"])
def test_remainder_gradients_match_torch(fn):
    x = rand(3, 4, low=-3, high=3)
    y = np.where(rand(3, 4, seed=1) > 0, 1, -1).astype(np.float32) * rand(3, 4, seed=2, low=0.5, high=2)
    for divisor in (y, 0.75, -0.75):  # away from the jumps of x % y, where rounding could pick either side
        assert np.abs(x / divisor - np.round(x / divisor)).min() > 1e-3
    assert_parity(fn, x, y)


def test_integer_remainder_by_zero_raises_like_torch(lib):
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        lib.tensor([1, 2]) % lib.tensor([0, 1])


@pytest.mark.parametrize("a, b", [
    ([-7, 7, -7, 7, 0], [3, 3, -3, -3, 5]), ([-7, 7, -1, 0], 3), ([-7, 7, 5], 2.5), ([-7.5, 7.5, 1.0], [2.0, -2.0, 0.0]),
    ([-7.5, 7.5, -0.25], -2.0), ([True, False], 2),
])
def test_floor_division_rounds_down_like_torch(torch, a, b):
    for op in (lambda lib, x, y: x // y, lambda lib, x, y: lib.floor_divide(x, y), lambda lib, x, y: x.floor_divide(y)):
        ours, theirs = (op(lib, lib.tensor(a), lib.tensor(b) if isinstance(b, list) else b)
                        for lib in (numtorch, torch))
        assert dtype_name(ours) == dtype_name(theirs)
        assert ours.tolist() == theirs.tolist()
    ours, theirs = (7 // lib.tensor([2, -2]) for lib in (numtorch, torch))
    assert dtype_name(ours) == dtype_name(theirs) and ours.tolist() == theirs.tolist()


def test_floor_division_has_no_gradient_and_refuses_an_integer_zero_like_torch(lib):
    x = lib.tensor([3.5, -3.5], requires_grad=True)
    y = x // 2
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="^derivative for aten::floor_divide is not implemented$"):
        y.sum().backward()
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        lib.tensor([7]) // 0


def test_elementwise_max_and_min_split_the_gradient_of_a_tie_like_torch():
    a, b = np.array([0.0, 1.0, -2.0], dtype=np.float32), np.array([0.0, 0.0, 3.0], dtype=np.float32)
    assert_parity(lambda lib, a, b: lib.max(a, b) * 2 + lib.min(a, b), a, b)


@settings(max_examples=15, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2 ** 16))
def test_comparisons_broadcast_to_boolean_tensors_like_torch(torch, shapes, seed):
    a = rand(*shapes.input_shapes[0], seed=seed).round()
    b = rand(*shapes.input_shapes[1], seed=seed + 1).round()
    for compare in (lambda x, y: x == y, lambda x, y: x != y, lambda x, y: x < y, lambda x, y: x <= y,
                    lambda x, y: x > y, lambda x, y: x >= y):
        ours, theirs = compare(numtorch.tensor(a), numtorch.tensor(b)), compare(torch.tensor(a), torch.tensor(b))
        assert ours.dtype == numtorch.bool and ours.tolist() == theirs.tolist()


@pytest.mark.parametrize("fn", [
    lambda lib, x: x + 2, lambda lib, x: 2 + x, lambda lib, x: x - 1.5, lambda lib, x: 1.5 - x,
    lambda lib, x: x * 3, lambda lib, x: 3 * x, lambda lib, x: x / 4, lambda lib, x: 4 / x, lambda lib, x: x ** 2,
    lambda lib, x: 2 ** x, lambda lib, x: x ** 0.5, lambda lib, x: (x > 1) * x, lambda lib, x: x.float() * 2,
])
def test_operators_with_python_numbers_match_torch(fn):
    assert_parity(fn, rand(2, 3, low=0.5, high=2.0))


@pytest.mark.parametrize("a, b", [
    ([1, 2], 2), ([1, 2], 2.5), ([1.0, 2.0], 2), ([1, 2], [True, True]), ([True], 1.5),
])
def test_type_promotion_with_numbers_and_integers_matches_torch(torch, a, b):
    for op in (lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x / y):
        ours = op(numtorch.tensor(a), numtorch.tensor(b) if isinstance(b, list) else b)
        theirs = op(torch.tensor(a), torch.tensor(b) if isinstance(b, list) else b)
        assert dtype_name(ours) == dtype_name(theirs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_float64_with_float32_promotes_to_float64_like_torch(torch):
    a, b = np.ones(2, np.float32), np.ones(2, np.float64)
    assert dtype_name(numtorch.tensor(a) + numtorch.tensor(b)) == dtype_name(torch.tensor(a) + torch.tensor(b))


@pytest.mark.parametrize("shape_a, shape_b", [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)),
    ((1, 2, 3), (4, 3, 2)), ((2, 3), (4, 3, 2)),
])
def test_matmul_matches_torch_for_vectors_matrices_and_batches(shape_a, shape_b):
    assert_parity(lambda lib, a, b: a @ b, rand(*shape_a), rand(*shape_b, seed=1))
    assert_parity(lambda lib, a, b: lib.matmul(a, b), rand(*shape_a), rand(*shape_b, seed=1))


# ----- in place -----------------------------------------------------------------------------------------------------
def test_in_place_operations_change_the_tensor_itself_like_torch(lib):
    t = lib.ones(2, 2)
    same = t
    t += 1
    t.add_(lib.ones(2), alpha=2)
    t.mul_(3)
    t -= 1
    t /= 2
    assert same is t and t.tolist() == [[5.5, 5.5], [5.5, 5.5]]
    assert t.zero_() is t and t.tolist() == [[0, 0], [0, 0]]
    assert t.fill_(2.5).tolist() == [[2.5, 2.5], [2.5, 2.5]]
    assert t.copy_(lib.tensor([1.0, 2.0])).tolist() == [[1, 2], [1, 2]]


def test_uniform_and_normal_fill_in_place_with_the_requested_distribution():
    t = numtorch.empty(100, 100)
    assert t.uniform_(-2, 3) is t
    assert -2 <= t.min().item() and t.max().item() < 3 and abs(t.mean().item() - 0.5) < 0.05
    t.normal_(1.0, 0.5)
    assert abs(t.mean().item() - 1.0) < 0.02 and abs(t.std().item() - 0.5) < 0.02
    assert t.dtype == numtorch.float32


def test_in_place_on_a_leaf_that_requires_grad_is_refused_unless_under_no_grad(lib):
    w = lib.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        w += 1
    with lib.no_grad():
        w -= 0.5
        w.mul_(2)
    assert w.tolist() == [1, 1, 1] and w.requires_grad and w.is_leaf


def test_in_place_result_must_keep_the_tensors_shape(lib):
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        lib.zeros(3).add_(lib.ones(2, 3))


@pytest.mark.parametrize("fn", [
    lambda lib, x, y: (lambda a: (a.add_(y), a)[1])(x * 2),
    lambda lib, x, y: (lambda a: (a.mul_(y), a * a)[1])(x + 1),
    lambda lib, x, y: (lambda a: (a.sub_(a * 3), a)[1])(x * y),
    lambda lib, x, y: lib.nn.functional.relu(x * y, inplace=True),
    lambda lib, x, y: lib.nn.ReLU(inplace=True)(x - y) * x,
    lambda lib, x, y: (lambda buf: (buf.add_(x * y), buf.clamp_(min=0.0), buf)[2])(lib.zeros(3, 4)),
    lambda lib, x, y: (lambda buf: (buf.copy_(x), buf * y)[1])(lib.zeros(3, 4)),
])
def test_in_place_operations_on_intermediate_values_keep_gradients_exact(fn):
    assert_parity(fn, rand(3, 4), rand(3, 4, seed=1))


def test_detach_shares_values_but_not_the_graph(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    d = x.detach()
    d.zero_()
    assert x.tolist() == [0.0, 0.0]


def test_clone_copies_values_and_passes_gradients(torch):
    assert_parity(lambda lib, x: x.clone() * 2, rand(2, 3))


def test_a_clone_has_its_own_memory(lib):
    x = lib.tensor([1.0, 2.0])
    c = x.clone()
    c.add_(1)
    assert x.tolist() == [1.0, 2.0]


# ----- printing ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda lib: lib.tensor([1.0, 2.0, 3.0]), lambda lib: lib.tensor([0.1, -2.25, 3.0]),
    lambda lib: lib.tensor([[1.5, 2.0], [3.0, 4.0]]), lambda lib: lib.tensor([1, 2, 3]), lambda lib: lib.tensor(3),
    lambda lib: lib.tensor(2.5), lambda lib: lib.tensor([True, False]),
    lambda lib: lib.tensor([1.0, 2.0], requires_grad=True), lambda lib: lib.tensor([[1.5]], requires_grad=True),
    lambda lib: lib.tensor([1.5, 2.0], requires_grad=True) * 2, lambda lib: lib.tensor([1.0, 2.0], requires_grad=True).sum(),
    lambda lib: lib.tensor([1e-8, 1.0]), lambda lib: lib.tensor([12345.678, 1.0]), lambda lib: lib.zeros(2, 2, 2),
    lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64), lambda lib: lib.tensor([float("nan"), 1.0, 0.5]),
])
def test_repr_prints_like_torch(torch, make):
    assert repr(make(numtorch)) == repr(make(torch)).replace("torch.", "numtorch.")


def test_repr_of_a_parameter_is_prefixed_like_torchs(lib):
    p = lib.nn.Parameter(lib.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"


# Results whose dtype torch's promotion decides: a float function of integers is float32, joining integers with
# float32 gives float32 (NumPy would say float64, or for booleans float16). Same dtype and values as torch.
PROMOTED = {
    "exp of integers": lambda lib: lib.tensor([1, 2]).exp(),
    "log of booleans": lambda lib: lib.tensor([True, True]).log(),
    "sqrt of integers": lambda lib: lib.sqrt(lib.tensor([4, 9])),
    "tanh of integers": lambda lib: lib.tensor([0, 1]).tanh(),
    "sigmoid of integers": lambda lib: lib.nn.functional.sigmoid(lib.tensor([-2, 3])),
    "integers clamped to a float": lambda lib: lib.tensor([0, 3]).clamp(0.5, 2.5),
    "integers clamped to integers": lambda lib: lib.tensor([0, 3]).clamp(1, 2),
    "cat of integers and float32": lambda lib: lib.cat([lib.tensor([1]), lib.tensor([0.5])]),
    "stack of booleans and integers": lambda lib: lib.stack([lib.tensor([True]), lib.tensor([3])]),
    "cat of float32 and float64": lambda lib: lib.cat([lib.tensor([1.5]), lib.tensor([0.25], dtype=lib.float64)]),
    "cross_entropy with uint8 targets": lambda lib: lib.nn.functional.cross_entropy(
        lib.tensor([[1.0, 2.0, 0.5]]), lib.tensor([1], dtype=lib.uint8)),
}


@pytest.mark.parametrize("case", sorted(PROMOTED))
def test_results_have_torchs_promoted_dtype_and_values(case, torch):
    ours, theirs = PROMOTED[case](numtorch), PROMOTED[case](torch)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_cat_promotes_through_autograd(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    joined = lib.cat([x, lib.tensor([3.0], dtype=lib.float64)])
    assert joined.dtype == lib.float64
    (joined * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
    assert x.grad.dtype == lib.float32 and x.grad.tolist() == [1.0, 2.0]


def test_inf_and_nan_come_without_numpys_warnings_as_in_torch_while_numpy_itself_still_warns():
    code = """
import numpy as np
import numtorch as torch
x = torch.tensor([0.0, -1.0, 100.0])
results = [x.log(), x.sqrt(), x / 0, x.exp() * 1e38, x // 0, x * float("inf"), torch.nn.functional.log_softmax(x * 1e38, 0)]
try:
    np.log(np.zeros(1))
except RuntimeWarning as warning:
    print("numpy warned:", warning)
"""
    done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "numpy warned: divide by zero encountered in log\n"


@pytest.mark.parametrize("value_shape", [(1, 1, 2, 3), (1, 2, 3), (3,), (1, 3), (2, 1)])
def test_item_assignment_through_an_index_takes_the_shapes_torch_takes(torch, value_shape):
    ours, theirs = numtorch.zeros(4, 3), torch.zeros(4, 3)
    for lib, target in ((numtorch, ours), (torch, theirs)):
        target[lib.tensor([0, 1])] = lib.arange(1.0, 1.0 + np.prod(value_shape)).reshape(value_shape)
    assert ours.tolist() == theirs.tolist()
