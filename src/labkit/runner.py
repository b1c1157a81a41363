"""The grader's hands inside the learner's kernel.

The grader executes the learner's notebook, then sends one small cell per test that calls
:func:`run_check` or :func:`run_hidden`. Each appends one JSON line to a results file, so the
learner's own prints, however large, never mix with the results.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys

from labkit.checks import run_guarded


def run_check(module: str, name: str, timeout: float, results: str) -> None:
    bank = importlib.import_module(f"labkit.checks.{module}").bank
    with _quiet():
        outcome = bank.run(bank[name], _namespace(), timeout)
    _append(results, outcome.as_dict())


def run_hidden(module: str, name: str, points: float, source: str, timeout: float, results: str) -> None:
    """Run one hidden test of the lab whose check module is `module` ("" if none) under the checks' guards."""
    own = importlib.import_module(f"labkit.checks.{module}").bank.own if module else ()
    # A copy: the test's own variables must not leak into the learner's namespace.
    symbols = _namespace()
    namespace = dict(symbols)
    with _quiet():
        _, message = run_guarded(lambda: exec(compile(source, f"<hidden test {name}>", "exec"), namespace),
                                 symbols, own, timeout, failure=AssertionError)
    if message == "":
        message = f"hidden test {name} failed"
    passed = message is None
    _append(results, {"name": name, "score": points if passed else 0.0, "max_score": points,
                      "passed": passed, "message": message or ""})


def _namespace() -> dict:
    try:
        return get_ipython().user_ns  # noqa: F821 (defined inside IPython)
    except NameError:
        return vars(sys.modules["__main__"])


class _Sink(io.TextIOBase):
    def write(self, text):
        return len(text)


@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(_Sink()), contextlib.redirect_stderr(_Sink()):
        yield


def _append(path: str, result: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")
