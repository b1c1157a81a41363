"""Checks of lab 4: the capstone CNN on scikit-learn's digits."""

import copy
import time

import numpy as np

import numtorch
from numtorch import nn
from labkit.checks import LONGEST_CELL, Bank, Mistake, Partial, TimeLimit, expect, time_limit
from labkit.checks._common import shape, values
from labkit.data import digits
from labkit.checks.proxies import is_module, modes_during, predict, submodules

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


def check_task3(evaluate, model):
    """Print how your evaluate does."""
    bank.report(3, evaluate=evaluate, model=model)


def summary(Net, Conv2d, BatchNorm2d, Dropout, Linear, model, evaluate):
    """Print your points on all the public checks."""
    bank.summary(Net=Net, Conv2d=Conv2d, BatchNorm2d=BatchNorm2d, Dropout=Dropout, Linear=Linear, model=model,
                 evaluate=evaluate)


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
def model_reaches_95_percent_test_accuracy(model):
    """the trained model classifies at least 95% of the test digits right"""
    if model is None:
        raise Mistake("there is no trained model: the training cell failed (see its output)")
    X, y = held_out()
    predicted = predict(model, X)
    expect(isinstance(predicted, numtorch.Tensor) and shape(predicted) == (len(y), 10),
           f"your model maps {len(y)} test images to "
           f"{shape(predicted) if isinstance(predicted, numtorch.Tensor) else type(predicted).__name__}, "
           f"not to logits of shape ({len(y)}, 10)")
    acc = float((values(predicted).argmax(axis=1) == y).mean())
    if acc < FULL_MARKS:
        return Partial((acc - NO_MARKS) / (FULL_MARKS - NO_MARKS),
                       f"accuracy {acc:.1%} on the test digits, each shifted by a fraction of a pixel: full marks "
                       f"from {FULL_MARKS:.0%}, none below {NO_MARKS:.0%} (train longer, or check that training "
                       "and evaluation switch modes)")


@bank.check(task=3, points=2)
def evaluate_runs_the_model_in_eval_mode(evaluate, model):
    """evaluate() puts the model in eval mode (so Dropout keeps all, BatchNorm uses its running stats)"""
    if model is None:
        raise Mistake("there is no trained model: the training cell failed (see its output)")
    _, X_test, _, y_test = digits()
    _, modes = modes_during(evaluate, model, X_test, y_test)
    expect(modes, "evaluate() never called the model")
    expect(not any(modes), "evaluate() ran the model in training mode: call `model.eval()` first, or Dropout keeps "
                           "dropping and BatchNorm2d normalises with each batch's statistics")


@bank.check(task=3)
def evaluate_returns_the_accuracy(evaluate, model):
    """evaluate() returns the fraction of correct predictions, a number in [0, 1]"""
    if model is None:
        raise Mistake("there is no trained model: the training cell failed (see its output)")
    _, X_test, _, y_test = digits()
    got = evaluate(copy.deepcopy(model), X_test, y_test)
    want = float((values(predict(model, X_test)).argmax(axis=1) == values(y_test)).mean())
    expect(isinstance(got, (float, int, np.floating)), f"evaluate() returned a {type(got).__name__}: "
                                                      "return a Python float, e.g. with `.item()`")
    expect(abs(float(got) - want) < 1e-6, f"evaluate() returned {float(got):.4g}, but the model gets {want:.4g} "
                                          "of the test digits right")
