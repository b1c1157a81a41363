"""Bad input gets a clear error, in torch's words, never a wrong answer."""
import pytest

import numtorch



def F_(lib):
    return lib.nn.functional


def _view_made_without_grad(lib, tensor):
    with lib.no_grad():
        return tensor[0]


def errors(make, torch):
    """The exception each library, numtorch then torch, raises for ``make(lib)``."""
    caught = []
    for lib in (numtorch, torch):
        with pytest.raises(Exception) as info:
            make(lib)
        caught.append(info.value)
    return caught


SAME_TEXT = {
    "conv2d channels": lambda lib: F_(lib).conv2d(lib.zeros(1, 2, 5, 5), lib.zeros(4, 3, 3, 3)),
    "Conv2d channels": lambda lib: lib.nn.Conv2d(3, 4, 3)(lib.zeros(1, 1, 5, 5)),
    "Conv1d channels": lambda lib: lib.nn.Conv1d(3, 4, 3)(lib.zeros(2, 2, 10)),
    "conv2d groups": lambda lib: F_(lib).conv2d(lib.zeros(1, 4, 5, 5), lib.zeros(4, 1, 3, 3), groups=2),
    "conv2d bias": lambda lib: F_(lib).conv2d(lib.zeros(1, 1, 5, 5), lib.zeros(2, 1, 3, 3), lib.zeros(3)),
    "conv2d rank": lambda lib: lib.nn.Conv2d(3, 4, 3)(lib.zeros(5, 5)),
    "conv2d rank 5": lambda lib: F_(lib).conv2d(lib.zeros(1, 1, 3, 5, 5), lib.zeros(1, 1, 3, 3)),
    "conv1d rank": lambda lib: lib.nn.Conv1d(3, 4, 3)(lib.zeros(10)),
    "BatchNorm2d rank": lambda lib: lib.nn.BatchNorm2d(3)(lib.zeros(2, 3, 4)),
    "BatchNorm1d rank": lambda lib: lib.nn.BatchNorm1d(3)(lib.zeros(3)),
    "BatchNorm features": lambda lib: lib.nn.BatchNorm2d(3)(lib.zeros(2, 4, 2, 2)),
    "BatchNorm one value": lambda lib: lib.nn.BatchNorm1d(3)(lib.zeros(1, 3)),
    "Dropout p": lambda lib: lib.nn.Dropout(p=1.5),
    "dropout p": lambda lib: F_(lib).dropout(lib.ones(2), p=-0.2),
    "Parameter before init": lambda lib: type("Net", (lib.nn.Module,), {"__init__": lambda self: setattr(
        self, "w", lib.nn.Parameter(lib.zeros(1)))})(),
    "Linear before init": lambda lib: type("Net", (lib.nn.Module,), {"__init__": lambda self: setattr(
        self, "fc", lib.nn.Linear(1, 1))})(),
    "load_state_dict size": lambda lib: lib.nn.Linear(2, 2).load_state_dict({"weight": lib.zeros(3, 2),
                                                                               "bias": lib.zeros(2)}),
    "load_state_dict keys": lambda lib: lib.nn.Sequential(lib.nn.Linear(2, 2)).load_state_dict(
        {"0.weight": lib.zeros(2, 2), "1.bias": lib.zeros(2)}),
    "broadcast": lambda lib: lib.zeros(2, 3) + lib.zeros(4),
    "matmul": lambda lib: lib.zeros(2, 3) @ lib.zeros(4, 2),
    "matmul 0-d": lambda lib: lib.zeros(3) @ lib.tensor(2.0),
    "linear 0-d": lambda lib: F_(lib).linear(lib.tensor(1.0), lib.zeros(2, 3)),
    "cat sizes": lambda lib: lib.cat([lib.zeros(2, 3), lib.zeros(2, 4)]),
    "view": lambda lib: lib.zeros(2, 3).view(4, 2),
    "transpose dim": lambda lib: lib.zeros(2, 3).transpose(0, 2),
    "unsqueeze dim": lambda lib: lib.zeros(2, 3).unsqueeze(4),
    "squeeze dim": lambda lib: lib.zeros(2, 3).squeeze(-3),
    "flatten dims": lambda lib: lib.zeros(2, 3).flatten(1, 0),
    "Flatten of a vector": lambda lib: lib.nn.Flatten()(lib.zeros(3)),
    "in-place leaf": lambda lib: lib.ones(2, requires_grad=True).mul_(2),
    "in-place shape": lambda lib: lib.zeros(3).add_(lib.zeros(2, 3)),
    "numpy with grad": lambda lib: lib.ones(2, requires_grad=True).numpy(),
    "backward without grad": lambda lib: lib.ones(2).sum().backward(),
    "item of many": lambda lib: lib.ones(2).item(),
    "nesterov": lambda lib: lib.optim.SGD([lib.nn.Parameter(lib.ones(1))], lr=0.1, nesterov=True),
    "conv2d kernel too big": lambda lib: F_(lib).conv2d(lib.zeros(1, 1, 5, 2), lib.zeros(1, 1, 3, 3)),
    "interpolate size and scale": lambda lib: F_(lib).interpolate(lib.zeros(1, 1, 2, 2), size=3, scale_factor=2),
    "reduction": lambda lib: F_(lib).mse_loss(lib.ones(2), lib.ones(2), reduction="avg"),
    "adaptive_max_pool2d rank": lambda lib: F_(lib).adaptive_max_pool2d(lib.zeros(2, 3), 1),
    "AdaptiveMaxPool2d rank": lambda lib: lib.nn.AdaptiveMaxPool2d(2)(lib.zeros(1, 1, 1, 4, 4)),
    "layer_norm shape": lambda lib: F_(lib).layer_norm(lib.zeros(2, 3), (4,)),
    "LayerNorm shape": lambda lib: lib.nn.LayerNorm([3, 4])(lib.zeros(2, 4, 3)),
    "layer_norm int shape": lambda lib: F_(lib).layer_norm(lib.zeros(2, 3), 3),
    "layer_norm weight": lambda lib: F_(lib).layer_norm(lib.zeros(2, 3), (3,), lib.ones(4)),
    "Unflatten sizes": lambda lib: lib.nn.Unflatten(1, (3, 5))(lib.zeros(2, 10)),
    "Unflatten not a tuple": lambda lib: lib.nn.Unflatten(1, 10),
    "Unflatten float size": lambda lib: lib.nn.Unflatten(1, (2.0, 5)),
    "DataLoader batch_size": lambda lib: lib.utils.data.DataLoader(range(3), batch_size=0),
    "DataLoader float batch_size": lambda lib: lib.utils.data.DataLoader(range(3), batch_size=2.0),
    "DataLoader drop_last": lambda lib: lib.utils.data.DataLoader(range(3), drop_last=1),
    "DataLoader sampler and shuffle": lambda lib: lib.utils.data.DataLoader(range(3), shuffle=True, sampler=[0, 1]),
    "DataLoader num_workers": lambda lib: lib.utils.data.DataLoader(range(3), num_workers=-1),
    "default_collate type": lambda lib: list(lib.utils.data.DataLoader([object()] * 3, batch_size=2)),
    "default_collate ragged": lambda lib: list(lib.utils.data.DataLoader([[1, 2], [3]], batch_size=2)),
    "scheduler without optimizer": lambda lib: lib.optim.lr_scheduler.StepLR(lib.nn.Linear(1, 1), 2),
    "LambdaLR lambdas": lambda lib: lib.optim.lr_scheduler.LambdaLR(
        lib.optim.SGD(lib.nn.Linear(1, 1).parameters(), lr=0.1), [lambda e: 1.0, lambda e: 0.5]),
    "AdamW beta": lambda lib: lib.optim.AdamW(lib.nn.Linear(1, 1).parameters(), betas=(0.9, 1.0)),
    "AdamW weight_decay": lambda lib: lib.optim.AdamW(lib.nn.Linear(1, 1).parameters(), weight_decay=-0.1),
    "sum dim": lambda lib: lib.zeros(2, 3).sum(2),
    "sum dims": lambda lib: lib.zeros(2, 3).sum((0, -3)),
    "sum dim twice": lambda lib: lib.zeros(2, 3).sum((0, -2)),
    "mean dim": lambda lib: lib.zeros(2, 3).mean(-3),
    "std dim": lambda lib: lib.zeros(2, 3).std(2),
    "max dim": lambda lib: lib.zeros(2, 3).max(2),
    "argmax dim": lambda lib: lib.zeros(2, 3).argmax(-3),
    "sum dim of a scalar": lambda lib: lib.tensor(3.0).sum(1),
    "softmax dim": lambda lib: F_(lib).softmax(lib.zeros(2, 3), 2),
    "log_softmax dim": lambda lib: F_(lib).log_softmax(lib.zeros(2, 3), -3),
    "stack dim": lambda lib: lib.stack([lib.zeros(2, 3), lib.zeros(2, 3)], 3),
    "std of integers": lambda lib: lib.tensor([1, 2]).std(),
    "var of booleans": lambda lib: lib.tensor([True, False]).var(),
    "softmax of integers": lambda lib: F_(lib).softmax(lib.tensor([[1, 2]]), 1),
    "softmax of integers, not the last dim": lambda lib: F_(lib).softmax(lib.tensor([[1, 2]]), 0),
    "log_softmax of integers": lambda lib: F_(lib).log_softmax(lib.tensor([1, 2], dtype=lib.int32), 0),
    "dropout of integers": lambda lib: F_(lib).dropout(lib.tensor([1, 2]), 0.5, True),
    "int of many": lambda lib: int(lib.zeros(2)),
    "float of many": lambda lib: float(lib.zeros(1, 2)),
    "zeros negative": lambda lib: lib.zeros(2, -1),
    "ones negative": lambda lib: lib.ones(-1),
    "empty negative": lambda lib: lib.empty((2, -1)),
    "full negative": lambda lib: lib.full((2, -1), 1.0),
    "rand negative": lambda lib: lib.rand(2, -1),
    "randn negative": lambda lib: lib.randn(-3),
    "randint negative": lambda lib: lib.randint(0, 5, (2, -1)),
    "randint empty range": lambda lib: lib.randint(5, 2, (2,)),
    "randperm negative": lambda lib: lib.randperm(-1),
    "Linear negative": lambda lib: lib.nn.Linear(-1, 2),
    "Conv2d negative": lambda lib: lib.nn.Conv2d(1, -1, 3),
    "arange step 0": lambda lib: lib.arange(0, 5, 0),
    "arange step sign": lambda lib: lib.arange(5, 0, 1),
    "linspace steps": lambda lib: lib.linspace(0, 1, -1),
    "reshape two inferred": lambda lib: lib.zeros(6).reshape(-1, -1),
    "reshape -2": lambda lib: lib.zeros(6).reshape(-2, 3),
    "view two inferred": lambda lib: lib.zeros(6).view(2, -1, -1),
    "grad of another size": lambda lib: setattr(lib.nn.Parameter(lib.ones(2)), "grad", lib.zeros(3)),
    "grad of another dtype": lambda lib: setattr(lib.nn.Parameter(lib.ones(2)), "grad",
                                                 lib.zeros(2, dtype=lib.float64)),
    "grad not a tensor": lambda lib: setattr(lib.ones(2, requires_grad=True), "grad", [1.0, 2.0]),
    "negation of booleans": lambda lib: -lib.tensor([True, False]),
    "integers to a negative power": lambda lib: lib.tensor([2, 3]) ** -1,
    "gelu of integers": lambda lib: F_(lib).gelu(lib.tensor([1, 2])),
    "rand_like of integers": lambda lib: lib.rand_like(lib.tensor([1, 2])),
    "randn of integers": lambda lib: lib.randn(2, dtype=lib.int64),
    "cross_entropy with int32 targets": lambda lib: F_(lib).cross_entropy(lib.zeros(2, 3),
                                                                           lib.tensor([0, 1], dtype=lib.int32)),
    "nll_loss with float targets": lambda lib: F_(lib).nll_loss(lib.zeros(2, 3), lib.tensor([0.0, 1.0])),
    "expand to a mismatched size": lambda lib: lib.ones(2, 3).expand(4, 3),
    "expand to fewer dims": lambda lib: lib.ones(2, 3).expand(3),
    "expand a vector to a mismatched size": lambda lib: lib.ones(3).expand(2, 4),
    "assign to a slice a value too wide": lambda lib: lib.zeros(4, 3).__setitem__((slice(None), slice(0, 2)),
                                                                                  lib.ones(4, 3)),
    "assign to a row a matrix": lambda lib: lib.zeros(4, 3).__setitem__(0, lib.ones(2, 3)),
    "assign to a row a vector too short": lambda lib: lib.zeros(4, 3).__setitem__(0, lib.ones(2)),
    "assign through an index a mismatched value": lambda lib: lib.zeros(4, 3).__setitem__(lib.tensor([0, 1]),
                                                                                           lib.ones(2, 2)),
    "assign to a row that needs grad a matrix": lambda lib: (lib.zeros(4, 3, requires_grad=True) * 1).__setitem__(
        0, lib.ones(2, 3)),
    "in place on a view of a leaf that needs grad": lambda lib: lib.zeros(4, 3, requires_grad=True)[0].mul_(2),
    "in place on a view made under no_grad": lambda lib: _view_made_without_grad(
        lib, lib.ones(2, 2, requires_grad=True) * 1).mul_(2),
    "in place on a view of a leaf made under no_grad": lambda lib: _view_made_without_grad(
        lib, lib.ones(2, 2, requires_grad=True)).mul_(2),
    "assign to a row of a leaf that needs grad": lambda lib: lib.zeros(4, 3, requires_grad=True).__setitem__(0, 1.0),
    "assign through an index to a leaf that needs grad": lambda lib: lib.zeros(4, 3, requires_grad=True).__setitem__(
        lib.tensor([0, 2]), 1.0),
    "subtract a bool tensor": lambda lib: lib.ones(2) - lib.tensor([True, False]),
    "subtract a bool mask from 1": lambda lib: 1 - (lib.ones(3) > 0.5),
    "subtract a bool tensor, scaled": lambda lib: lib.ones(2).sub(lib.tensor([True, False]), alpha=2),
    "subtract True": lambda lib: lib.ones(2) - True,
    "subtract two bools": lambda lib: lib.tensor([True, False]) - True,
    "negate a bool tensor": lambda lib: -lib.tensor([True]),
    "abs of a bool tensor": lambda lib: lib.tensor([True]).abs(),
    "relu of a bool tensor": lambda lib: F_(lib).relu(lib.tensor([True])),
    "argmax of a bool tensor": lambda lib: lib.tensor([True, False]).argmax(),
    "remainder of bools": lambda lib: lib.tensor([True]) % True,
    "floor division of bools": lambda lib: lib.tensor([True]) // lib.tensor([True]),
    "integer floor division by False": lambda lib: lib.tensor([3]) // lib.tensor([False]),
    "integer remainder by zero": lambda lib: lib.tensor([3, 4]) % lib.tensor([1, 0]),
    "mean of integers": lambda lib: lib.tensor([1, 2]).mean(),
    "max of no elements": lambda lib: lib.zeros(0).max(),
    "min along an empty dim": lambda lib: lib.zeros(0, 2).min(0),
    "argmax of no elements": lambda lib: lib.zeros(0).argmax(),
    "argmax along an empty dim": lambda lib: lib.zeros(0, 2).argmax(0),
    "t of a 3-D tensor": lambda lib: lib.zeros(2, 2, 2).t(),
    "a 0-d tensor's dim out of range": lambda lib: lib.tensor(1.0).sum(1),
    "a 0-d tensor's dim twice": lambda lib: lib.tensor(1.0).sum((0, -1)),
    "conv1d kernel too big": lambda lib: F_(lib).conv1d(lib.zeros(1, 1, 2), lib.zeros(1, 1, 3)),
    "conv2d kernel too wide": lambda lib: F_(lib).conv2d(lib.zeros(1, 1, 5, 2), lib.zeros(1, 1, 3, 3), padding=(1, 0)),
    "linear bias size": lambda lib: F_(lib).linear(lib.zeros(5, 6, 4), lib.zeros(2, 4), lib.zeros(3)),
    "linear bias of a vector": lambda lib: F_(lib).linear(lib.zeros(4), lib.zeros(2, 4), lib.zeros(3)),
    "linear bias rank": lambda lib: F_(lib).linear(lib.zeros(5, 4), lib.zeros(2, 4), lib.zeros(2, 1)),
    "max_pool2d output too small": lambda lib: F_(lib).max_pool2d(lib.zeros(5, 2, 1, 3), 2),
    "avg_pool2d output too small": lambda lib: F_(lib).avg_pool2d(lib.zeros(2, 1, 4), 2),
    "max_pool2d padding": lambda lib: F_(lib).max_pool2d(lib.zeros(1, 1, 8, 8), (2, 3), padding=(1, 2)),
    "avg_pool2d padding": lambda lib: F_(lib).avg_pool2d(lib.zeros(1, 1, 8, 8), (3, 2), padding=2),
    "dilated max_pool2d padding": lambda lib: F_(lib).max_pool2d(lib.zeros(1, 1, 8, 8), 2, padding=(1, 2),
                                                                 dilation=(1, 3)),
    "2-D target of a batch of scores": lambda lib: F_(lib).cross_entropy(lib.zeros(2, 3), lib.zeros(2, 1).long()),
    "target of the wrong size for unbatched scores": lambda lib: F_(lib).nll_loss(lib.zeros(3), lib.zeros(2).long()),
    "2-D target of unbatched scores": lambda lib: F_(lib).cross_entropy(lib.zeros(3), lib.zeros(2, 1).long()),
    "target without the spatial dims": lambda lib: F_(lib).cross_entropy(lib.zeros(2, 3, 4), lib.zeros(2).long()),
    "target with other spatial dims": lambda lib: F_(lib).nll_loss(lib.zeros(2, 3, 4), lib.zeros(2, 4, 1).long()),
    "2-D target of images": lambda lib: F_(lib).cross_entropy(lib.zeros(2, 3, 4, 5), lib.zeros(2, 4).long()),
    "target of other images": lambda lib: F_(lib).cross_entropy(lib.zeros(2, 3, 4, 5), lib.zeros(2, 4, 6).long()),
    "integer target of the scores' shape": lambda lib: F_(lib).cross_entropy(lib.zeros(2, 3), lib.zeros(2, 3).long()),
    "index out of bounds": lambda lib: lib.zeros(2, 3)[:, 7],
    "negative index out of bounds": lambda lib: lib.zeros(2, 3)[-3],
    "index tensor out of bounds": lambda lib: lib.zeros(2, 3)[lib.tensor([0, 5])],
    "assign out of bounds": lambda lib: lib.zeros(2, 3).__setitem__((0, 4), 1.0),
    "too many indices": lambda lib: lib.zeros(2, 3)[0, 1, 2],
    "mask of another shape": lambda lib: lib.zeros(2, 3)[lib.ones(3, 3) > 0],
    "float index": lambda lib: lib.zeros(2, 3)[1.5],
    "index tensors that do not broadcast": lambda lib: lib.zeros(4, 3)[lib.tensor([0, 1, 2]), lib.tensor([0, 1])],
    "index 0 of a 0-d tensor": lambda lib: lib.tensor(1.0)[0],  # loss.data[0], from code older than PyTorch 0.4
    "index 2 of a 0-d tensor": lambda lib: lib.tensor(1.0)[2],
    "slice of a 0-d tensor": lambda lib: lib.tensor(1.0)[1:],
    "compare shapes that do not broadcast": lambda lib: lib.zeros(3, 1) == lib.zeros(4, 1),
    "order shapes that do not broadcast": lambda lib: lib.zeros(1, 2) < lib.zeros(1, 4),
    "allclose of shapes that do not broadcast": lambda lib: lib.allclose(lib.zeros(3, 3), lib.zeros(3, 4)),
    "where of shapes that do not broadcast": lambda lib: lib.where(lib.zeros(3) > 0, lib.zeros(3), lib.zeros(4)),
    "remainder of shapes that do not broadcast": lambda lib: lib.tensor([1, 2]) % lib.tensor([0, 1, 1, 1]),
    "dot of vectors of two sizes": lambda lib: lib.zeros(3) @ lib.zeros(4),
    "dot of vectors of two sizes and dtypes": lambda lib: lib.zeros(3, dtype=lib.float64) @ lib.zeros(1),
    "matrix times a vector of another size": lambda lib: lib.zeros(2, 3) @ lib.zeros(4),
    "batch times a vector of another size": lambda lib: lib.zeros(5, 2, 3) @ lib.zeros(4),
    "batches of matrices that do not fit": lambda lib: lib.zeros(7, 5, 2, 3) @ lib.zeros(5, 4, 2),
    "a vector times a batch that does not fit": lambda lib: lib.zeros(3) @ lib.zeros(5, 4, 2),
    "batches that do not broadcast": lambda lib: lib.zeros(5, 2, 3) @ lib.zeros(6, 3, 2),
    "cat of a 0-d tensor": lambda lib: lib.cat([lib.zeros(1), lib.tensor(1.0)]),
    "size of a 0-d tensor": lambda lib: lib.tensor(1.0).size(0),
    "size of a dim out of range": lambda lib: lib.zeros(0, 3).size(-3),
    "expand with -1 in a new dim": lambda lib: lib.zeros(1).expand(-1, 1),
    "bool of many values": lambda lib: bool(lib.zeros(3)),
    "bool of no values": lambda lib: bool(lib.zeros(0)),
    "stack sizes": lambda lib: lib.stack([lib.zeros(3, 1), lib.zeros(3, 1), lib.zeros(1)]),
}


