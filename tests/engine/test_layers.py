"""Each layer against torch's: outputs, input and parameter gradients, buffers, default initialisation."""
import math

import numpy as np
import pytest

import numtorch
from numtorch import nn

from .parity import as_array, assert_close, build, copy_module, rand


def twins(source):
    """The same model built by both libraries, with numtorch's parameters and buffers copied into torch's."""
    torch = pytest.importorskip("torch")
    ours, theirs = build(numtorch, f"model = {source}"), build(torch, f"model = {source}")
    copy_module(ours, theirs)
    return ours, theirs


def step_both(ours, theirs, *arrays, atol=1e-5, rtol=1e-4, seed=0):
    """One forward and backward through both models; compare output, input gradients, parameter gradients, buffers."""
    torch = pytest.importorskip("torch")
    outs = []
    for model, lib in ((ours, numtorch), (theirs, torch)):
        inputs = [lib.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        out = model(*inputs)
        upstream = np.random.default_rng(seed).standard_normal(tuple(out.shape)).astype(np.float32)
        (out * lib.tensor(upstream)).sum().backward()
        outs.append((out, inputs))
    (our_out, our_inputs), (their_out, their_inputs) = outs
    assert_close(our_out, their_out, rtol, atol, "output")
    for i, (a, b) in enumerate(zip(our_inputs, their_inputs)):
        if b.requires_grad:
            assert_close(a.grad, b.grad, rtol, atol, f"gradient of input {i}")
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, q.grad, rtol, atol, f"gradient of {name}")
    for (name, b), (_, c) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert_close(b, c, rtol, atol, f"buffer {name}")
    return our_out, their_out


@pytest.mark.parametrize("source, shape", [
    ("nn.Linear(5, 3)", (4, 5)), ("nn.Linear(5, 3, bias=False)", (2, 4, 5)), ("nn.Linear(1, 1)", (3, 1)),
    ("nn.Conv2d(3, 6, 3)", (2, 3, 7, 7)), ("nn.Conv2d(3, 6, kernel_size=(3, 2), stride=2, padding=1, bias=False)", (2, 3, 8, 7)),
    ("nn.Conv2d(4, 8, 3, dilation=2, groups=4)", (1, 4, 9, 9)), ("nn.Conv2d(2, 4, 5, padding=2)", (2, 7, 7)),
    ("nn.Conv1d(3, 5, 3, padding=1)", (2, 3, 10)), ("nn.Conv1d(4, 4, 2, stride=2, groups=2, bias=False)", (2, 4, 9)),
    ("nn.MaxPool2d(2)", (2, 3, 6, 6)), ("nn.MaxPool2d(kernel_size=3, stride=2, padding=1)", (2, 3, 7, 6)),
    ("nn.AvgPool2d(2)", (2, 3, 6, 6)), ("nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)", (1, 2, 5, 5)),
    ("nn.ReLU()", (3, 4)), ("nn.Softmax(dim=1)", (3, 4)), ("nn.LogSoftmax(dim=-1)", (3, 4)), ("nn.Flatten()", (2, 3, 4)),
    ("nn.Flatten(0, 1)", (2, 3, 4)), ("nn.Sigmoid()", (3, 4)), ("nn.Tanh()", (3, 4)), ("nn.Dropout(0.5)", (3, 4)),
    ("nn.AdaptiveAvgPool2d(1)", (2, 3, 5, 7)), ("nn.AdaptiveAvgPool2d((3, 2))", (2, 3, 7, 5)),
    ("nn.AdaptiveAvgPool2d((None, 4))", (2, 3, 5, 7)), ("nn.AdaptiveAvgPool2d(4)", (3, 10, 6)),
    ("nn.AdaptiveAvgPool2d(5)", (1, 2, 3, 3)), ("nn.AdaptiveMaxPool2d(2)", (2, 3, 5, 7)),
    ("nn.AdaptiveMaxPool2d((3, 4))", (1, 2, 7, 5)), ("nn.AdaptiveMaxPool2d((1, None))", (2, 4, 4)),
    ("nn.LayerNorm(5)", (4, 5)), ("nn.LayerNorm([3, 4])", (2, 5, 3, 4)), ("nn.LayerNorm(6, eps=1e-3, bias=False)", (3, 6)),
    ("nn.LayerNorm(6, elementwise_affine=False)", (2, 3, 6)), ("nn.GELU()", (3, 4)), ("nn.GELU(approximate='tanh')", (3, 4)),
    ("nn.Unflatten(1, (2, 5))", (3, 10)), ("nn.Unflatten(-1, (2, -1))", (3, 4, 6)), ("nn.Unflatten(0, [1, 3])", (3, 2)),
])
def test_layer_matches_torch_forward_and_backward(source, shape):
    ours, theirs = twins(source)
    if "Dropout" in source:  # random in training; deterministic only in eval
        ours.eval(), theirs.eval()
    step_both(ours, theirs, rand(*shape), atol=1e-4)


