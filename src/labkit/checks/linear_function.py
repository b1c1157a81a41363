"""Checks of lab 5: LinearFunction (a Function with its own backward) and the Linear on top of it.

The gradients are checked as CS231n checks them: against central differences of the learner's own forward, in
float64, element by element."""

import re

import numpy as np

import numtorch
import numtorch.nn.functional as F
from labkit.checks import Bank, Mistake, expect
from labkit.checks.proxies import LearnerRaised, backward, call_traced, connection_of, is_module
from labkit.checks._common import expect_no_parameter, expect_parameters, same, shape, values

bank = Bank("Lab 5 · A functional with its own backward", {1: "LinearFunction: forward and backward",
                                                           2: "Linear on top of it"}, withheld=("Linear",))
SENTENCE = "return LinearFunction.apply(input, self.weight, self.bias)"
STEP = 1e-6  # central differences in float64: error of order STEP² on a linear map, far below the tolerance
GRADIENTS = ("grad_input", "grad_weight", "grad_bias")
RULES = {"grad_input": "grad_output @ weight, shaped like the input",
         "grad_weight": "grad_output.reshape(-1, out_features).T @ input.reshape(-1, in_features), shaped like the "
                        "weight (out_features, in_features)",
         "grad_bias": "grad_output.reshape(-1, out_features).sum(0), one number per output feature"}


def check_task1(LinearFunction):
    """Print how your LinearFunction does."""
    bank.report(1, LinearFunction=LinearFunction)


def check_task2(Linear):
    """Print how your Linear does."""
    bank.report(2, Linear=Linear)


def summary(LinearFunction, Linear):
    """Print your points on all the public checks."""
    bank.summary(LinearFunction=LinearFunction, Linear=Linear)


def arguments(leading=(2,), bias=True, seed=0):
    """input (*leading, 3), weight (4, 3) and bias (4,) in float64, requiring grad."""
    rng = np.random.default_rng(seed)
    made = [rng.standard_normal((*leading, 3)), rng.standard_normal((4, 3))] + ([rng.standard_normal(4)] if bias
                                                                               else [None])
    return [None if a is None else numtorch.tensor(a).requires_grad_(True) for a in made]


def apply_and_backward(LinearFunction, tensors, weights):
    """LinearFunction.apply(*tensors) on the learner's side, then backward of sum(output * weights): the output and
    the gradient of each argument (None where there is none)."""
    apply = LinearFunction.apply
    connection = connection_of(apply)
    out, answer = connection.request({"op": "call", "ref": connection.encode(apply)["ref"],
                                      "args": [connection.encode(t) for t in tensors], "kwargs": {},
                                      "backward": connection.encode(weights), "grads_of": []}, full=True)
    grads = connection.decode(answer.get("grads"))
    expect(isinstance(out, numtorch.Tensor) and grads is not None,
           "LinearFunction.apply(input, weight, bias) gave no output autograd can go back through: forward must "
           "return a tensor, and the class must subclass torch.autograd.Function")
    return out, [grads.get(f"arg{i}") for i in range(len(tensors))]


def numerical_gradient(LinearFunction, tensors, index, weights):
    """d sum(LinearFunction.apply(*tensors) * weights) / d tensors[index], by central differences."""
    base = [None if t is None else values(t) for t in tensors]
    grad = np.zeros_like(base[index])
    for i in np.ndindex(grad.shape):
        sides = []
        for sign in (1, -1):
            moved = [None if a is None else a.copy() for a in base]
            moved[index][i] += sign * STEP
            out = LinearFunction.apply(*[None if a is None else numtorch.tensor(a) for a in moved])
            sides.append(float((values(out) * weights).sum()))
        grad[i] = (sides[0] - sides[1]) / (2 * STEP)
    return grad