@pytest.mark.parametrize("case", sorted(SAME_TEXT))
def test_error_has_torchs_type_and_text(case, torch):
    ours, theirs = errors(SAME_TEXT[case], torch)
    assert type(ours) is type(theirs)
    expected = str(theirs).replace("torch.Size", "numtorch.Size").replace("torch.nn.Parameter", "numtorch.nn.Parameter")
    assert str(ours) == expected


SAME_START = {  # numtorch says a little more than torch, after torch's words
    "linear features": (lambda lib: lib.nn.Linear(3, 4)(lib.zeros(2, 5)), "mat1 and mat2 shapes cannot be multiplied (2x5 and 3x4)"),
    "Conv2d groups": (lambda lib: lib.nn.Conv2d(3, 4, 3, groups=2), "in_channels must be divisible by groups"),
    "target out of range": (lambda lib: F_(lib).cross_entropy(lib.zeros(2, 3), lib.tensor([0, 3])), "Target 3 is out of bounds"),
    "batch sizes": (lambda lib: F_(lib).cross_entropy(lib.zeros(4, 3), lib.tensor([0, 1])),
                    "Expected input batch_size (4) to match target batch_size (2)"),
    "0-d target of a batch": (lambda lib: F_(lib).nll_loss(lib.zeros(2, 3), lib.tensor(1)),
                              "Expected input batch_size (2) to match target batch_size (0)"),
    "result type": (lambda lib: lib.zeros(2, dtype=lib.int64).add_(1.5), "result type "),
    "backward non-scalar": (lambda lib: (lib.ones(2, requires_grad=True) * 2).backward(),
                            "grad can be implicitly created only for scalar outputs"),
    "embedding float indices": (lambda lib: F_(lib).embedding(lib.ones(2), lib.ones(3, 2)),
                                "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                                "Long, Int; but got "),
    "embedding index out of range": (lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([[0, 3]])), "index out of range in self"),
    "embedding negative index": (lambda lib: F_(lib).embedding(lib.tensor([-1]), lib.ones(3, 2)), "index out of range in self"),
    "Embedding padding_idx": (lambda lib: lib.nn.Embedding(3, 2, padding_idx=3), "Padding_idx must be within num_embeddings"),
    "embedding padding_idx": (lambda lib: F_(lib).embedding(lib.tensor([0]), lib.ones(3, 2), padding_idx=-4),
                              "Padding_idx must be within num_embeddings"),
    "gelu approximate": (lambda lib: F_(lib).gelu(lib.zeros(2), approximate="fast"),
                         "approximate argument must be either none or tanh"),
    "GELU approximate": (lambda lib: lib.nn.GELU("sigmoid")(lib.zeros(2)), "approximate argument must be either none or tanh"),
    "TensorDataset sizes": (lambda lib: lib.utils.data.TensorDataset(lib.zeros(4, 2), lib.zeros(3)),
                            "Size mismatch between tensors"),
}


