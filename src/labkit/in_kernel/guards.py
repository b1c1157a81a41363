"""What bounds the learner's code while a check runs it: time limits, a refusal to use the layer the lab asks
the learner to write, quiet numerics, and the two exceptions a check's verdict is made of. Used by the probe
(in a grading kernel, or in the notebook for the public checks) and by the checks.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import warnings

import numpy as np


class Mistake(AssertionError):
    """A named learner mistake; its message says what went wrong and how to fix it."""


class TimeLimit(BaseException):
    """Raised in the learner's code when a check runs out of time.

    A BaseException, so that a learner's ``except Exception`` cannot swallow it.
    """


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise TimeLimit in this thread after `seconds` of this process's processor time, or after WALL_FACTOR
    times as long by the clock (code that sleeps). Processor time is what the code itself used: a machine
    busy with other work slows it down but cannot run it out of time. Main thread only; elsewhere no limit.

    Pyodide (the browser lab) has no interval timers: there the check runs with no limit.
    """
    if (not seconds or threading.current_thread() is not threading.main_thread()
            or not hasattr(signal, "setitimer")):
        yield
        return

    def expire(signum, frame):
        raise TimeLimit(f"took longer than {seconds:g} s: is there an infinite loop?")

    previous = {number: signal.signal(number, expire) for number in (signal.SIGPROF, signal.SIGALRM)}
    signal.setitimer(signal.ITIMER_PROF, seconds)
    signal.setitimer(signal.ITIMER_REAL, WALL_FACTOR * seconds + 10)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        for number, handler in previous.items():
            signal.signal(number, handler)


WALL_FACTOR = 3  # a time limit in processor seconds also ends code after this many times as long by the clock


@contextlib.contextmanager
def forbid_reference(name: str):
    """Make numtorch's own nn.<name> refuse to be built or called while the learner's code runs.

    The probe enters this only around a request's call into the learner's code, so every call it stops is the
    learner's; the checks' own reference computations run outside it. While grading, the layer is absent from
    the learner's numtorch altogether, and this does nothing."""
    from numtorch import nn

    reference = getattr(nn, name, None)
    originals = {a: reference.__dict__[a] for a in ("__init__", "forward")
                 if reference is not None and a in reference.__dict__}

    def refuse(*args, **kwargs):
        raise Mistake(f"your code uses numtorch's own `nn.{name}` (by subclassing or calling it): "
                      f"write {name} yourself, on top of `nn.Module` and `F`")

    try:
        for attr in originals:
            setattr(reference, attr, refuse)
        yield
    finally:
        for attr, original in originals.items():
            setattr(reference, attr, original)


@contextlib.contextmanager
def quiet_engine():
    """Learner code may divide by zero on purpose; the feedback names it, numpy need not warn about it too."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
