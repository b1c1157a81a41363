"""Checks of lab 2: Dropout."""

import numpy as np

import numtorch
import numtorch.nn.functional as F
from numtorch import nn
from labkit.checks import Bank, Mistake, expect
from labkit.checks.proxies import backward, call_traced, is_module, kept_there, seed, value_of
from labkit.checks._common import expect_gradients, expect_one_call, expect_repr, same, values

bank = Bank("Lab 2 · Dropout", {1: "__init__", 2: "forward and extra_repr"}, withheld=("Dropout",))
SENTENCE = "return F.dropout(input, self.p, self.training, self.inplace)"


def check_task1(Dropout):
    """Print how your Dropout.__init__ does."""
    bank.report(1, Dropout=Dropout)


def check_task2(Dropout):
    """Print how your Dropout.forward and extra_repr do."""
    bank.report(2, Dropout=Dropout)


def summary(Dropout):
    """Print your points on all the public checks."""
    bank.summary(Dropout=Dropout)


@bank.check(task=1)
def keeps_p_with_torchs_default(Dropout):
    """Dropout() keeps p = 0.5, Dropout(0.2) keeps p = 0.2"""
    expect(is_module(Dropout()), "your Dropout is not an nn.Module: `class Dropout(nn.Module):`")
    for args, want in (((), 0.5), ((0.2,), 0.2)):
        got = getattr(Dropout(*args), "p", "missing")
        expect(got == want, f"Dropout({', '.join(map(str, args))}).p is {got!r}, but torch's is {want}"
               + (" (torch's default p is 0.5)" if not args else ""))


@bank.check(task=1, points=2)
def rejects_p_outside_0_1(Dropout):
    """p outside [0, 1] raises ValueError; 0 and 1 themselves are allowed"""
    for p in (-0.1, 1.5):
        try:
            Dropout(p)
        except ValueError:
            continue
        raise Mistake(f"Dropout({p}) should raise ValueError: p is a probability, so check 0 <= p <= 1 in __init__ "
                      "and raise ValueError(f'dropout probability has to be between 0 and 1, but got {p}')")
    for p in (0.0, 1.0):
        try:
            Dropout(p)
        except ValueError:
            raise Mistake(f"Dropout({p}) raised ValueError, but torch allows p={p}: check 0 <= p <= 1, "
                          "not 0 < p < 1") from None


@bank.check(task=1)
def has_no_parameters_or_buffers(Dropout):
    """Dropout has no parameters and no buffers"""
    m = Dropout(0.3)
    params = [n for n, _ in m.named_parameters()]
    expect(not params, f"your Dropout has parameters {params}: p is a plain number, not something to learn; "
                       "`self.p = p`")
    expect(list(m.state_dict()) == [], f"your Dropout's state_dict() has {list(m.state_dict())}, "
                                       "torch's is empty: p is a plain attribute")


@bank.check(task=2, points=3)
def is_identity_in_eval_mode(Dropout):
    """in eval mode the input passes through unchanged"""
    m = Dropout(0.5)
    m.eval()
    x = numtorch.randn(20, 30)
    expect(same(m(x), x), f"in eval mode your Dropout changed its input: pass `self.training` to `F.dropout`: "
                          f"`{SENTENCE}`")


@bank.check(task=2, points=2)
def drops_a_fraction_p_in_training(Dropout):
    """in training mode about a fraction p of the elements becomes zero"""
    m = Dropout(0.3)
    m.train()
    y = values(m(numtorch.ones(200, 100)))
    dropped = float((y == 0).mean())
    expect(dropped > 0, "in training mode your Dropout dropped nothing: F.dropout's `training` argument must be "
                        f"`self.training`: `{SENTENCE}`")
    expect(not abs(dropped - 0.7) < 0.03, f"with p=0.3 your Dropout zeroes {dropped:.0%} of the elements: p is "
                                          "the probability to *drop* an element, not to keep it")
    expect(abs(dropped - 0.3) < 0.03, f"with p=0.3 your Dropout zeroes {dropped:.0%} of the elements, not about 30%")


