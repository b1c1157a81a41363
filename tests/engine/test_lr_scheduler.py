"""numtorch.optim.lr_scheduler against torch's: the learning rate at every epoch, state_dict, resuming."""
import math

import pytest

import numtorch

SCHEDULERS = {
    "StepLR": lambda s, opt: s.StepLR(opt, step_size=3),
    "StepLR gamma": lambda s, opt: s.StepLR(opt, step_size=2, gamma=0.5),
    "MultiStepLR": lambda s, opt: s.MultiStepLR(opt, milestones=[2, 5, 5, 9], gamma=0.3),
    "CosineAnnealingLR": lambda s, opt: s.CosineAnnealingLR(opt, T_max=4),
    "CosineAnnealingLR eta_min": lambda s, opt: s.CosineAnnealingLR(opt, T_max=5, eta_min=0.01),
    "LambdaLR": lambda s, opt: s.LambdaLR(opt, lambda epoch: 0.9 ** epoch),
    "LambdaLR per group": lambda s, opt: s.LambdaLR(opt, [lambda e: 1 / (e + 1), lambda e: 1.0 + e]),
}


def optimizer(lib):
    model = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Linear(2, 1))
    return lib.optim.SGD([{"params": model[0].parameters()}, {"params": model[1].parameters(), "lr": 0.5}],
                         lr=0.1, momentum=0.9)


def schedule(lib, make, epochs=14):
    opt = optimizer(lib)
    scheduler = make(lib.optim.lr_scheduler, opt)
    rates = [scheduler.get_last_lr()]
    for _ in range(epochs):
        opt.step()
        scheduler.step()
        rates.append(scheduler.get_last_lr())
        assert rates[-1] == [group["lr"] for group in opt.param_groups]
    return rates, scheduler


@pytest.mark.parametrize("case", sorted(SCHEDULERS))
def test_learning_rate_at_every_epoch_matches_torch(torch, case):
    ours, _ = schedule(numtorch, SCHEDULERS[case])
    theirs, _ = schedule(torch, SCHEDULERS[case])
    assert ours == theirs  # the same formulas on Python floats: the same numbers, exactly


def test_cosine_annealing_follows_half_a_cosine_then_rises_again():
    rates, _ = schedule(numtorch, lambda s, opt: s.CosineAnnealingLR(opt, T_max=4))
    expected = [0.1 * (1 + math.cos(math.pi * epoch / 4)) / 2 for epoch in range(15)]
    assert [r[0] for r in rates] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("case", sorted(SCHEDULERS))
def test_state_dict_holds_torchs_entries_and_resumes_the_schedule(torch, case):
    _, ours = schedule(numtorch, SCHEDULERS[case], epochs=4)
    _, theirs = schedule(torch, SCHEDULERS[case], epochs=4)
    state, their_state = ours.state_dict(), theirs.state_dict()
    assert "optimizer" not in state and set(state) <= set(their_state)
    for key, value in state.items():
        assert value == their_state[key], key
    # a fresh scheduler that loads the state continues where the first one was
    opt = optimizer(numtorch)
    for group, lr in zip(opt.param_groups, ours.get_last_lr()):
        group["lr"] = lr
    resumed = SCHEDULERS[case](numtorch.optim.lr_scheduler, opt)
    resumed.load_state_dict(state)
    for _ in range(5):
        ours.optimizer.step(), ours.step()
        opt.step(), resumed.step()
        assert resumed.get_last_lr() == ours.get_last_lr()


def test_lambda_lr_saves_the_state_of_a_callable_object_but_not_a_function(lib):
    class Warmup:
        def __init__(self, epochs):
            self.epochs = epochs

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.epochs)

    warmup = Warmup(5)
    scheduler = lib.optim.lr_scheduler.LambdaLR(optimizer(lib), [warmup, lambda e: 1.0])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"epochs": 5}, None]
    warmup.epochs = 9
    scheduler.load_state_dict(state)
    assert warmup.epochs == 5


def test_a_scheduler_sets_the_learning_rate_the_optimizer_uses(lib):
    p = lib.nn.Parameter(lib.ones(1))
    opt = lib.optim.SGD([p], lr=1.0)
    scheduler = lib.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for expected in (0.0, -0.5, -0.75):
        p.grad = lib.ones(1)
        opt.step()
        scheduler.step()
        assert p.item() == pytest.approx(expected)


def test_resuming_without_initial_lr_is_refused(lib):
    with pytest.raises(KeyError, match=r"param 'initial_lr' is not specified in param_groups\[0\]"):
        lib.optim.lr_scheduler.StepLR(optimizer(lib), step_size=2, last_epoch=3)