@pytest.mark.parametrize("case", sorted(SAME_START))
def test_error_starts_with_torchs_words(case, torch):
    make, start = SAME_START[case]
    ours, theirs = errors(make, torch)
    assert type(ours) is type(theirs)
    assert str(theirs).startswith(start) and str(ours).startswith(start)


def test_linear_feature_mismatch_names_both_numbers():
    with pytest.raises(RuntimeError, match="the input has 5 features but the weight expects in_features=3"):
        numtorch.nn.Linear(3, 4)(numtorch.zeros(2, 5))


def test_mse_loss_refuses_shapes_that_torch_would_silently_broadcast():
    with pytest.raises(RuntimeError, match=r"input size \[4, 1\] and target size \[4\] differ"):
        numtorch.nn.MSELoss()(numtorch.zeros(4, 1), numtorch.zeros(4))


@pytest.mark.parametrize("make", [
    lambda: numtorch.nn.MaxPool2d(2, ceil_mode=True)(numtorch.zeros(1, 1, 5, 5)),
    lambda: numtorch.nn.Conv2d(1, 1, 3, padding_mode="reflect"),
    lambda: numtorch.nn.functional.interpolate(numtorch.zeros(1, 1, 2, 2), scale_factor=2, mode="bicubic"),
    lambda: numtorch.nn.functional.cross_entropy(numtorch.zeros(2, 3), numtorch.tensor([0, 1]), label_smoothing=0.1),
    lambda: numtorch.nn.functional.cross_entropy(numtorch.zeros(2, 3), numtorch.full((2, 3), 1 / 3)),  # probabilities
    lambda: numtorch.nn.functional.max_pool2d(numtorch.zeros(1, 1, 4, 4), 2, return_indices=True),
    lambda: numtorch.nn.functional.adaptive_max_pool2d(numtorch.zeros(1, 1, 4, 4), 2, return_indices=True),
    lambda: numtorch.nn.Embedding(4, 2, max_norm=1.0),
    lambda: numtorch.utils.data.DataLoader(range(4), num_workers=2),
])
def test_unsupported_options_are_refused_rather_than_ignored(make):
    with pytest.raises(NotImplementedError, match="numtorch"):
        make()


