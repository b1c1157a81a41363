"""`labkit gradebook` grades each submission in a process forked from its own: a grading that crashes, raises,
prints or never ends costs its own row only, the rows keep the submissions' order, and no grading process, nor
anything in its run folder, is left. The real grader is replaced here (the forked processes inherit the
replacement): what is tested is the running of the processes, not the grading (tests/labs/test_grading_labs.py,
test_red_team.py)."""

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from labkit.grader import gradebook

HANGING = {}  # where the grading that never ends writes its process id (set by the fixture)


def pretend_grade(path, labs, timeout, lab, unfenced, run):
    """What a grading process does, by the submission's name. Each leaves work in its run folder, as a kernel does,
    and only the one that returns removes it (as the real grader does when it ends)."""
    name = Path(path).stem
    (run / "site").mkdir()
    (run / "site" / f"{name}.txt").write_text(name)
    if name == "crashes":
        os.kill(os.getpid(), signal.SIGKILL)
    if name == "raises":
        raise RuntimeError("the grader broke on this one")
    if name == "hangs":
        HANGING["pid file"].write_text(str(os.getpid()))
        time.sleep(60)
    if name == "prints":
        print("to the gradebook's output?")
        os.write(2, b"and to its errors?\n")
    shutil.rmtree(run)
    return {"lab": lab, "score": 1.0, "max_score": 1.0, "tests": [], "notes": [f"pid {os.getpid()}"],
            "review": [], "ungradable": None, "fence": "root"}


def grade_all(names):
    """The rows of a gradebook of `names`, and the run folders it made (recorded as fence.run_folder makes them)."""
    made = []

    def run_folder():
        made.append(real_run_folder())
        return made[-1]

    real_run_folder = gradebook.fence.run_folder
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gradebook.fence, "run_folder", run_folder)
        rows = gradebook.grade_all([(Path(f"/nowhere/{n}.ipynb"), "2_dropout") for n in names], labs=[], jobs=2,
                                   timeout=1, unfenced=False)
    return made, rows


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    HANGING["pid file"] = tmp_path_factory.mktemp("hanging") / "pid"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gradebook, "grade", pretend_grade)
        patch.setattr(gradebook, "HARD_LIMIT_MARGIN", 1)
        names = ["first", "crashes", "raises", "hangs", "prints", "last"]
        started = time.monotonic()
        runs, results = grade_all(names)
        return dict(zip(names, results)), time.monotonic() - started, dict(zip(names, runs))


def test_each_grading_runs_in_a_process_of_its_own_and_the_rows_keep_their_order(graded):
    results, _, _ = graded
    pids = {name: results[name]["notes"][0] for name in ("first", "prints", "last")}
    assert len(set(pids.values()) | {f"pid {os.getpid()}"}) == 4, pids
    assert all(results[name]["score"] == 1.0 for name in pids)


def test_a_grading_that_crashes_or_raises_is_ungradable_and_says_why(graded):
    results, _, _ = graded
    assert results["crashes"]["ungradable"] == "the grader failed: exit -9"
    assert results["raises"]["ungradable"] == "the grader failed: RuntimeError: the grader broke on this one"


def test_a_grading_that_never_ends_is_killed_at_the_hard_limit(graded):
    results, took, _ = graded
    assert results["hangs"]["ungradable"] == "grading took longer than 2 s"
    assert took < 30
    assert not Path(f"/proc/{HANGING['pid file'].read_text()}").exists(), "the grading process outlived the gradebook"


def test_what_a_grading_prints_stays_out_of_the_gradebooks_output(monkeypatch, capfd):
    monkeypatch.setattr(gradebook, "grade", pretend_grade)
    assert grade_all(["prints"])[1][0]["score"] == 1.0
    printed = capfd.readouterr()
    assert printed.out == "" and printed.err == ""


def test_no_grading_leaves_its_run_folder_however_it_ended(graded):
    _, _, runs = graded
    assert len(set(runs.values())) == len(runs)
    assert [name for name, run in runs.items() if run.exists()] == []