def test_layer_norm_matches_torch_with_learned_weight_and_bias_on_shifted_scaled_input():
    ours, theirs = twins("nn.LayerNorm(8)")
    with numtorch.no_grad():  # away from the ones and zeros they start from
        ours.weight.copy_(numtorch.tensor(rand(8, seed=1))), ours.bias.copy_(numtorch.tensor(rand(8, seed=2)))
    copy_module(ours, theirs)
    step_both(ours, theirs, rand(4, 3, 8, seed=3) * 5 + 2, atol=1e-4)


def test_layer_norm_is_the_same_in_train_and_eval_mode():
    norm, x = nn.LayerNorm(4), numtorch.randn(3, 4)
    assert numtorch.equal(norm(x), norm.eval()(x))


def test_gelu_matches_torch_far_into_both_tails():
    for approximate in ("none", "tanh"):
        ours, theirs = twins(f"nn.GELU(approximate={approximate!r})")
        step_both(ours, theirs, np.linspace(-12, 12, 97, dtype=np.float32).reshape(1, -1))


def test_adaptive_max_pool_sends_the_gradient_of_a_tie_to_the_first_element_like_torch():
    x = np.maximum(rand(2, 3, 7, 6), 0)  # after a ReLU: windows of zeros, all tied
    x[0, 0] = 0
    ours, theirs = twins("nn.AdaptiveMaxPool2d((3, 2))")
    step_both(ours, theirs, x)


def test_embedding_matches_torch_and_adds_the_gradients_of_repeated_indices():
    ours, theirs = twins("nn.Embedding(10, 4)")
    step_both(ours, theirs, np.array([[1, 2, 3, 1], [9, 9, 0, 1]]))
    step_both(ours, theirs, np.array(7))  # a single index gives one vector


@pytest.mark.parametrize("padding_idx", [2, -1])
def test_embedding_padding_row_starts_at_zero_and_gets_no_gradient(padding_idx):
    ours, theirs = twins(f"nn.Embedding(10, 3, padding_idx={padding_idx})")
    row = padding_idx % 10
    assert ours.padding_idx == theirs.padding_idx == row
    assert ours.weight[row].tolist() == [0.0, 0.0, 0.0]
    step_both(ours, theirs, np.array([[1, row, row], [row, 4, 1]]))
    assert ours.weight.grad[row].tolist() == [0.0, 0.0, 0.0]
    assert ours.weight.grad[1].abs().sum().item() > 0


def test_embedding_from_pretrained_is_frozen_unless_asked(lib):
    table = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
    frozen = lib.nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad and frozen(lib.tensor([1])).tolist() == [[3.0, 4.0]]
    assert lib.nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


def test_default_initialisation_of_new_layers_is_torchs(lib):
    norm = lib.nn.LayerNorm((2, 3))
    assert norm.weight.tolist() == [[1.0] * 3] * 2 and norm.bias.tolist() == [[0.0] * 3] * 2
    weight = lib.nn.Embedding(1000, 20).weight  # N(0, 1)
    assert abs(weight.mean().item()) < 0.02 and abs(weight.std().item() - 1) < 0.02


