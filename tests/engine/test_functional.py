"""numtorch.nn.functional against torch.nn.functional: values and gradients, fixed and random shapes."""
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import numtorch
import numtorch.nn.functional as F

from .parity import assert_close, assert_parity, rand


def fn(name, *args, **kwargs):
    """``lib.nn.functional.<name>(x, ..., *args, **kwargs)`` as a parity function."""
    return lambda lib, *tensors: getattr(lib.nn.functional, name)(*tensors, *args, **kwargs)


# ----- linear ------------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(batch=st.lists(st.integers(1, 3), max_size=2), in_features=st.integers(1, 5),
       out_features=st.integers(1, 5), bias=st.booleans(), seed=st.integers(0, 1000))
def test_linear_matches_torch_for_random_shapes(batch, in_features, out_features, bias, seed):
    arrays = [rand(*batch, in_features, seed=seed), rand(out_features, in_features, seed=seed + 1)]
    if bias:
        arrays.append(rand(out_features, seed=seed + 2))
    assert_parity(fn("linear"), *arrays)


# ----- convolution ------------------------------------------------------------------------------------
@st.composite
def conv2d_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 1)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    size = tuple(max(1, dilation[d] * (kernel[d] - 1) + 1 - 2 * padding[d] + draw(st.integers(0, 4))) for d in range(2))
    return dict(n=draw(st.integers(1, 2)), c_in=c_in, c_out=c_out, kernel=kernel, stride=stride, padding=padding,
                dilation=dilation, groups=groups, size=size, bias=draw(st.booleans()), seed=draw(st.integers(0, 1000)))


@settings(max_examples=30, deadline=None)
@given(case=conv2d_cases())
def test_conv2d_matches_torch_for_random_shapes_strides_paddings_dilations_and_groups(case):
    x = rand(case["n"], case["c_in"], *case["size"], seed=case["seed"])
    w = rand(case["c_out"], case["c_in"] // case["groups"], *case["kernel"], seed=case["seed"] + 1)
    b = rand(case["c_out"], seed=case["seed"] + 2) if case["bias"] else None
    options = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"], groups=case["groups"])
    if b is None:
        assert_parity(lambda lib, x, w: lib.nn.functional.conv2d(x, w, None, **options), x, w, atol=1e-4)
    else:
        assert_parity(lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, **options), x, w, b, atol=1e-4)


