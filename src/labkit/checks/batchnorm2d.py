"""Checks of lab 3: BatchNorm2d."""

import numpy as np

import numtorch
import numtorch.nn.functional as F
from numtorch import nn
from labkit.checks import Bank, Mistake, expect
from labkit.checks.proxies import assign, is_module
from labkit.checks._common import (expect_float32, expect_gradients, expect_no_parameter, expect_one_call,
                                   expect_parameters, expect_repr, expect_state_dict_keys, same, shape, values)

bank = Bank("Lab 3 · BatchNorm2d", {1: "__init__: parameters and buffers", 2: "forward: train and eval"},
            withheld=("BatchNorm2d",))
SENTENCE = ("return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias, "
            "self.training or not self.track_running_stats, momentum, self.eps)")
BUFFERS = ["running_mean", "running_var", "num_batches_tracked"]


def check_task1(BatchNorm2d):
    """Print how your BatchNorm2d.__init__ does."""
    bank.report(1, BatchNorm2d=BatchNorm2d)


def check_task2(BatchNorm2d):
    """Print how your BatchNorm2d.forward does."""
    bank.report(2, BatchNorm2d=BatchNorm2d)


def summary(BatchNorm2d):
    """Print your points on all the public checks."""
    bank.summary(BatchNorm2d=BatchNorm2d)


def batch(n=8, c=3, h=4, w=5):
    """A batch whose channels have clearly different means and spreads."""
    x = numtorch.randn(n, c, h, w) * numtorch.arange(1, c + 1).reshape(1, c, 1, 1).float()
    return x + numtorch.arange(c).reshape(1, c, 1, 1).float() * 3


@bank.check(task=1, points=2)
def weight_and_bias_are_parameters_starting_at_1_and_0(BatchNorm2d):
    """weight (ones) and bias (zeros), shape (num_features,), are Parameters"""
    m = BatchNorm2d(3)
    expect(is_module(m), "your BatchNorm2d is not an nn.Module: `class BatchNorm2d(nn.Module):`")
    expect_parameters(m, {"weight": (3,), "bias": (3,)}, "BatchNorm2d")
    expect(np.all(values(m.weight) == 1) and np.all(values(m.bias) == 0),
           "weight should start at ones and bias at zeros, so that a fresh layer only normalises "
           "(init.ones_(self.weight), init.zeros_(self.bias))")


@bank.check(task=1, points=3)
def running_stats_are_buffers_not_parameters(BatchNorm2d):
    """running_mean, running_var and num_batches_tracked are buffers"""
    m = BatchNorm2d(3)
    params = [n for n, _ in m.named_parameters()]
    for name in BUFFERS:
        expect(name not in params, f"`{name}` is a Parameter, so the optimizer would train it by gradient "
                                   f"descent: it is a statistic, not a weight; register it as a buffer, "
                                   f"`self.register_buffer('{name}', ...)`")
    buffers = [n for n, _ in m.named_buffers()]
    for name in BUFFERS:
        expect(name in buffers, f"`{name}` is not a registered buffer, so state_dict() and load_state_dict() miss "
                                f"it and a saved model forgets its statistics: `self.register_buffer('{name}', ...)`")
    expect(buffers == BUFFERS, f"your buffers are {buffers}, torch's are {BUFFERS}")


@bank.check(task=1)
def state_dict_keys_match_torch(BatchNorm2d):
    """state_dict() has torch's keys, in torch's order"""
    expect_state_dict_keys(BatchNorm2d(3), ["weight", "bias"] + BUFFERS, "BatchNorm2d")


@bank.check(task=1)
def running_stats_start_at_0_and_1(BatchNorm2d):
    """running_mean starts at zeros, running_var at ones, num_batches_tracked at the integer 0"""
    m = BatchNorm2d(3)
    expect(shape(m.running_mean) == (3,) and np.all(values(m.running_mean) == 0),
           "running_mean should start as zeros of shape (num_features,)")
    expect(shape(m.running_var) == (3,) and np.all(values(m.running_var) == 1),
           "running_var should start as ones, not zeros: a fresh layer in eval mode must divide by sqrt(1 + eps), "
           "not by sqrt(eps)")
    expect_float32(m.running_mean, "`self.running_mean`")
    expect_float32(m.running_var, "`self.running_var`")
    n = m.num_batches_tracked
    expect(isinstance(n, numtorch.Tensor) and shape(n) == () and n.dtype.kind == "i" and int(n) == 0,
           "num_batches_tracked should be an integer tensor holding 0: "
           "`torch.tensor(0, dtype=torch.long)`, a buffer, so that it is saved with the model")