# Products and normalisations of mixed dtypes: torch promotes elementwise ops, but these it refuses, in words that
# name the kernel it picked. Each case builds its tensors by dtype name, so that one recipe runs on both libraries.
def _products():
    for a_dims, b_dims in [(1, 1), (1, 2), (2, 1), (2, 2), (3, 2), (2, 3), (3, 3), (4, 4), (3, 1), (1, 3)]:
        a, b = (2,) * (a_dims - 1) + (3,), (3,) if b_dims == 1 else (2,) * (b_dims - 2) + (3, 2)
        for dtypes in [("float32", "float64"), ("float64", "float32")]:
            yield f"matmul {a_dims}D {dtypes[0]} @ {b_dims}D {dtypes[1]}", ("matmul", a, b, *dtypes)
    for other in ["int64", "int32", "float16", "bool", "uint8"]:
        yield f"matmul float32 @ {other}", ("matmul", (2, 3), (3, 2), "float32", other)
    for shape in [(3,), (2, 3), (5, 2, 3)]:
        for dtypes in [("float32", "float64", None), ("float64", "float32", None), ("float32", "float32", "float64"),
                       ("float32", "float64", "float32"), ("float32", "float64", "float64"),
                       ("float64", "float32", "float32")]:
            yield f"linear {len(shape)}D {'/'.join(map(str, dtypes))}", ("linear", shape, *dtypes)
    for name, shape in [("conv2d", (1, 1, 4, 4)), ("conv1d", (1, 1, 4))]:
        for dtypes in [("float32", "float64", None), ("float64", "float32", None), ("float32", "float32", "float64"),
                       ("float32", "float64", "float64"), ("float64", "float32", "float64")]:
            yield f"{name} {'/'.join(map(str, dtypes))}", (name, shape, *dtypes)


