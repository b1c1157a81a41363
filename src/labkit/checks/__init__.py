"""The check banks: one module per lab, shared by the public check cells and the grader.

A check is a small function that builds the learner's layer, compares it with numtorch's
reference, and raises :class:`Mistake` with a message that names the mistake and its fix::

    @bank.check(task=1, points=2)
    def is_identity_in_eval_mode(Dropout):
        "in eval mode the input passes through unchanged"
        ...
        expect(same, "in eval mode your Dropout changed its input: pass `self.training` to `F.dropout`")

The argument names are the names the learner's notebook defines; the grader looks them up
there. A public check cell calls ``dropout.check_task1(Dropout)``, which prints one line per
check; the grader runs each check on its own, with a time limit, and scores it.
"""

from __future__ import annotations

import contextlib
import inspect
import signal
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

TEST_TIMEOUT = 10.0  # seconds for one check or hidden test, unless it asks for more
# Seconds the longest cell of a lab may run (the capstone's training); the grader gives each cell a bit more.
LONGEST_CELL = 120.0
_LABKIT_DIR = str(Path(__file__).resolve().parents[1])


class Mistake(AssertionError):
    """A named learner mistake; its message says what went wrong and how to fix it."""


class TimeLimit(BaseException):
    """Raised in the learner's code when a check runs out of time.

    A BaseException, so that a learner's ``except Exception`` cannot swallow it.
    """


def expect(condition, message: str) -> None:
    if not condition:
        raise Mistake(message)


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise TimeLimit in this thread after `seconds` (main thread only; elsewhere no limit).

    Pyodide (the browser lab) has no interval timers: there the check runs with no limit.
    """
    if (not seconds or threading.current_thread() is not threading.main_thread()
            or not hasattr(signal, "setitimer")):
        yield
        return

    def expire(signum, frame):
        raise TimeLimit(f"took longer than {seconds:g} s: is there an infinite loop?")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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

    def __init__(self, lab: str, tasks: dict[int, str], own: tuple[str, ...] = ()):
        self.lab = lab
        self.tasks = tasks
        self.own = own  # layers the learner writes, so must not borrow from numtorch.nn
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

    def run(self, check: Check, symbols: dict, timeout: float | None = TEST_TIMEOUT) -> Outcome:
        missing = [n for n in check.needs if n not in symbols]
        if missing:
            return Outcome(check, False, f"`{missing[0]}` is not defined: run the cell that defines it "
                                         "(and keep torch's name for it)")
        result, message = run_guarded(lambda: check.fn(*(symbols[n] for n in check.needs)), symbols, self.own,
                                      check.timeout or timeout)
        if message is not None:
            return Outcome(check, False, message)
        if isinstance(result, Partial) and result.fraction < 1:
            return Outcome(check, False, result.message, max(0.0, result.fraction))
        return Outcome(check, True, "")

    def report(self, task: int, **symbols) -> list[Outcome]:
        """Run one task's checks and print a line per check: the public check cells."""
        outcomes = [self.run(c, symbols) for c in self.checks if c.task == task]
        passed = sum(o.passed for o in outcomes)
        print(f"{self.lab}, task {task} ({self.tasks[task]}): {passed}/{len(outcomes)} checks pass")
        failures = {o.message for o in outcomes if not o.passed}
        shared = failures.pop() if len(failures) == 1 and passed < len(outcomes) - 1 else None
        for o in outcomes:
            print(f"  {'✓' if o.passed else '✗'} {o.check.title}")
            if not o.passed and o.message != shared:
                print(f"      {o.message}")
        if shared:  # say it once: typically "not written yet"
            print(f"  every ✗ above: {shared}")
        if outcomes and passed == len(outcomes):
            print("All good: on to the next task.")
        return outcomes

    def summary(self, **symbols) -> None:
        """Run every check and print the points so far: the last cell of each lab."""
        _summary_of(self, symbols)


