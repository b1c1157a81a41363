"""Grade one submission: run its cells in a fenced kernel, then every test from this process.

The learner's code runs in a kernel (labkit.grader.fence); the tests, the reference engine, the
answer keys and the secret inputs stay in this process, which computes every verdict. A test
reaches the learner's code only through the probe in the kernel (labkit.in_kernel.probe): one cell per
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
import errno
import importlib
import os
import secrets
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import nbformat

from labkit.checks import TEST_TIMEOUT, limit_message, run_guarded
from labkit.grader import fence
from labkit.grader.kernel_client import CELL_TIMEOUT, KernelFailed, Session
from labkit.labs import Lab, identify, load_labs

# The whole grading of one submission: a cell may take a third of it (see grade), so three cells' worth.
NOTEBOOK_TIMEOUT = 3 * CELL_TIMEOUT


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
    how, why = fence.fence_mode()
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
          cell_timeout: float | None = None, lab: str | None = None, unfenced: bool = False,
          run: Path | None = None) -> dict:
    """Grade one notebook. Raises NoFence where no fence can be had and `unfenced` is not given. The kernel's work
    goes into `run` (from fence.run_folder(), whose owner removes it in the end too), else into a run folder of its
    own; either is emptied and removed when the grading ends."""
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
    withheld = bank_of(chosen).withheld if chosen.checks_module else ()
    if chosen.checks_module == "capstone":
        importlib.import_module("labkit.checks.capstone").use_secret_seed(secrets.randbits(32))
    run = run or fence.run_folder()
    reaping = fence.become_subreaper()
    before = set(fence.descendants())
    try:
        uid = fence.uid_for_grading() if how == "root" else os.getuid()
        work = fence.work_folder(run, how, uid)
        fence.build_site(work / "site", withheld)
        with Session(work, withheld, timeout, cell_timeout, how, uid) as session:
            session.run_cells(learner)
            graded = [_run_test(test, session.connection) for test in tests]
    except KernelFailed as error:
        return ungradable(str(error), chosen, fence=how)
    except Exception as error:  # the client broke
        return ungradable(f"could not execute the notebook ({type(error).__name__}: {limit_message(error)})", chosen,
                          fence=how)
    finally:
        if reaping:
            fence.end_descendants(spare=before)
        shutil.rmtree(run, ignore_errors=True)
    review = list(session.review)
    for test in graded:
        reason = test.pop("review", None)
        if reason and reason not in review:
            review.append(reason)
    return {
        "lab": chosen.name,
        "score": round(sum(r["score"] for r in graded), 6),
        "max_score": round(sum(t.points for t in tests), 6),
        "tests": graded,
        "notes": lab_notes + session.notes,
        "review": review,
        "fence": how,
    }


MAX_NOTEBOOK_BYTES = 64 * 1024**2


class NotASubmission(ValueError):
    """A path that is not a notebook file of its own: a link, a folder, a device, or too large."""


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


def _run_test(test: Test, connection) -> dict:
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
