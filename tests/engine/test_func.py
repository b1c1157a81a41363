"""numtorch.func's transforms on both engines: ``grad``, ``grad_and_value``, ``vmap`` and ``stack_module_state``.

Every test runs on numtorch and on torch 2.13, so the torch run checks the claim and the
numtorch run checks the engine. Where numtorch's loop-based transforms differ from torch's
(higher-order gradients, randomness inside vmap) the tests say so by name.
"""
import importlib

import numpy as np
import pytest

from .parity import assert_close, rand


def func(lib):
    return importlib.import_module(f"{lib.__name__}.func")


def mse(lib, model):
    """The loss of ``model`` on one sample, as a function of the model's parameters: per-sample gradients' input."""
    def loss(params, x, y):
        out = func(lib).functional_call(model, params, (x.unsqueeze(0),))
        return ((out - y.unsqueeze(0)) ** 2).mean()
    return loss


def linear(lib, seed=0):
    model = lib.nn.Linear(3, 2)
    with lib.no_grad():
        model.weight.copy_(lib.tensor(rand(2, 3, seed=seed)))
        model.bias.copy_(lib.tensor(rand(2, seed=seed + 1)))
    return model


# ----- grad ---------------------------------------------------------------------------------------------------
def test_grad_returns_the_gradient_of_a_scalar_function(lib):
    x = lib.tensor([1.0, -2.0, 3.0])
    g = func(lib).grad(lambda t: (t ** 3).sum())(x)
    assert g.tolist() == [3.0, 12.0, 27.0]
    assert not g.requires_grad and x.grad is None


def test_grad_of_a_dict_of_parameters_has_the_dicts_keys_and_matches_backward(lib):
    model = linear(lib)
    x, y = lib.tensor(rand(3, seed=2)), lib.tensor(rand(2, seed=3))
    params = {name: p.detach() for name, p in model.named_parameters()}
    g = func(lib).grad(mse(lib, model))(params, x, y)
    assert list(g) == ["weight", "bias"]
    mse(lib, model)(dict(model.named_parameters()), x, y).backward()
    assert_close(g["weight"], model.weight.grad)
    assert_close(g["bias"], model.bias.grad)


def test_grad_writes_no_grad_into_the_modules_parameters(lib):
    model = linear(lib)
    params = {name: p.detach() for name, p in model.named_parameters()}
    func(lib).grad(lambda p: model(lib.ones(1, 3)).sum() + p["bias"].sum())(params)
    assert model.weight.grad is None and model.bias.grad is None


def test_argnums_picks_arguments_and_a_tuple_gives_a_tuple(lib):
    f = lambda a, b: (a * b * b).sum()
    a, b = lib.tensor([2.0]), lib.tensor([3.0])
    assert func(lib).grad(f, argnums=1)(a, b).tolist() == [12.0]
    ga, gb = func(lib).grad(f, argnums=(0, 1))(a, b)
    assert ga.tolist() == [9.0] and gb.tolist() == [12.0]
    assert func(lib).grad(f, argnums=-1)(a, b).tolist() == [12.0]


def test_an_input_the_output_ignores_gets_zeros(lib):
    g = func(lib).grad(lambda a, b: (a * 2).sum(), argnums=(0, 1))(lib.ones(2), lib.ones(3))
    assert g[0].tolist() == [2.0, 2.0] and g[1].tolist() == [0.0, 0.0, 0.0]


def test_has_aux_returns_the_aux_beside_the_gradient(lib):
    def f(x):
        y = (x ** 2).sum()
        return y, {"y": y, "x": [x]}
    g, aux = func(lib).grad(f, has_aux=True)(lib.tensor([1.0, 2.0]))
    assert g.tolist() == [2.0, 4.0]
    assert aux["y"].item() == 5.0 and aux["x"][0].tolist() == [1.0, 2.0]
    assert not aux["y"].requires_grad


def test_the_aux_must_hold_only_tensors(lib):
    with pytest.raises(RuntimeError, match="Expected tensors, got unsupported type <class 'int'>"):
        func(lib).grad(lambda x: (x.sum(), 2), has_aux=True)(lib.ones(1))


def test_grad_and_value_returns_the_value_too(lib):
    g, value = func(lib).grad_and_value(lambda x: (x ** 2).sum())(lib.tensor([1.0, 2.0]))
    assert g.tolist() == [2.0, 4.0] and value.item() == 5.0
    g, (value, aux) = func(lib).grad_and_value(lambda x: ((x ** 2).sum(), x * 3), has_aux=True)(lib.ones(1))
    assert value.item() == 1.0 and aux.tolist() == [3.0]


def test_grad_works_inside_no_grad(lib):
    with lib.no_grad():
        assert func(lib).grad(lambda x: (x * x).sum())(lib.tensor([3.0])).tolist() == [6.0]


def test_grad_refuses_a_non_scalar_output(lib):
    with pytest.raises(RuntimeError, match=r"Expected f\(\*args\) to return a scalar Tensor, got tensor with 1 dims"):
        func(lib).grad(lambda x: x * 2)(lib.ones(2))


