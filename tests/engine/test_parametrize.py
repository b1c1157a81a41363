"""nn.utils.parametrize, weight_norm and weight tying on both engines: state that a module computes, or shares.

Every test runs on numtorch and on torch 2.13.
"""
import copy
import importlib

import pytest

from .parity import assert_close, rand


def parametrize(lib):
    return importlib.import_module(f"{lib.__name__}.nn.utils.parametrize")


def symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, X):
            return (X + X.T) / 2
    return Symmetric()


def test_a_parametrized_weight_is_computed_from_the_original_which_is_the_old_parameter(lib):
    layer = lib.nn.Linear(3, 3)
    weight = layer.weight
    parametrize(lib).register_parametrization(layer, "weight", symmetric(lib))
    assert layer.parametrizations.weight.original is weight
    assert lib.equal(layer.weight, layer.weight.T)
    assert not isinstance(layer.weight, lib.nn.Parameter) and layer.weight.grad_fn is not None
    assert [name for name, _ in layer.named_parameters()] == ["bias", "parametrizations.weight.original"]
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original"]


def test_the_module_becomes_an_instance_of_a_new_subclass(lib):
    layer = lib.nn.Linear(3, 3)
    parametrize(lib).register_parametrization(layer, "weight", symmetric(lib))
    assert type(layer).__name__ == "ParametrizedLinear" and isinstance(layer, lib.nn.Linear)
    assert not hasattr(lib.nn.Linear(3, 3), "parametrizations")
    assert repr(layer) == ("ParametrizedLinear(\n  in_features=3, out_features=3, bias=True\n"
                           "  (parametrizations): ModuleDict(\n    (weight): ParametrizationList(\n"
                           "      (0): Symmetric()\n    )\n  )\n)")


def test_gradients_reach_the_original_through_the_parametrization(lib):
    layer = lib.nn.Linear(3, 3)
    parametrize(lib).register_parametrization(layer, "weight", symmetric(lib))
    layer(lib.tensor(rand(2, 3))).sum().backward()
    g = layer.parametrizations.weight.original.grad
    assert_close(g, g.T)


def test_is_parametrized_and_remove_parametrizations_bring_the_plain_class_back(lib):
    P = parametrize(lib)
    layer = lib.nn.Linear(3, 3)
    weight = layer.weight
    assert not P.is_parametrized(layer)
    P.register_parametrization(layer, "weight", symmetric(lib))
    assert P.is_parametrized(layer) and P.is_parametrized(layer, "weight")
    assert not P.is_parametrized(layer, "bias")
    value = layer.weight.detach().clone()
    P.remove_parametrizations(layer, "weight")
    assert type(layer) is lib.nn.Linear and not hasattr(layer, "parametrizations")
    assert layer.weight is weight and lib.equal(layer.weight, value)
    assert list(layer.state_dict()) == ["bias", "weight"]


def test_remove_without_leave_parametrized_keeps_the_original_values(lib):
    P = parametrize(lib)
    layer = lib.nn.Linear(3, 3)
    before = layer.weight.detach().clone()
    P.register_parametrization(layer, "weight", symmetric(lib))
    P.remove_parametrizations(layer, "weight", leave_parametrized=False)
    assert lib.equal(layer.weight, before)


