"""The check banks: one module per lab, shared by the public check cells and the grader.

A check is a small function that builds the learner's layer, compares it with numtorch's
reference, and raises :class:`Mistake` with a message that names the mistake and its fix::

    @bank.check(task=1, points=2)
    def is_identity_in_eval_mode(Dropout):
        "in eval mode the input passes through unchanged"
        ...
        expect(same, "in eval mode your Dropout changed its input: pass `self.training` to `F.dropout`")

The argument names are the names the learner's notebook defines. A check receives them as
proxies (labkit.checks.proxies) and reaches the learner's code only through the probe (labkit.in_kernel.probe):
in the notebook the probe answers in this process, while grading it answers from the learner's
kernel and the check runs in the grader's process. A public check cell calls
``dropout.check_task1(Dropout)``, which prints one line per check; the grader runs each check on
its own, with a time limit, and scores it.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from typing import Callable

from labkit.checks.proxies import LearnerRaised, LocalConnection, NoAnswer
from labkit.in_kernel.guards import (  # the check modules take these from here  # noqa: F401
    WALL_FACTOR, Mistake, TimeLimit, forbid_reference, quiet_engine, time_limit)

TEST_TIMEOUT = 10.0  # seconds for one check or hidden test, unless it asks for more
# Seconds the longest cell of a lab may run (the capstone's training); the grader gives each cell a bit more.
LONGEST_CELL = 120.0


def expect(condition, message: str) -> None:
    if not condition:
        raise Mistake(message)


@dataclass(frozen=True)
class Check:
    name: str
    task: int
    points: float
    needs: tuple[str, ...]
    fn: Callable
    timeout: float | None = None  # seconds; None: the default

    @property
    def title(self) -> str:
        return (inspect.getdoc(self.fn) or self.name.replace("_", " ")).splitlines()[0]


@dataclass(frozen=True)
class Partial:
    """What a check returns to give part of its points: a fraction in [0, 1) and why not all."""

    fraction: float
    message: str


@dataclass(frozen=True)
class Outcome:
    check: Check
    passed: bool
    message: str
    fraction: float = 0.0  # of the points, when not passed
    review: str | None = None  # why a person should look: the learner's side gave no usable answer

    @property
    def score(self) -> float:
        return self.check.points if self.passed else round(self.check.points * self.fraction, 6)

    def as_dict(self) -> dict:
        return {
            "name": self.check.name,
            "score": self.score,
            "max_score": self.check.points,
            "passed": self.passed,
            "message": self.message,
        }


class Bank:
    """The checks of one lab, grouped by task."""

    def __init__(self, lab: str, tasks: dict[int, str], withheld: tuple[str, ...] = ()):
        self.lab = lab
        self.tasks = tasks
        self.withheld = withheld  # layers the learner writes, so must not borrow from numtorch.nn
        self.checks: list[Check] = []

    def check(self, task: int, points: float = 1.0, timeout: float | None = None):
        def register(fn):
            if any(c.name == fn.__name__ for c in self.checks):
                raise ValueError(f"two checks named {fn.__name__} in {self.lab}")
            needs = tuple(inspect.signature(fn).parameters)
            self.checks.append(Check(fn.__name__, task, float(points), needs, fn, timeout))
            return fn

        return register

    def __getitem__(self, name: str) -> Check:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"{self.lab} has no check named {name!r}")

    def run(self, check: Check, learner, timeout: float | None = TEST_TIMEOUT) -> Outcome:
        """Run one check on the learner's code: `learner` is a connection to it (labkit.checks.proxies), or, in the
        notebook, the dict of the learner's names (answered in this process, through the same probe)."""

        if isinstance(learner, dict):
            learner = LocalConnection(learner, self.withheld)
        result, message, review = run_guarded(lambda: check.fn(*(learner.name(n) for n in check.needs)), learner,
                                              check.timeout or timeout)
        if message is not None:
            return Outcome(check, False, message, review=review)
        if isinstance(result, Partial) and result.fraction < 1:
            return Outcome(check, False, result.message, max(0.0, result.fraction))
        return Outcome(check, True, "")

    def report(self, task: int, **symbols) -> list[Outcome]:
        """Run one task's checks and show how they went (a table in JupyterLab, text elsewhere): a check cell."""
        from labkit.report import Report, show

        outcomes = [self.run(c, symbols) for c in self.checks if c.task == task]
        show(Report(self.lab, {task: self.tasks[task]}, tuple(outcomes)))
        return outcomes

    def summary(self, **symbols) -> None:
        """Run every check and print the points so far: the last cell of each lab."""
        _summary_of(self, symbols)


def run_guarded(call: Callable[[], object], learner, timeout: float | None,
                failure: type[BaseException] = Mistake) -> tuple[object, str | None, str | None]:
    """Run a check (or a hidden test) against the learner's code, reached through the connection `learner`:
    seeded on both sides, time-limited, the learner's answers told apart from the check's own errors.

    Returns (what call returned, None, None), or (None, why it failed, None), or, when the learner's side
    gave no usable answer, (None, why, the reason a person should look at the row)."""
    _seed()
    try:
        with learner.limit(timeout), quiet_engine():
            learner.reset()
            return call(), None, None
    except NoAnswer as lost:
        why = str(lost)
        return None, limit_message(f"no usable answer from your notebook's kernel: {why}"), why
    except LearnerRaised as error:  # first: the learner's own AssertionError is not a failed hidden test
        if isinstance(error, NotImplementedError):
            hint = f" ({error})" if str(error) else ""
            return None, limit_message(f"not written yet: your code raised NotImplementedError{hint}"), None
        if skipped_module_init(error):
            return None, limit_message(f"your class never calls `super().__init__()`, or calls it too late: make it "
                                       "the first line of __init__, since nn.Module's own __init__ creates what "
                                       "registers parameters, buffers and submodules and what module(x) needs "
                                       f"(your code raised {error.name}: {error}{error.where})"), None
        return None, limit_message(f"your code raised {error.name}: {error}{error.where}"), None
    except (Mistake, failure) as failed:
        return None, limit_message(str(failed)), None
    except TimeLimit as limit:
        return None, limit_message(str(limit)), None
    except Exception as error:  # the check's own computation failed on what the learner's code gave it
        return None, limit_message(f"what your code returned could not be compared with torch's: the check's "
                                   f"own computation raised {type(error).__name__}: {error}"), None


def skipped_module_init(error: BaseException) -> bool:
    """Whether the learner's AttributeError says that nn.Module.__init__ never ran on the object."""
    if not isinstance(error, AttributeError):
        return False
    from numtorch import nn

    said = str(error)
    return "before Module.__init__() call" in said or any(f"no attribute '{name}'" in said
                                                          for name in vars(nn.Module()))


MESSAGE_LIMIT = 600  # characters: the notebook and the grader cut a message at the same place


def limit_message(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """The one length policy for feedback messages, in the notebook and in the grader."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary_of(bank: "Bank", symbols: dict) -> None:
    from labkit.report import Report, hidden_tests_of, show

    outcomes = tuple(bank.run(c, symbols) for c in bank.checks)
    show(Report(bank.lab, dict(bank.tasks), outcomes, summary=True, hidden_tests=hidden_tests_of(bank)))


def _seed(seed: int = 0) -> None:
    import numpy as np

    np.random.seed(seed)
    numtorch = sys.modules.get("numtorch")
    if numtorch is not None and hasattr(numtorch, "manual_seed"):
        numtorch.manual_seed(seed)
