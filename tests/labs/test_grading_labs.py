"""`labkit grade` and `labkit gradebook` on the real labs: answer keys score full marks, blank
student notebooks score zero, a wrong answer loses points with its message, and no submission
is ever modified."""

import csv
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

from labtools import sha256
from labkit.labs import load_labs

LABS = load_labs()


def grade(path):
    done = subprocess.run([sys.executable, "-m", "labkit", "grade", str(path), "--json"], capture_output=True,
                          text=True, timeout=120)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def graded_releases(released):
    """Each lab's answer key and blank notebook by `labkit grade --json`, two at a time (much of a grading is
    waiting on its kernel): {path: (its hash before, after, the result)}."""
    paths = [released / kind / f"{lab.name}.ipynb" for lab in LABS for kind in ("solution", "student")]
    before = {path: sha256(path) for path in paths}
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(paths, pool.map(grade, paths)))
    return {path: (before[path], sha256(path), results[path]) for path in paths}


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.name)
def test_the_answer_key_scores_full_marks_and_a_blank_notebook_zero(released, graded_releases, lab):
    for kind, expected in (("solution", "full"), ("student", "zero")):
        before, after, result = graded_releases[released / kind / f"{lab.name}.ipynb"]
        assert after == before, "grading modified the submission"
        assert result["lab"] == lab.name and result["max_score"] > 0
        assert result["score"] == (result["max_score"] if expected == "full" else 0), json.dumps(result, indent=1)
        if expected == "zero":
            assert all(t["message"] for t in result["tests"])


def test_a_learner_who_ignores_the_training_flag_reads_why_in_the_grade(released, tmp_path):
    nb = nbformat.read(released / "solution" / "2_dropout.ipynb", as_version=4)
    for cell in nb.cells:
        cell.source = cell.source.replace("F.dropout(input, self.p, self.training, self.inplace)",
                                          "F.dropout(input, self.p)")
    path = tmp_path / "dropout-bob.ipynb"
    nbformat.write(nb, path)
    tests = {t["name"]: t for t in grade(path)["tests"]}
    assert not tests["is_identity_in_eval_mode"]["passed"]
    assert "pass `self.training` to `F.dropout`" in tests["is_identity_in_eval_mode"]["message"]
    assert tests["rescales_kept_elements_by_1_over_1_minus_p"]["passed"]


def test_numtorchs_own_layer_is_absent_while_grading_so_subclassing_it_earns_nothing(released, tmp_path):
    nb = nbformat.read(released / "student" / "0_linear.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("class Linear(nn.Linear):\n    pass"))
    path = tmp_path / "linear-eve.ipynb"
    nbformat.write(nb, path)
    result = grade(path)
    assert result["score"] == 0, json.dumps(result, indent=1)
    assert any("numtorch's own nn.Linear is not there while grading" in note for note in result["notes"]), result


def test_the_gradebook_survives_every_kind_of_submission_and_touches_none(released, tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    shutil.copy(released / "solution" / "2_dropout.ipynb", folder / "alice.ipynb")  # renamed: found by metadata
    shutil.copy(released / "student" / "0_linear.ipynb", folder / "bob.ipynb")
    (folder / "carol.ipynb").write_text("{ this is not json")
    looping = nbformat.read(released / "solution" / "0_linear.ipynb", as_version=4)
    # A cell that never ends, asleep: a spinning one would keep a core busy for its whole time limit, and
    # tests/labs/test_grader.py stops one that spins.
    looping.cells.insert(1, nbformat.v4.new_code_cell("import time\nwhile True:\n    time.sleep(1)"))
    nbformat.write(looping, folder / "dave.ipynb")
    (folder / "notes.txt").write_text("not a notebook, not graded")
    hashes = {p.name: sha256(p) for p in folder.iterdir()}

    done = subprocess.run([sys.executable, "-m", "labkit", "gradebook", str(folder), "--out",
                           str(tmp_path / "grades.csv"), "--timeout", "45"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1 and "1 notebook(s) could not be graded" in done.stderr, done.stderr  # carol's
    assert {p.name: sha256(p) for p in folder.iterdir()} == hashes
    rows = {r["submission"]: r for r in csv.DictReader(open(tmp_path / "grades.csv"))}
    assert sorted(rows) == ["alice.ipynb", "bob.ipynb", "carol.ipynb", "dave.ipynb"]
    assert rows["alice.ipynb"]["lab"] == "2_dropout" and rows["alice.ipynb"]["score"] == rows["alice.ipynb"]["max_score"]
    assert "no lab assigned" in rows["alice.ipynb"]["notes"]  # an unassigned folder: the notebook's metadata told
    assert float(rows["bob.ipynb"]["score"]) == 0 and rows["bob.ipynb"]["status"] == "graded"
    assert rows["carol.ipynb"]["status"].startswith("ungradable: not a readable notebook")
    assert rows["dave.ipynb"]["score"] == rows["dave.ipynb"]["max_score"], rows["dave.ipynb"]
    assert "stopped after" in rows["dave.ipynb"]["notes"]
    assert "2_dropout:is_identity_in_eval_mode" in rows["alice.ipynb"]  # a column per test


def test_a_checkpoint_without_the_generators_state_loses_its_points_through_the_kernel(released, tmp_path):
    nb = nbformat.read(released / "solution" / "6_checkpoint.ipynb", as_version=4)
    for cell in nb.cells:
        cell.source = cell.source.replace('"epoch": epoch, "rng": torch.get_rng_state()}', '"epoch": epoch}')
        cell.source = cell.source.replace('torch.set_rng_state(checkpoint["rng"])', "")
    path = tmp_path / "checkpoint-dan.ipynb"
    nbformat.write(nb, path)
    result = grade(path)
    tests = {t["name"]: t for t in result["tests"]}
    assert 'add `"rng": torch.get_rng_state()`' in tests["checkpoint_holds_every_part"]["message"]
    assert "torch.set_rng_state(checkpoint['rng'])" in tests["resume_restores_model_optimizer_and_generator"]["message"]
    assert not tests["resumed_run_matches_the_uninterrupted_run"]["passed"]
    assert not tests["hidden_resumes_after_the_first_epoch"]["passed"]
    assert tests["load_renamed_loads_every_weight"]["passed"] and tests["state_dict_keeps_seen_but_not_scale"]["passed"]
