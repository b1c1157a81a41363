"""nn.Module mechanics: registration, traversal, modes, hooks, repr and state_dict, against torch."""
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import numtorch
from numtorch import nn

from .parity import build

NESTED = '''
class Block(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.register_buffer("scale", torch.ones(1))
        self.register_buffer("cache", torch.zeros(2), persistent=False)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x))) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = Block(3, 4)
        self.blocks = nn.ModuleList([Block(4, 4), Block(4, 4)])
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(4 * 4 * 4, 10))
        self.temperature = nn.Parameter(torch.ones(1))
        self.plain_list = [nn.Linear(2, 2)]  # a plain list registers nothing

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x) / self.temperature

model = Net()
'''


def nested(lib):
    return build(lib, NESTED)


# ----- registration ----------------------------------------------------------------------------------------
def test_attributes_are_sorted_into_parameters_buffers_and_children_like_torch(torch):
    ours, theirs = nested(numtorch), nested(torch)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [type(m).__name__ for m in ours.modules()] == [type(m).__name__ for m in theirs.modules()]
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for m in theirs.children()]
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in ours.parameters())


def test_state_dict_of_a_nested_model_has_torchs_keys_in_torchs_order(torch):
    ours, theirs = nested(numtorch), nested(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "stem.cache" not in ours.state_dict() and "stem.scale" in ours.state_dict()
    assert [tuple(v.shape) for v in ours.state_dict().values()] == [tuple(v.shape) for v in theirs.state_dict().values()]


def test_state_dict_values_are_detached_and_share_memory_with_the_model():
    model = nn.Linear(2, 2)
    state = model.state_dict()
    assert isinstance(state, OrderedDict)
    assert not state["weight"].requires_grad
    with numtorch.no_grad():
        model.weight.fill_(3.0)
    assert state["weight"].tolist() == [[3.0, 3.0], [3.0, 3.0]]
    assert model.state_dict(keep_vars=True)["weight"] is model.weight


def test_sequential_names_its_children_by_position_or_by_the_given_names(lib):
    model = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(model) == 3 and isinstance(model[1], lib.nn.ReLU) and isinstance(model[-1], lib.nn.Linear)
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    assert list(model[1:].state_dict()) == ["2.weight", "2.bias"]  # a slice keeps the names
    named = lib.nn.Sequential(OrderedDict([("fc", lib.nn.Linear(2, 3)), ("act", lib.nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and isinstance(named.act, lib.nn.ReLU)
    model.append(lib.nn.Sigmoid())
    assert len(model) == 4


def test_module_list_registers_its_modules_but_a_plain_list_does_not(lib):
    model = nested(lib)
    names = [n for n, _ in model.named_parameters()]
    assert "blocks.1.conv.weight" in names and not any(n.startswith("plain_list") for n in names)
    layers = lib.nn.ModuleList([lib.nn.Linear(1, 1)])
    layers.append(lib.nn.ReLU())
    layers.extend([lib.nn.Linear(1, 2)])
    assert len(layers) == 3 and isinstance(layers[-1], lib.nn.Linear)
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_register_parameter_none_makes_an_absent_parameter(lib):
    layer = lib.nn.Linear(3, 2, bias=False)
    assert layer.bias is None
    assert [n for n, _ in layer.named_parameters()] == ["weight"] and list(layer.state_dict()) == ["weight"]


def test_assigning_a_tensor_to_a_buffers_name_updates_the_buffer(lib):
    bn = lib.nn.BatchNorm1d(3)
    bn.running_mean = lib.tensor([1.0, 2.0, 3.0])
    assert bn.state_dict()["running_mean"].tolist() == [1.0, 2.0, 3.0]
    assert bn._buffers["running_mean"] is bn.running_mean
    bn.eval()
    out = bn(lib.tensor([[1.0, 2.0, 3.0]]))
    assert np.allclose(out.detach().numpy(), 0.0)
    with pytest.raises(TypeError, match="cannot assign 'int' as buffer 'running_mean'"):
        bn.running_mean = 3


def test_assigning_a_plain_tensor_to_a_parameters_name_is_refused(lib):
    layer = lib.nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"as parameter 'weight' \(\w+\.nn\.Parameter or None expected\)"):
        layer.weight = lib.zeros(2, 2)
    layer.weight = lib.nn.Parameter(lib.zeros(2, 2))
    assert layer.weight.tolist() == [[0, 0], [0, 0]] and layer.state_dict()["weight"].sum().item() == 0


def test_assigning_before_super_init_says_to_call_it_first(lib):
    source = '''
class Broken(nn.Module):
    def __init__(self, what):
        self.thing = nn.Parameter(torch.zeros(1)) if what == "parameter" else nn.Linear(1, 1)
        super().__init__()
'''
    namespace = {"torch": lib, "nn": lib.nn}
    exec(source, namespace)
    with pytest.raises(AttributeError, match=r"cannot assign parameters before Module.__init__\(\) call"):
        namespace["Broken"]("parameter")
    with pytest.raises(AttributeError, match=r"cannot assign module before Module.__init__\(\) call"):
        namespace["Broken"]("module")


def test_registration_names_are_checked_like_torch(lib):
    m = lib.nn.Module()
    m.plain = 1
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", lib.zeros(1))
    with pytest.raises(KeyError, match="parameter name can"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError):
        m.register_buffer("buf", [1.0])
    m.add_module("child", lib.nn.ReLU())
    assert isinstance(m.child, lib.nn.ReLU) and [n for n, _ in m.named_children()] == ["child"]


def test_unknown_attributes_raise_attribute_error_naming_the_class(lib):
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'wieght'"):
        lib.nn.Linear(1, 1).wieght


def test_deleting_a_parameter_unregisters_it(lib):
    layer = lib.nn.Linear(2, 2)
    del layer.bias
    assert list(layer.state_dict()) == ["weight"]


def test_a_shared_parameter_is_listed_once_but_saved_under_each_name(lib):
    a, b = lib.nn.Linear(2, 2), lib.nn.Linear(2, 2)
    b.weight = a.weight  # replaced in place: the key keeps its position
    model = lib.nn.Sequential(a, b)
    assert len(list(model.parameters())) == 3
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_parameter_is_a_leaf_tensor_requiring_grad_that_shares_the_wrapped_values():
    data = numtorch.zeros(3)
    p = nn.Parameter(data)
    assert isinstance(p, numtorch.Tensor) and p.requires_grad and p.is_leaf
    assert not nn.Parameter(numtorch.zeros(1), requires_grad=False).requires_grad
    data.fill_(2.0)
    assert p.tolist() == [2.0, 2.0, 2.0]


# ----- modes, gradients, apply --------------------------------------------------------------------------
def test_train_and_eval_reach_every_submodule_and_return_the_module(lib):
    model = nested(lib)
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    assert model.train() is model and all(m.training for m in model.modules())
    assert model.train(False) is model and not model.blocks[1].bn.training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        model.train("no")


def test_zero_grad_sets_gradients_to_none_by_default(lib):
    model = lib.nn.Linear(2, 1)
    model(lib.ones(3, 2)).sum().backward()
    assert model.weight.grad is not None
    model.zero_grad(set_to_none=False)
    assert model.weight.grad.tolist() == [[0.0, 0.0]]
    model.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None


def test_requires_grad_false_freezes_every_parameter():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    assert not model(numtorch.ones(1, 2)).requires_grad


def test_apply_visits_children_before_their_parent_and_returns_the_module(lib):
    model = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Linear(2, 1)))
    visited = []
    assert model.apply(lambda m: visited.append(type(m).__name__)) is model
    assert visited == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]

    def init(m):
        if isinstance(m, lib.nn.Linear):
            lib.nn.init.constant_(m.weight, 0.5)
            lib.nn.init.zeros_(m.bias)

    model.apply(init)
    assert model(lib.ones(1, 2)).item() == 1.0


def test_double_converts_parameters_and_float_buffers():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).double()
    assert all(p.dtype == numtorch.float64 for p in model.parameters())
    assert model[1].running_mean.dtype == numtorch.float64 and model[1].num_batches_tracked.dtype == numtorch.int64
    assert model(numtorch.ones(3, 2, dtype=numtorch.float64)).dtype == numtorch.float64


