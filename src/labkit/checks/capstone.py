"""Checks of lab 4: the capstone CNN on scikit-learn's digits."""

import copy
import time

import numpy as np

import numtorch
import numtorch.nn.functional as F
from labkit.checks import LONGEST_CELL, Bank, Mistake, Partial, TimeLimit, expect, time_limit
from labkit.checks._common import same, shape, values
from labkit.data import digits
from labkit.checks.proxies import assign, backward, is_module, modes_during, predict, seed, submodules

LAYERS = ("Conv2d", "BatchNorm2d", "Dropout", "Linear")
LAB_OF = {"Linear": 0, "Conv2d": 1, "Dropout": 2, "BatchNorm2d": 3}  # where the learner wrote each layer
FULL_MARKS, NO_MARKS = 0.95, 0.80  # test accuracy; points grow linearly in between
TRAINING_TIME_LIMIT = LONGEST_CELL  # the grader's cell limit is derived from it

bank = Bank("Lab 4 · Capstone", {1: "the network", 2: "training", 3: "evaluation"}, withheld=LAYERS)


def check_task1(Net, Conv2d, BatchNorm2d, Dropout, Linear):
    """Print how your Net is built."""
    bank.report(1, Net=Net, Conv2d=Conv2d, BatchNorm2d=BatchNorm2d, Dropout=Dropout, Linear=Linear)


def train(Net, train_model, seed: int = 0):
    """Build Net() and train it with train_model(model, X_train, y_train); return the model, or None on failure."""
    X_train, X_test, y_train, y_test = digits()
    numtorch.manual_seed(seed)
    started = time.monotonic()
    try:
        with time_limit(TRAINING_TIME_LIMIT):
            model = Net()
            train_model(model, X_train, y_train)
    except NotImplementedError as todo:
        print(f"Training did not run: not written yet ({todo}).")
        return None
    except TimeLimit:
        print(f"Training took longer than {TRAINING_TIME_LIMIT:g} s: train for fewer epochs, or check your loop.")
        return None
    except Exception as error:
        print(f"Training failed: {type(error).__name__}: {error}")
        return None
    print(f"Trained in {time.monotonic() - started:.1f} s; accuracy on the test digits, each shifted by a fraction "
          f"of a pixel: {accuracy(model, *held_out()):.1%} (full marks from {FULL_MARKS:.0%}).")
    return model


def check_task2(Net, train_model, model):
    """Print how your training does."""
    bank.report(2, Net=Net, train_model=train_model, model=model)


def check_task3(evaluate, model):
    """Print how your evaluate does."""
    bank.report(3, evaluate=evaluate, model=model)


def summary(Net, Conv2d, BatchNorm2d, Dropout, Linear, model, evaluate, train_model=None):
    """Print your points on all the public checks (notebooks released before train_model was checked omit it)."""
    symbols = dict(Net=Net, Conv2d=Conv2d, BatchNorm2d=BatchNorm2d, Dropout=Dropout, Linear=Linear, model=model,
                   evaluate=evaluate)
    bank.summary(**symbols, **({} if train_model is None else {"train_model": train_model}))


# The grader's test images: the held-out split, each image shifted by a random fraction of a pixel. In the notebook
# the shifts are drawn from a public seed; the grader draws its own, so no table of answers can know the images.
SHIFT = 0.1  # at most, in pixels, along each axis: costs an honest model about a point of accuracy
_secret = {"seed": 0}


def use_secret_seed(seed: int) -> None:
    """The grader's seed for the held-out perturbation (called in the grader's process only)."""
    _secret["seed"] = int(seed)


def held_out():
    """The held-out images (as a numtorch tensor), each shifted by its own sub-pixel offset, and their labels."""
    _, X_test, _, y_test = digits()
    images = values(X_test)
    rng = np.random.default_rng(_secret["seed"])
    shifted = np.stack([_shift(image, *rng.uniform(-SHIFT, SHIFT, 2)) for image in images])
    return numtorch.tensor(shifted.astype(np.float32)), values(y_test).astype(np.int64)


