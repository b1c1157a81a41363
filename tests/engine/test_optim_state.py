"""Optimizer.state_dict / load_state_dict and the random generators' state, against torch's."""
import copy

import numpy as np
import pytest

import numtorch

from .parity import assert_close, copy_module, rand

OPTIMIZERS = {
    "SGD momentum": lambda lib, ps: lib.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
    "SGD nesterov, two groups": lambda lib, ps: lib.optim.SGD(
        [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.2}], lr=0.05, momentum=0.8, nesterov=True),
    "Adam": lambda lib, ps: lib.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1),
    "AdamW": lambda lib, ps: lib.optim.AdamW(ps, lr=0.01, weight_decay=0.5),
}


def make(lib, case, seed=0):
    lib.manual_seed(seed)
    model = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.ReLU(), lib.nn.Linear(5, 2))
    return model, OPTIMIZERS[case](lib, list(model.parameters()))


def train(lib, model, optimizer, steps, first=0):
    for step in range(first, first + steps):
        x, y = lib.tensor(rand(8, 4, seed=step)), lib.tensor(rand(8, 2, seed=100 + step))
        optimizer.zero_grad()
        lib.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()


def to_torch(value, torch):
    """A numtorch state_dict (any nesting) with torch tensors in place of numtorch's."""
    if isinstance(value, numtorch.Tensor):
        return torch.from_numpy(np.array(value.numpy()))
    if isinstance(value, dict):
        return {k: to_torch(v, torch) for k, v in value.items()}
    if isinstance(value, list):
        return [to_torch(v, torch) for v in value]
    return value