def _normalisations():
    import itertools
    for dtypes in itertools.product(["float32", "float64"], repeat=5):  # input, weight, bias, running mean, var
        if len(set(dtypes)) > 1:
            yield f"batch_norm {'/'.join(dtypes)}", ("batch_norm", *dtypes)
    for dtypes in [("float32", None, None, "float64", "float64"), ("float32", None, None, "int64", "float32"),
                   ("float64", "float32", "float32", None, None)]:
        yield f"batch_norm {'/'.join(map(str, dtypes))}", ("batch_norm", *dtypes)
    for dtypes in itertools.product(["float32", "float64"], repeat=3):  # input, weight, bias
        if len(set(dtypes)) > 1:
            yield f"layer_norm {'/'.join(dtypes)}", ("layer_norm", *dtypes)


MIXED_DTYPES = dict([*_products(), *_normalisations()])


def _mixed(lib, recipe):
    F = lib.nn.functional
    make = lambda shape, dtype: None if dtype is None else lib.zeros(*shape, dtype=getattr(lib, dtype))  # noqa: E731
    op, *rest = recipe
    if op == "matmul":
        a, b, a_dtype, b_dtype = rest
        return make(a, a_dtype) @ make(b, b_dtype)
    if op in ("linear", "conv2d", "conv1d"):
        shape, input, weight, bias = rest
        weight_shape = (4, shape[-1]) if op == "linear" else (1, 1) + (2,) * (len(shape) - 2)
        return getattr(F, op)(make(shape, input), make(weight_shape, weight), make((weight_shape[0],), bias))
    if op == "batch_norm":
        input, weight, bias, mean, var = rest
        return F.batch_norm(make((2, 3, 2, 2), input), make((3,), mean), make((3,), var), make((3,), weight),
                            make((3,), bias), training=True)
    input, weight, bias = rest
    return F.layer_norm(make((2, 3), input), (3,), make((3,), weight), make((3,), bias))


@pytest.mark.parametrize("case", sorted(MIXED_DTYPES))
def test_mixed_dtypes_are_refused_in_torchs_words(case, torch):
    ours, theirs = errors(lambda lib: _mixed(lib, MIXED_DTYPES[case]), torch)
    assert (type(ours), str(ours)) == (type(theirs), str(theirs))


def test_a_float16_input_may_be_normalised_with_float32_parameters_as_in_torch(torch):
    for lib in (numtorch, torch):
        half, ones = lib.ones(2, 3, 2, 2, dtype=lib.float16), lib.ones(3)
        lib.nn.functional.batch_norm(half, ones * 0, ones, ones, ones * 0, training=True)
        lib.nn.functional.layer_norm(half[:, :, 0, 0], (3,), ones, ones * 0)