# ----- batch norm running statistics -----------------------------------------------------------------------
@pytest.mark.parametrize("source, shape", [
    ("nn.BatchNorm2d(3)", (4, 3, 5, 5)), ("nn.BatchNorm2d(3, momentum=None)", (4, 3, 5, 5)),
    ("nn.BatchNorm1d(3)", (6, 3)), ("nn.BatchNorm1d(3, momentum=None)", (6, 3, 4)),
    ("nn.BatchNorm2d(3, momentum=0.5, eps=1e-3, affine=False)", (2, 3, 3, 3)), ("nn.BatchNorm1d(3, bias=False)", (5, 3)),
    ("nn.BatchNorm2d(3, track_running_stats=False)", (4, 3, 2, 2)),
])
def test_batch_norm_matches_torch_over_several_training_steps_and_then_in_eval(source, shape):
    ours, theirs = twins(source)
    for step in range(4):
        x = rand(*shape, seed=step) * (step + 1) + step  # statistics that move from batch to batch
        step_both(ours, theirs, x, atol=1e-4, seed=step)
        if ours.track_running_stats:
            assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == step + 1
    ours.eval(), theirs.eval()
    step_both(ours, theirs, rand(*shape, seed=9) * 2 + 1, atol=1e-4)


def test_batch_norm_running_variance_is_the_unbiased_batch_variance():
    bn = nn.BatchNorm1d(1, momentum=1.0)
    bn(numtorch.tensor([[1.0], [2.0], [3.0], [6.0]]))
    assert bn.running_mean.item() == pytest.approx(3.0)
    assert bn.running_var.item() == pytest.approx(np.var([1, 2, 3, 6], ddof=1))


def test_batch_norm_with_momentum_none_keeps_a_cumulative_average():
    bn = nn.BatchNorm1d(1, momentum=None)
    for value in (1.0, 3.0, 8.0):
        bn(numtorch.tensor([[value - 1], [value + 1]]))
    assert bn.running_mean.item() == pytest.approx(4.0)
    assert bn.num_batches_tracked.item() == 3


def test_batch_norm_in_eval_mode_makes_each_sample_independent_of_the_batch():
    bn = nn.BatchNorm1d(2)
    bn(numtorch.randn(8, 2) * 3 + 1)
    bn.eval()
    x = numtorch.randn(5, 2)
    assert numtorch.allclose(bn(x)[:1], bn(x[:1]))
    before = bn.running_mean.clone()
    bn(x)
    assert numtorch.equal(bn.running_mean, before)


def test_batch_norm_rejects_the_wrong_rank_and_a_single_value_per_channel(lib):
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        lib.nn.BatchNorm2d(3)(lib.ones(2, 3, 4))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        lib.nn.BatchNorm1d(3)(lib.ones(2, 3, 4, 4))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        lib.nn.BatchNorm1d(3)(lib.ones(1, 3))
    lib.nn.BatchNorm1d(3).eval()(lib.ones(1, 3))  # fine in eval: the running statistics are used


# ----- dropout ----------------------------------------------------------------------------------------------
def test_dropout_is_identity_in_eval_mode(lib):
    drop = lib.nn.Dropout(0.9).eval()
    x = lib.randn(10, 10)
    assert lib.equal(drop(x), x)


def test_dropout_in_training_zeroes_about_p_and_scales_the_rest():
    out = nn.Dropout(0.2)(numtorch.ones(100, 100)).numpy()
    assert abs((out == 0).mean() - 0.2) < 0.02
    np.testing.assert_allclose(out[out != 0], 1 / 0.8, rtol=1e-6)


def test_dropout_draws_a_new_mask_on_every_call():
    drop = nn.Dropout(0.5)
    x = numtorch.ones(50)
    assert not numtorch.equal(drop(x), drop(x))