def _shift(image, dy: float, dx: float):
    """image (1, H, W) moved by (dy, dx) pixels, bilinearly, zeros coming in at the edges."""
    h, w = image.shape[-2:]
    padded = np.pad(image[0], 1)
    ys, xs = np.meshgrid(np.arange(h) - dy + 1, np.arange(w) - dx + 1, indexing="ij")
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = ys - y0, xs - x0
    y1, x1 = np.clip(y0 + 1, 0, h + 1), np.clip(x0 + 1, 0, w + 1)
    y0, x0 = np.clip(y0, 0, h + 1), np.clip(x0, 0, w + 1)
    top = padded[y0, x0] * (1 - fx) + padded[y0, x1] * fx
    bottom = padded[y1, x0] * (1 - fx) + padded[y1, x1] * fx
    return (top * (1 - fy) + bottom * fy)[None]


def accuracy(model, X, y) -> float:
    """The grader's own measure: eval mode, no gradients, the argmax of the logits."""
    was_training = model.training
    model.eval()
    try:
        with numtorch.no_grad():
            predicted = values(model(X)).argmax(axis=1)
    finally:
        model.train(was_training)
    return float((predicted == values(y)).mean())


# ---- what the trained model is made of, and how its layers behave ----------------------------------------------

def layers_of(model) -> list:
    """(which of the learner's layers it is, the submodule) for each submodule of model that is one of them."""
    found = []
    for module, info in zip(model.modules(), submodules(model, list(LAYERS))):
        found += [(name, module) for name in info["of"]]
    return found


def require_model(model) -> None:
    if model is None:
        raise Mistake("there is no trained model: the training cell failed (see its output)")
    expect(is_module(model), "`model` is not an nn.Module: grade the Net that `capstone.train(Net, train_model)` "
                             "returns")


def structure_fault(model, Net) -> str | None:
    """Why the model is not a trained Net of the learner's four layers whose predictions come from them, or None."""
    found = {name for name, _ in layers_of(model)}
    missing = [name for name in LAYERS if name not in found]
    if missing:
        return (f"the trained model has no {', '.join(missing)} of yours: it must be the Net of task 1, built of your "
                "own layers and trained by `capstone.train(Net, train_model)`")
    seed(Net, 0)  # capstone.train builds its Net right after manual_seed(0): the model's starting point
    initial = Net().state_dict()
    trained = model.state_dict()
    if list(trained) != list(initial):
        return (f"the trained model's state_dict keys {list(trained)[:4]}... are not those of a Net() "
                f"({list(initial)[:4]}...): grade the Net that `capstone.train(Net, train_model)` returns")
    parameters = [n for n, p in initial.items() if n.endswith(("weight", "bias")) and p.dtype.kind == "f"]
    if all(same(trained[n], initial[n], atol=0) for n in parameters):
        return ("the model's parameters are still where Net() starts them: nothing was trained (does your loop "
                "call `loss.backward()` and then `optimizer.step()`, with an optimizer over `model.parameters()`?)")
    X, _ = held_out()
    X = X[:100]
    copied = copy.deepcopy(model)
    for name, layer in layers_of(copied):
        if name == "Linear":
            assign(layer, "weight", np.zeros(shape(layer.weight), dtype=np.float32))
    if same(predict(copied, X), predict(model, X)):
        return ("the model's predictions do not change when its Linear layers' weights are zeroed: they must come "
                "from the layers you trained, not from elsewhere")
    return None


def layer_fault(model) -> str | None:
    """What the first of the model's own layers does wrong in training or eval mode, or None.

    Each layer is tried on a copy, alone: so a wrong layer is named, rather than the evaluate() that ran it."""
    for name, layer in layers_of(model):
        fault = FAULTS[name](copy.deepcopy(layer))
        if fault:
            return f"the {name} in your model (your lab {LAB_OF[name]} layer, pasted above) {fault}"
    return None


