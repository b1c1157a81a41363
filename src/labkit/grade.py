"""Grade one submission: run its cells in a fenced kernel, then every test from this process.

The learner's code runs in a kernel (labkit.sandbox); the tests, the reference engine, the
answer keys and the secret inputs stay in this process, which computes every verdict. A test
reaches the learner's code only through the probe in the kernel (labkit.probe): one cell per
request, a fresh nonce each, exactly one well-formed answer counted. No answer, two answers,
an answer to another request, or a dead kernel: that test scores 0 and the row is flagged for
review, with the reason.

Every failure mode of a submission ends as a result, never as an exception: a file that is
not a notebook or answers no known lab is "ungradable: why"; a cell that raises or loops is
a note; a test that raises, loops or finds a name missing scores zero with a message. The
submission file is only ever read.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import importlib
import json
import math
import os
import secrets
import shutil
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from labkit import sandbox
from labkit.sandbox import labkit_env
from labkit.checks import LONGEST_CELL, TEST_TIMEOUT, WALL_FACTOR, TimeLimit, limit_message, run_guarded
from labkit.labs import Lab, identify, load_labs
from labkit.probe import MIME
from labkit.remote import Connection, NoAnswer

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
    check: object = None  # a labkit.checks.Check, or None for a hidden test
    source: str = ""  # a hidden test's code, run in the grader's process


def tests_of(lab: Lab) -> list[Test]:
    """The lab's checks, then its hidden tests."""
    tests = []
    for c in bank_of(lab).checks if lab.checks_module else ():
        tests.append(Test(c.name, c.points, c.timeout or TEST_TIMEOUT, check=c))
    for h in lab.hidden_tests():
        tests.append(Test(h.name, h.points, h.timeout or TEST_TIMEOUT, source=h.source))
    return tests


def bank_of(lab: Lab):
    return importlib.import_module(f"labkit.checks.{lab.checks_module}").bank


def ungradable(why: str, lab: Lab | None = None, fence: str | None = None) -> dict:
    return {"lab": lab.name if lab else None, "score": 0.0, "max_score": 0.0, "tests": [], "notes": [],
            "review": [], "ungradable": why, "fence": fence}


class NoFence(RuntimeError):
    """No namespaces to fence a kernel with, and the instructor did not ask to grade without one."""


def fence_in_force(unfenced: bool) -> str:
    """The fence mode grading will use ("root", "userns", or "unfenced" when allowed); raises NoFence."""
    how, why = sandbox.fence()
    if how != "none":
        return how
    if not unfenced:
        raise NoFence(f"no fence for the learner's code on this machine ({why}): the submissions would run as "
                      "you, with your files. Grade as root or where unprivileged user namespaces are enabled, or "
                      "pass --no-fence to grade without one (every row then says unfenced)")
    return "unfenced"


def assigned_lab(path: Path, labs: list[Lab], lab: str | None, submission) -> tuple[Lab | None, list[str]]:
    """The lab a submission is graded as: the one assigned (`lab`, else the folder it sits in), never what the
    learner can edit; returns it and notes on any mismatch. With no assignment, the notebook itself tells, noted."""
    by_name = {l.name: l for l in labs}
    notes = []
    chosen = by_name.get(lab) if lab else by_name.get(path.parent.name)
    told = identify(submission, path.name, labs)
    if chosen is None:
        if told is not None:
            notes.append(f"no lab assigned (--lab, or a folder named after the lab): graded as {told.name}, which "
                         "the notebook's own metadata or name says")
        return told, notes
    meta = submission.get("metadata", {}).get("labkit") if isinstance(submission.get("metadata"), dict) else None
    named = meta.get("lab") if isinstance(meta, dict) else None
    if isinstance(named, str) and named != chosen.name:
        notes.append(f"the notebook's metadata says it answers {named}, but it was graded as the assigned "
                     f"{chosen.name}")
    elif told is not None and told is not chosen:
        notes.append(f"the notebook looks like {told.name}, but it was graded as the assigned {chosen.name}")
    return chosen, notes