@bank.check(task=1)
def affine_false_has_no_weight_or_bias(BatchNorm2d):
    """affine=False: weight and bias are None and not parameters"""
    m = BatchNorm2d(3, affine=False)
    for name in ("weight", "bias"):
        expect_no_parameter(m, name, "affine=False", "BatchNorm2d")


@bank.check(task=1)
def no_tracking_registers_none_buffers(BatchNorm2d):
    """track_running_stats=False: the three buffers exist and are None"""
    m = BatchNorm2d(3, track_running_stats=False)
    for name in BUFFERS:
        expect(hasattr(m, name) and getattr(m, name) is None,
               f"with track_running_stats=False, `self.{name}` should be None, as in torch: "
               f"`self.register_buffer('{name}', None)`")
    expect(list(m.state_dict()) == ["weight", "bias"], "with track_running_stats=False the state_dict holds only "
                                                       f"weight and bias, yours has {list(m.state_dict())}")


@bank.check(task=2, points=2)
def training_output_matches_F_batch_norm(BatchNorm2d):
    """in training mode module(x) equals F.batch_norm(x, ..., training=True)"""
    m = BatchNorm2d(3)
    assign(m, "weight", [0.5, 2.0, -1.0])
    assign(m, "bias", [0.1, 0.2, 0.3])
    x = batch()
    y = m(x)
    want = F.batch_norm(x, None, None, m.weight, m.bias, True, 0.1, 1e-5)
    expect(shape(y) == shape(want), f"your output has shape {tuple(y.shape)}, the input's is {tuple(x.shape)}")
    per_sample = values(x).reshape(8, -1)
    per_sample = (per_sample - per_sample.mean(1, keepdims=True)) / np.sqrt(per_sample.var(1, keepdims=True) + 1e-5)
    if same(values(y), per_sample.reshape(y.shape) * [[[[0.5]], [[2.0]], [[-1.0]]]] + [[[[0.1]], [[0.2]], [[0.3]]]],
            atol=1e-3):
        raise Mistake("your BatchNorm2d normalises each sample over (C, H, W): that is LayerNorm; batch norm "
                      "computes one mean and variance per channel, over (N, H, W)")
    expect(same(y, want, atol=1e-4), "in training mode your output differs from F.batch_norm with the batch's "
                                     f"statistics: `{SENTENCE}`")


@bank.check(task=2, points=2)
def uses_per_channel_statistics(BatchNorm2d):
    """in training mode each channel comes out with mean 0 and variance 1 over (N, H, W)"""
    y = values(BatchNorm2d(3)(batch()))
    means, variances = y.mean(axis=(0, 2, 3)), y.var(axis=(0, 2, 3))
    expect(np.allclose(means, 0, atol=1e-3) and np.allclose(variances, 1, atol=1e-2),
           f"per channel your output has means {np.round(means, 3).tolist()} and variances "
           f"{np.round(variances, 3).tolist()}, not 0 and 1: the statistics are per channel, over (N, H, W) "
           "(per-sample or per-pixel statistics normalise the wrong axes)")


@bank.check(task=2, points=2)
def running_stats_move_by_momentum(BatchNorm2d):
    """one training batch moves the running stats by momentum: (1 - m) * running + m * batch"""
    m = BatchNorm2d(3, momentum=0.1)
    x = batch()
    m(x)
    mean = values(x).mean(axis=(0, 2, 3))
    var = values(x).var(axis=(0, 2, 3), ddof=1)
    got = values(m.running_mean)
    if np.allclose(got, 0.9 * mean, atol=1e-4):
        raise Mistake("after one batch running_mean moved 90% of the way to the batch mean: momentum is applied "
                      "backwards; torch's rule is running = (1 - momentum) * running + momentum * batch, "
                      "which F.batch_norm applies for you")
    expect(np.allclose(got, 0.1 * mean, atol=1e-4),
           f"after one batch from zeros, running_mean should be momentum * batch mean = {np.round(0.1 * mean, 4)}, "
           f"yours is {np.round(got, 4)}: pass the buffers and momentum to F.batch_norm in training mode")
    if np.allclose(values(m.running_var), 0.9 + 0.1 * values(x).var(axis=(0, 2, 3)), atol=1e-4):
        raise Mistake("running_var moved towards the biased batch variance (divided by n = N·H·W), but torch's "
                      "running_var uses the unbiased one (divided by n - 1); only the normalisation uses the "
                      "biased one: let F.batch_norm update the buffers, it does both")
    expect(np.allclose(values(m.running_var), 0.9 + 0.1 * var, atol=1e-4),
           "after one batch running_var should be 0.9 * 1 + 0.1 * (the batch's unbiased variance, divided by "
           "n - 1 with n = N·H·W)")


