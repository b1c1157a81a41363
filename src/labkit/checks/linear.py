"""Checks of lab 0: Linear."""

import math

import numtorch
import numtorch.nn.functional as F
from numtorch import nn
from labkit.checks import Bank, expect
from labkit.checks.proxies import is_module, seed
from labkit.checks._common import (expect_gradients, expect_no_parameter, expect_one_call, expect_parameters,
                                   expect_repr, expect_state_dict_keys, expect_uniform, same, shape, values)

bank = Bank("Lab 0 · Linear", {1: "__init__ and reset_parameters", 2: "forward and extra_repr"}, withheld=("Linear",))
RULE = "b = 1/sqrt(in_features) (init.kaiming_uniform_(self.weight, a=math.sqrt(5)))"
SENTENCE = "return F.linear(input, self.weight, self.bias)"


def check_task1(Linear):
    """Print how your Linear.__init__ and reset_parameters do."""
    bank.report(1, Linear=Linear)


def check_task2(Linear):
    """Print how your Linear.forward and extra_repr do."""
    bank.report(2, Linear=Linear)


def summary(Linear):
    """Print your points on all the public checks."""
    bank.summary(Linear=Linear)


@bank.check(task=1, points=2)
def registers_weight_and_bias_as_parameters(Linear):
    """weight (out_features, in_features) and bias (out_features,) are Parameters"""
    m = Linear(3, 2)
    expect(is_module(m), "your Linear is not an nn.Module: `class Linear(nn.Module):`")
    w = getattr(m, "weight", None)
    expect(w is None or shape(w) != (3, 2),
           "`self.weight` has shape (in_features, out_features) = (3, 2), but torch's is (out_features, in_features) "
           "= (2, 3): F.linear computes x @ weight.T")
    expect_parameters(m, {"weight": (2, 3), "bias": (2,)}, "Linear")
    expect((m.in_features, m.out_features) == (3, 2), "keep the arguments as `self.in_features` and `self.out_features`")


@bank.check(task=1)
def state_dict_keys_match_torch(Linear):
    """state_dict() has torch's keys: weight, bias"""
    expect_state_dict_keys(Linear(3, 2), ["weight", "bias"], "Linear")
    expect(list(Linear(3, 2).buffers()) == [], "a Linear has no buffers: register weight and bias as Parameters")


@bank.check(task=1)
def bias_false_registers_none(Linear):
    """Linear(..., bias=False) has no bias parameter, and self.bias is None"""
    expect_no_parameter(Linear(3, 2, bias=False), "bias", "bias=False", "Linear")


@bank.check(task=1, points=2)
def weight_init_is_torchs_default(Linear):
    """weight starts uniform on ±1/sqrt(in_features), as in torch"""
    m = Linear(400, 30)
    expect_uniform(m.weight, 1 / math.sqrt(400), "with in_features=400, `self.weight`", RULE)


@bank.check(task=1)
def bias_init_is_torchs_default(Linear):
    """bias starts uniform on ±1/sqrt(in_features), as in torch"""
    m = Linear(16, 2000)
    expect_uniform(m.bias, 1 / math.sqrt(16), "with in_features=16, `self.bias`",
                   "b = 1/sqrt(in_features) (init.uniform_(self.bias, -b, b))")


@bank.check(task=1)
def reset_parameters_draws_again(Linear):
    """reset_parameters() draws fresh weights, reproducibly after manual_seed"""
    m = Linear(5, 4)
    expect(callable(getattr(m, "reset_parameters", None)), "write `reset_parameters(self)` and call it at the end "
                                                           "of __init__, as torch does")
    seed(m, 3)
    m.reset_parameters()
    first = values(m.weight)
    seed(m, 3)
    m.reset_parameters()
    expect(same(first, m.weight), "after the same manual_seed, reset_parameters() gave different weights: "
                                  "draw them with numtorch's init functions, not NumPy's generator")
    before = values(m.weight)
    m.reset_parameters()
    expect(not same(before, m.weight), "reset_parameters() did not change the weights")


@bank.check(task=2, points=2)
def forward_matches_F_linear(Linear):
    """module(x) equals F.linear(x, weight, bias), for any leading dimensions"""
    m = Linear(3, 2)
    weight = m.weight
    expect(shape(weight) == (2, 3), f"Linear(3, 2).weight has shape {shape(weight)}, but torch's is (out_features, "
                                    "in_features) = (2, 3), the layout F.linear expects")
    for x in (numtorch.randn(5, 3), numtorch.randn(2, 4, 3)):
        y = m(x)
        expect(isinstance(y, numtorch.Tensor), f"your Linear returned a {type(y).__name__}, not a tensor")
        want = F.linear(x, m.weight, m.bias)
        expect(shape(y) == shape(want), f"for an input of shape {shape(x)} your Linear returned shape {shape(y)}, "
                                        f"but torch returns {shape(want)}")
        expect(same(y, want), f"your output differs from F.linear(x, self.weight, self.bias): `{SENTENCE}`")


@bank.check(task=2)
def forward_is_one_call_to_F_linear(Linear):
    """forward is one call to F.linear"""
    expect_one_call(Linear(3, 2), numtorch.randn(4, 3), "linear", "Linear", SENTENCE)


@bank.check(task=2)
def forward_works_without_bias(Linear):
    """Linear(..., bias=False) computes x @ weight.T"""
    m = Linear(3, 2, bias=False)
    x = numtorch.randn(4, 3)
    advice = ("with bias=False the output should be x @ weight.T: pass `self.bias` (None) to F.linear, "
              "which then adds nothing")
    try:
        y = m(x)
    except TypeError as error:  # e.g. `F.linear(x, w) + self.bias` with the bias None
        expect("NoneType" not in str(error), f"{advice} (your forward raised `{error}`)")
        raise
    expect(isinstance(y, numtorch.Tensor) and same(y, x @ m.weight.T), advice)


@bank.check(task=2)
def gradients_reach_weight_and_bias(Linear):
    """backward() reaches weight, bias and the input"""
    expect_gradients(Linear(3, 2), numtorch.randn(4, 3), ["weight", "bias"], "Linear")


@bank.check(task=2)
def extra_repr_matches_torch(Linear):
    """print(layer) shows Linear(in_features=3, out_features=2, bias=True)"""
    for bias in (True, False):
        expect_repr(Linear(3, 2, bias=bias), nn.Linear(3, 2, bias=bias), "Linear")
