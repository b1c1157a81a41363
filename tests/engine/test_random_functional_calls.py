"""Random calls of ``nn.functional``, run on numtorch and on torch: each gives the same output and the same gradient
for every input that requires one, or both raise the same kind of exception.

The calls draw their shapes and arguments at random (batched or not, strides, paddings, dilations, groups, kernel
sizes, reductions, class dims), so that many are refused; the words of a refusal are compared where torch's are the
whole message (tests/engine/test_errors.py checks those where numtorch says more). Left out: ``mse_loss`` of shapes
that broadcast, which numtorch refuses by design; a max pooling whose windows all lie in the padding, whose backward
corrupts torch 2.13's heap; a 1-D target of size 1 for one score vector, which torch's forward takes and its backward
refuses.
"""
import random

import numpy as np
import pytest

import numtorch

CALLS_PER_SEED = 60
# numtorch's message starts with torch's words and goes on to say more (tests/engine/test_errors.py, SAME_START)
SAYS_MORE = ("mat1 and mat2 shapes cannot be multiplied", "Expected input batch_size")


def call(rng):
    """(source, {name: (array, requires grad)})."""
    pick = rng.choice
    n, c, h, w, k = pick([1, 2, 3]), pick([1, 2, 3]), pick([1, 3, 4, 5]), pick([1, 3, 4, 6]), pick([1, 2, 3])

    def array(shape, integers=False):
        draw = np.random.default_rng(rng.randrange(1 << 30))
        return np.asarray(draw.integers(0, 3, size=shape), dtype=np.int64) if integers else \
            np.asarray(draw.standard_normal(shape), dtype=np.float32)

    kind = rng.randrange(12)
    if kind == 0:
        return (f"F.linear(x, weight, {pick(['bias', 'None'])})",
                {"x": (array(pick([(n, 4), (4,), (n, c, 4), (n, 3)])), True), "weight": (array((2, 4)), True),
                 "bias": (array(pick([(2,), (1,), (3,)])), True)})
    if kind == 1:
        groups = pick([1, 1, 2])
        return (f"F.conv2d(x, weight, bias, stride={pick([1, 2, (1, 2)])}, padding={pick([0, 1, (1, 0), 2])}, "
                f"dilation={pick([1, 2])}, groups={groups})",
                {"x": (array(pick([(n, c * groups, h, w), (c * groups, h, w), (n, c * groups + 1, h, w)])), True),
                 "weight": (array((2 * groups, c, k, pick([1, 2, 3]))), True), "bias": (array((2 * groups,)), True)})
    if kind == 2:
        padding = pick([0, 1])
        return (f"F.max_pool2d(x, {k}, stride={pick([None, 1, 2])}, padding={padding}, "
                f"dilation={pick([1, 2]) if padding == 0 else 1})", {"x": (array(pick([(n, c, h, w), (c, h, w)])), True)})
    if kind == 3:
        return (f"F.avg_pool2d(x, {k}, stride={pick([None, 1, 2])}, padding={pick([0, 1])})",
                {"x": (array(pick([(n, c, h, w), (c, h, w)])), True)})
    if kind == 4:
        return (f"F.{pick(['softmax', 'log_softmax'])}(x, dim={pick([0, 1, -1, 2])})",
                {"x": (array(pick([(n, c), (n, c, h), (c,)])), True)})
    if kind == 5:
        scores, target = pick([(n, 3), (n, 3, h), (3,)]), pick([(n,), (n, 1), (2,), (n, h), ()])
        if len(scores) == 1 and target == (1,):  # torch's forward takes it, its backward refuses it
            target = ()
        return (f"F.cross_entropy(x, target, reduction={pick(['mean', 'sum', 'none'])!r})",
                {"x": (array(scores), True), "target": (array(target, integers=True), False)})
    if kind == 6:
        return (f"F.batch_norm(x, running_mean, running_var, weight, bias, training={pick([True, False])})",
                {"x": (array(pick([(n, c, h, w), (n, c), (n, c, h)])), True), "running_mean": (array((c,)), False),
                 "running_var": (np.abs(array((c,))) + 0.5, False), "weight": (array((c,)), True),
                 "bias": (array((c,)), True)})
    if kind == 7:
        normalized = pick([(w,), (h, w), (3,)])
        return (f"F.layer_norm(x, {normalized}, weight, bias)",
                {"x": (array((n, h, w)), True), "weight": (array(normalized), True), "bias": (array(normalized), True)})
    if kind == 8:
        return (f"F.embedding(indices, weight, padding_idx={pick([None, 0, 1, -1])})",
                {"indices": (array(pick([(n,), (n, 2)]), integers=True), False), "weight": (array((3, 4)), True)})
    if kind == 9:
        mode = pick(["nearest", "bilinear"])
        return (f"F.interpolate(x, {pick(['size=(5, 7)', 'scale_factor=2', 'scale_factor=1.5', 'size=3'])}, "
                f"mode={mode!r})", {"x": (array((n, c, h, w)), True)})
    if kind == 10:
        return (f"F.adaptive_{pick(['avg', 'max'])}_pool2d(x, {pick([1, 2, (2, 3), (None, 2), 3])!r})",
                {"x": (array(pick([(n, c, h, w), (c, h, w)])), True)})
    return (f"F.conv1d(x, weight, None, stride={pick([1, 2])}, padding={pick([0, 1])})",
            {"x": (array(pick([(n, c, w), (c, w)])), True), "weight": (array((2, c, k)), True)})


