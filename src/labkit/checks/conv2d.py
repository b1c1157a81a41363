"""Checks of lab 1: Conv2d."""

import math

import numtorch
import numtorch.nn.functional as F
from numtorch import nn
from labkit.checks import Bank, Mistake, expect
from labkit.checks.proxies import LearnerRaised, call_traced, is_module
from labkit.checks._common import (expect_gradients, expect_no_parameter, expect_one_call, expect_parameters,
                                   expect_repr, expect_state_dict_keys, expect_uniform, same, shape)

bank = Bank("Lab 1 · Conv2d", {1: "__init__ and reset_parameters", 2: "forward and extra_repr"}, withheld=("Conv2d",))
RULE = ("b = 1/sqrt(fan_in), fan_in = in_channels // groups * kH * kW "
        "(init.kaiming_uniform_(self.weight, a=math.sqrt(5)))")
SENTENCE = "return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)"


def check_task1(Conv2d):
    """Print how your Conv2d.__init__ and reset_parameters do."""
    bank.report(1, Conv2d=Conv2d)


def check_task2(Conv2d):
    """Print how your Conv2d.forward and extra_repr do."""
    bank.report(2, Conv2d=Conv2d)


def summary(Conv2d):
    """Print your points on all the public checks."""
    bank.summary(Conv2d=Conv2d)


@bank.check(task=1)
def keeps_the_arguments_as_pairs(Conv2d):
    """kernel_size, stride, padding and dilation are kept as (h, w) pairs"""
    m = Conv2d(4, 6, 3, stride=2, padding=1)
    expect(is_module(m), "your Conv2d is not an nn.Module: `class Conv2d(nn.Module):`")
    want = {"in_channels": 4, "out_channels": 6, "kernel_size": (3, 3), "stride": (2, 2), "padding": (1, 1),
            "dilation": (1, 1), "groups": 1}
    for name, value in want.items():
        got = getattr(m, name, "missing")
        expect(got == value, f"Conv2d(4, 6, 3, stride=2, padding=1).{name} is {got!r}, but torch's is {value!r}"
               + (": torch turns an int k into the pair (k, k)" if isinstance(value, tuple) else ""))
    expect(Conv2d(4, 6, (3, 5)).kernel_size == (3, 5), "kernel_size=(3, 5) should be kept as (3, 5)")


@bank.check(task=1, points=2)
def weight_has_shape_out_in_over_groups_kh_kw(Conv2d):
    """weight is (out_channels, in_channels // groups, kH, kW), bias (out_channels,)"""
    m = Conv2d(4, 6, (3, 2), groups=2)
    w = getattr(m, "weight", None)
    if w is not None and shape(w) == (6, 4, 3, 2):
        raise Mistake("with groups=2, `self.weight` has shape (6, 4, 3, 2), but torch's is (out_channels, "
                      "in_channels // groups, kH, kW) = (6, 2, 3, 2): each group of outputs sees only its own "
                      "in_channels // groups inputs; you ignored groups")
    if w is not None and shape(w)[:2] in ((4, 6), (2, 6)):
        raise Mistake(f"`self.weight` has shape {shape(w)}: the output channels come first, "
                      "(out_channels, in_channels // groups, kH, kW) = (6, 2, 3, 2)")
    expect_parameters(m, {"weight": (6, 2, 3, 2), "bias": (6,)}, "Conv2d")


@bank.check(task=1)
def state_dict_keys_match_torch(Conv2d):
    """state_dict() has torch's keys: weight, bias"""
    expect_state_dict_keys(Conv2d(2, 3, 3), ["weight", "bias"], "Conv2d")


@bank.check(task=1)
def bias_false_registers_none(Conv2d):
    """Conv2d(..., bias=False) has no bias parameter, and self.bias is None"""
    expect_no_parameter(Conv2d(2, 3, 3, bias=False), "bias", "bias=False", "Conv2d")


@bank.check(task=1, points=2)
def weight_init_is_torchs_default(Conv2d):
    """weight starts uniform on ±1/sqrt(fan_in), fan_in = in_channels // groups * kH * kW"""
    m = Conv2d(8, 64, 3, groups=4)
    fan_in = 8 // 4 * 3 * 3
    reach = float(abs(m.weight.detach().numpy()).max())
    expect(not (0.4 / math.sqrt(fan_in) < reach <= 1.0001 / math.sqrt(8 * 9)),
           f"with groups=4, `self.weight` stays within ±{reach:.3g}: that is 1/sqrt(in_channels * kH * kW), but "
           f"fan_in counts only the inputs one output sees, in_channels // groups * kH * kW = {fan_in}, so torch's "
           f"bound is ±{1 / math.sqrt(fan_in):.3g}; did you initialise the weight before dividing by groups?")
    expect_uniform(m.weight, 1 / math.sqrt(fan_in), "with in_channels=8, groups=4 and a 3×3 kernel, `self.weight`",
                   RULE)


