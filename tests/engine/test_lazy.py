"""Lazy modules on both engines: parameters whose shapes the first call decides.

Every test runs on numtorch and on torch 2.13.
"""
import pytest


def test_a_lazy_linear_has_uninitialized_parameters_until_its_first_call(lib):
    layer = lib.nn.LazyLinear(3)
    assert isinstance(layer.weight, lib.nn.UninitializedParameter)
    assert isinstance(layer.weight, lib.nn.Parameter)
    assert repr(layer) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert repr(layer.weight) == "<UninitializedParameter>"
    assert layer.has_uninitialized_params()


def test_the_first_call_infers_the_shapes_and_turns_it_into_a_linear(lib):
    layer = lib.nn.LazyLinear(3)
    weight = layer.weight
    out = layer(lib.ones(2, 5))
    assert out.shape == (2, 3)
    assert type(layer) is lib.nn.Linear and layer.in_features == 5
    assert repr(layer) == "Linear(in_features=5, out_features=3, bias=True)"
    assert layer.weight is weight and type(weight) is lib.nn.Parameter
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert layer._forward_pre_hooks == {}
    assert layer(lib.ones(4, 5)).shape == (4, 3)


def test_the_inferred_parameters_are_initialised_as_a_linears(lib):
    layer = lib.nn.LazyLinear(200)
    layer(lib.ones(1, 25))
    bound = 1 / 25 ** 0.5
    assert layer.weight.abs().max().item() <= bound and layer.weight.abs().max().item() > bound * 0.9
    assert layer.bias.abs().max().item() <= bound


def test_after_the_first_call_the_input_size_is_fixed(lib):
    layer = lib.nn.LazyLinear(3)
    layer(lib.ones(2, 5))
    with pytest.raises(RuntimeError):
        layer(lib.ones(2, 4))


def test_using_an_uninitialized_parameter_raises(lib):
    layer = lib.nn.LazyLinear(3)
    with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
        layer.weight.sum()
    with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
        sum(p.numel() for p in layer.parameters())


def test_the_state_dict_of_an_uninitialized_layer_holds_the_uninitialized_parameters(lib):
    state = lib.nn.LazyLinear(3).state_dict()
    assert list(state) == ["weight", "bias"]
    assert all(isinstance(t, lib.nn.UninitializedParameter) for t in state.values())


def test_an_optimizer_built_before_the_first_call_trains_the_materialized_parameters(lib):
    layer = lib.nn.LazyLinear(1)
    optimizer = lib.optim.SGD(layer.parameters(), lr=0.1)
    layer(lib.ones(2, 3)).sum().backward()
    before = layer.weight.detach().clone()
    optimizer.step()
    assert not lib.equal(layer.weight, before)


def test_without_bias_there_is_one_uninitialized_parameter(lib):
    layer = lib.nn.LazyLinear(3, bias=False)
    assert layer.bias is None and len(list(layer.parameters())) == 1
    layer(lib.ones(1, 2))
    assert repr(layer) == "Linear(in_features=2, out_features=3, bias=False)"


def test_a_lazy_module_inside_a_sequential_is_initialized_by_the_first_batch(lib):
    nn = lib.nn
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(2))
    model(lib.ones(4, 6))
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    assert [tuple(p.shape) for p in model.parameters()] == [(8, 6), (8,), (2, 8), (2,)]


def test_lazy_conv2d_infers_in_channels_and_becomes_a_conv2d(lib):
    conv = lib.nn.LazyConv2d(4, kernel_size=3, padding=1)
    assert conv.in_channels == 0
    assert conv(lib.ones(2, 5, 6, 6)).shape == (2, 4, 6, 6)
    assert type(conv) is lib.nn.Conv2d and conv.in_channels == 5
    assert conv.weight.shape == (4, 5, 3, 3)
    assert repr(conv) == "Conv2d(5, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"


def test_lazy_conv2d_refuses_an_input_without_channels(lib):
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d"):
        lib.nn.LazyConv2d(4, 3)(lib.ones(6, 6))
