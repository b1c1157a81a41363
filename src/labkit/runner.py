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

from labkit.checks import Mistake, TimeLimit, _where, time_limit


def run_check(module: str, name: str, timeout: float, results: str) -> None:
    bank = importlib.import_module(f"labkit.checks.{module}").bank
    with _quiet():
        outcome = bank.run(bank[name], _namespace(), timeout)
    _append(results, outcome.as_dict())


def run_hidden(name: str, points: float, source: str, timeout: float, results: str) -> None:
    # A copy: the test's own variables must not leak into the learner's namespace.
    namespace = dict(_namespace())
    message = ""
    try:
        with _quiet(), time_limit(timeout):
            exec(compile(source, f"<hidden test {name}>", "exec"), namespace)
    except (AssertionError, Mistake) as failed:
        message = str(failed) or f"hidden test {name} failed"
    except NotImplementedError as todo:
        message = f"not written yet: your code raised NotImplementedError ({todo})"
    except TimeLimit as limit:
        message = str(limit) + _where(limit)
    except Exception as error:
        message = f"your code raised {type(error).__name__}: {error}{_where(error)}"
    passed = not message
    _append(results, {"name": name, "score": points if passed else 0.0, "max_score": points,
                      "passed": passed, "message": message})


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