@bank.check(task=1)
def bias_init_is_torchs_default(Conv2d):
    """bias starts uniform on ±1/sqrt(fan_in)"""
    m = Conv2d(2, 2000, 2)
    expect_uniform(m.bias, 1 / math.sqrt(2 * 2 * 2), "with in_channels=2 and a 2×2 kernel, `self.bias`",
                   "b = 1/sqrt(fan_in) (init.uniform_(self.bias, -b, b))")


@bank.check(task=1)
def rejects_groups_that_do_not_divide_the_channels(Conv2d):
    """groups must divide in_channels and out_channels (ValueError otherwise)"""
    for args, what in (((5, 6, 3), "in_channels=5"), ((4, 5, 3), "out_channels=5"), ((4, 4, 3), None)):
        groups = 2 if what else 0
        tried = f"Conv2d({', '.join(map(str, args))}, groups={groups})"
        should = f"{what} is not divisible by groups=2" if what else "groups must be a positive integer"
        try:
            Conv2d(*args, groups=groups)
        except ValueError:
            continue
        except LearnerRaised as error:
            raise Mistake(f"{tried} should raise ValueError ({should}), but your code raised "
                          f"{error.name}: {error}{error.where}") from None
        raise Mistake(f"{tried} should raise ValueError: {should}")


@bank.check(task=2, points=3)
def forward_matches_F_conv2d(Conv2d):
    """module(x) equals F.conv2d(x, weight, bias, stride, padding, dilation, groups)"""
    m = Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    x = numtorch.randn(2, 4, 9, 8)
    y, calls, error = call_traced(m, x)
    call = next((c for c in calls if c["name"] == "conv2d"), None)
    if call:
        names = ["input", "weight", "bias", "stride", "padding", "dilation", "groups"]
        given = set(names[:call["positional"]]) | set(call["keywords"])
        left_out = [n for n in names[3:] if n not in given]
        expect(not left_out, f"your forward calls F.conv2d without {', '.join(left_out)}, so it uses the "
                             f"default; pass every argument: `{SENTENCE}`")
    if error is not None:
        raise error
    expect(isinstance(y, numtorch.Tensor), f"your Conv2d returned a {type(y).__name__}, not a tensor")
    weight = m.weight
    expect(shape(weight) == (6, 2, 3, 2), f"Conv2d(4, 6, (3, 2), groups=2).weight has shape {shape(weight)}, but "
                                          "torch's is (6, 2, 3, 2): F.conv2d cannot use it")
    want = F.conv2d(x, weight, m.bias, (2, 1), (1, 2), (1, 2), 2)
    expect(shape(y) == shape(want), f"for stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2 your output has "
                                    f"shape {shape(y)}, but torch's has {shape(want)}")
    expect(same(y, want), f"your output differs from F.conv2d with the module's own arguments: `{SENTENCE}`")


@bank.check(task=2)
def forward_is_one_call_to_F_conv2d(Conv2d):
    """forward is one call to F.conv2d"""
    expect_one_call(Conv2d(2, 3, 3), numtorch.randn(1, 2, 5, 5), "conv2d", "Conv2d", SENTENCE)


@bank.check(task=2)
def forward_works_without_bias(Conv2d):
    """Conv2d(..., bias=False) adds no bias"""
    m = Conv2d(2, 3, 3, padding=1, bias=False)
    x = numtorch.randn(1, 2, 5, 5)
    y, weight = m(x), m.weight
    expect(isinstance(y, numtorch.Tensor) and shape(weight) == (3, 2, 3, 3) and same(y, F.conv2d(x, weight, None, 1, 1)),
           "with bias=False pass `self.bias` (None) to F.conv2d")


@bank.check(task=2)
def gradients_reach_weight_and_bias(Conv2d):
    """backward() reaches weight, bias and the input"""
    expect_gradients(Conv2d(2, 4, 3, groups=2), numtorch.randn(2, 2, 5, 5), ["weight", "bias"], "Conv2d")


@bank.check(task=2)
def extra_repr_matches_torch(Conv2d):
    """print(layer) shows Conv2d(4, 6, kernel_size=(3, 3), stride=(1, 1), ...) as torch does"""
    for kwargs in ({}, {"stride": 2, "padding": 1, "groups": 2, "bias": False}, {"dilation": 2}):
        expect_repr(Conv2d(4, 6, 3, **kwargs), nn.Conv2d(4, 6, 3, **kwargs), "Conv2d")