def grade(path: str | os.PathLike, labs: list[Lab] | None = None, timeout: float = NOTEBOOK_TIMEOUT,
          cell_timeout: float | None = None, lab: str | None = None, unfenced: bool = False) -> dict:
    """Grade one notebook. Raises NoFence where no fence can be had and `unfenced` is not given."""
    path = Path(path)
    how = fence_in_force(unfenced)
    # One looping cell must leave time for the other cells: at most a third of the notebook's time.
    cell_timeout = cell_timeout or min(CELL_TIMEOUT, timeout / 3)
    try:
        submission = nbformat.reads(read_submission(path).decode("utf-8"), as_version=4)
        sources = [c.source if isinstance(c.source, str) else "".join(c.source)
                   for c in submission.cells if c.get("cell_type") == "code"]
    except NotASubmission as error:
        return ungradable(str(error), fence=how)
    except Exception as error:  # never the reader's message: it can quote the file, which may be anyone's
        return ungradable(f"not a readable notebook ({type(error).__name__})", fence=how)
    labs = labs if labs is not None else load_labs()
    if lab is not None and lab not in {l.name for l in labs}:
        return ungradable(f"no lab named {lab!r} (labs: {', '.join(l.name for l in labs)})", fence=how)
    chosen, lab_notes = assigned_lab(path, labs, lab, submission)
    if chosen is None:
        return ungradable("cannot tell which lab this notebook answers (pass --lab, or grade a folder named after "
                          "the lab)", fence=how)

    unchanged_checks = chosen.check_cell_sources()
    learner = {number: s for number, s in enumerate(sources, 1) if s.strip() and s.strip() not in unchanged_checks}
    tests = tests_of(chosen)
    own = bank_of(chosen).own if chosen.checks_module else ()
    if chosen.checks_module == "capstone":
        importlib.import_module("labkit.checks.capstone").use_secret_seed(secrets.randbits(32))
    run = sandbox.run_folder()
    reaping = sandbox.become_subreaper()
    before = set(sandbox.descendants())
    try:
        uid = sandbox.uid_for_grading() if how == "root" else os.getuid()
        work = sandbox.work_folder(run, how, uid)
        sandbox.build_site(work / "site", own)
        outcome = _execute(learner, tests, own, work, timeout, cell_timeout, how, uid)
    except KernelFailed as error:
        return ungradable(str(error), chosen, fence=how)
    except Exception as error:  # the client broke
        return ungradable(f"could not execute the notebook ({type(error).__name__}: {_short(error)})", chosen,
                          fence=how)
    finally:
        if reaping:
            sandbox.end_descendants(spare=before)
        shutil.rmtree(run, ignore_errors=True)
    graded, notes, review = outcome
    return {
        "lab": chosen.name,
        "score": round(sum(r["score"] for r in graded), 6),
        "max_score": round(sum(t.points for t in tests), 6),
        "tests": graded,
        "notes": lab_notes + notes,
        "review": review,
        "fence": how,
    }


MAX_NOTEBOOK_BYTES = 64 * 1024**2


class NotASubmission(ValueError):
    """A path that is not a notebook file of its own: a link, a folder, a device, or too large."""


class KernelFailed(RuntimeError):
    """The fenced kernel could not start; the message carries what it printed."""


