"""`labkit export classroom`: the starter repository, its workflow, and the workflow's commands run as the
runner runs them (in the repository, through a shell), with labkit already installed (this checkout's)."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from labtools import labkit_export
from labkit.export.classroom import COMMAND_GRADER, REPORTER, WORKFLOW
from labkit.grader.grade import bank_of
from labkit.labs import BEGIN, END, load_labs

LAB = "2_dropout"


@pytest.fixture(scope="module")
def lab():
    return {l.name: l for l in load_labs()}[LAB]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    out = tmp_path_factory.mktemp("classroom") / "repo"
    done = labkit_export("classroom", LAB, out)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def steps(repo):
    return yaml.safe_load((repo / WORKFLOW).read_text())["jobs"]["run-autograding-tests"]["steps"]


def run_workflow(repo: Path, steps: list, notebook: Path, tmp_path: Path) -> dict:
    """The grading step, then each check step's command, in a copy of the repository holding `notebook`;
    returns {check name: (exit code, what it printed)}."""
    work = tmp_path / "repo"
    shutil.copytree(repo, work)
    shutil.copy(notebook, work / f"{LAB}.ipynb")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    grading = next(step for step in steps if step["name"] == "Grade the notebook")
    subprocess.run(["bash", "-c", grading["run"]], cwd=work, env=env, check=True, timeout=600)
    outcomes = {}
    for step in steps:
        if step.get("uses") == COMMAND_GRADER:
            done = subprocess.run(["bash", "-c", step["with"]["command"]], cwd=work, env=env, capture_output=True,
                                  text=True, timeout=60)
            outcomes[step["with"]["test-name"]] = (done.returncode, done.stdout)
    return outcomes


def text_files(repo: Path):
    return {p: p.read_text(encoding="utf-8") for p in repo.rglob("*") if p.is_file() and p.suffix != ".whl"}


def test_the_repository_holds_the_notebook_readme_workflow_and_what_installs_labkit(repo, lab):
    files = {p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file()}
    assert {f"{LAB}.ipynb", "README.md", WORKFLOW.as_posix(), ".gitignore", ".labkit/requirements.txt",
            f".labkit/labs/{LAB}/lab.md", ".labkit/numtorch-0.1.0-py3-none-any.whl"} == files
    notebook = nbformat.read(repo / f"{LAB}.ipynb", as_version=4)
    nbformat.validate(notebook)
    assert notebook == lab.student_notebook()
    readme = (repo / "README.md").read_text()
    assert f"{LAB}.ipynb" in readme and "git push" in readme and "$" not in readme.replace("$ ", "")


def test_nothing_in_the_repository_gives_away_hidden_tests_or_answers(repo, lab):
    hidden = lab.hidden_tests()
    answers = [m.group(1).strip() for m in re.finditer(rf"{re.escape(BEGIN)}[^\n]*\n(.*?){re.escape(END)}",
                                                          lab.path.read_text(), re.S)]
    assert hidden and answers
    for path, text in text_files(repo).items():
        for test in hidden:
            assert test.name not in text and test.source.strip() not in text, path
        for answer in answers:
            assert answer not in text, path


def test_workflow_runs_on_push_and_names_each_public_check_with_its_points(steps, repo, lab):
    workflow = yaml.safe_load((repo / WORKFLOW).read_text())
    assert "push" in workflow["on"]
    graders = [s for s in steps if s.get("uses") == COMMAND_GRADER]
    assert [(s["with"]["test-name"], s["with"]["max-score"]) for s in graders] == \
        [(c.name, int(c.points)) for c in bank_of(lab).checks]
    reporter = steps[-1]
    assert reporter["uses"] == REPORTER
    ids = reporter["with"]["runners"].split(",")
    assert ids == [s["id"] for s in graders]
    # The reporter reads each runner's result from the variable <ID in capitals>_RESULTS.
    assert reporter["env"] == {f"{i.upper()}_RESULTS": f"${{{{steps.{i}.outputs.result}}}}" for i in ids}
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", i) for i in ids)


def test_workflow_commands_pass_every_check_for_the_answer_key(repo, steps, released, tmp_path):
    outcomes = run_workflow(repo, steps, released / "solution" / f"{LAB}.ipynb", tmp_path)
    assert outcomes and all(code == 0 for code, _ in outcomes.values()), outcomes


def test_workflow_commands_fail_every_check_for_the_blank_with_its_message(repo, steps, released, tmp_path):
    outcomes = run_workflow(repo, steps, released / "student" / f"{LAB}.ipynb", tmp_path)
    assert outcomes and all(code == 1 and printed.strip() for code, printed in outcomes.values()), outcomes


def test_a_check_without_a_result_fails_and_says_why(tmp_path):
    done = subprocess.run([sys.executable, "-m", "labkit.export.classroom_check", str(tmp_path / "none.json"),
                           "extra_repr_matches_torch"], capture_output=True, text=True)
    assert done.returncode == 1 and "was not graded" in done.stdout
    (tmp_path / "ungradable.json").write_text(json.dumps({"ungradable": "not a readable notebook", "tests": []}))
    done = subprocess.run([sys.executable, "-m", "labkit.export.classroom_check", str(tmp_path / "ungradable.json"),
                           "extra_repr_matches_torch"], capture_output=True, text=True)
    assert done.returncode == 1 and "not a readable notebook" in done.stdout


def test_export_refuses_a_folder_that_holds_files(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    done = labkit_export("classroom", LAB, tmp_path)
    assert done.returncode != 0 and "holds files" in done.stderr
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_a_notebook_that_forges_the_result_file_still_fails_every_check(repo, steps, released, tmp_path):
    nb = nbformat.read(released / "student" / f"{LAB}.ipynb", as_version=4)
    forged = {"lab": LAB, "score": 99, "max_score": 99, "review": [], "notes": [],
              "tests": [{"name": s["with"]["test-name"], "score": 1, "max_score": 1, "passed": True, "message": ""}
                        for s in steps if s.get("uses") == COMMAND_GRADER]}
    nb.cells.append(nbformat.v4.new_code_cell(
        "import pathlib\n"
        f"for path in ['.labkit/result.json', {str(tmp_path / 'repo' / '.labkit' / 'result.json')!r}]:\n"
        "    try:\n"
        "        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)\n"
        f"        pathlib.Path(path).write_text({json.dumps(forged)!r})\n"
        "    except OSError:\n"
        "        pass\n"))
    hostile = tmp_path / "hostile.ipynb"
    nbformat.write(nb, hostile)
    outcomes = run_workflow(repo, steps, hostile, tmp_path)
    assert outcomes and all(code == 1 for code, _ in outcomes.values()), outcomes