@pytest.mark.parametrize("p", [-0.5, 1.01])
def test_dropout_module_rejects_probabilities_outside_zero_one(lib, p):
    with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, but got {p}"):
        lib.nn.Dropout(p)


# ----- losses ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["nn.CrossEntropyLoss()", "nn.CrossEntropyLoss(reduction='sum')",
                                    "nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5]), ignore_index=0)"])
def test_cross_entropy_loss_module_matches_torch(source):
    ours, theirs = twins(source)
    step_both(ours, theirs, rand(6, 3), np.array([0, 1, 2, 2, 1, 0]))


@pytest.mark.parametrize("source", ["nn.MSELoss()", "nn.MSELoss(reduction='sum')", "nn.MSELoss(reduction='none')"])
def test_mse_loss_module_matches_torch(source):
    ours, theirs = twins(source)
    step_both(ours, theirs, rand(3, 4), rand(3, 4, seed=1))


# ----- a whole model -----------------------------------------------------------------------------------------
CNN = '''
class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3, stride=1, groups=2)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(8 * 3 * 3, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = F.avg_pool2d(F.relu(self.conv2(x)), 1)
        return self.fc(x)

model = SmallCNN()
'''


def test_a_small_cnn_has_torchs_loss_and_gradients_for_every_parameter(torch):
    ours, theirs = build(numtorch, CNN), build(torch, CNN)
    copy_module(ours, theirs)
    ours.fc[3].p = theirs.fc[3].p = 0.0  # dropout is random; the rest must agree exactly
    x, y = rand(5, 1, 10, 10), np.array([0, 2, 1, 1, 0])
    losses = []
    for model, lib in ((ours, numtorch), (theirs, torch)):
        loss = lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
        loss.backward()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5, what=name)


def test_a_small_cnn_trains_like_torch_for_several_sgd_steps_and_then_evaluates_alike(torch):
    ours, theirs = build(numtorch, CNN), build(torch, CNN)
    copy_module(ours, theirs)
    ours.fc[3].p = theirs.fc[3].p = 0.0
    optimizers = [numtorch.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3),
                  torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)]
    for step in range(4):
        x, y = rand(6, 1, 10, 10, seed=step), np.random.default_rng(step).integers(0, 3, 6)
        for model, lib, opt in ((ours, numtorch, optimizers[0]), (theirs, torch, optimizers[1])):
            opt.zero_grad()
            lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y)).backward()
            opt.step()
    for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert_close(a, b, rtol=1e-3, atol=1e-4, what=name)
    ours.eval(), theirs.eval()
    x = rand(4, 1, 10, 10, seed=99)
    with numtorch.no_grad(), torch.no_grad():
        assert_close(ours(numtorch.tensor(x)), theirs(torch.tensor(x)), rtol=1e-3, atol=1e-4)


# ----- default initialisation ---------------------------------------------------------------------------------
def assert_uniform_within(values, bound):
    """Uniform on (-bound, bound): never outside, and with this many draws close to both ends."""
    values = np.abs(as_array(values))
    assert values.max() <= bound * (1 + 1e-6)
    assert values.max() > 0.97 * bound
    assert abs(values.mean() - bound / 2) < 0.05 * bound


@pytest.mark.parametrize("source, fan_in", [
    ("nn.Linear(400, 300)", 400), ("nn.Linear(30, 500)", 30), ("nn.Conv2d(16, 32, 3)", 144),
    ("nn.Conv2d(16, 64, (5, 3), groups=4)", 60), ("nn.Conv1d(8, 200, 5)", 40),
])
def test_linear_and_conv_default_initialisation_is_torchs(lib, source, fan_in):
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_ with a=sqrt(5) and the bias rule both give this
    layer = build(lib, f"model = {source}")
    assert_uniform_within(layer.weight, bound)
    if layer.bias.numel() >= 200:  # enough draws to come close to the bound
        assert_uniform_within(layer.bias, bound)
    assert np.abs(as_array(layer.bias)).max() <= bound