def read_submission(path: Path) -> bytes:
    """The bytes of a submission, read without following a symbolic link: a link could point at an answer
    key, a classmate's notebook or a file of the machine, and the grader may be root."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise NotASubmission("a symbolic link, not a notebook file: hand in the file itself") from None
        raise NotASubmission(f"cannot be opened ({error.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise NotASubmission("not a regular file" + (" (a folder)" if stat.S_ISDIR(info.st_mode) else ""))
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotASubmission(f"larger than {MAX_NOTEBOOK_BYTES // 1024**2} MiB")
    return data


class _Client(NotebookClient):
    """nbclient, with each cell's output capped, and the probe's answers set apart from the learner's prints."""

    answers: list | None = None  # the answers of the request being sent, or None while the learner's cells run

    def output(self, outs, msg, display_id, cell_index):
        data = msg.get("content", {}).get("data")
        if isinstance(data, dict) and MIME in data:
            if self.answers is not None and len(self.answers) < 10:
                self.answers.append(data[MIME])
            elif self.answers is not None:
                self.answers.append(None)
            return None
        if sum(len(json.dumps(o)) for o in outs) > MAX_OUTPUT_CHARS:
            return None
        return super().output(outs, msg, display_id, cell_index)


class KernelConnection(Connection):
    """The checks' requests, sent to the probe in the learner's kernel: one cell per request, one answer each."""

    def __init__(self, client: _Client, own: tuple[str, ...], run_cell, deadline: float):
        self.client, self.own, self.run_cell, self.deadline = client, own, run_cell, deadline
        self.dead = None  # why the kernel can no longer answer
        self.failures = 0  # requests in a row without a usable answer
        self.seconds, self.used = None, 0.0

    @contextlib.contextmanager
    def limit(self, seconds):
        """A check's time limit counts the seconds its requests spend in the kernel (as the notebook would),
        not the round trips; each request also has a wall-clock limit, and the notebook its own."""
        self.seconds, self.used = seconds or TEST_TIMEOUT, 0.0
        yield

    def send(self, request: dict) -> dict:
        if self.dead:
            raise NoAnswer(self.dead)
        try:
            answer = self._send(request)
        except NoAnswer:
            self.failures += 1
            if self.failures >= GIVE_UP_AFTER and not self.dead:
                self.dead = f"the kernel stopped answering ({GIVE_UP_AFTER} requests in a row)"
            raise
        self.failures = 0
        return answer

    def _send(self, request: dict) -> dict:
        wall = self.deadline - time.monotonic()
        if wall <= 0:
            raise NoAnswer("not run: grading this notebook hit its time limit")
        left = min((self.seconds or TEST_TIMEOUT) - self.used, wall)
        if left <= 0:
            raise TimeLimit(f"took longer than {self.seconds:g} s: is there an infinite loop?")
        nonce = secrets.token_hex(16)
        request = dict(request, timeout=round(left, 3))
        code = (f"__import__('labkit.probe', fromlist=['serve']).serve({nonce!r}, {json.dumps(request)!r}, "
                f"{tuple(self.own)!r})")
        self.client.answers = answers = []
        try:
            # The kernel's own limit (processor time, or WALL_FACTOR times as long by the clock) goes first.
            error = self.run_cell(code, min(WALL_FACTOR * left + 10, wall))
        finally:
            self.client.answers = None
        if error == "dead":
            self.dead = "the kernel died (a crash, exit() or out of memory)"
            raise NoAnswer(self.dead)
        mine = []
        for text in answers:
            try:
                answer = json.loads(text) if isinstance(text, str) and len(text) <= MAX_ANSWER_CHARS else None
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                raise NoAnswer("a malformed answer")
            if answer.get("nonce") != nonce:
                raise NoAnswer("an answer to another request")
            mine.append(answer.get("answer"))
        if not mine:
            why = "it was stopped" if error == "timeout" else "the probe was replaced or silenced"
            raise NoAnswer(f"no answer to a request ({why})")
        if len(mine) > 1:
            raise NoAnswer(f"{len(mine)} answers to one request")
        answer = mine[0]
        elapsed = answer.get("elapsed") if isinstance(answer, dict) else None
        finite = isinstance(elapsed, (int, float)) and math.isfinite(elapsed)
        self.used += min(max(float(elapsed), 0.0), left) if finite else left
        return answer