def test_right_inverse_sets_the_original_at_registration_and_on_assignment(lib):
    class Exp(lib.nn.Module):
        def forward(self, X):
            return X.exp()

        def right_inverse(self, Y):
            return Y.log()

    layer = lib.nn.Linear(2, 2)
    with lib.no_grad():
        layer.weight.copy_(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
    parametrize(lib).register_parametrization(layer, "weight", Exp())
    assert_close(layer.parametrizations.weight.original, lib.tensor([[1.0, 2.0], [3.0, 4.0]]).log())
    assert_close(layer.weight, lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
    layer.weight = lib.full((2, 2), 5.0)
    assert_close(layer.parametrizations.weight.original, lib.full((2, 2), 5.0).log())


def test_assigning_without_right_inverse_is_refused(lib):
    layer = lib.nn.Linear(2, 2)
    parametrize(lib).register_parametrization(layer, "weight", symmetric(lib))
    with pytest.raises(RuntimeError, match="parametrization Symmetric does not implement right_inverse."):
        layer.weight = lib.zeros(2, 2)


def test_two_parametrizations_chain_in_order(lib):
    class Double(lib.nn.Module):
        def forward(self, X):
            return X * 2

    layer = lib.nn.Linear(2, 2)
    original = layer.weight.detach().clone()
    P = parametrize(lib)
    P.register_parametrization(layer, "weight", symmetric(lib))
    P.register_parametrization(layer, "weight", Double())
    assert len(layer.parametrizations.weight) == 2
    assert_close(layer.weight, original + original.T)


def test_a_parametrization_may_not_change_the_shape_unless_unsafe(lib):
    class Row(lib.nn.Module):
        def forward(self, X):
            return X[0]

    with pytest.raises(ValueError, match="may not change the shape of the tensor, unless `unsafe`"):
        parametrize(lib).register_parametrization(lib.nn.Linear(2, 2), "weight", Row())
    layer = parametrize(lib).register_parametrization(lib.nn.Linear(2, 2), "weight", Row(), unsafe=True)
    assert layer.weight.shape == (2,)


def test_a_name_that_is_no_tensor_of_the_module_is_refused(lib):
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element with name"):
        parametrize(lib).register_parametrization(lib.nn.Linear(2, 2), "scale", symmetric(lib))
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        parametrize(lib).remove_parametrizations(lib.nn.Linear(2, 2), "weight")


def test_cached_computes_a_parametrized_tensor_once_per_block(lib):
    calls = []

    class Counted(lib.nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 1

    layer = lib.nn.Linear(2, 2)
    parametrize(lib).register_parametrization(layer, "weight", Counted())
    calls.clear()
    with parametrize(lib).cached():
        assert layer.weight is layer.weight
    assert len(calls) == 1
    layer.weight, layer.weight
    assert len(calls) == 3


def test_an_optimizer_built_before_registration_trains_the_original(lib):
    layer = lib.nn.Linear(3, 3)
    optimizer = lib.optim.SGD(layer.parameters(), lr=0.1)
    parametrize(lib).register_parametrization(layer, "weight", symmetric(lib))
    before = layer.weight.detach().clone()
    layer(lib.ones(1, 3)).sum().backward()
    optimizer.step()
    assert not lib.equal(layer.weight, before) and lib.equal(layer.weight, layer.weight.T)


def test_a_deep_copy_keeps_its_parametrization(lib):
    layer = parametrize(lib).register_parametrization(lib.nn.Linear(2, 2), "weight", symmetric(lib))
    twin = copy.deepcopy(layer)
    assert type(twin).__name__ == "ParametrizedLinear"
    assert twin.parametrizations.weight.original is not layer.parametrizations.weight.original
    assert lib.equal(twin.weight, layer.weight)


def test_functional_call_can_replace_the_original(lib):
    layer = parametrize(lib).register_parametrization(lib.nn.Linear(2, 2), "weight", symmetric(lib))
    fc = importlib.import_module(f"{lib.__name__}.func").functional_call
    out = fc(layer, {"parametrizations.weight.original": lib.tensor([[0.0, 2.0], [0.0, 0.0]]),
                     "bias": lib.zeros(2)}, (lib.tensor([[1.0, 0.0]]),))
    assert out.tolist() == [[0.0, 1.0]]


# ----- weight_norm --------------------------------------------------------------------------------------------
def test_weight_norm_splits_the_weight_into_magnitude_and_direction(lib):
    layer = lib.nn.Linear(4, 3)
    weight = layer.weight.detach().clone()
    lib.nn.utils.parametrizations.weight_norm(layer)
    g, v = layer.parametrizations.weight.original0, layer.parametrizations.weight.original1
    assert g.shape == (3, 1) and v.shape == (3, 4)
    assert_close(g, (weight ** 2).sum(dim=1, keepdim=True).sqrt())
    assert_close(layer.weight, weight)
    assert list(layer.state_dict()) == ["bias", "parametrizations.weight.original0",
                                        "parametrizations.weight.original1"]


def test_weight_norm_keeps_the_norm_equal_to_g(lib):
    layer = lib.nn.utils.parametrizations.weight_norm(lib.nn.Linear(4, 3))
    with lib.no_grad():
        layer.parametrizations.weight.original0.fill_(2.0)
    assert_close((layer.weight ** 2).sum(dim=1).sqrt(), lib.full((3,), 2.0))
    layer(lib.ones(1, 4)).sum().backward()
    assert layer.parametrizations.weight.original0.grad.shape == (3, 1)


def test_removing_weight_norm_leaves_a_plain_parameter_with_the_value(lib):
    layer = lib.nn.utils.parametrizations.weight_norm(lib.nn.Linear(4, 3))
    value = layer.weight.detach().clone()
    parametrize(lib).remove_parametrizations(layer, "weight")
    assert type(layer) is lib.nn.Linear and isinstance(layer.weight, lib.nn.Parameter)
    assert_close(layer.weight, value)
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        layer = lib.nn.utils.parametrizations.weight_norm(lib.nn.Linear(4, 3))
        parametrize(lib).remove_parametrizations(layer, "weight", leave_parametrized=False)


# ----- weight tying -------------------------------------------------------------------------------------------
def tied(lib):
    nn = lib.nn

    class TiedAutoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(5, 3)
            self.out = nn.Linear(3, 5, bias=False)
            self.out.weight = self.embed.weight  # one Parameter, two owners

        def forward(self, idx):
            return self.out(self.embed(idx))

    return TiedAutoencoder()


def test_a_tied_parameter_is_yielded_once_but_saved_under_both_names(lib):
    model = tied(lib)
    assert [name for name, _ in model.named_parameters()] == ["embed.weight"]
    assert list(model.state_dict()) == ["embed.weight", "out.weight"]
    assert len(list(model.named_parameters(remove_duplicate=False))) == 2


def test_a_tied_parameter_gets_the_sum_of_both_uses_gradients(lib):
    model = tied(lib)
    model(lib.tensor([0, 1])).sum().backward()
    alone = tied(lib)
    with lib.no_grad():
        alone.out.weight = lib.nn.Parameter(model.embed.weight.detach().clone())
        alone.embed.weight.copy_(model.embed.weight)
    alone(lib.tensor([0, 1])).sum().backward()
    assert_close(model.embed.weight.grad, alone.embed.weight.grad + alone.out.weight.grad)


def test_loading_a_state_dict_keeps_the_tie(lib):
    model = tied(lib)
    state = {k: v + 1 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert model.out.weight is model.embed.weight


def test_functional_call_replaces_a_tied_parameter_under_both_names(lib):
    model = tied(lib)
    fc = importlib.import_module(f"{lib.__name__}.func").functional_call
    zero = {"embed.weight": lib.zeros(5, 3)}
    assert fc(model, zero, (lib.tensor([1]),)).abs().sum().item() == 0
    untied = fc(model, zero, (lib.tensor([1]),), tie_weights=False)
    assert untied.abs().sum().item() == 0  # out.weight kept the model's own, but it multiplies zeros
    half = fc(model, {"out.weight": lib.zeros(5, 3)}, (lib.tensor([1]),), tie_weights=False)
    assert half.abs().sum().item() == 0
    with pytest.raises(ValueError, match="which are tied. Consider using tie_weights=False"):
        fc(model, {"embed.weight": lib.zeros(5, 3), "out.weight": lib.ones(5, 3)}, (lib.tensor([1]),))