def test_batch_norm_default_initialisation_is_torchs(torch):
    ours, theirs = nn.BatchNorm2d(5), torch.nn.BatchNorm2d(5)
    for (name, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert a.tolist() == b.tolist() and str(a.dtype) == str(b.dtype).replace("torch.", ""), name


def test_initialisation_does_not_record_a_graph():
    layer = nn.Linear(3, 3)
    assert layer.weight.is_leaf and layer.weight.grad_fn is None and layer.weight.grad is None
    nn.init.kaiming_normal_(layer.weight)
    assert layer.weight.is_leaf and layer.weight.requires_grad


@pytest.mark.parametrize("init, check", [
    (lambda lib, w: lib.nn.init.uniform_(w, -0.3, 0.7), lambda v: (v.min() >= -0.3) & (v.max() < 0.7) & (abs(v.mean() - 0.2) < 0.01)),
    (lambda lib, w: lib.nn.init.normal_(w, 2.0, 0.5), lambda v: (abs(v.mean() - 2.0) < 0.01) & (abs(v.std() - 0.5) < 0.01)),
    (lambda lib, w: lib.nn.init.zeros_(w), lambda v: (v == 0).all()),
    (lambda lib, w: lib.nn.init.ones_(w), lambda v: (v == 1).all()),
    (lambda lib, w: lib.nn.init.constant_(w, 0.25), lambda v: (v == 0.25).all()),
    (lambda lib, w: lib.nn.init.kaiming_uniform_(w), lambda v: abs(np.abs(v).max() - math.sqrt(6 / 300)) < 0.01 * math.sqrt(6 / 300)),
    (lambda lib, w: lib.nn.init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu"),
     lambda v: abs(np.abs(v).max() - math.sqrt(6 / 200)) < 0.01 * math.sqrt(6 / 200)),
    (lambda lib, w: lib.nn.init.kaiming_uniform_(w, a=math.sqrt(5)), lambda v: abs(np.abs(v).max() - 1 / math.sqrt(300)) < 0.01 / math.sqrt(300)),
    (lambda lib, w: lib.nn.init.kaiming_normal_(w), lambda v: abs(v.std() - math.sqrt(2 / 300)) < 0.02 * math.sqrt(2 / 300)),
    (lambda lib, w: lib.nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="linear"),
     lambda v: abs(v.std() - math.sqrt(1 / 200)) < 0.02 * math.sqrt(1 / 200)),
    (lambda lib, w: lib.nn.init.xavier_uniform_(w), lambda v: abs(np.abs(v).max() - math.sqrt(6 / 500)) < 0.01 * math.sqrt(6 / 500)),
    (lambda lib, w: lib.nn.init.xavier_uniform_(w, gain=2.0), lambda v: abs(np.abs(v).max() - 2 * math.sqrt(6 / 500)) < 0.02 * math.sqrt(6 / 500)),
])
def test_init_functions_fill_in_place_with_torchs_distributions(lib, init, check):
    w = lib.nn.Parameter(lib.empty(200, 300))  # fan_in 300, fan_out 200
    assert init(lib, w) is w
    values = as_array(w)
    assert check(values), lib.__name__
    assert w.requires_grad and w.is_leaf


def test_kaiming_and_xavier_use_the_receptive_field_of_conv_weights(lib):
    w = lib.empty(64, 32, 3, 3)  # fan_in 288, fan_out 576
    lib.nn.init.kaiming_uniform_(w, nonlinearity="relu")
    assert abs(np.abs(as_array(w)).max() - math.sqrt(6 / 288)) < 0.01
    lib.nn.init.xavier_uniform_(w)
    assert abs(np.abs(as_array(w)).max() - math.sqrt(6 / (288 + 576))) < 0.01
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"):
        lib.nn.init.xavier_uniform_(lib.empty(5))
