"""Grade one submission: execute it in a fresh kernel, then run the lab's tests in that kernel.

Every failure mode of a submission ends as a result, never as an exception: a file that is
not a notebook or answers no known lab is "ungradable: why"; a cell that raises or loops is
a note; a test that raises, loops or finds a name missing scores zero with a message. The
submission file is only ever read.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from labkit.checks import LONGEST_CELL, TEST_TIMEOUT
from labkit.labs import Lab, identify, load_labs

# One of the learner's cells: the longest a lab lets a cell run (the capstone's training), plus a margin for
# what the cell does around it, so that the lab's own limit, with its clearer message, goes first.
CELL_TIMEOUT = LONGEST_CELL + 15
# The whole grading of one submission: a cell may take a third of it (see grade), so three cells' worth.
NOTEBOOK_TIMEOUT = 3 * CELL_TIMEOUT
MAX_OUTPUT_CHARS = 20_000  # per cell: a huge print must not flood the grader's memory


@dataclass(frozen=True)
class Test:
    name: str
    points: float
    timeout: float
    code: str  # the cell the grader sends to the kernel


def tests_of(lab: Lab, results: str) -> list[Test]:
    """The lab's checks, then its hidden tests, each as the cell that runs it and appends its result to `results`."""
    tests = []
    if lab.checks_module:
        bank = importlib.import_module(f"labkit.checks.{lab.checks_module}").bank
        for c in bank.checks:
            timeout = c.timeout or TEST_TIMEOUT
            tests.append(Test(c.name, c.points, timeout,
                              f"import labkit.runner\nlabkit.runner.run_check({lab.checks_module!r}, {c.name!r}, "
                              f"{timeout!r}, {results!r})"))
    for h in lab.hidden_tests():
        timeout = h.timeout or TEST_TIMEOUT
        tests.append(Test(h.name, h.points, timeout,
                          f"import labkit.runner\nlabkit.runner.run_hidden({lab.checks_module!r}, {h.name!r}, {h.points!r}, "
                          f"{h.source!r}, {timeout!r}, {results!r})"))
    return tests


def labkit_env(**extra: str) -> dict:
    """os.environ plus `extra`, with this labkit first on PYTHONPATH: a kernel or process started with it
    imports the labkit that started it, installed or not."""
    src = str(Path(__file__).resolve().parents[1])
    return dict(os.environ, **extra, PYTHONPATH=os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p))


def ungradable(why: str, lab: Lab | None = None) -> dict:
    return {"lab": lab.name if lab else None, "score": 0.0, "max_score": 0.0, "tests": [], "notes": [],
            "ungradable": why}


def grade(path: str | os.PathLike, labs: list[Lab] | None = None, timeout: float = NOTEBOOK_TIMEOUT,
          cell_timeout: float | None = None) -> dict:
    path = Path(path)
    # One looping cell must leave time for the other cells: at most a third of the notebook's time.
    cell_timeout = cell_timeout or min(CELL_TIMEOUT, timeout / 3)
    try:
        submission = nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4)
        sources = [c.source if isinstance(c.source, str) else "".join(c.source)
                   for c in submission.cells if c.get("cell_type") == "code"]
    except Exception as error:
        return ungradable(f"not a readable notebook ({type(error).__name__}: {_short(error)})")
    labs = labs if labs is not None else load_labs()
    lab = identify(submission, path.name, labs)
    if lab is None:
        return ungradable("cannot tell which lab this notebook answers (no labkit metadata, "
                          "no lab name in the file name, no `from labkit.checks import ...`)")

    unchanged_checks = lab.check_cell_sources()
    learner = {number: s for number, s in enumerate(sources, 1) if s.strip() and s.strip() not in unchanged_checks}
    # The results file is not in the kernel's working folder, so that the learner's code does not stumble on it;
    # the learner's code runs in the same process as the tests, though, so read_results still trusts none of it.
    with tempfile.TemporaryDirectory(prefix="labkit-grade-") as work, \
            tempfile.TemporaryDirectory(prefix="labkit-results-") as results_dir:
        results = os.path.join(results_dir, "results.jsonl")
        tests = tests_of(lab, results)
        try:
            notes = _execute(learner, tests, work, timeout, cell_timeout)
        except Exception as error:  # the kernel could not start, or the client broke
            return ungradable(f"could not execute the notebook ({type(error).__name__}: {_short(error)})", lab)
        reported = read_results(results, tests)

    graded = []
    for t in tests:
        graded.append(reported.get(t.name) or {
            "name": t.name, "score": 0.0, "max_score": t.points, "passed": False,
            "message": notes.get(t.name, f"no result: the test was stopped after {t.timeout:g} s "
                                          "(is there an infinite loop?)")})
    return {
        "lab": lab.name,
        "score": round(sum(r["score"] for r in graded), 6),
        "max_score": round(sum(t.points for t in tests), 6),
        "tests": graded,
        "notes": notes.get("", []),
    }