def outcome(lib, source, inputs):
    """("value", output, {input: gradient}) or ("raised", type, message)."""
    tensors = {name: lib.tensor(array, requires_grad=grad) for name, (array, grad) in inputs.items()}
    try:
        out = eval(source, {"F": lib.nn.functional, **tensors})
        upstream = np.random.default_rng(5).standard_normal(tuple(out.shape)).astype(np.float32)
        (out * lib.tensor(upstream)).sum().backward()
    except Exception as error:  # noqa: BLE001  (the exception is what is compared)
        return "raised", type(error).__name__, str(error).replace("numtorch.", "torch.")
    return "value", out.detach().numpy(), {name: tensors[name].grad for name, (_, grad) in inputs.items() if grad}


def close(ours, theirs):
    # atol 1e-4: a layer_norm over a normalized shape of one element divides rounding errors by sqrt(eps) in torch
    return ours.shape == theirs.shape and np.allclose(ours, theirs, rtol=1e-4, atol=1e-4, equal_nan=True)


@pytest.mark.parametrize("seed", range(10))
def test_random_functional_calls_give_torchs_outputs_and_gradients_or_its_errors(torch, seed):
    rng = random.Random(seed)
    for number in range(CALLS_PER_SEED):
        source, inputs = call(rng)
        ours, theirs = outcome(numtorch, source, inputs), outcome(torch, source, inputs)
        where = f"call {number} of seed {seed}: {source} on {({k: v[0].shape for k, v in inputs.items()})}"
        assert ours[0] == theirs[0], f"{where}\n  numtorch: {ours}\n  torch:    {theirs}"
        if ours[0] == "raised":
            assert ours[1] == theirs[1], f"{where}\n  numtorch: {ours}\n  torch:    {theirs}"
            assert ours[2] == theirs[2] or ours[2].startswith(SAYS_MORE), f"{where}\n  numtorch: {ours}\n  torch: {theirs}"
            continue
        assert close(ours[1], theirs[1]), f"{where}: output"
        for name, gradient in theirs[2].items():
            if gradient is None:  # an input the call did not use
                assert ours[2][name] is None, f"{where}: gradient of {name}"
            else:
                assert close(ours[2][name].numpy(), gradient.numpy()), f"{where}: gradient of {name}"
