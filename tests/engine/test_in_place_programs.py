"""Random programs of views, in-place operations, item assignment and ordinary operations, run on numtorch and on
torch: each gives the same values and the same gradients, or both refuse its backward ("modified by an inplace
operation"; which saved value a backward reports first may differ, so the message is compared up to there).

A program starts from a (3, 4) leaf ``x`` and a (4,) leaf ``w``, works on ``h = x * 1`` and on the tensors it makes
from it, then differentiates a weighted sum of all of them. Its steps are written as source text, so that a failure
prints the program.
"""
import random
import re

import numpy as np
import pytest

import numtorch

IN_PLACE = ["add_(1.5)", "mul_(-2.0)", "relu_()", "sigmoid_()", "clamp_(-0.5, 0.5)", "zero_()", "fill_(0.25)",
            "sub_(w.sum() * 0.5)", "mul_(w.sum() * 0.5)"]
OPERATIONS = ["exp()", "sigmoid()", "relu()", "tanh()", "abs()", "pow(2)", "clone()", "detach()", "__mul__(2.0)",
              "__mul__(w.sum())"]


def views_of(name, shape):
    """(source, shape) of the views the program may take of tensor ``name``."""
    if len(shape) == 2:
        rows, cols = shape
        return [(f"{name}[{rows - 1}]", (cols,)), (f"{name}.t()", (cols, rows)), (f"{name}[:, 1:]", (rows, cols - 1)),
                (f"{name}.reshape(-1)", (rows * cols,))]
    views = [(f"{name}[1:]", (shape[0] - 1,))] if shape[0] > 1 else []
    if shape[0] % 2 == 0:
        views += [(f"{name}.view(2, -1)", (2, shape[0] // 2)), (f"{name}[::2]", (shape[0] // 2,))]
    return views


def program(rng):
    """The source lines of one random program, and the names of the tensors its loss sums."""
    lines, shapes = ["h = x * 1"], {"h": (3, 4)}
    for step in range(1, rng.randint(2, 8)):
        name = rng.choice(sorted(shapes))
        shape, new = shapes[name], f"t{step}"
        same_shape = [other for other in sorted(shapes) if shapes[other] == shape and other != name]
        kind = rng.random()
        if kind < 0.3 and views_of(name, shape):
            view, shapes[new] = rng.choice(views_of(name, shape))
            lines.append(f"{new} = {view}")
        elif kind < 0.7:
            choices = IN_PLACE + ["detach().add_(0.5)"] + [f"copy_({other} * 0.5)" for other in same_shape] + \
                      [f"mul_({other})" for other in same_shape]
            lines.append(f"{name}.{rng.choice(choices)}")
        elif kind < 0.8:
            lines.append(f"{name}[0] = w.sum() * 0.5" if len(shape) == 2 else f"{name}[0] = w[0] * 3")
        else:
            choices = OPERATIONS + [f"__mul__({other})" for other in same_shape] + \
                      [f"__add__({other})" for other in same_shape]
            lines.append(f"{new} = {name}.{rng.choice(choices)}")
            shapes[new] = shape
    names = sorted(shapes)
    lines.append("loss = " + " + ".join(f"({name} * {i + 1}).sum()" for i, name in enumerate(names)))
    lines.append("loss.backward()")
    return lines, names


def outcome(lib, lines, names, x, w):
    """What the program gives on ``lib``: the values of its tensors and the leaves' gradients, or the error."""
    space = {"x": lib.tensor(x, requires_grad=True), "w": lib.tensor(w, requires_grad=True)}
    try:
        for line in lines:
            exec(line, space)
    except RuntimeError as error:
        return re.sub(r": \[torch\..*", "", str(error), flags=re.S)
    values = [space[name].detach().numpy() for name in names]
    return values + [None if space[leaf].grad is None else space[leaf].grad.numpy() for leaf in ("x", "w")]


@pytest.mark.parametrize("seed", range(10))
def test_random_programs_of_views_and_in_place_operations_match_torch(torch, seed):
    rng = random.Random(seed)
    for number in range(100):
        lines, names = program(rng)
        data = np.random.default_rng([seed, number])
        x, w = data.standard_normal((3, 4)).astype(np.float32), data.standard_normal(4).astype(np.float32)
        ours, theirs = outcome(numtorch, lines, names, x, w), outcome(torch, lines, names, x, w)
        source = "\n".join(lines)
        assert type(ours) is type(theirs), f"{source}\nnumtorch: {ours}\ntorch: {theirs}"
        if isinstance(ours, str):
            assert ours == theirs, source
            continue
        for a, b in zip(ours, theirs):
            assert (a is None) == (b is None), source
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4, err_msg=source)