def read_results(path: str, tests: list[Test]) -> dict[str, dict]:
    """The results the kernel reported, per test name, as far as they can be believed.

    The kernel runs the learner's code, which can write anything to this file: so a line counts only if it
    parses and names one of the tests, the test's points come from the grader, and the score is clamped to them.
    """
    points = {t.name: t.points for t in tests}
    reported: dict[str, dict] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:  # no test reported anything
        return reported
    for line in lines:
        try:
            result = json.loads(line)
            name = result["name"]
            score = float(result["score"])
            passed = result["passed"] is True
            message = result["message"]
        except (ValueError, TypeError, KeyError, IndexError):
            continue
        if name not in points or not math.isfinite(score) or not isinstance(message, str):
            continue
        score = min(max(score, 0.0), points[name])
        reported[name] = {"name": name, "score": score, "max_score": points[name],
                          "passed": passed and score == points[name], "message": _short(message)}
    return reported


class _Client(NotebookClient):
    """nbclient, with each cell's output capped."""

    def output(self, outs, msg, display_id, cell_index):
        if sum(len(json.dumps(o)) for o in outs) > MAX_OUTPUT_CHARS:
            return None
        return super().output(outs, msg, display_id, cell_index)


def _execute(learner: dict[int, str], tests: list[Test], work: str, timeout: float, cell_timeout: float) -> dict:
    """Run the learner's cells, then the tests. Returns notes: per test name, and "" for the notebook."""
    deadline = time.monotonic() + timeout
    # The learner's cells may use two thirds of the time, so that a loop in them leaves time for the tests.
    cells_deadline = time.monotonic() + timeout * 2 / 3
    numbers = list(learner)
    cells = [nbformat.v4.new_code_cell(s) for s in learner.values()] + [nbformat.v4.new_code_cell(t.code) for t in tests]
    limits = [cell_timeout] * len(learner) + [t.timeout + 5 for t in tests]  # +5: the kernel's own alarm goes first
    nb = nbformat.v4.new_notebook(cells=cells)
    current = {"limit": cell_timeout}
    # IPC sockets inside the work folder: local only, and no warning about unencrypted TCP.
    km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(work, "kernel-ipc"),
                            connection_file=os.path.join(work, "kernel.json"))
    client = _Client(nb, km=km, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
                     error_on_timeout={"ename": "Timeout", "evalue": "cell timed out", "traceback": []},
                     timeout_func=lambda cell: current["limit"], shutdown_kernel="immediate",
                     resources={"metadata": {"path": work}})
    replies: dict = {}
    client.on_cell_executed = lambda cell_index, execute_reply, **_: replies.__setitem__(cell_index, execute_reply)
    notes: dict = {"": []}
    env = labkit_env(MPLBACKEND="Agg", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    dead = None
    with client.setup_kernel(env=env, cwd=work, stderr=subprocess.DEVNULL):
        for index, cell in enumerate(cells):
            test = tests[index - len(learner)] if index >= len(learner) else None
            left = (deadline if test else cells_deadline) - time.monotonic()
            if dead or left <= 1:
                why = dead or f"not run: grading this notebook hit its {timeout:g} s limit"
                if test:
                    notes[test.name] = why
                elif not dead:
                    notes[""].append(f"code cell {numbers[index]} not run: the notebook's cells used up their "
                                     f"{timeout * 2 / 3:g} s")
                continue
            current["limit"] = max(1, min(limits[index], left))
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                culprit = f"test {test.name}" if test else f"your code cell {numbers[index]}"
                dead = f"not run: the kernel died while running {culprit}"
                notes[""].append(f"the kernel died while running {culprit} (a crash, exit() or out of memory)")
                if test:
                    notes[test.name] = "the kernel died during this test (a crash, exit() or out of memory)"
            reply = (replies.pop(index, None) or {}).get("content", {})
            if test is None and reply.get("status") == "error":
                if reply.get("ename") == "Timeout":
                    notes[""].append(f"code cell {numbers[index]} was stopped after {current['limit']:.0f} s")
                else:
                    notes[""].append(f"code cell {numbers[index]} raised {reply.get('ename')}: "
                                     f"{_short(reply.get('evalue', ''))}")
    return notes


def _short(text, limit: int = 300) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"
