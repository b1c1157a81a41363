"""The tutorial arc (tests/programs/tutorial_arc.py) on numtorch, and on torch with only the imports changed:
the same numbers come out, and the models learn.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

import numtorch

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "programs" / "tutorial_arc.py"
sys.path.insert(0, str(ROOT / "book" / "extensions"))
from to_torch import torch_code  # noqa: E402


def run(lib):
    """The program on ``lib``: the numbers it logged, and how it printed its CNN."""
    source = PROGRAM.read_text()
    if lib is not numtorch:
        source = torch_code(source)
    namespace = {"__name__": "tutorial_arc"}
    exec(compile(source, f"<tutorial arc on {lib.__name__}>", "exec"), namespace)
    assert namespace["torch"] is lib
    return namespace["log"], namespace["printed_cnn"]


@pytest.fixture(scope="module")
def numtorch_run():
    return run(numtorch)


def test_the_tutorial_arc_gives_the_same_numbers_on_numtorch_and_torch(numtorch_run, torch):
    (ours, our_cnn), (theirs, their_cnn) = numtorch_run, run(torch)
    assert our_cnn == their_cnn
    assert list(ours) == list(theirs)
    for stage in theirs:
        np.testing.assert_allclose(ours[stage], theirs[stage], rtol=1e-4, atol=1e-5, err_msg=stage)


def test_the_tutorial_arc_learns(numtorch_run):
    log, _ = numtorch_run
    first_loss, first_accuracy, last_loss, last_accuracy = log["from scratch"]
    assert last_loss < first_loss / 2 and last_accuracy > first_accuracy
    assert log["logistic regression"][-1] < log["logistic regression"][0] / 2
    assert log["bag of tokens"][-1] < log["bag of tokens"][0]
    assert log["learning rates"] == [0.01, 0.005, 0.005, 0.0025]
    assert log["padding row"] == [0.0]  # the embedding's padding row got no gradient, so AdamW left it alone
