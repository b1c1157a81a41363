"""A Function written as for torch.autograd.Function runs in numtorch and gives torch's values, gradients,
grad_fn name and errors: the functional lab's learners write one."""

import numpy as np
import pytest
import torch

import numtorch


def linear_function(lib, wrong_count=False, transposed=False):
    class LinearFunction(lib.autograd.Function):
        @staticmethod
        def forward(ctx, input, weight, bias=None):
            ctx.save_for_backward(input, weight, bias)
            out = input @ weight.T
            return out if bias is None else out + bias

        @staticmethod
        def backward(ctx, grad_output):
            input, weight, bias = ctx.saved_tensors
            grad_input = grad_output @ weight
            grad_weight = grad_output.reshape(-1, grad_output.shape[-1]).T @ input.reshape(-1, input.shape[-1])
            if transposed:
                grad_weight = grad_weight.T
            grad_bias = None if bias is None else grad_output.reshape(-1, grad_output.shape[-1]).sum(0)
            return (grad_input, grad_weight) if wrong_count else (grad_input, grad_weight, grad_bias)

    return LinearFunction


def run(lib, **wrong):
    rng = np.random.default_rng(0)
    x, w, b, g = rng.standard_normal((2, 5, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4), \
        rng.standard_normal((2, 5, 4))
    x, w, b = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
    out = linear_function(lib, **wrong).apply(x, w, b)
    (out * lib.tensor(g)).sum().backward()
    return out, [t.grad.detach().numpy() for t in (x, w, b)]


def test_a_function_written_as_in_torch_gives_torchs_values_gradients_and_grad_fn():
    (ours, our_grads), (theirs, their_grads) = run(numtorch), run(torch)
    assert np.allclose(ours.detach().numpy(), theirs.detach().numpy())
    assert all(np.allclose(a, b) for a, b in zip(our_grads, their_grads))
    assert ours.grad_fn == type(theirs.grad_fn).__name__ == "LinearFunctionBackward"


def test_without_gradients_needed_apply_records_nothing():
    x, w = numtorch.randn(2, 3), numtorch.randn(4, 3)
    out = linear_function(numtorch).apply(x, w)
    assert not out.requires_grad and out.grad_fn is None


@pytest.mark.parametrize("wrong, says", [
    ({"wrong_count": True}, "function LinearFunctionBackward returned an incorrect number of gradients (expected 3, got 2)"),
    ({"transposed": True}, "Function LinearFunctionBackward returned an invalid gradient at index 1 - got [3, 4] but "
                           "expected shape compatible with [4, 3]"),
])
def test_a_backward_that_returns_the_wrong_gradients_raises_torchs_error(wrong, says):
    for lib in (numtorch, torch):
        with pytest.raises(RuntimeError) as raised:
            run(lib, **wrong)
        assert says in str(raised.value), lib.__name__
