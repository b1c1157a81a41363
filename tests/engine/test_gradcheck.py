"""Every differentiable operation's backward against central differences, in float64, without torch."""
import numpy as np
import pytest

import numtorch
import numtorch.nn.functional as F

from .gradcheck import gradcheck


def arr(*shape, seed=0, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


def away_from_zero(*shape, seed=0):
    """Values in ±[0.3, 2]: no kink of relu/abs/clamp/max within the finite-difference step."""
    a = arr(*shape, seed=seed, low=0.3, high=2.0)
    return a * np.where(np.random.default_rng(seed + 7).random(shape) < 0.5, -1, 1)


def distinct(*shape, seed=0):
    """Values with no ties, so max and max-pooling have a unique winner."""
    return np.random.default_rng(seed).permutation(np.prod(shape)).reshape(shape) * 0.1


def dropped(x):
    numtorch.manual_seed(3)  # the same mask in every evaluation
    return F.dropout(x, p=0.4)


def batch_norm_train(x, w, b):
    return F.batch_norm(x, numtorch.zeros(3, dtype=numtorch.float64), numtorch.ones(3, dtype=numtorch.float64),
                        w, b, training=True)


def batch_norm_eval(x, w, b):
    mean, var = numtorch.tensor(arr(3, seed=9)), numtorch.tensor(arr(3, seed=10, low=0.5, high=2))
    return F.batch_norm(x, mean, var, w, b, training=False)


CASES = {
    # tensor arithmetic and broadcasting
    "add": (lambda a, b: a + b, [arr(2, 3), arr(3, seed=1)]),
    "sub": (lambda a, b: a - b, [arr(2, 1), arr(2, 3, seed=1)]),
    "rsub": (lambda a: 1.5 - a, [arr(2, 3)]),
    "mul": (lambda a, b: a * b, [arr(2, 3), arr(1, 3, seed=1)]),
    "div": (lambda a, b: a / b, [arr(2, 3), away_from_zero(3, seed=1)]),
    "rdiv": (lambda a: 2.0 / a, [away_from_zero(2, 3)]),
    "pow": (lambda a, b: a ** b, [arr(2, 3, low=0.5, high=2), arr(2, 3, seed=1)]),
    "pow_scalar": (lambda a: a ** 3, [arr(2, 3)]),
    "rpow": (lambda a: 2.0 ** a, [arr(2, 3)]),
    "neg": (lambda a: -a, [arr(2, 3)]),
    "matmul": (lambda a, b: a @ b, [arr(2, 3), arr(3, 4, seed=1)]),
    "matmul_batched": (lambda a, b: a @ b, [arr(2, 2, 3), arr(3, 2, seed=1)]),
    "matmul_vector": (lambda a, b: a @ b, [arr(2, 3), arr(3, seed=1)]),
    "dot": (lambda a, b: a @ b, [arr(3), arr(3, seed=1)]),
    # elementwise functions
    "exp": (lambda a: a.exp(), [arr(2, 3)]),
    "log": (lambda a: a.log(), [arr(2, 3, low=0.2, high=3)]),
    "sqrt": (lambda a: a.sqrt(), [arr(2, 3, low=0.2, high=3)]),
    "abs": (lambda a: a.abs(), [away_from_zero(2, 3)]),
    "clamp": (lambda a: a.clamp(-0.1, 0.1), [away_from_zero(2, 3)]),
    "relu": (lambda a: a.relu(), [away_from_zero(2, 3)]),
    "tanh": (lambda a: a.tanh(), [arr(2, 3)]),
    "sigmoid": (lambda a: a.sigmoid(), [arr(2, 3)]),
    "maximum": (lambda a, b: numtorch.max(a, b), [distinct(2, 3), distinct(3, seed=1) - 0.25]),
    "minimum": (lambda a, b: numtorch.min(a, b), [distinct(2, 3), distinct(3, seed=1) - 0.25]),
    "where": (lambda a, b: numtorch.where(a > 0, a, b), [away_from_zero(2, 3), arr(3, seed=1)]),
    # reductions
    "sum": (lambda a: a.sum(), [arr(2, 3)]),
    "sum_dim": (lambda a: a.sum(dim=1), [arr(2, 3, 2)]),
    "sum_dims_keepdim": (lambda a: a.sum(dim=(0, 2), keepdim=True), [arr(2, 3, 2)]),
    "mean": (lambda a: a.mean(), [arr(2, 3)]),
    "mean_dim": (lambda a: a.mean(-1, keepdim=True), [arr(2, 3)]),
    "var": (lambda a: a.var(), [arr(2, 3)]),
    "var_dim_biased": (lambda a: a.var(dim=0, unbiased=False), [arr(4, 3)]),
    "std": (lambda a: a.std(dim=1), [arr(2, 4)]),
    "max": (lambda a: a.max(), [distinct(2, 3)]),
    "max_dim": (lambda a: a.max(dim=1)[0], [distinct(2, 3)]),
    "min_dim_keepdim": (lambda a: a.min(0, keepdim=True).values, [distinct(2, 3)]),
    # shapes and indexing
    "view": (lambda a: a.view(3, 2) * numtorch.tensor(arr(3, 2, seed=5)), [arr(2, 3)]),
    "permute": (lambda a: a.permute(2, 0, 1), [arr(2, 3, 2)]),
    "transpose": (lambda a: a.transpose(0, 1), [arr(2, 3)]),
    "unsqueeze_squeeze": (lambda a: a.unsqueeze(1).squeeze(), [arr(2, 3)]),
    "flatten": (lambda a: numtorch.flatten(a, 1), [arr(2, 3, 2)]),
    "getitem": (lambda a: a[1:, ::2], [arr(3, 4)]),
    "getitem_repeated": (lambda a: a[numtorch.tensor([0, 0, 2])], [arr(3, 2)]),
    "getitem_mask": (lambda a: a[a > 0], [away_from_zero(3, 2)]),
    "cat": (lambda a, b: numtorch.cat([a, b], dim=1), [arr(2, 3), arr(2, 2, seed=1)]),
    "stack": (lambda a, b: numtorch.stack([a, b], dim=1), [arr(2, 3), arr(2, 3, seed=1)]),
    "clone": (lambda a: a.clone(), [arr(2, 3)]),
    # in-place operations on intermediate values
    "add_inplace": (lambda a, b: (a * 1).add_(b), [arr(2, 3), arr(3, seed=1)]),
    "relu_inplace": (lambda a: F.relu(a * 2, inplace=True), [away_from_zero(2, 3)]),
    # nn.functional
    "linear": (lambda x, w, b: F.linear(x, w, b), [arr(2, 3), arr(4, 3, seed=1), arr(4, seed=2)]),
    "linear_no_bias": (lambda x, w: F.linear(x, w), [arr(2, 2, 3), arr(4, 3, seed=1)]),
    "conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2),
               [arr(2, 2, 7), arr(3, 2, 3, seed=1), arr(3, seed=2)]),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, padding=1), [arr(1, 2, 4, 4), arr(3, 2, 3, 3, seed=1), arr(3, seed=2)]),
    "conv2d_strided_dilated": (lambda x, w: F.conv2d(x, w, stride=(2, 1), dilation=(1, 2)),
                               [arr(2, 1, 5, 6), arr(2, 1, 2, 2, seed=1)]),
    "conv2d_groups": (lambda x, w: F.conv2d(x, w, groups=2, padding=(0, 1)), [arr(1, 4, 3, 3), arr(4, 2, 2, 2, seed=1)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), [distinct(1, 2, 4, 4)]),
    "max_pool2d_overlapping": (lambda x: F.max_pool2d(x, 3, stride=1, padding=1), [distinct(1, 1, 4, 5)]),
    "max_pool2d_dilated": (lambda x: F.max_pool2d(x, 2, stride=1, dilation=2), [distinct(1, 1, 5, 5)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), [arr(1, 2, 4, 4)]),
    "avg_pool2d_padded": (lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False), [arr(1, 1, 5, 5)]),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [arr(1, 2, 5, 5)]),  # overlapping windows
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, (2, 3)), [distinct(1, 2, 5, 4)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (3, 4), w, b), [arr(2, 3, 4), arr(3, 4, seed=1), arr(3, 4, seed=2)]),
    "layer_norm_plain": (lambda x: F.layer_norm(x, (4,)), [arr(3, 4)]),
    "embedding": (lambda w: F.embedding(numtorch.tensor([[0, 2, 2], [3, 1, 0]]), w), [arr(4, 3)]),  # padding_idx: no true gradient
    "gelu": (lambda x: F.gelu(x), [arr(3, 4, low=-4, high=4)]),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), [arr(3, 4, low=-4, high=4)]),
    "softmax": (lambda x: F.softmax(x, dim=1), [arr(2, 4)]),
    "log_softmax": (lambda x: F.log_softmax(x, dim=0), [arr(3, 2)]),
    "dropout": (dropped, [arr(4, 5)]),
    "batch_norm_train": (batch_norm_train, [arr(4, 3, 2), arr(3, seed=1), arr(3, seed=2)]),
    "batch_norm_train_2d": (lambda x: batch_norm_train(x, None, None), [arr(2, 3, 2, 2)]),
    "batch_norm_eval": (batch_norm_eval, [arr(4, 3), arr(3, seed=1), arr(3, seed=2)]),
    "cross_entropy": (lambda x, t: F.cross_entropy(x, t), [arr(4, 3), np.array([0, 2, 1, 2])]),
    "cross_entropy_weighted": (lambda x, t: F.cross_entropy(x, t, numtorch.tensor([0.5, 2.0, 1.5]), ignore_index=1),
                               [arr(4, 3), np.array([0, 2, 1, 2])]),
    "nll_loss_sum": (lambda x, t: F.nll_loss(x, t, reduction="sum"), [arr(4, 3), np.array([0, 2, 1, 2])]),
    "mse_loss": (lambda x, y: F.mse_loss(x, y), [arr(2, 3), arr(2, 3, seed=1)]),
    "interpolate_nearest": (lambda x: F.interpolate(x, scale_factor=2), [arr(1, 1, 2, 3)]),
    "interpolate_bilinear": (lambda x: F.interpolate(x, size=(3, 5), mode="bilinear"), [arr(1, 2, 2, 3)]),
    "interpolate_bilinear_corners": (lambda x: F.interpolate(x, size=(4, 4), mode="bilinear", align_corners=True),
                                     [arr(1, 1, 3, 2)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_backward_matches_central_differences(name):
    fn, arrays = CASES[name]
    gradcheck(fn, *arrays)


def test_gradcheck_catches_a_wrong_gradient():
    class Square(numtorch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            return g * ctx.saved[0]  # should be 2 * a * g

    with pytest.raises(AssertionError):
        gradcheck(lambda a: Square.apply(a), arr(3))