# ----- calling and hooks -----------------------------------------------------------------------------------
def test_calling_a_module_runs_forward():
    class Twice(nn.Module):
        def forward(self, x, scale=1.0):
            return x * 2 * scale

    assert Twice()(numtorch.tensor([1.0]), scale=3.0).tolist() == [6.0]
    with pytest.raises(NotImplementedError, match='missing the required "forward" function'):
        nn.Module()(numtorch.ones(1))


def test_forward_hooks_see_input_and_output_can_replace_them_and_can_be_removed(lib):
    layer = lib.nn.Linear(2, 2)
    seen = []
    handle = layer.register_forward_hook(lambda m, args, out: seen.append((m, args[0].shape, out.shape)))
    x = lib.ones(3, 2)
    layer(x)
    assert seen == [(layer, x.shape, (3, 2))]
    replace = layer.register_forward_hook(lambda m, args, out: out * 0)
    assert layer(x).sum().item() == 0
    replace.remove()
    handle.remove()
    assert layer(x).sum().item() != 0 and len(seen) == 2
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    with lib.no_grad():
        assert lib.equal(layer(x), layer.bias.expand(3, 2))
    pre.remove()


# ----- repr ------------------------------------------------------------------------------------------------
def test_repr_of_a_nested_model_is_torchs_text(torch):
    assert repr(nested(numtorch)) == repr(nested(torch))


