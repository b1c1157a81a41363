"""The red team: every attack in tests/labs/redteam.py, graded by one real `labkit gradebook` beside honest
submissions and a saboteur, as root and as an ordinary user. Each attack scores no more than the blank notebook
of its lab; the honest submissions keep full marks; no process outlives the gradebook; no submission file
changes."""

import csv
import shutil
from pathlib import Path

import nbformat
import pytest

from instructor import gradebook, open_folder
from labtools import processes_naming, sha256
from labkit.grader import fence
from redteam import ATTACKS, SABOTEUR


def with_cell(path: Path, code: str, out: Path) -> Path:
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(code))
    nbformat.write(nb, out)
    return out


def leftovers(runs: Path) -> list[str]:
    """Command lines of processes still running a grading kernel whose run folder lies in `runs`."""
    return list(processes_naming(f"{runs}/labkit-run-").values())


@pytest.fixture(scope="module", params=["root", "ordinary user"])
def graded(request, released):
    """One gradebook of every attack, as root (CI) and as an ordinary user (an instructor's machine)."""
    user = request.getfixturevalue("instructor") if request.param == "ordinary user" else None
    root = open_folder()
    submissions = root / "submissions"
    for lab in ("2_dropout", "3_batchnorm2d", "4_capstone"):
        (submissions / lab).mkdir(parents=True)
        nbformat.write(nbformat.read(released / "student" / f"{lab}.ipynb", as_version=4),
                       submissions / lab / "blank.ipynb")
    dropout = submissions / "2_dropout"
    for name in ("honest-a", "honest-b"):
        nbformat.write(nbformat.read(released / "solution" / "2_dropout.ipynb", as_version=4), dropout / f"{name}.ipynb")
    with_cell(released / "student" / "2_dropout.ipynb", SABOTEUR, dropout / "saboteur.ipynb")
    for number, attack in enumerate(ATTACKS):
        with_cell(released / "student" / f"{attack.lab}.ipynb", attack.code,
                  submissions / attack.lab / f"attack-{number:02d}.ipynb")
    # A correct Dropout handed in as the BatchNorm2d submission, its metadata left saying 2_dropout.
    nbformat.write(nbformat.read(released / "solution" / "2_dropout.ipynb", as_version=4),
                   submissions / "3_batchnorm2d" / "disguised.ipynb")
    hashes = {p: sha256(p) for p in submissions.rglob("*.ipynb")}
    for path in [submissions, *submissions.rglob("*")]:  # readable by the instructor, whoever that is
        path.chmod(0o755 if path.is_dir() else 0o644)
    # The gradebook's run folders (labkit-run-*) go into a folder of their own, so that the search for leftovers
    # sees this gradebook's kernels only, not those of tests grading beside it (pytest -n).
    done, runs, _, _ = gradebook(submissions, root / "grades.csv", user, True, "--feedback", str(root / "feedback"))
    rows = {r["submission"]: r for r in csv.DictReader(open(root / "grades.csv", encoding="utf-8"))}
    assert done.returncode == 0, [r for r in rows.values() if r["status"].startswith("ungradable")] or done.stderr
    yield {"rows": rows, "hashes": hashes, "leftovers": leftovers(runs), "root": root}
    shutil.rmtree(runs, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)


def test_the_blank_notebooks_score_zero_and_the_honest_ones_full_marks(graded):
    rows = graded["rows"]
    for lab in ("2_dropout", "3_batchnorm2d", "4_capstone"):
        assert float(rows[f"{lab}/blank.ipynb"]["score"]) == 0, rows[f"{lab}/blank.ipynb"]
    for name in ("honest-a", "honest-b"):
        row = rows[f"2_dropout/{name}.ipynb"]
        assert row["status"] == "graded" and float(row["score"]) == float(row["max_score"]) > 0, row


@pytest.mark.parametrize("number", range(len(ATTACKS)), ids=[a.name.replace(" ", "-") for a in ATTACKS])
def test_an_attack_scores_no_more_than_the_blank_notebook(graded, number):
    attack = ATTACKS[number]
    row = graded["rows"][f"{attack.lab}/attack-{number:02d}.ipynb"]
    blank = graded["rows"][f"{attack.lab}/blank.ipynb"]
    assert float(row["score"]) <= float(blank["score"]), row
    assert row["lab"] == attack.lab


# Words of the grader's that say a notebook ran out of its time, not of one cell's.
OUT_OF_TIME = ("hit its time limit", "used up their", "grading took longer than")


def test_no_attack_scores_nothing_only_for_running_out_of_time(graded):
    # Such a zero proves nothing about the checks, and would hide an attack that beats them given time: only the
    # attack whose kernel never answers again may use up the gradebook's time limit.
    hangs = {f"2_dropout/attack-{number:02d}.ipynb" for number, attack in enumerate(ATTACKS)
             if attack.name == "patch numpy and builtins in the kernel"}
    out_of_time = {name for name, row in graded["rows"].items()
                   if any(words in row["status"] + row["notes"] for words in OUT_OF_TIME)}
    assert out_of_time <= hangs, {name: graded["rows"][name] for name in out_of_time - hangs}


def test_forged_duplicate_or_missing_answers_flag_the_row_for_review(graded):
    rows = graded["rows"]
    for number, attack in enumerate(ATTACKS):
        if attack.name in ("answer every request twice", "forge, then end the kernel with os._exit",
                           "print answers from inside the learner's code",
                           "answer with a value nested 100,000 levels deep",
                           "answer with an array whose header declares 2**40 floats",
                           "replay the first answer it gave to every later request"):
            row = rows[f"{attack.lab}/attack-{number:02d}.ipynb"]
            assert row["status"].startswith("needs review: "), row


def test_a_disguised_submission_is_graded_as_the_assigned_lab_with_a_note(graded):
    row = graded["rows"]["3_batchnorm2d/disguised.ipynb"]
    assert row["lab"] == "3_batchnorm2d" and float(row["score"]) == 0, row
    assert "metadata says it answers 2_dropout" in row["notes"], row


def test_a_saboteur_changes_nothing_for_the_others_and_outlives_nothing(graded):
    assert float(graded["rows"]["2_dropout/saboteur.ipynb"]["score"]) == 0
    assert graded["leftovers"] == []
    assert {p: sha256(p) for p in graded["hashes"]} == graded["hashes"]


@pytest.mark.skipif(fence.mode() == "none", reason="without namespaces the answer keys stay readable (see labs/README.md)")
def test_the_answer_keys_are_out_of_the_learners_reach(graded):
    number = next(i for i, a in enumerate(ATTACKS) if a.name == "read the answer key and the hidden tests")
    assert float(graded["rows"][f"2_dropout/attack-{number:02d}.ipynb"]["score"]) == 0


def test_every_submission_gets_a_feedback_file_with_its_score_and_messages(graded):
    feedback = graded["root"] / "feedback"
    honest = (feedback / "2_dropout__honest-a.md").read_text(encoding="utf-8")
    assert "**Score:** " in honest and "is identity in eval mode" in honest
    blank = (feedback / "2_dropout__blank.md").read_text(encoding="utf-8")
    assert "not written yet" in blank and "✗" in blank
    assert len(list(feedback.glob("*.md"))) == len(graded["rows"])