@pytest.mark.parametrize("options", [
    dict(), dict(stride=2), dict(padding=1), dict(padding=(2, 0)), dict(stride=(1, 2), dilation=(2, 1)),
    dict(dilation=2, padding=2), dict(groups=2), dict(groups=4, stride=2, padding=1),
])
def test_conv2d_matches_torch_with_bias_and_keyword_arguments(options):
    groups = options.get("groups", 1)
    x, w, b = rand(2, 4, 7, 6), rand(6 if groups != 4 else 8, 4 // groups, 3, 3, seed=1), rand(6 if groups != 4 else 8, seed=2)
    assert_parity(lambda lib, x, w, b: lib.nn.functional.conv2d(x, weight=w, bias=b, **options), x, w, b, atol=1e-4)


def test_conv2d_accepts_an_unbatched_input_like_torch():
    assert_parity(fn("conv2d", padding=1), rand(3, 5, 5), rand(4, 3, 3, 3, seed=1), atol=1e-4)


@pytest.mark.parametrize("options", [
    dict(), dict(stride=2), dict(padding=2), dict(dilation=3), dict(groups=2), dict(stride=(2,), padding=(1,)),
])
def test_conv1d_matches_torch(options):
    groups = options.get("groups", 1)
    x, w, b = rand(2, 4, 11), rand(6, 4 // groups, 3, seed=1), rand(6, seed=2)
    assert_parity(lambda lib, x, w, b: lib.nn.functional.conv1d(x, w, b, **options), x, w, b, atol=1e-4)
    assert_parity(lambda lib, x, w: lib.nn.functional.conv1d(x, w, **options), x, w, atol=1e-4)
    assert_parity(lambda lib, x, w: lib.nn.functional.conv1d(x, w, **options), x[0], w, atol=1e-4)


# ----- pooling -----------------------------------------------------------------------------------------
@st.composite
def pool_cases(draw, dilated):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilated else (1, 1)
    size = tuple(max(1, dilation[d] * (kernel[d] - 1) + 1 - 2 * padding[d] + draw(st.integers(0, 5))) for d in range(2))
    return dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation, size=size,
                seed=draw(st.integers(0, 1000)))


@settings(max_examples=25, deadline=None)
@given(case=pool_cases(dilated=True))
def test_max_pool2d_matches_torch_for_random_windows(case):
    x = rand(2, 3, *case["size"], seed=case["seed"])
    pool = fn("max_pool2d", case["kernel"], case["stride"], case["padding"], case["dilation"])
    # A dilated window can fall entirely on padding; both give -inf there, and torch a meaningless gradient.
    assume(np.isfinite(pool(numtorch, numtorch.tensor(x)).numpy()).all())
    assert_parity(pool, x)


@settings(max_examples=25, deadline=None)
@given(case=pool_cases(dilated=False), count_include_pad=st.booleans())
def test_avg_pool2d_matches_torch_for_random_windows(case, count_include_pad):
    x = rand(2, 3, *case["size"], seed=case["seed"])
    assert_parity(fn("avg_pool2d", case["kernel"], case["stride"], case["padding"],
                     count_include_pad=count_include_pad), x)


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("args, kwargs", [((2,), {}), ((3,), dict(stride=1)), ((2,), dict(stride=2, padding=1)),
                                          (((2, 3),), dict(stride=(1, 2))), ((3,), dict(stride=2, padding=1))])
def test_pooling_matches_torch_on_batched_and_unbatched_input(name, args, kwargs):
    assert_parity(fn(name, *args, **kwargs), rand(2, 3, 8, 7))
    assert_parity(fn(name, *args, **kwargs), rand(3, 8, 7))


@pytest.mark.parametrize("stride", [17, 1])
def test_max_pool2d_with_a_kernel_of_more_than_256_offsets_matches_torch(stride):
    # 17 x 17 = 289 offsets: the winning offset no longer fits in a byte.
    assert_parity(fn("max_pool2d", 17, stride=stride), rand(2, 3, 20, 21))


def test_max_pool2d_sends_the_gradient_to_the_last_offset_of_a_17x17_window():
    x = numtorch.zeros(1, 1, 17, 17)
    x[0, 0, 16, 15] = 1.0  # offset 287 of 289
    x.requires_grad_()
    F.max_pool2d(x, 17).sum().backward()
    assert x.grad[0, 0, 16, 15].item() == 1.0 and x.grad.sum().item() == 1.0


def test_max_pool2d_sends_the_gradient_of_a_tie_to_one_element_like_torch():
    x = np.ones((1, 1, 4, 4), dtype=np.float32)
    assert_parity(fn("max_pool2d", 2), x)
    assert_parity(fn("max_pool2d", 3, stride=1), x)


# ----- activations --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_and_log_softmax_match_torch(name, dim):
    assert_parity(fn(name, dim=dim), rand(3, 4, 5))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_and_log_softmax_are_stable_for_huge_scores(name):
    x = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -999.0]], dtype=np.float32)
    ours, _ = assert_parity(fn(name, dim=1), x)
    assert np.all(np.isfinite(ours.detach().numpy()))


def test_relu_matches_torch():
    assert_parity(fn("relu"), rand(4, 5))


# ----- dropout --------------------------------------------------------------------------------------------
def test_dropout_in_training_zeroes_about_p_and_scales_the_rest():
    x = numtorch.ones(200, 200, requires_grad=True)
    out = F.dropout(x, p=0.3)
    values = out.detach().numpy()
    np.testing.assert_allclose(np.unique(values), [0.0, 1 / 0.7], rtol=1e-6)
    assert abs((values == 0).mean() - 0.3) < 0.01
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), values)  # the gradient goes through the same mask


