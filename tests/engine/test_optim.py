"""SGD, Adam and AdamW against torch's, step by step, with every option."""
import numpy as np
import pytest

import numtorch
from numtorch import nn

from .parity import assert_close, build, copy_module, rand

MODEL = "nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))"


def train_both(make_optimizer, steps=6, model=MODEL):
    """Train twin models with the same data; after every step their parameters must agree."""
    torch = pytest.importorskip("torch")
    ours, theirs = build(numtorch, f"model = {model}"), build(torch, f"model = {model}")
    copy_module(ours, theirs)
    optimizers = [make_optimizer(numtorch, ours), make_optimizer(torch, theirs)]
    for step in range(steps):
        x, y = rand(8, 4, seed=step), rand(8, 2, seed=100 + step)
        for model, lib, opt in ((ours, numtorch, optimizers[0]), (theirs, torch, optimizers[1])):
            opt.zero_grad()
            lib.nn.functional.mse_loss(model(lib.tensor(x)), lib.tensor(y)).backward()
            opt.step()
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert_close(p, q, rtol=1e-5, atol=1e-6, what=f"{name} after step {step + 1}")
    return ours, optimizers[0]


@pytest.mark.parametrize("options", [
    dict(lr=0.1), dict(lr=0.05, momentum=0.9), dict(lr=0.05, momentum=0.9, dampening=0.5),
    dict(lr=0.05, momentum=0.9, nesterov=True), dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.05, momentum=0.8, dampening=0.1, weight_decay=0.05), dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
])
def test_sgd_updates_match_torch(options):
    train_both(lambda lib, model: lib.optim.SGD(model.parameters(), **options))


@pytest.mark.parametrize("options", [
    dict(), dict(lr=0.01), dict(lr=0.01, weight_decay=0.1), dict(lr=0.02, betas=(0.8, 0.99)), dict(lr=0.01, eps=1e-3),
    dict(lr=0.005, betas=(0.5, 0.9), eps=1e-6, weight_decay=0.5),
])
def test_adam_updates_match_torch(options):
    train_both(lambda lib, model: lib.optim.Adam(model.parameters(), **options), steps=8)


@pytest.mark.parametrize("options", [
    dict(), dict(lr=0.01), dict(lr=0.01, weight_decay=0.5), dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0),
])
def test_adamw_updates_match_torch(options):
    train_both(lambda lib, model: lib.optim.AdamW(model.parameters(), **options), steps=8)


def test_adam_with_decoupled_weight_decay_is_adamw(torch):
    train_both(lambda lib, model: lib.optim.Adam(model.parameters(), lr=0.01, weight_decay=0.3,
                                                 decoupled_weight_decay=True), steps=5)


def test_adamw_decays_a_parameter_even_where_its_gradient_is_zero(lib):
    p = lib.nn.Parameter(lib.ones(2))
    opt = lib.optim.AdamW([p], lr=0.1, weight_decay=0.5)
    p.grad = lib.zeros(2)
    opt.step()
    assert p.tolist() == pytest.approx([0.95, 0.95])


def test_parameter_groups_have_their_own_options_and_fall_back_to_the_defaults():
    def make(lib, model):
        return lib.optim.SGD([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.5}],
                             lr=0.05, momentum=0.9)

    _, opt = train_both(make)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.5]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]
    assert len(opt.param_groups[0]["params"]) == 2


def test_step_skips_parameters_without_gradients(lib):
    used, unused = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(2))
    opt = lib.optim.Adam([used, unused], lr=0.1)
    (used * 2).sum().backward()
    opt.step()
    assert unused.tolist() == [1.0, 1.0] and used.tolist() != [1.0, 1.0]
    assert used.is_leaf and used.grad_fn is None


def test_optimizer_zero_grad_sets_gradients_to_none_by_default(lib):
    p = lib.nn.Parameter(lib.ones(2))
    opt = lib.optim.SGD([p], lr=0.1)
    (p * 3).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_default_learning_rates_are_torchs(torch):
    for name in ("SGD", "Adam", "AdamW"):
        ours = getattr(numtorch.optim, name)(nn.Linear(1, 1).parameters())
        theirs = getattr(torch.optim, name)(torch.nn.Linear(1, 1).parameters())
        for key, value in ours.defaults.items():
            assert theirs.defaults[key] == value, (name, key)


@pytest.mark.parametrize("make, message", [
    (lambda lib, ps: lib.optim.SGD(ps, lr=-1), "Invalid learning rate: -1"),
    (lambda lib, ps: lib.optim.SGD(ps, lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda lib, ps: lib.optim.SGD(ps, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (lambda lib, ps: lib.optim.Adam(ps, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda lib, ps: lib.optim.Adam(ps, eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda lib, ps: lib.optim.Adam(ps, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda lib, ps: lib.optim.SGD([], lr=0.1), "optimizer got an empty parameter list"),
])
def test_invalid_optimizer_arguments_are_refused_like_torch(lib, make, message):
    with pytest.raises(ValueError, match=message):
        make(lib, [lib.nn.Parameter(lib.ones(1))])


def test_a_parameter_in_two_groups_is_refused(lib):
    p = lib.nn.Parameter(lib.ones(1))
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        lib.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_optimizer_state_is_per_parameter():
    model, opt = train_both(lambda lib, model: lib.optim.Adam(model.parameters()), steps=3)
    state = opt.state[next(iter(model.parameters()))]
    assert state["step"] == 3 and np.shape(state["exp_avg"]) == (5, 4)