def _linear_fault(layer):
    weight, bias = layer.weight, layer.bias
    x = numtorch.randn(4, shape(weight)[1])
    for training in (True, False):
        layer.train(training)
        if not same(layer(x), F.linear(x, weight, bias)):
            return f"differs from F.linear(x, self.weight, self.bias) in {'training' if training else 'eval'} mode"
    return None


def _conv2d_fault(layer):
    weight, bias, groups = layer.weight, layer.bias, layer.groups
    x = numtorch.randn(2, shape(weight)[1] * groups, 8, 8)
    want = F.conv2d(x, weight, bias, layer.stride, layer.padding, layer.dilation, groups)
    for training in (True, False):
        layer.train(training)
        if not same(layer(x), want, atol=1e-4):
            return (f"differs from F.conv2d with its own weight, bias, stride, padding, dilation and groups in "
                    f"{'training' if training else 'eval'} mode")
    return None


def _batchnorm2d_fault(layer):
    mean, var, weight, bias, eps = layer.running_mean, layer.running_var, layer.weight, layer.bias, layer.eps
    if mean is None:
        return ("keeps no running statistics, so even in eval mode it normalises each image with its batch's "
                "statistics: keep torch's default track_running_stats=True")
    x = numtorch.randn(6, shape(mean)[0], 3, 3) * 2 + 1
    layer.eval()
    before = layer.state_dict()
    y = layer(x)
    changed = [n for n, v in layer.state_dict().items() if not same(v, before[n], atol=0)]
    if changed:
        return (f"changes {', '.join(changed)} in eval mode: count batches and move the running statistics only "
                "when training (pass `self.training` to F.batch_norm, which then leaves them alone)")
    if same(y, F.batch_norm(x, None, None, weight, bias, True, 0.0, eps), atol=1e-4):
        return ("normalises with the batch's statistics in eval mode, so an image's prediction depends on the other "
                "images of its batch: pass `self.training` to F.batch_norm, which then uses running_mean and "
                "running_var")
    if not same(y, F.batch_norm(x, mean, var, weight, bias, False, 0.0, eps), atol=1e-4):
        return "differs in eval mode from F.batch_norm with its running_mean and running_var"
    layer.train()
    if not same(layer(x), F.batch_norm(x, None, None, weight, bias, True, 0.0, eps), atol=1e-4):
        return "does not normalise with the batch's statistics in training mode: pass `self.training` to F.batch_norm"
    return None


def _dropout_fault(layer):
    x = numtorch.randn(20, 30)
    layer.eval()
    if not same(layer(x), x):
        return ("changes its input in eval mode (it keeps dropping), so model.eval() cannot switch it off: pass "
                "`self.training` to F.dropout")
    layer.train()
    if layer.p > 0 and not np.any(values(layer(numtorch.ones(40, 50))) == 0):
        return f"drops nothing in training mode with p={layer.p}: pass `self.training` to F.dropout"
    return None


FAULTS = {"Linear": _linear_fault, "Conv2d": _conv2d_fault, "BatchNorm2d": _batchnorm2d_fault,
          "Dropout": _dropout_fault}


def gradients_add_up(model) -> bool:
    """Whether the gradients the training left in the model are many steps' sum (no zero_grad), not one batch's.

    They are compared, on the model's last Linear layer, with the gradient of one training batch at the trained
    weights: a loop that clears them holds one batch's, which is of that size; one that never does, tens of them."""
    def last_linear_weight_grad(net):
        layer = [m for name, m in layers_of(net) if name == "Linear"][-1]
        out_features, in_features = shape(layer.weight)
        # a zero-weighted backward adds nothing: it only reads the gradient the parameter holds
        _, grads = backward(layer, numtorch.zeros(1, in_features), np.zeros((1, out_features)), names=["weight"])
        return values(grads["weight"])

    left = last_linear_weight_grad(model)  # the model itself: a copy, as in torch, has no gradients
    fresh = copy.deepcopy(model)
    fresh.train()
    fresh.zero_grad()
    X, _, y, _ = digits()
    X, y = X[:64], values(y[:64]).astype(int)
    seed(fresh, 1)
    logits = values(fresh(X))
    # d(mean cross-entropy)/d(logits), so that one backward gives that batch's gradient, as loss.backward() would
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    probabilities[np.arange(len(y)), y] -= 1
    seed(fresh, 1)  # the same dropout mask as the forward above
    backward(fresh, X, probabilities / len(y))
    one_batch = np.linalg.norm(last_linear_weight_grad(fresh))
    return np.linalg.norm(left) > 5 * max(one_batch, 1e-8)