def test_dropout_is_identity_when_not_training_or_p_is_zero_and_zero_when_p_is_one(lib):
    x = lib.randn(5, 5)
    assert lib.equal(lib.nn.functional.dropout(x, 0.5, training=False), x)
    assert lib.equal(lib.nn.functional.dropout(x, 0.0), x)
    assert lib.equal(lib.nn.functional.dropout(x, 1.0), lib.zeros(5, 5))


def test_dropout_defaults_to_training_true_even_when_the_model_is_in_eval_mode(lib):
    model = lib.nn.Linear(4, 4).eval()
    out = lib.nn.functional.dropout(model(lib.ones(100, 4)))
    assert (out == 0).sum().item() > 0


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_probabilities_outside_zero_one(lib, p):
    with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, but got {p}"):
        lib.nn.functional.dropout(lib.ones(3), p=p)


# ----- batch norm ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (4, 3, 5, 6)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_in_training_matches_torch_and_updates_buffers_in_place(torch, shape, affine):
    arrays = [rand(*shape, seed=1) * 3 + 1]
    if affine:
        arrays += [rand(3, seed=2), rand(3, seed=3)]
    buffers = {}

    def bn(lib, x, *wb):
        mean, var = lib.tensor(rand(3, seed=4)), lib.tensor(rand(3, seed=5, low=0.5, high=2.0))
        buffers[lib] = (mean, var)
        out = lib.nn.functional.batch_norm(x, mean, var, *wb, training=True, momentum=0.2)
        return out

    assert_parity(bn, *arrays, atol=1e-4)
    for ours, theirs in zip(buffers[numtorch], buffers[torch]):
        assert_close(ours, theirs, what="running statistic")


def test_batch_norm_in_eval_uses_the_running_statistics_and_leaves_them_alone():
    mean, var = rand(3, seed=4), rand(3, seed=5, low=0.5, high=2.0)

    def bn(lib, x, w, b):
        return lib.nn.functional.batch_norm(x, lib.tensor(mean), lib.tensor(var), w, b, training=False)

    assert_parity(bn, rand(4, 3, 2, 2), rand(3, seed=1), rand(3, seed=2), atol=1e-4)
    m, v = numtorch.tensor(mean), numtorch.tensor(var)
    F.batch_norm(numtorch.randn(4, 3), m, v)
    assert m.tolist() == mean.tolist() and v.tolist() == var.tolist()


def test_batch_norm_needs_more_than_one_value_per_channel_in_training(lib):
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        lib.nn.functional.batch_norm(lib.ones(1, 3), None, None, training=True)


# ----- losses ---------------------------------------------------------------------------------------------------
TARGET = np.array([0, 2, 1, 2, 4], dtype=np.int64)


@pytest.mark.parametrize("kwargs", [dict(), dict(reduction="sum"), dict(reduction="none"), dict(ignore_index=2),
                                    dict(weight=np.array([1.0, 2.0, 0.5, 1.0, 3.0], dtype=np.float32)),
                                    dict(weight=np.array([1.0, 2.0, 0.5, 1.0, 3.0], dtype=np.float32),
                                         ignore_index=1, reduction="sum")])
@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_classification_losses_match_torch(name, kwargs):
    def loss(lib, x, t):
        options = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        scores = x if name == "cross_entropy" else lib.nn.functional.log_softmax(x, dim=1)
        return getattr(lib.nn.functional, name)(scores, t, **options)

    assert_parity(loss, rand(5, 5), TARGET)


def test_cross_entropy_over_a_map_of_pixels_matches_torch():
    target = np.random.default_rng(0).integers(0, 3, (2, 4, 5))
    assert_parity(fn("cross_entropy"), rand(2, 3, 4, 5), target)
    assert_parity(fn("cross_entropy", reduction="none"), rand(2, 3, 4, 5), target)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_torch(reduction):
    assert_parity(fn("mse_loss", reduction=reduction), rand(3, 4), rand(3, 4, seed=1))