def explain(error: LearnerRaised) -> None:
    """Raise a Mistake naming the gradient for autograd's two errors about what a backward returned."""
    said = str(error)
    wrong_shape = re.search(r"invalid gradient at index (\d) - (.*)", said)
    if wrong_shape and int(wrong_shape[1]) < len(GRADIENTS):
        name = GRADIENTS[int(wrong_shape[1])]
        raise Mistake(f"your backward's {name} has the wrong shape ({wrong_shape[2]}), so autograd refuses every "
                      f"gradient: it is {RULES[name]}") from None
    if "incorrect number of gradients" in said:
        raise Mistake(f"your backward returned the wrong number of gradients ({said.split('(')[-1][:-1]}): "
                      "return one per argument of forward, `grad_input, grad_weight, grad_bias`, None where "
                      "there is none") from None


def expect_gradient_passes_the_numerical_check(LinearFunction, index: int) -> None:
    """The learner's gradient of argument `index` agrees with central differences, for 2-D and then 3-D inputs."""
    name = GRADIENTS[index]
    for leading in ((2,), (2, 2)):
        tensors = arguments(leading)
        weights = np.random.default_rng(1).standard_normal((*leading, 4))
        try:
            _, grads = apply_and_backward(LinearFunction, tensors, weights)
        except LearnerRaised as error:
            explain(error)
            if len(leading) > 1:
                raise Mistake(f"for an input of shape {(*leading, 3)} your backward raised {error.name} ({error}"
                              f"{error.where}), though a 2-D input works: with more dimensions, flatten the leading "
                              "ones (`reshape(-1, n)`) before the matrix products") from None
            raise
        got = grads[index]
        expect(got is not None, f"no {name} reached the {('input', 'weight', 'bias')[index]}: return it from backward "
                                "in its place, `return grad_input, grad_weight, grad_bias`")
        want = numerical_gradient(LinearFunction, tensors, index, weights)
        expect(shape(got) == want.shape, f"your {name} has shape {shape(got)}, but it must be {want.shape}: "
                                         f"{RULES[name]}")
        if not np.allclose(values(got), want, rtol=1e-5, atol=1e-6):
            worst = float(np.max(np.abs(values(got) - want) / np.maximum(np.abs(values(got)) + np.abs(want), 1e-8)))
            raise Mistake(f"for an input of shape {(*leading, 3)} your {name} differs from the numerical gradient of "
                          f"your forward (relative error up to {worst:.2g}): it is {RULES[name]}"
                          + (" (an input with more than two dimensions: flatten the leading ones)"
                             if len(leading) > 1 else ""))


@bank.check(task=1, points=2)
def forward_matches_F_linear(LinearFunction):
    """LinearFunction.apply(input, weight, bias) equals F.linear, with or without bias, for any leading dimensions"""
    for leading, bias in (((5,), True), ((2, 4), True), ((5,), False)):
        input, weight, b = arguments(leading, bias)
        try:
            y = LinearFunction.apply(input, weight, b)
        except TypeError as error:
            if not bias and "NoneType" in str(error):
                raise Mistake(f"with bias=None your forward raised TypeError ({error}): add the bias only when there "
                              "is one, `output if bias is None else output + bias`") from None
            raise
        want = F.linear(input, weight, b)
        expect(isinstance(y, numtorch.Tensor) and shape(y) == shape(want),
               f"for an input of shape {(*leading, 3)} and a weight of shape (4, 3) your forward returned "
               f"{shape(y) if isinstance(y, numtorch.Tensor) else type(y).__name__}, not a tensor of shape "
               f"{shape(want)}: input @ weight.T" + (" + bias" if bias else ""))
        expect(same(y, want, atol=1e-10), f"for an input of shape {(*leading, 3)}" + ("" if bias else " without bias")
               + " your forward differs from F.linear: input @ weight.T" + (" + bias" if bias else ""))
        expect(y.dtype == numtorch.float64, f"your forward turned float64 inputs into {y.dtype}: compute with the "
                                            "tensors it gets, whose dtype autograd's checks rely on")


@bank.check(task=1, points=2)
def grad_input_passes_the_numerical_check(LinearFunction):
    """backward's grad_input agrees with central differences of your forward (float64)"""
    expect_gradient_passes_the_numerical_check(LinearFunction, 0)