def test_grad_refuses_an_output_that_is_not_a_tensor(lib):
    with pytest.raises(RuntimeError, match=r"Expected f\(\*args\) to return a Tensor, got <class 'float'>"):
        func(lib).grad(lambda x: 1.0)(lib.ones(2))


def test_has_aux_needs_a_pair(lib):
    with pytest.raises(RuntimeError, match=r"output of function f should be a tuple: \(output, aux\) if has_aux"):
        func(lib).grad(lambda x: x.sum(), has_aux=True)(lib.ones(2))


@pytest.mark.parametrize("argnums, message", [
    ([0], r"argnums must be int or Tuple\[int, \.\.\.\], got: <class 'list'>"),
    (2, r"Got argnum=2, but only 2 positional inputs"),
])
def test_bad_argnums_are_refused(lib, argnums, message):
    with pytest.raises(RuntimeError, match=message):
        func(lib).grad(lambda a, b: a.sum(), argnums=argnums)(lib.ones(1), lib.ones(1))


def test_numtorchs_grad_is_first_order_only_torchs_is_differentiable_again(lib):
    x = lib.tensor([2.0], requires_grad=True)
    g = func(lib).grad(lambda t: (t ** 3).sum())(x)
    assert g.tolist() == [12.0]
    assert g.requires_grad == (lib.__name__ == "torch")


def test_grad_of_grad_is_torchs_only_numtorch_refuses_it(lib):
    second = func(lib).grad(func(lib).grad(lambda t: t ** 3))
    if lib.__name__ == "torch":
        assert second(lib.tensor(2.0)).item() == 12.0
    else:
        with pytest.raises(NotImplementedError, match="numtorch's grad is first-order only"):
            second(lib.tensor(2.0))
    assert func(lib).grad(lambda t: t ** 3)(lib.tensor(2.0)).item() == 12.0  # the refusal left no state behind


# ----- vmap ---------------------------------------------------------------------------------------------------
def test_vmap_maps_over_the_first_dimension_and_stacks(lib):
    dot = lambda a, b: (a * b).sum()
    a, b = lib.tensor(rand(4, 3, seed=0)), lib.tensor(rand(4, 3, seed=1))
    out = func(lib).vmap(dot)(a, b)
    assert out.shape == (4,)
    assert_close(out, (a * b).sum(dim=1))


def test_in_dims_none_shares_an_argument_and_an_int_picks_the_dimension(lib):
    w, xs = lib.tensor(rand(3, seed=0)), lib.tensor(rand(3, 5, seed=1))
    out = func(lib).vmap(lambda w, x: w * x, in_dims=(None, 1))(w, xs)
    assert out.shape == (5, 3)
    assert_close(out, (w.unsqueeze(1) * xs).transpose(0, 1))


def test_out_dims_places_the_mapped_dimension(lib):
    out = func(lib).vmap(lambda x: x * 2, out_dims=1)(lib.tensor(rand(4, 3)))
    assert out.shape == (3, 4)


def test_vmap_of_a_function_returning_a_tuple_stacks_each(lib):
    a, b = func(lib).vmap(lambda x: (x.sum(), x * 2))(lib.ones(4, 3))
    assert a.shape == (4,) and b.shape == (4, 3)


def test_nested_vmap_maps_two_dimensions(lib):
    x, y = lib.tensor(rand(2, 3, seed=0)), lib.tensor(rand(4, 3, seed=1))
    outer = func(lib).vmap(func(lib).vmap(lambda a, b: (a * b).sum(), in_dims=(None, 0)), in_dims=(0, None))
    assert_close(outer(x, y), x @ y.T)


def test_vmap_is_differentiable(lib):
    x = lib.tensor(rand(4, 3), requires_grad=True)
    func(lib).vmap(lambda r: (r ** 2).sum())(x).sum().backward()
    assert_close(x.grad, 2 * x.detach())


def test_per_sample_gradients_are_the_gradients_of_each_sample_alone(lib):
    model = linear(lib)
    x, y = lib.tensor(rand(5, 3, seed=2)), lib.tensor(rand(5, 2, seed=3))
    params = {name: p.detach() for name, p in model.named_parameters()}
    per_sample = func(lib).vmap(func(lib).grad(mse(lib, model)), in_dims=(None, 0, 0))(params, x, y)
    assert per_sample["weight"].shape == (5, 2, 3) and per_sample["bias"].shape == (5, 2)
    for i in range(5):
        model.zero_grad()
        mse(lib, model)(dict(model.named_parameters()), x[i], y[i]).backward()
        assert_close(per_sample["weight"][i], model.weight.grad)
    assert_close(per_sample["bias"].mean(dim=0), func(lib).grad(
        lambda p: ((func(lib).functional_call(model, p, (x,)) - y) ** 2).mean(dim=1).mean())(params)["bias"])


def test_vmap_refuses_mapped_dimensions_of_different_sizes(lib):
    with pytest.raises(ValueError, match=r"vmap: Expected all tensors to have the same size in the mapped "
                                         r"dimension, got sizes \[2, 3\] for the mapped dimension"):
        func(lib).vmap(lambda a, b: a + b)(lib.ones(2), lib.ones(3))