def run_guarded(call: Callable[[], object], symbols: dict, own: tuple[str, ...], timeout: float | None,
                failure: type[BaseException] = Mistake) -> tuple[object, str | None]:
    """Run `call` on the learner's code as the checks and the hidden tests both must: seeded, time-limited,
    with numtorch's own versions of the layers in `own` refused. Returns (what call returned, None), or
    (None, why it failed): a `failure` gives its own message, anything else names the learner's line."""
    _seed()
    try:
        with time_limit(timeout), contextlib.ExitStack() as stack:
            for name in own:
                stack.enter_context(forbid_reference(name))
                _expect_not_subclass(symbols.get(name), name)
            return call(), None
    except (Mistake, failure) as failed:
        return None, str(failed)
    except TimeLimit as limit:
        return None, str(limit) + _where(limit)
    except NotImplementedError as todo:
        hint = f" ({todo})" if str(todo) else ""
        return None, f"not written yet: your code raised NotImplementedError{hint}"
    except Exception as error:  # the learner's code may raise anything; report, don't crash
        return None, f"your code raised {type(error).__name__}: {error}{_where(error)}"


@contextlib.contextmanager
def forbid_reference(name: str):
    """Make numtorch's own nn.<name> refuse to be built or called from the learner's code."""
    from numtorch import nn

    reference = getattr(nn, name)
    originals = {a: reference.__dict__[a] for a in ("__init__", "forward") if a in reference.__dict__}

    def guarded(original):
        def wrapper(*args, **kwargs):
            if _called_by_learner():
                raise Mistake(f"your code uses numtorch's own `nn.{name}` (by subclassing or calling it): "
                              f"write {name} yourself, on top of `nn.Module` and `F`")
            return original(*args, **kwargs)

        return wrapper

    try:
        for attr, original in originals.items():
            setattr(reference, attr, guarded(original))
        yield
    finally:
        for attr, original in originals.items():
            setattr(reference, attr, original)


def _expect_not_subclass(cls, name: str) -> None:
    from numtorch import nn

    expect(not (isinstance(cls, type) and issubclass(cls, getattr(nn, name))),
           f"your {name} subclasses numtorch's own `nn.{name}`: subclass `nn.Module` and write it yourself")


def _called_by_learner() -> bool:
    frame = sys._getframe(2)
    while frame is not None and "numtorch" in Path(frame.f_code.co_filename).parts:
        frame = frame.f_back
    return frame is not None and not frame.f_code.co_filename.startswith(_LABKIT_DIR)


def _summary_of(bank: "Bank", symbols: dict) -> None:
    outcomes = [bank.run(c, symbols) for c in bank.checks]
    points = sum(c.points for c in bank.checks)
    earned = sum(o.score for o in outcomes)
    print(f"{bank.lab}: the public checks give {earned:g}/{points:g} points "
          "(the grader adds a few hidden tests of the same behaviour)")
    for task, title in bank.tasks.items():
        mine = [o for o in outcomes if o.check.task == task]
        print(f"  task {task} ({title}): {sum(o.passed for o in mine)}/{len(mine)} checks pass")
    todo = [o for o in outcomes if not o.passed]
    if todo:
        print(f"First thing to fix: {todo[0].check.title}: {todo[0].message}")


def _seed(seed: int = 0) -> None:
    import numpy as np

    np.random.seed(seed)
    numtorch = sys.modules.get("numtorch")
    if numtorch is not None and hasattr(numtorch, "manual_seed"):
        numtorch.manual_seed(seed)


def _where(error: BaseException) -> str:
    """Point at the learner's line: the last frame outside labkit and numtorch."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not _is_library(f.filename)]
    if not frames:
        return ""
    frame = frames[-1]
    line = f": `{frame.line.strip()}`" if frame.line else ""
    return f" (in `{frame.name}`{line})"


def _is_library(filename: str) -> bool:
    return filename.startswith(_LABKIT_DIR) or "numtorch" in Path(filename).parts or "site-packages" in filename