@bank.check(task=2)
def counts_training_batches(BatchNorm2d):
    """num_batches_tracked counts training batches, not eval ones"""
    m = BatchNorm2d(3)
    for _ in range(3):
        m(batch())
    expect(int(m.num_batches_tracked) == 3, f"after 3 training batches num_batches_tracked is "
                                            f"{int(m.num_batches_tracked)}, not 3: add 1 in forward when training "
                                            "(`self.num_batches_tracked.add_(1)`)")
    m.eval()
    m(batch())
    expect(int(m.num_batches_tracked) == 3, "an eval batch changed num_batches_tracked: count training batches only")


@bank.check(task=2, points=2)
def momentum_none_is_a_cumulative_average(BatchNorm2d):
    """momentum=None: the running stats are the plain average of all batches so far"""
    m = BatchNorm2d(3, momentum=None)
    means = []
    for _ in range(3):
        x = batch()
        means.append(values(x).mean(axis=(0, 2, 3)))
        try:
            m(x)
        except TypeError as error:
            raise Mistake(f"with momentum=None your forward raised TypeError ({error}): F.batch_norm needs a "
                          "number; for momentum=None torch passes 1 / num_batches_tracked") from None
    expect(np.allclose(values(m.running_mean), np.mean(means, axis=0), atol=1e-4),
           "with momentum=None running_mean should be the average of the 3 batch means; torch uses the factor "
           "1 / num_batches_tracked for the n-th batch (count first, then pass that factor to F.batch_norm)")


@bank.check(task=2, points=3)
def eval_mode_uses_the_running_stats(BatchNorm2d):
    """in eval mode the output uses running_mean and running_var, and leaves them alone"""
    m = BatchNorm2d(3)
    assign(m, "running_mean", [1.0, -2.0, 0.5])
    assign(m, "running_var", [4.0, 0.25, 1.0])
    m.eval()
    x = batch()
    y = m(x)
    want = F.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, False, 0.1, 1e-5)
    expect(np.allclose(values(m.running_mean), [1.0, -2.0, 0.5]) and int(m.num_batches_tracked) == 0,
           "in eval mode your BatchNorm2d updated its running statistics: pass `self.training` to F.batch_norm")
    expect(not same(y, F.batch_norm(x, None, None, m.weight, m.bias, True)),
           "in eval mode your BatchNorm2d used the batch's statistics: pass `self.training` to F.batch_norm, "
           "so that it uses running_mean and running_var")
    expect(same(y, want, atol=1e-4), f"in eval mode your output differs from F.batch_norm with the running "
                                     f"statistics: `{SENTENCE}`")


@bank.check(task=2)
def without_running_stats_eval_uses_the_batch(BatchNorm2d):
    """track_running_stats=False: eval mode normalises with the batch's statistics"""
    m = BatchNorm2d(3, track_running_stats=False)
    m.eval()
    x = batch()
    why = ("with track_running_stats=False there are no running statistics, so even in eval mode the batch's are "
           "used: pass training=True to F.batch_norm when `self.running_mean is None`")
    try:
        y = m(x)
    except RuntimeError as error:
        raise Mistake(f"{why} (yours raised RuntimeError: {error})") from None
    expect(same(y, F.batch_norm(x, None, None, m.weight, m.bias, True), atol=1e-4), why)