def test_vmap_refuses_in_dims_that_do_not_match_the_arguments(lib):
    with pytest.raises(ValueError, match=r"in_dims is not compatible with the structure of `inputs`"):
        func(lib).vmap(lambda a, b: a + b, in_dims=(0,))(lib.ones(2), lib.ones(2))


def test_vmap_refuses_an_in_dim_beyond_the_inputs_dimensions(lib):
    with pytest.raises(ValueError, match=r"Got in_dim=2 for some input, but that input is a Tensor of "
                                         r"dimensionality 2 so expected in_dim to satisfy -2 <= in_dim < 2"):
        func(lib).vmap(lambda a: a, in_dims=2)(lib.ones(2, 3))


def test_vmap_needs_something_to_map_over(lib):
    with pytest.raises(ValueError, match="vmap: Expected at least one Tensor to vmap over"):
        func(lib).vmap(lambda a: a, in_dims=(None,))(lib.ones(2))
    with pytest.raises(ValueError, match=r"in_dims=None, \.\.\.\)\(<inputs>\): expected `in_dims` to be int or a"):
        func(lib).vmap(lambda a: a, in_dims=None)(lib.ones(2))
    with pytest.raises(ValueError, match=r"Got in_dim=0 for an input but the input is of type <class 'float'>"):
        func(lib).vmap(lambda a: a)(3.0)


def test_vmap_refuses_a_function_that_returns_a_number(lib):
    def one(a):
        return 1.0
    with pytest.raises(ValueError, match=r"vmap\(one, \.\.\.\): `one` must only return Tensors, got type <class 'float'>"):
        func(lib).vmap(one)(lib.ones(2))


def test_torch_vmap_is_torch_func_vmap(lib):
    assert lib.vmap(lambda a: a * 2)(lib.ones(2, 1)).shape == (2, 1)


# ----- stack_module_state -------------------------------------------------------------------------------------
def test_stack_module_state_stacks_parameters_and_buffers_by_name(lib):
    models = [lib.nn.BatchNorm1d(3) for _ in range(4)]
    params, buffers = func(lib).stack_module_state(models)
    assert list(params) == ["weight", "bias"]
    assert list(buffers) == ["running_mean", "running_var", "num_batches_tracked"]
    assert params["weight"].shape == (4, 3) and buffers["num_batches_tracked"].shape == (4,)
    assert params["weight"].is_leaf and params["weight"].requires_grad
    assert not buffers["running_mean"].requires_grad


def test_stacked_parameters_are_new_leaves_with_copies_of_the_values(lib):
    models = [linear(lib, seed) for seed in range(3)]
    params, _ = func(lib).stack_module_state(models)
    for i, model in enumerate(models):
        assert lib.equal(params["weight"][i], model.weight.detach())
    params["weight"].sum().backward()
    assert models[0].weight.grad is None
    with lib.no_grad():
        params["weight"].zero_()
    assert models[0].weight.abs().sum().item() > 0


def test_an_ensemble_through_vmap_gives_each_models_own_output(lib):
    models = [linear(lib, seed) for seed in range(3)]
    params, buffers = func(lib).stack_module_state(models)
    x = lib.tensor(rand(5, 3, seed=9))
    run = lambda p, b, x: func(lib).functional_call(models[0], (p, b), (x,))
    out = func(lib).vmap(run, in_dims=(0, 0, None))(params, buffers, x)
    assert out.shape == (3, 5, 2)
    for i, model in enumerate(models):
        assert_close(out[i], model(x))


def test_an_ensemble_in_training_mode_updates_the_stacked_buffers(lib):
    models = [lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4)) for _ in range(2)]
    params, buffers = func(lib).stack_module_state(models)
    run = lambda p, b, x: func(lib).functional_call(models[0], (p, b), (x,))
    x = lib.tensor(rand(5, 3))
    func(lib).vmap(run, in_dims=(0, 0, None))(params, buffers, x)
    assert buffers["1.num_batches_tracked"].tolist() == [1, 1]
    for i, model in enumerate(models):
        model(x)
        assert_close(buffers["1.running_mean"][i], model[1].running_mean)
        assert_close(buffers["1.running_var"][i], model[1].running_var)


def test_stack_module_state_refuses_no_models_mixed_modes_and_mixed_classes(lib):
    nn, stack = lib.nn, func(lib).stack_module_state
    with pytest.raises(RuntimeError, match="Expected at least one model, got 0"):
        stack([])
    with pytest.raises(RuntimeError, match="Expected all models to have the same training/eval mode"):
        stack([nn.Linear(2, 2), nn.Linear(2, 2).eval()])
    with pytest.raises(RuntimeError, match="Expected all models to be of the same class"):
        stack([nn.Linear(2, 2), nn.LazyLinear(2)])
    with pytest.raises(RuntimeError, match="Expected weight from each model to have the same .requires_grad"):
        stack([nn.Linear(2, 2), nn.Linear(2, 2).requires_grad_(False)])