MAX_ANSWER_CHARS = 50_000_000
GIVE_UP_AFTER = 3  # requests in a row without a usable answer: the kernel is taken as gone


def _execute(learner: dict[int, str], tests: list[Test], own, work: Path, timeout: float,
             cell_timeout: float, how: str, uid: int):
    """Run the learner's cells in a fenced kernel, then every test from this process. Returns (test results,
    notes, reasons for review)."""
    deadline = time.monotonic() + timeout
    # The learner's cells may use two thirds of the time, so that a loop in them leaves time for the tests.
    cells_deadline = time.monotonic() + timeout * 2 / 3
    numbers = list(learner)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in learner.values()])
    current = {"limit": cell_timeout}
    specs = work.parent / (work.name + "-kernels")  # the grader's, outside the kernel's reach
    specs.mkdir(mode=0o700)
    spec = specs / "labkit-sandbox"
    spec.mkdir()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": sandbox.launcher(work, "none" if how == "unfenced" else how, cpu=timeout + 60, uid=uid)
        + [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "labkit sandbox",
        "language": "python", "interrupt_mode": "message"}))
    # IPC sockets inside the work folder: local only, no network needed, and no warning about unencrypted TCP.
    km = AsyncKernelManager(kernel_name="labkit-sandbox", transport="ipc", ip=str(work / "kernel-ipc"),
                            connection_file=str(work / "kernel.json"),
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))
    client = _Client(nb, km=km, kernel_name="labkit-sandbox", allow_errors=True, interrupt_on_timeout=True,
                     error_on_timeout={"ename": "Timeout", "evalue": "cell timed out", "traceback": []},
                     timeout_func=lambda cell: current["limit"], shutdown_kernel="immediate",
                     resources={"metadata": {"path": str(work)}})
    replies: dict = {}
    client.on_cell_executed = lambda cell_index, execute_reply, **_: replies.__setitem__(cell_index, execute_reply)
    notes: list[str] = []
    review: list[str] = []
    state = {"dead": None}

    def run_cell(code: str, limit: float) -> str | None:
        """Execute one cell; "dead", "timeout", "error" or None."""
        cell = nbformat.v4.new_code_cell(code)
        nb.cells.append(cell)
        index = len(nb.cells) - 1
        current["limit"] = max(1, limit)
        try:
            client.execute_cell(cell, index)
        except DeadKernelError:
            return "dead"
        reply = (replies.pop(index, None) or {}).get("content", {})
        if reply.get("status") == "error":
            return "timeout" if reply.get("ename") == "Timeout" else "error"
        return None

    results = []
    log = specs / "kernel-stderr.txt"  # what the fence and the kernel print at their start, should they fail
    with open(log, "wb") as stderr, contextlib.ExitStack() as stack:
        try:
            stack.enter_context(client.setup_kernel(env=labkit_env(**sandbox.THREADS), cwd=str(work),
                                                    stdout=subprocess.DEVNULL, stderr=stderr))
        except Exception as error:
            raise KernelFailed(f"the kernel could not start ({type(error).__name__}: {_short(error)}); "
                               f"it printed: {_printed(log)}") from None
        watchdog = stack.enter_context(sandbox.Watchdog(km.provisioner.pid, work))
        for index, number in enumerate(numbers):
            left = cells_deadline - time.monotonic()
            if state["dead"] or left <= 1:
                if not state["dead"]:
                    notes.append(f"code cell {number} not run: the notebook's cells used up their "
                                 f"{timeout * 2 / 3:g} s")
                continue
            current["limit"] = max(1, min(cell_timeout, left))
            started, waited = time.monotonic(), watchdog.waited_seconds()
            try:
                client.execute_cell(nb.cells[index], index)
            except DeadKernelError:
                state["dead"] = f"the kernel died while running your code cell {number}"
                notes.append(f"{state['dead']} ({_death(watchdog)})")
                continue
            reply = (replies.pop(index, None) or {}).get("content", {})
            if reply.get("status") == "error":
                if reply.get("ename") == "Timeout":
                    notes.append(f"code cell {number} was stopped after {current['limit']:.0f} s")
                    wall, waited = time.monotonic() - started, watchdog.waited_seconds() - waited
                    if waited > wall / 3:  # its time went to other work on the machine, not to its own code
                        review.append(f"code cell {number} was stopped after {wall:.0f} s, {waited:.0f} s of them "
                                      "spent waiting for a processor: the machine was too busy; grade it again")
                else:
                    notes.append(f"code cell {number} raised {reply.get('ename')}: "
                                 f"{_short(_explained(reply.get('evalue', ''), own))}")
        connection = KernelConnection(client, own, run_cell, deadline)
        if state["dead"]:
            connection.dead = f"not run: {state['dead']}"
        for test in tests:
            outcome = _run_test(test, connection)
            results.append(outcome)
            reason = outcome.pop("review", None)
            if reason:
                if reason not in review:
                    review.append(reason)
    if watchdog.breach and not any(watchdog.breach in note for note in notes):
        notes.append(f"the grader ended the kernel: {watchdog.breach}")
    return results, notes, review