@bank.check(task=1, points=2)
def net_is_built_from_your_own_layers(Net, Conv2d, BatchNorm2d, Dropout, Linear):
    """Net uses your Conv2d, BatchNorm2d, Dropout and Linear, and none of numtorch's"""
    net = Net()
    expect(is_module(net), "Net is not an nn.Module: `class Net(nn.Module):`")
    modules = submodules(net, list(LAYERS))
    for name in LAYERS:
        expect(not any(m["numtorch"] == name for m in modules),
               f"your Net contains numtorch's own nn.{name}: use your {name} from lab {LAB_OF[name]} (paste it above)")
    for name in LAYERS:
        expect(any(name in m["of"] for m in modules), f"your Net has no {name} of yours: the task is to "
                                                      f"assemble your own Conv2d, BatchNorm2d, Dropout and Linear")


@bank.check(task=1)
def net_maps_images_to_ten_logits(Net, Conv2d, BatchNorm2d, Dropout, Linear):
    """Net()(x) maps a batch (N, 1, 8, 8) to logits (N, 10)"""
    y = Net()(numtorch.randn(5, 1, 8, 8))
    expect(isinstance(y, numtorch.Tensor) and shape(y) == (5, 10),
           f"Net() maps a batch of shape (5, 1, 8, 8) to {shape(y) if hasattr(y, 'shape') else type(y).__name__}, "
           "not to logits of shape (5, 10)")


@bank.check(task=2, points=6)
def model_reaches_95_percent_test_accuracy(model, Net):
    """the trained model classifies at least 95% of the test digits right"""
    require_model(model)
    fault = structure_fault(model, Net)
    if fault:
        raise Mistake(f"accuracy counts only for a trained Net of your own layers: {fault}")
    X, y = held_out()
    predicted = predict(model, X)
    expect(isinstance(predicted, numtorch.Tensor) and shape(predicted) == (len(y), 10),
           f"your model maps {len(y)} test images to "
           f"{shape(predicted) if isinstance(predicted, numtorch.Tensor) else type(predicted).__name__}, "
           f"not to logits of shape ({len(y)}, 10)")
    acc = float((values(predicted).argmax(axis=1) == y).mean())
    if acc < FULL_MARKS and gradients_add_up(model):
        return Partial((acc - NO_MARKS) / (FULL_MARKS - NO_MARKS),
                       f"accuracy {acc:.1%} on the test digits: your training loop never clears the gradients, so "
                       "each step adds this batch's gradient to every earlier one's: call `optimizer.zero_grad()` "
                       "before each `loss.backward()`")
    if acc < FULL_MARKS:
        return Partial((acc - NO_MARKS) / (FULL_MARKS - NO_MARKS),
                       f"accuracy {acc:.1%} on the test digits, each shifted by a fraction of a pixel: full marks "
                       f"from {FULL_MARKS:.0%}, none below {NO_MARKS:.0%} (train longer, or check that training "
                       "and evaluation switch modes)")


@bank.check(task=2, points=2)
def model_is_a_trained_net_of_your_layers(model, Net):
    """the graded model is a Net of your four layers, trained, whose predictions come from those layers"""
    require_model(model)
    fault = structure_fault(model, Net)
    expect(fault is None, fault)