@bank.check(task=2)
def rejects_input_that_is_not_4d(BatchNorm2d):
    """a 2-D or 3-D input raises ValueError naming its rank"""
    for x in (numtorch.randn(4, 3), numtorch.randn(4, 3, 5)):
        try:
            BatchNorm2d(3)(x)
        except ValueError as error:
            expect(f"{x.dim()}D" in str(error), f"the ValueError should name the input's rank, as torch's does: "
                                                f"'expected 4D input (got {x.dim()}D input)'")
            continue
        raise Mistake(f"BatchNorm2d accepted a {x.dim()}-D input: raise ValueError("
                      f"f'expected 4D input (got {{input.dim()}}D input)') when input.dim() != 4")


@bank.check(task=2)
def forward_is_one_call_to_F_batch_norm(BatchNorm2d):
    """forward is one call to F.batch_norm"""
    expect_one_call(BatchNorm2d(3), batch(), "batch_norm", "BatchNorm2d", SENTENCE)


@bank.check(task=2)
def gradients_reach_weight_and_bias(BatchNorm2d):
    """backward() reaches weight, bias and the input"""
    expect_gradients(BatchNorm2d(3), batch(), ["weight", "bias"], "BatchNorm2d")


@bank.check(task=2)
def extra_repr_matches_torch(BatchNorm2d):
    """print(layer) shows BatchNorm2d(3, eps=1e-05, momentum=0.1, ...) as torch does"""
    for kwargs in ({}, {"momentum": None, "affine": False}, {"eps": 1e-3, "track_running_stats": False}):
        expect_repr(BatchNorm2d(3, **kwargs), nn.BatchNorm2d(3, **kwargs), "BatchNorm2d")


def _arguments(kwargs: dict) -> str:
    return ", ".join(["3"] + [f"{k}={v!r}" for k, v in kwargs.items()])


# Every branch of __init__ and forward: momentum a number or None, affine with and without bias, running statistics
# kept or not; each driven through eval (before any training), two training batches, then eval again.
SETTINGS = [{"momentum": momentum, "affine": affine, "track_running_stats": track}
            for momentum in (0.3, None) for affine in (True, False) for track in (True, False)]
SETTINGS += [{"bias": False}, {"eps": 0.5, "momentum": 0.9}]
STEPS = ("eval", "train", "train", "eval")


@bank.check(task=2, points=3)
def behaves_as_torch_for_every_argument_and_mode(BatchNorm2d):
    """momentum=None, affine, bias and track_running_stats, in eval before training, training, then eval"""
    for kwargs in SETTINGS:
        m, reference = BatchNorm2d(3, **kwargs), nn.BatchNorm2d(3, **kwargs)
        for i, step in enumerate(STEPS):
            m.train(step == "train")
            reference.train(step == "train")
            x = batch()
            where = f"BatchNorm2d({_arguments(kwargs)}), called in {', '.join(STEPS)} mode, on call {i + 1} ({step})"
            try:
                y = m(x)
            except ZeroDivisionError as error:
                raise Mistake(f"{where} raised ZeroDivisionError ({error}): compute 1 / num_batches_tracked only "
                              "when it has just counted a batch, that is when training with running statistics; "
                              "otherwise the momentum is not used") from None
            except (AttributeError, TypeError) as error:
                if not kwargs.get("track_running_stats", True):
                    raise Mistake(f"{where} raised {error.name}: {error}: with track_running_stats=False the "
                                  "buffers are None, so count batches and compute the momentum only "
                                  "`if self.training and self.track_running_stats`") from None
                raise
            want = reference(x)
            expect(isinstance(y, numtorch.Tensor) and same(y, want, atol=1e-4),
                   f"{where} gives a different output from torch's: use the batch's statistics when training or "
                   f"when there are no running statistics, the running ones otherwise: `{SENTENCE}`")
            got_state, want_state = m.state_dict(), reference.state_dict()
            expect(list(got_state) == list(want_state),
                   f"{where}: your state_dict() keys are {list(got_state)}, but torch's are {list(want_state)}")
            for name, value in want_state.items():
                expect(same(got_state[name], value, atol=1e-4),
                       f"after {where}, `{name}` is {np.round(values(got_state[name]), 4).tolist()}, but torch's is "
                       f"{np.round(values(value), 4).tolist()}"
                       + (": only training batches count" if name == "num_batches_tracked" else
                          ": the running statistics move only in training mode, by the momentum (None: the "
                          "cumulative average, 1 / num_batches_tracked)"))