@pytest.mark.parametrize("source", [
    "nn.Linear(3, 4, bias=False)", "nn.Conv2d(1, 8, kernel_size=5, stride=(2, 1), padding=2, dilation=2, groups=1)",
    "nn.Conv2d(4, 8, 3, groups=2, bias=False)", "nn.Conv1d(2, 4, 3, padding=1)", "nn.MaxPool2d(kernel_size=2)",
    "nn.MaxPool2d((3, 2), stride=1, padding=1)", "nn.AvgPool2d(2, stride=1)", "nn.ReLU(inplace=True)",
    "nn.Softmax(dim=-1)", "nn.LogSoftmax(dim=1)", "nn.Flatten()", "nn.Flatten(0, 2)", "nn.Dropout(0.2)",
    "nn.BatchNorm1d(5)", "nn.BatchNorm2d(num_features=64, momentum=None, affine=False)",
    "nn.BatchNorm2d(3, track_running_stats=False, bias=False)", "nn.CrossEntropyLoss()", "nn.MSELoss()",
    "nn.Sequential()", "nn.ModuleList()", "nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.Linear(1, 1), nn.ReLU()])",
    "nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(5408, 10))",
    "nn.AdaptiveAvgPool2d(1)", "nn.AdaptiveAvgPool2d((None, 7))", "nn.AdaptiveMaxPool2d((2, 3))", "nn.LayerNorm(64)",
    "nn.LayerNorm([4, 5], eps=1e-6, elementwise_affine=False)", "nn.LayerNorm(3, bias=False)", "nn.Embedding(10, 3)",
    "nn.Embedding(10, 3, padding_idx=-2)", "nn.GELU()", "nn.GELU(approximate='tanh')", "nn.Unflatten(1, (1, 28, 28))",
    "nn.Unflatten(-1, [2, -1])",
])
def test_repr_of_each_layer_is_torchs_text(torch, source):
    assert repr(build(numtorch, f"model = {source}")) == repr(build(torch, f"model = {source}"))


def test_extra_repr_of_a_custom_module_appears_in_the_repr(torch):
    source = '''
class Scale(nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor
    def extra_repr(self):
        return f"factor={self.factor}"
model = nn.Sequential(Scale(2.0), nn.Sequential(Scale(3.0)))
'''
    assert repr(build(numtorch, source)) == repr(build(torch, source))


# ----- load_state_dict ---------------------------------------------------------------------------------------
def test_load_state_dict_copies_values_in_place_and_reports_all_keys_matched(lib):
    src, dst = nested(lib), nested(lib)
    weight = dst.stem.conv.weight
    result = dst.load_state_dict(src.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert dst.stem.conv.weight is weight
    assert all(lib.equal(a, b) for a, b in zip(src.state_dict().values(), dst.state_dict().values()))


def test_load_state_dict_accepts_a_state_dict_made_by_torch(torch):
    ours, theirs = nested(numtorch), nested(torch)
    ours.load_state_dict({k: numtorch.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def damaged(lib):
    """A state_dict with a missing key, two unexpected keys and a wrong shape."""
    state = nested(lib).state_dict()
    del state["head.2.bias"]
    state["head.3.weight"] = lib.zeros(1)
    state["extra"] = lib.zeros(1)
    state["stem.conv.weight"] = lib.zeros(4, 3, 5, 5)
    return state


def test_load_state_dict_non_strict_returns_missing_and_unexpected_keys_like_torch(lib):
    state = damaged(lib)
    state["stem.conv.weight"] = nested(lib).stem.conv.weight.detach()
    result = nested(lib).load_state_dict(state, strict=False)
    assert result.missing_keys == ["head.2.bias"]
    assert result.unexpected_keys == ["extra", "head.3.weight"]  # in module-tree order, as torch reports
    missing, unexpected = result
    assert missing == result.missing_keys


def test_load_state_dict_strict_error_lists_every_problem_in_torchs_words(torch):
    errors = []
    for lib in (numtorch, torch):
        with pytest.raises(RuntimeError) as info:
            nested(lib).load_state_dict(damaged(lib))
        errors.append(str(info.value))
    ours, theirs = errors
    assert ours.startswith("Error(s) in loading state_dict for Net:\n\t")
    assert 'Missing key(s) in state_dict: "head.2.bias".' in ours
    assert ours == theirs.replace("torch.Size", "numtorch.Size")


def test_a_size_mismatch_is_an_error_even_when_not_strict(lib):
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: copying a param with shape"):
        lib.nn.Linear(2, 2).load_state_dict({"weight": lib.zeros(2, 3)}, strict=False)


def test_a_failed_load_changes_nothing():
    model = nn.Linear(2, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(RuntimeError):
        model.load_state_dict({"weight": numtorch.zeros(2, 2), "bias": numtorch.zeros(3)})
    assert all(numtorch.equal(before[k], v) for k, v in model.state_dict().items())


def test_load_state_dict_fills_buffers_such_as_running_statistics(lib):
    bn = lib.nn.BatchNorm1d(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bn.load_state_dict({"weight": lib.ones(2), "bias": lib.zeros(2), "running_mean": lib.tensor([1.0, 2.0]),
                            "running_var": lib.tensor([4.0, 4.0]), "num_batches_tracked": lib.tensor(7)})
    assert bn.running_mean.tolist() == [1.0, 2.0] and bn.num_batches_tracked.item() == 7