@bank.check(task=2)
def train_model_runs_the_model_in_training_mode(train_model, Net):
    """train_model() runs the model in training mode (so Dropout drops and BatchNorm2d learns its statistics)"""
    X, _, y, _ = digits()
    seed(Net, 0)
    _, modes = modes_during(train_model, Net(), X[:128], y[:128])
    expect(modes, "train_model() never called the model")
    expect(sum(modes) * 2 > len(modes),
           f"train_model() ran the model in eval mode in {len(modes) - sum(modes)} of its {len(modes)} forward "
           "passes: call `model.train()` before training, or Dropout never drops and BatchNorm2d never learns its "
           "running statistics (it normalises with their starting values, 0 and 1)")


@bank.check(task=3, points=3)
def model_in_eval_mode_gives_each_image_its_own_prediction(model):
    """in eval mode each layer uses what it learned: an image alone gets what it gets in a batch, state unchanged"""
    require_model(model)
    found = {name for name, _ in layers_of(model)}
    missing = [name for name in LAYERS if name not in found]
    expect(not missing, f"the trained model has no {', '.join(missing)} of yours, so there is no layer of yours to "
                        "try in eval mode: grade the Net that `capstone.train(Net, train_model)` returns")
    fault = layer_fault(model)
    expect(fault is None, fault)
    X, _ = held_out()
    X = X[:32]
    before = model.state_dict()
    together = predict(model, X)
    for i in (0, 17):
        alone = predict(model, X[i:i + 1])
        expect(same(alone, together[i:i + 1], atol=1e-4),
               f"in eval mode your model gives test image {i} other logits alone than inside a batch of 32: in eval "
               "mode nothing may depend on the batch; does your Net's forward call F.batch_norm or F.dropout itself, "
               "without the module's `self.training`?")
    changed = [n for n, v in model.state_dict().items() if not same(v, before[n], atol=0)]
    expect(not changed, f"running your model in eval mode changed its {', '.join(changed[:3])}: in eval mode a "
                        "model only reads its state")


@bank.check(task=3, points=2)
def evaluate_runs_the_model_in_eval_mode(evaluate, model):
    """evaluate() puts the model in eval mode (so Dropout keeps all, BatchNorm uses its running stats)"""
    require_model(model)
    _, X_test, _, y_test = digits()
    _, modes = modes_during(evaluate, model, X_test, y_test)
    expect(modes, "evaluate() never called the model")
    expect(not any(modes), "evaluate() ran the model in training mode: call `model.eval()` first, or Dropout keeps "
                           "dropping and BatchNorm2d normalises with each batch's statistics")
    copied = copy.deepcopy(model)
    before = copied.state_dict()
    evaluate(copied, X_test, y_test)
    changed = [n for n, v in copied.state_dict().items() if not same(v, before[n], atol=0)]
    if changed and layer_fault(model) is None:  # a layer that changes its state in eval mode is that layer's fault
        raise Mistake(f"evaluate() changed the model's {', '.join(changed[:3])}: evaluating must leave the model as "
                      "it was; call `model.eval()` before the first forward, and train nothing in evaluate()")


@bank.check(task=3)
def evaluate_returns_the_accuracy(evaluate, model):
    """evaluate() returns the fraction of correct predictions, a number in [0, 1]"""
    require_model(model)
    _, X_test, _, y_test = digits()
    got = evaluate(copy.deepcopy(model), X_test, y_test)
    want = float((values(predict(model, X_test)).argmax(axis=1) == values(y_test)).mean())
    expect(isinstance(got, (float, int, np.floating)), f"evaluate() returned a {type(got).__name__}: "
                                                      "return a Python float, e.g. with `.item()`")
    if abs(float(got) - want) >= 1e-6 and layer_fault(model) is not None:
        # the model answers differently each time in eval mode: its layer is to blame, and another check names it
        expect(0 <= float(got) <= 1, f"evaluate() returned {float(got):.4g}, not a fraction in [0, 1]")
        return
    expect(abs(float(got) - want) < 1e-6, f"evaluate() returned {float(got):.4g}, but the model gets {want:.4g} "
                                          "of the test digits right")