@bank.check(task=2, points=2)
def rescales_kept_elements_by_1_over_1_minus_p(Dropout):
    """kept elements are scaled by 1/(1-p), so the expected output equals the input"""
    m = Dropout(0.3)
    m.train()
    y = values(m(numtorch.ones(50, 50)))
    kept = np.unique(np.round(y[y != 0], 5))
    expect(kept.size > 0, "your Dropout dropped every element with p=0.3")
    scale = float(kept[0])
    expect(not np.isclose(scale, 1.0), "the elements your Dropout keeps are unchanged: it forgot the 1/(1-p) "
                                       f"rescale (1/(1-0.3) = {1 / 0.7:.3g}), so the output is smaller on average "
                                       "in training than in eval; F.dropout rescales for you")
    expect(not np.isclose(scale, 0.7), "your Dropout scales the kept elements by (1-p) = 0.7; "
                                       f"it should divide by it: 1/(1-p) = {1 / 0.7:.3g}")
    expect(np.allclose(kept, 1 / 0.7, atol=1e-4), f"the kept elements are scaled by {scale:.3g}, "
                                                  f"not by 1/(1-p) = {1 / 0.7:.3g}")


@bank.check(task=2)
def matches_F_dropout_with_the_same_seed(Dropout):
    """module(x) equals F.dropout(x, p, training) after the same manual_seed"""
    m = Dropout(0.4)
    x = numtorch.randn(30, 40)
    for training in (True, False):
        m.train(training)
        seed(m, 5)
        y = m(x)
        numtorch.manual_seed(5)
        expect(same(y, F.dropout(x, 0.4, training)),
               f"in training mode your output differs from F.dropout(x, p, training) with the same seed: let "
               f"F.dropout draw the mask, `{SENTENCE}`" if training else
               f"in eval mode your output differs from F.dropout(x, p, training=False), which returns x: "
               f"pass `self.training`, `{SENTENCE}`")


@bank.check(task=2)
def forward_is_one_call_to_F_dropout(Dropout):
    """forward is one call to F.dropout"""
    expect_one_call(Dropout(0.2), numtorch.randn(4, 3), "dropout", "Dropout", SENTENCE)


@bank.check(task=2)
def passes_inplace_to_F_dropout(Dropout):
    """Dropout hands its inplace on to F.dropout: True overwrites the input, False leaves it alone"""
    _, calls, error = call_traced(Dropout(0.3, inplace=True), numtorch.randn(4, 3))
    call = next((c for c in calls if c["name"] == "dropout"), None)
    if error is not None and call is None:
        raise error
    expect(call is not None, f"your forward never calls F.dropout: `{SENTENCE}`")
    expect(call["positional"] >= 4 or "inplace" in call["keywords"],
           "your forward calls F.dropout without `inplace`, so Dropout(p, inplace=True) never overwrites its "
           f"input as torch's does: pass `self.inplace`, `{SENTENCE}`")
    m = Dropout(0.3)
    x = kept_there(m, numtorch.ones(4, 3))  # the input as the learner's process holds it, so that a change shows
    m(x)
    expect(np.all(values(value_of(x)) == 1),
           "Dropout(0.3) changed its input in place in training mode, though its `inplace` is False: pass "
           f"`self.inplace` on to F.dropout, not True, `{SENTENCE}`")


@bank.check(task=2)
def p_equal_1_drops_everything_without_nan(Dropout):
    """with p=1 the output is all zeros (no 0/0)"""
    m = Dropout(1.0)
    y = values(m(numtorch.randn(10, 10)))
    expect(np.all(np.isfinite(y)), "with p=1 your Dropout produced NaN or inf (dividing by 1-p = 0): "
                                   "F.dropout handles p=1")
    expect(np.all(y == 0), "with p=1 every element should be dropped")


@bank.check(task=2)
def gradients_flow_through_kept_elements(Dropout):
    """backward() reaches the input, through the kept elements"""
    m = Dropout(0.5)
    seed(m, 2)
    y, grads = backward(m, numtorch.randn(8, 8), np.ones((8, 8), dtype=np.float32))
    expect(isinstance(y, numtorch.Tensor) and grads is not None,
           "the output of your Dropout is cut off from autograd: use F.dropout, not NumPy")
    kept = values(y) != 0
    expect(grads.get("arg0") is not None and np.allclose(values(grads["arg0"])[kept], 2.0),
           "the gradient through a kept element should be 1/(1-p) = 2 for p=0.5")
    expect_gradients(m, numtorch.randn(3, 3), [], "Dropout")


@bank.check(task=2)
def extra_repr_matches_torch(Dropout):
    """print(layer) shows Dropout(p=0.5, inplace=False)"""
    for p in (0.5, 0.25):
        expect_repr(Dropout(p), nn.Dropout(p), "Dropout")