@pytest.mark.parametrize("legacy", [dict(size_average=False), dict(reduce=False), dict(size_average=True, reduce=True)])
def test_deprecated_size_average_and_reduce_flags_choose_the_reduction_like_torch(torch, legacy):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that the flags are deprecated
        assert_parity(fn("mse_loss", **legacy), rand(3, 4), rand(3, 4, seed=1))
        assert_parity(fn("cross_entropy", **legacy), rand(5, 5), TARGET)
        assert numtorch.nn.MSELoss(**legacy).reduction == torch.nn.MSELoss(**legacy).reduction


def test_an_unknown_reduction_is_refused(lib):
    with pytest.raises(ValueError, match="batchmean is not a valid value for reduction"):
        lib.nn.functional.mse_loss(lib.ones(2), lib.ones(2), reduction="batchmean")
    with pytest.raises(ValueError, match="batchmean is not a valid value for reduction"):
        lib.nn.functional.cross_entropy(lib.ones(2, 3), lib.tensor([0, 1]), reduction="batchmean")


# ----- interpolate -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    dict(scale_factor=2), dict(scale_factor=3, mode="nearest"), dict(size=(7, 5)), dict(size=3), dict(scale_factor=0.5),
    dict(scale_factor=1.5), dict(scale_factor=2, mode="bilinear"), dict(scale_factor=2, mode="bilinear", align_corners=False),
    dict(size=(7, 9), mode="bilinear"), dict(size=(7, 9), mode="bilinear", align_corners=True),
    dict(size=(3, 2), mode="bilinear"), dict(scale_factor=(1.5, 2.5), mode="bilinear"),
    dict(size=1, mode="bilinear", align_corners=True),
])
def test_interpolate_matches_torch(kwargs):
    assert_parity(fn("interpolate", **kwargs), rand(2, 3, 4, 6))



# ----- adaptive pooling -------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(size=st.tuples(st.integers(1, 9), st.integers(1, 9)), out=st.tuples(st.integers(1, 5), st.integers(1, 5)),
       batched=st.booleans(), seed=st.integers(0, 1000))
@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_pooling_matches_torch_for_random_input_and_output_sizes(name, size, out, batched, seed):
    x = rand(*((2,) if batched else ()), 3, *size, seed=seed)
    assert_parity(fn(name, out), x)


@pytest.mark.parametrize("output_size", [1, (2, None), (None, None), [3, 1]])
def test_adaptive_avg_pool2d_takes_output_size_as_torch_does(output_size):
    assert_parity(fn("adaptive_avg_pool2d", output_size), rand(2, 3, 6, 5))


# ----- layer norm, embedding, gelu ----------------------------------------------------------------------
@pytest.mark.parametrize("shape, normalized_shape", [((4, 6), (6,)), ((2, 3, 4, 5), (4, 5)), ((2, 3), [2, 3])])
def test_layer_norm_matches_torch_with_and_without_weight_and_bias(shape, normalized_shape):
    x, w, b = rand(*shape) * 3 + 1, rand(*normalized_shape, seed=1), rand(*normalized_shape, seed=2)
    assert_parity(fn("layer_norm", normalized_shape), x)
    assert_parity(lambda lib, x, w, b: lib.nn.functional.layer_norm(x, normalized_shape, w, b, eps=1e-3), x, w, b)


@pytest.mark.parametrize("padding_idx", [None, 0, -1])
@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_embedding_matches_torch_including_the_padding_row(padding_idx, dtype):
    indices = np.array([[0, 4, 4, 1], [2, 0, 3, 4]], dtype=dtype)
    assert_parity(lambda lib, w, i: lib.nn.functional.embedding(i, w, padding_idx=padding_idx), rand(5, 3), indices)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), scale=st.floats(0.1, 10), approximate=st.sampled_from(["none", "tanh"]))
def test_gelu_matches_torch(seed, scale, approximate):
    assert_parity(fn("gelu", approximate=approximate), rand(4, 5, seed=seed) * scale)