def _death(watchdog) -> str:
    return f"the grader ended it: {watchdog.breach}" if watchdog.breach else "a crash, exit() or out of memory"


def _printed(log: Path, limit: int = 1500) -> str:
    """The end of what a process printed, as plain text on one line."""
    try:
        text = log.read_bytes()[-limit:].decode("utf-8", "replace")
    except OSError:
        return "nothing"
    text = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return plain(text) or "nothing"


def plain(text: str) -> str:
    """`text` without control characters (terminal escapes, bells, carriage returns): safe to print or store."""
    return "".join(c if c.isprintable() or c == "\n" else "\N{REPLACEMENT CHARACTER}" for c in str(text))


def _run_test(test: Test, connection: KernelConnection) -> dict:
    if test.check is not None:
        outcome = bank_for(test.check).run(test.check, connection, test.timeout)
        result = outcome.as_dict()
        result["review"] = outcome.review
        return result
    score, message, review = run_hidden(test.name, test.points, test.source, connection, test.timeout)
    return {"name": test.name, "score": score, "max_score": test.points, "passed": score == test.points,
            "message": message, "review": review}


def bank_for(check):
    return importlib.import_module(check.fn.__module__).bank


def run_hidden(name: str, points: float, source: str, connection, timeout: float):
    """Run a hidden test in this process: its learner's names are proxies to the kernel. (score, message, review)."""
    import numpy as np

    import numtorch
    from numtorch import nn
    import numtorch.nn.functional as F

    names = _LearnerNames(connection, {"__builtins__": builtins, "torch": numtorch, "nn": nn, "F": F, "np": np})
    _, message, review = run_guarded(
        lambda: exec(compile(source, f"<hidden test {name}>", "exec"), names.globals, names), connection, timeout,
        failure=AssertionError)
    if message == "":
        message = f"hidden test {name} ({name.removeprefix('hidden_').replace('_', ' ')}) failed"
    return (points if message is None else 0.0), message or "", review


class _LearnerNames(dict):
    """A hidden test's names: its own, then the grader's imports and builtins, then the learner's (as proxies)."""

    def __init__(self, connection, globals_: dict):
        super().__init__()
        self.connection, self.globals = connection, globals_

    def __missing__(self, key):
        if key in self.globals or hasattr(builtins, key):
            raise KeyError(key)
        value = self[key] = self.connection.name(key)
        return value


def _explained(message: str, own) -> str:
    """A cell's error, with the reason when it reached for a layer that is absent while grading."""
    for name in own:
        if f"has no attribute '{name}'" in message:
            return (f"{message} (numtorch's own nn.{name} is not there while grading: write {name} yourself, "
                    "on top of nn.Module and F)")
    return message


def _short(text) -> str:
    return limit_message(text)