@bank.check(task=1, points=2)
def grad_weight_passes_the_numerical_check(LinearFunction):
    """backward's grad_weight agrees with central differences of your forward (float64)"""
    expect_gradient_passes_the_numerical_check(LinearFunction, 1)


@bank.check(task=1)
def grad_bias_passes_the_numerical_check(LinearFunction):
    """backward's grad_bias agrees with central differences of your forward (float64)"""
    expect_gradient_passes_the_numerical_check(LinearFunction, 2)


@bank.check(task=1)
def backward_works_without_bias(LinearFunction):
    """with bias None, backward returns None in its place and the other two gradients"""
    tensors = arguments((3,), bias=False)
    try:
        _, grads = apply_and_backward(LinearFunction, tensors, np.ones((3, 4)))
    except LearnerRaised as error:
        explain(error)
        raise Mistake(f"with bias None your backward raised {error.name} ({error}{error.where}): return None for "
                      "the bias when it is None (`grad_bias = None`), it has no gradient") from None
    expect(grads[0] is not None and grads[1] is not None and same(grads[1], np.ones((4, 3)) * values(tensors[0])
                                                                  .sum(0)),
           "with bias None, grad_input and grad_weight must still come back: "
           f"{RULES['grad_weight']}")


@bank.check(task=2)
def registers_weight_and_bias_as_parameters(Linear):
    """Linear keeps weight (out_features, in_features) and bias as Parameters, as in lab 0"""
    m = Linear(3, 2)
    expect(is_module(m), "your Linear is not an nn.Module: `class Linear(nn.Module):`")
    expect_parameters(m, {"weight": (2, 3), "bias": (2,)}, "Linear")
    expect_no_parameter(Linear(3, 2, bias=False), "bias", "bias=False", "Linear")


@bank.check(task=2, points=2)
def forward_is_one_call_to_your_function(Linear):
    """forward calls LinearFunction.apply, not F: its output and gradients are those of F.linear"""
    m = Linear(3, 2)
    x = numtorch.randn(4, 3)
    y, calls, error = call_traced(m, x)
    names = [c["name"] for c in calls]
    expect(not names, f"your Linear.forward calls {', '.join('F.' + n for n in names)}, so numtorch's backward runs "
                      f"instead of yours: `{SENTENCE}`")
    if error is not None:
        raise error
    expect(isinstance(y, numtorch.Tensor) and same(y, F.linear(x, m.weight, m.bias)),
           f"your Linear's output differs from F.linear(x, self.weight, self.bias): `{SENTENCE}`")


@bank.check(task=2, points=2)
def gradients_reach_weight_bias_and_input(Linear):
    """a backward pass through your Linear gives the weight, the bias and the input F.linear's gradients"""
    for bias in (True, False):
        m = Linear(3, 2, bias=bias)
        x = numtorch.randn(5, 3)
        weights = np.random.default_rng(1).standard_normal((5, 2))
        names = ["weight", "bias"] if bias else ["weight"]
        try:
            out, grads = backward(m, x, weights, names=names)
        except LearnerRaised as error:
            explain(error)
            raise
        expect(grads is not None and isinstance(out, numtorch.Tensor) and out.requires_grad,
               f"the output of your Linear is cut off from autograd: `{SENTENCE}`")
        want = {"arg0": weights @ values(m.weight), "weight": weights.T @ values(x), "bias": weights.sum(0)}
        for name in ["arg0"] + names:
            what = "the input" if name == "arg0" else f"`self.{name}`"
            expect(grads.get(name) is not None, f"no gradient reached {what}" + ("" if bias else " with bias=False")
                   + f": `{SENTENCE}`")
            expect(same(grads[name], want[name], atol=1e-4),
                   f"the gradient {what} gets through your Linear" + ("" if bias else " with bias=False")
                   + " differs from F.linear's: check your LinearFunction.backward")