def to_numtorch(value):
    if hasattr(value, "detach") and not isinstance(value, numtorch.Tensor):
        return numtorch.tensor(value.detach().numpy())
    if isinstance(value, dict):
        return {k: to_numtorch(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_numtorch(v) for v in value]
    return value


@pytest.mark.parametrize("case", sorted(OPTIMIZERS))
def test_state_dict_has_torchs_layout_and_numbers(torch, case):
    ours, theirs = make(numtorch, case), make(torch, case)
    copy_module(ours[0], theirs[0])
    for lib, (model, optimizer) in ((numtorch, ours), (torch, theirs)):
        train(lib, model, optimizer, 3)
    mine, want = ours[1].state_dict(), theirs[1].state_dict()
    assert list(mine) == list(want) == ["state", "param_groups"]
    assert list(mine["state"]) == list(want["state"])
    for index, state in want["state"].items():
        assert list(mine["state"][index]) == list(state), index
        for key, value in state.items():
            assert isinstance(mine["state"][index][key], numtorch.Tensor)
            assert mine["state"][index][key].dtype == numtorch.float32, (index, key)
            assert tuple(mine["state"][index][key].shape) == tuple(value.shape), (index, key)
            assert_close(mine["state"][index][key], value, rtol=1e-5, atol=1e-6, what=f"state {index} {key}")
    for group, wanted in zip(mine["param_groups"], want["param_groups"]):
        assert group["params"] == wanted["params"]
        assert {k: wanted[k] for k in group} == group  # numtorch's options are a subset of torch's, with its values


def test_parameters_are_numbered_across_groups_and_only_stepped_ones_have_state(lib):
    used, unused, other = (lib.nn.Parameter(lib.ones(2)) for _ in range(3))
    optimizer = lib.optim.SGD([{"params": [unused, used]}, {"params": [other]}], lr=0.1, momentum=0.9)
    (used * 2 + other).sum().backward()
    optimizer.step()
    saved = optimizer.state_dict()
    assert [group["params"] for group in saved["param_groups"]] == [[0, 1], [2]]
    assert sorted(saved["state"]) == [1, 2]


def test_plain_sgd_keeps_no_state(lib):
    model, _ = make(lib, "Adam")
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
    train(lib, model, optimizer, 2)
    assert optimizer.state_dict()["state"] == {}


def test_adam_counts_its_steps_in_a_float32_tensor(lib):
    model, optimizer = make(lib, "Adam")
    train(lib, model, optimizer, 3)
    step = optimizer.state_dict()["state"][0]["step"]
    assert isinstance(step, lib.Tensor) and step.dtype == lib.float32 and tuple(step.shape) == ()
    assert step.item() == 3.0


@pytest.mark.parametrize("case", sorted(OPTIMIZERS))
def test_round_trip_gives_the_same_state_dict(lib, case):
    model, optimizer = make(lib, case)
    train(lib, model, optimizer, 3)
    saved = copy.deepcopy(optimizer.state_dict())
    other = OPTIMIZERS[case](lib, list(make(lib, case, seed=1)[0].parameters()))
    other.load_state_dict(saved)
    again = other.state_dict()
    assert again["param_groups"] == saved["param_groups"]
    assert list(again["state"]) == list(saved["state"])
    for index, state in saved["state"].items():
        assert list(again["state"][index]) == list(state)
        assert all(lib.equal(again["state"][index][k], v) for k, v in state.items())


@pytest.mark.parametrize("case", sorted(OPTIMIZERS))
def test_resuming_gives_the_numbers_of_an_uninterrupted_run(lib, case):
    model, optimizer = make(lib, case)
    train(lib, model, optimizer, 6)
    straight = {k: v.clone() for k, v in model.state_dict().items()}

    model, optimizer = make(lib, case)
    train(lib, model, optimizer, 3)
    saved = copy.deepcopy({"model": model.state_dict(), "optimizer": optimizer.state_dict()})
    del model, optimizer
    model, optimizer = make(lib, case, seed=1)  # another process: other initial weights, no state
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    train(lib, model, optimizer, 3, first=3)
    assert all(lib.equal(v, straight[k]) for k, v in model.state_dict().items())


def test_resuming_without_the_optimizer_state_gives_other_numbers(lib):
    model, optimizer = make(lib, "Adam")
    train(lib, model, optimizer, 6)
    straight = model.state_dict()["0.weight"].clone()
    model, optimizer = make(lib, "Adam")
    train(lib, model, optimizer, 3)
    saved = copy.deepcopy(model.state_dict())
    model, optimizer = make(lib, "Adam")
    model.load_state_dict(saved)
    train(lib, model, optimizer, 3, first=3)
    assert not lib.equal(model.state_dict()["0.weight"], straight)


def test_scheduler_and_optimizer_state_resume_together(lib):
    def build():
        model, optimizer = make(lib, "SGD momentum")
        return model, optimizer, lib.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

    def epochs(model, optimizer, scheduler, first, count):
        for epoch in range(first, first + count):
            train(lib, model, optimizer, 2, first=2 * epoch)
            scheduler.step()

    model, optimizer, scheduler = build()
    epochs(model, optimizer, scheduler, 0, 5)
    straight = model.state_dict()["2.weight"].clone()
    model, optimizer, scheduler = build()
    epochs(model, optimizer, scheduler, 0, 2)
    saved = copy.deepcopy({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                           "scheduler": scheduler.state_dict()})
    model, optimizer, scheduler = build()
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    assert optimizer.param_groups[0]["lr"] == 0.025 and optimizer.param_groups[0]["initial_lr"] == 0.05
    epochs(model, optimizer, scheduler, 2, 3)
    assert lib.equal(model.state_dict()["2.weight"], straight)
    assert scheduler.get_last_lr() == [group["lr"] for group in optimizer.param_groups]


@pytest.mark.parametrize("case", sorted(OPTIMIZERS))
def test_state_dicts_cross_between_the_engines(torch, case):
    """Saved on one engine, loaded on the other: the run goes on as the saving engine's would."""
    for source, target in ((numtorch, torch), (torch, numtorch)):
        model, optimizer = make(source, case)
        train(source, model, optimizer, 3)
        saved = copy.deepcopy({"model": model.state_dict(), "optimizer": optimizer.state_dict()})
        train(source, model, optimizer, 3, first=3)
        convert = (lambda v: to_torch(v, torch)) if target is torch else to_numtorch
        resumed, resumed_optimizer = make(target, case, seed=1)
        resumed.load_state_dict(convert(saved["model"]))
        resumed_optimizer.load_state_dict(convert(saved["optimizer"]))
        train(target, resumed, resumed_optimizer, 3, first=3)
        for (name, p), (_, q) in zip(resumed.named_parameters(), model.named_parameters()):
            assert_close(p, q, rtol=1e-5, atol=1e-6, what=f"{source.__name__} -> {target.__name__}: {name}")


def test_loaded_state_tensors_are_taken_not_copied_as_in_torch(lib):
    """torch's load_state_dict keeps the given tensors (of the parameter's dtype, and `step`) as its state:
    training on changes the dictionary that was loaded."""
    model, optimizer = make(lib, "Adam")
    train(lib, model, optimizer, 2)
    saved = copy.deepcopy(optimizer.state_dict())
    kept = copy.deepcopy(saved)
    optimizer.load_state_dict(saved)
    assert optimizer.state_dict()["state"][0]["exp_avg"] is saved["state"][0]["exp_avg"]
    train(lib, model, optimizer, 2, first=2)
    for key in ("step", "exp_avg", "exp_avg_sq"):
        assert not lib.equal(saved["state"][0][key], kept["state"][0][key]), key


def test_state_dict_holds_the_live_state_as_torchs_does(lib):
    model, optimizer = make(lib, "Adam")
    train(lib, model, optimizer, 1)
    live = optimizer.state_dict()
    before = live["state"][0]["exp_avg"].clone()
    train(lib, model, optimizer, 1, first=1)
    assert not lib.equal(live["state"][0]["exp_avg"], before)


def test_loaded_state_takes_each_parameters_dtype(lib):
    model, optimizer = make(lib, "Adam")
    train(lib, model, optimizer, 1)
    saved = copy.deepcopy(optimizer.state_dict())
    model64 = copy.deepcopy(model).double()
    optimizer64 = lib.optim.Adam(model64.parameters())
    optimizer64.load_state_dict(saved)
    state = optimizer64.state_dict()["state"][0]
    assert state["exp_avg"].dtype == lib.float64 and state["step"].dtype == lib.float32
    assert state["exp_avg"] is not saved["state"][0]["exp_avg"]


@pytest.mark.parametrize("groups, message", [
    (lambda ps: [{"params": ps[:2]}, {"params": ps[2:]}],
     "loaded state dict has a different number of parameter groups"),
    (lambda ps: ps[:3],
     "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"),
])
def test_a_state_dict_for_other_groups_is_refused_like_torch(lib, groups, message):
    model, optimizer = make(lib, "Adam")
    train(lib, model, optimizer, 1)
    other = lib.optim.Adam(groups(list(make(lib, "Adam")[0].parameters())))
    with pytest.raises(ValueError, match=message):
        other.load_state_dict(optimizer.state_dict())


# ---- the random generators' state ----------------------------------------------------------------

def test_rng_state_round_trip_repeats_the_draws(lib):
    lib.manual_seed(5)
    lib.randn(3)
    state = lib.get_rng_state()
    assert state.dtype == lib.uint8 and state.dim() == 1
    first = (lib.randn(4), lib.rand(2, 2), lib.randint(0, 100, (5,)), lib.randperm(7))
    lib.manual_seed(123)
    lib.rand(9)
    lib.set_rng_state(state)
    again = (lib.randn(4), lib.rand(2, 2), lib.randint(0, 100, (5,)), lib.randperm(7))
    assert all(lib.equal(a, b) for a, b in zip(first, again))


def test_rng_state_is_a_copy(lib):
    state = lib.get_rng_state()
    kept = state.clone()
    lib.rand(10)
    assert lib.equal(state, kept)


def test_rng_state_repeats_dropout_masks_and_loader_shuffles(lib):
    data = lib.utils.data
    dataset = data.TensorDataset(lib.arange(20))
    dropout = lib.nn.Dropout(0.5)
    x = lib.ones(4, 6)

    def draws():
        order = [batch[0].tolist() for batch in data.DataLoader(dataset, batch_size=5, shuffle=True)]
        return order, dropout(x)

    lib.manual_seed(0)
    draws()
    state = lib.get_rng_state()
    order, mask = draws()
    assert draws()[0] != order
    lib.set_rng_state(state)
    again, again_mask = draws()
    assert again == order and lib.equal(again_mask, mask)


def test_generator_state_round_trip_repeats_a_loaders_shuffles(lib):
    data = lib.utils.data
    dataset = data.TensorDataset(lib.arange(20))
    generator = lib.Generator().manual_seed(7)
    loader = data.DataLoader(dataset, batch_size=5, shuffle=True, generator=generator)
    next(iter(loader))
    state = generator.get_state()
    assert state.dtype == lib.uint8 and state.dim() == 1
    order = [batch[0].tolist() for batch in loader]
    lib.manual_seed(3)  # the global generator is another one
    assert generator.set_state(state) is generator
    assert [batch[0].tolist() for batch in loader] == order
    assert generator.initial_seed() == 7


def test_a_generators_state_does_not_touch_the_global_one(lib):
    lib.manual_seed(1)
    state = lib.get_rng_state()
    generator = lib.Generator().manual_seed(2)
    generator.set_state(generator.get_state())
    lib.rand(1, generator=generator)
    assert lib.equal(lib.get_rng_state(), state)


def test_set_rng_state_refuses_what_get_rng_state_did_not_give():
    with pytest.raises(RuntimeError, match="uint8 tensor of 48 bytes .* but got dtype float32 and shape \\(48,\\)"):
        numtorch.set_rng_state(numtorch.zeros(48))
    with pytest.raises(RuntimeError, match="but got dtype uint8 and shape \\(5056,\\)"):  # the size of torch's
        numtorch.set_rng_state(numtorch.zeros(5056, dtype=numtorch.uint8))
    with pytest.raises(RuntimeError, match="Generator.set_state .* but got list"):
        numtorch.Generator().set_state([0] * 48)


def test_rng_state_carries_the_seed(lib):
    lib.manual_seed(11)
    state = lib.get_rng_state()
    lib.manual_seed(12)
    lib.set_rng_state(state)
    assert lib.initial_seed() == 11


@pytest.mark.parametrize("case, option", [("Adam", "amsgrad"), ("Adam", "maximize"), ("AdamW", "amsgrad"),
                                          ("SGD momentum", "maximize")])
def test_a_torch_option_numtorch_lacks_is_refused_not_ignored(torch, case, option):
    """A state dict saved by torch carries every option of its optimizer: those at torch's default load, one that
    changes the arithmetic (Adam's amsgrad, maximize) raises, in a checkpoint as in a parameter group."""
    model, optimizer = make(torch, case)
    train(torch, model, optimizer, 1)
    ours = make(numtorch, case)[1]
    ours.load_state_dict(to_numtorch(optimizer.state_dict()))
    optimizer.param_groups[0][option] = True
    message = f"implements {option}=False only, but got a parameter group with {option}=True"
    with pytest.raises(NotImplementedError, match=message):
        ours.load_state_dict(to_numtorch(optimizer.state_dict()))
    with pytest.raises(NotImplementedError, match=message):
        OPTIMIZERS[case](numtorch, [{"params": list(make(numtorch, case)[0].parameters()), option: True}])
