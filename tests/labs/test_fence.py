"""The fence in each mode it runs in: as root (CI), as an ordinary user with user namespaces (most instructors),
and as an ordinary user without them. A fork bomb, a memory hog, a disk filler and leftover shared memory, graded
by one `labkit gradebook --jobs 2` beside honest work, cost their own rows only: the honest rows keep exactly
their scores, the instructor can still start processes, and nothing outlives the gradebook."""

import csv
import shutil
from pathlib import Path

import pytest

from instructor import gradebook, open_folder
from redteam import RESOURCE_ATTACKS
from test_red_team import leftovers, with_cell

LAB = "2_dropout"


@pytest.fixture(scope="module")
def submissions(released):
    top = open_folder()
    folder = top / LAB
    folder.mkdir()
    for name in ("honest-a", "honest-b"):
        shutil.copy(released / "solution" / f"{LAB}.ipynb", folder / f"{name}.ipynb")
    shutil.copy(released / "student" / f"{LAB}.ipynb", folder / "blank.ipynb")
    for number, attack in enumerate(RESOURCE_ATTACKS):
        with_cell(released / "student" / f"{LAB}.ipynb", attack.code, folder / f"attack-{number}.ipynb")
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)
    yield folder
    shutil.rmtree(top, ignore_errors=True)


def shared_memory_keys() -> set[int]:
    segments = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    return {int(line.split()[0]) for line in segments}


@pytest.fixture(scope="module", params=["root", "ordinary user"])
def graded(request, instructor, submissions):
    user = instructor if request.param == "ordinary user" else None
    grades = open_folder()
    out = grades / "grades.csv"
    finished, runs, worst, failed = gradebook(submissions, out, user)
    assert finished.returncode == 0, finished.stdout + finished.stderr[-3000:]
    rows = {r["submission"]: r for r in csv.DictReader(open(out, encoding="utf-8"))}
    yield {"rows": rows, "mode": "root" if user is None else "userns", "leftovers": leftovers(runs),
           "worst": worst, "failed": failed, "stdout": finished.stdout}
    shutil.rmtree(runs, ignore_errors=True)
    shutil.rmtree(grades, ignore_errors=True)


def test_the_fence_in_force_is_stored_in_every_row_and_printed(graded):
    assert {r["fence"] for r in graded["rows"].values()} == {graded["mode"]}
    assert f"fence: {graded['mode']}" in graded["stdout"]


def test_honest_work_keeps_full_marks_beside_the_attacks(graded):
    for name in ("honest-a", "honest-b"):
        row = graded["rows"][f"{name}.ipynb"]
        assert row["status"] == "graded" and float(row["score"]) == float(row["max_score"]) > 0, row
    assert float(graded["rows"]["blank.ipynb"]["score"]) == 0


@pytest.mark.parametrize("number", range(len(RESOURCE_ATTACKS)),
                         ids=[a.name.replace(" ", "-") for a in RESOURCE_ATTACKS])
def test_an_attack_on_the_machine_costs_its_own_row_only(graded, number):
    row = graded["rows"][f"attack-{number}.ipynb"]
    assert float(row["score"]) == 0, row


def test_the_memory_hog_and_the_disk_filler_are_ended_with_the_reason(graded):
    names = [a.name for a in RESOURCE_ATTACKS]
    hog = graded["rows"][f"attack-{names.index('memory hog across processes')}.ipynb"]
    assert "GiB of memory" in hog["notes"], dict(hog)
    filler = graded["rows"][f"attack-{names.index('disk filler')}.ipynb"]
    assert "into its work folder" in filler["notes"], dict(filler)


def test_the_instructor_can_start_processes_throughout(graded):
    assert graded["failed"] == 0
    assert graded["worst"] < 15, f"starting a process took {graded['worst']:.1f} s"


def test_nothing_outlives_the_gradebook(graded):
    assert graded["leftovers"] == []
    assert not shared_memory_keys() & set(range(4242, 4246))


# ---- no user namespaces --------------------------------------------------------------------------------------

def test_without_user_namespaces_grading_refuses_unless_asked(instructor, submissions):
    grades = open_folder()
    out = grades / "grades.csv"
    finished, runs, _, _ = gradebook(submissions, out, instructor, False)
    shutil.rmtree(runs, ignore_errors=True)
    shutil.rmtree(grades, ignore_errors=True)
    assert finished.returncode == 2, finished.stdout + finished.stderr
    assert "--no-fence" in finished.stderr and "No space left on device" in finished.stderr
    assert not out.exists()


def test_without_user_namespaces_no_fence_grades_and_says_unfenced(instructor, released):
    top = open_folder()
    folder = top / LAB
    folder.mkdir()
    for kind, name in (("solution", "honest"), ("student", "blank")):
        shutil.copy(released / kind / f"{LAB}.ipynb", folder / f"{name}.ipynb")
        (folder / f"{name}.ipynb").chmod(0o644)
    out = top / "grades.csv"
    finished, runs, _, _ = gradebook(folder, out, instructor, False, "--no-fence")
    shutil.rmtree(runs, ignore_errors=True)
    assert finished.returncode == 0, finished.stdout + finished.stderr[-3000:]
    rows = {r["submission"]: r for r in csv.DictReader(open(out, encoding="utf-8"))}
    honest = rows["honest.ipynb"]
    assert honest["status"] == "graded (unfenced)" and float(honest["score"]) == float(honest["max_score"]) > 0
    assert float(rows["blank.ipynb"]["score"]) == 0
    assert {r["fence"] for r in rows.values()} == {"unfenced"}
    shutil.rmtree(top, ignore_errors=True)
