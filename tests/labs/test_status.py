"""`labkit status` and each lab's first cell read progress from the check results that real notebooks,
executed in the lab kernel, saved; they change nothing."""

import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from labtools import sha256
from labkit.grader.fence import labkit_env
from labkit.labs import HIDDEN_TAG, load_labs
from labkit.report import MIMETYPE
from labkit.status import task_states

LABS = {lab.name: lab for lab in load_labs()}
BROKEN_FORWARD = ("F.dropout(input, self.p, self.training, self.inplace)", "F.dropout(input, self.p)")


def labkit(*args, **env):
    return subprocess.run([sys.executable, "-m", "labkit", *args], capture_output=True, text=True, timeout=120,
                          env=labkit_env(**env))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A learner's workspace as JupyterLab saves it: Dropout's task 1 right and its forward wrong, BatchNorm2d
    done, Linear run blank, Conv2d released but never run, the capstone not released."""
    root = tmp_path_factory.mktemp("status")
    prefix, folder = root / "env", root / "workspace"
    assert labkit("install", "--prefix", str(prefix)).returncode == 0
    for lab, solutions in (("0_linear", False), ("1_conv2d", False), ("2_dropout", True), ("3_batchnorm2d", True)):
        done = labkit("release", "--out", str(folder), lab, *(["--solutions"] if solutions else []))
        assert done.returncode == 0, done.stderr
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))  # where the lab kernel was installed
        for lab in ("0_linear", "2_dropout", "3_batchnorm2d"):
            path = folder / f"{lab}.ipynb"
            nb = nbformat.read(path, as_version=4)
            # An answer key keeps the hidden tests; a learner's notebook never has them.
            nb.cells = [c for c in nb.cells if HIDDEN_TAG not in c.metadata.get("tags", [])]
            for cell in nb.cells:
                cell.source = cell.source.replace(*BROKEN_FORWARD)
            # The notebook's own kernelspec picks the kernel: the lab kernel.
            NotebookClient(nb, timeout=180, resources={"metadata": {"path": str(folder)}}).execute(env=labkit_env())
            nbformat.write(nb, path)
    return folder


def first_code_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code")


@pytest.mark.kernels  # the workspace's notebooks run in the lab kernel
def test_a_check_cell_saves_text_html_and_the_json_result(workspace):
    nb = nbformat.read(workspace / "2_dropout.ipynb", as_version=4)
    check = next(c for c in nb.cells if "check_task2" in c.source)
    (output,) = check.outputs
    assert output.output_type == "display_data"
    assert set(output.data) == {"text/plain", "text/html", MIMETYPE}
    assert output.data["text/plain"].startswith("Lab 2 · Dropout, task 2 (forward and extra_repr): ")
    assert output.data["text/plain"].splitlines()[1].startswith("First thing to fix: ")
    result = output.data[MIMETYPE]
    assert {c["task"] for c in result["checks"]} == {2} and not all(c["passed"] for c in result["checks"])


@pytest.mark.kernels  # the workspace's notebooks run in the lab kernel
def test_status_prints_each_lab_and_task_from_the_saved_checks_and_modifies_nothing(workspace):
    before = {p.name: sha256(p) for p in workspace.iterdir()}
    done = labkit("status", str(workspace))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for expected in [
        "Lab 0 · Linear (0_linear.ipynb): not started",
        "  task 1 (__init__ and reset_parameters): not started (0/",
        "Lab 1 · Conv2d (1_conv2d.ipynb): not started",
        "  task 2 (forward and extra_repr): not started",
        "Lab 2 · Dropout (2_dropout.ipynb): partly done",
        "  task 1 (__init__): done (3/3 checks pass)",
        "  task 2 (forward and extra_repr): partly done (",
        "Lab 3 · BatchNorm2d (3_batchnorm2d.ipynb): done",
    ]:
        assert any(line.startswith(expected) for line in lines), f"no line starts with {expected!r}:\n{done.stdout}"
    assert any(line.startswith("Lab 4 · Capstone") and line.endswith("not started (no notebook for it in "
                                                                       f"{workspace}; `make lab` releases it)")
               for line in lines), done.stdout
    assert {p.name: sha256(p) for p in workspace.iterdir()} == before


def test_status_refuses_a_folder_that_does_not_exist(tmp_path):
    done = labkit("status", str(tmp_path / "nowhere"))
    assert done.returncode != 0 and "no folder" in done.stderr


@pytest.mark.kernels  # the workspace's notebooks run in the lab kernel
def test_a_lab_s_first_cell_shows_its_progress_from_the_saved_notebook(workspace, monkeypatch, capsys):
    nb = nbformat.read(workspace / "2_dropout.ipynb", as_version=4)
    first = first_code_cell(nb)
    # When it ran, nothing was saved yet: the freshly released notebook has no check results.
    assert "Lab 2 · Dropout (2_dropout.ipynb): not started" in first.outputs[0]["text"]
    monkeypatch.chdir(workspace)  # where the kernel of a workspace notebook runs
    exec(first.source, {})
    shown = capsys.readouterr().out
    assert shown.startswith("Lab 2 · Dropout (2_dropout.ipynb): partly done\n  task 1 (__init__): done")


def test_a_lab_s_first_cell_says_there_is_nothing_to_read_where_its_notebook_is_not(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the grader runs a copy of the cells in a scratch folder
    exec(first_code_cell(LABS["2_dropout"].student_notebook()).source, {})
    assert "no saved copy of this notebook" in capsys.readouterr().out


def test_the_check_run_last_decides_even_after_a_kernel_restart_renumbered_the_cells():
    def saved(passed, ran_at, execution_count):
        result = {"checks": [{"task": 1, "passed": passed, "message": "" if passed else "wrong"}], "ran_at": ran_at}
        return nbformat.v4.new_code_cell("check()", execution_count=execution_count, outputs=[
            nbformat.v4.new_output("display_data", data={MIMETYPE: result})])

    # The summary ran at count 9 before a restart; the task's check cell ran after it, at count 2.
    nb = nbformat.v4.new_notebook(cells=[saved(True, 2000.0, 2), saved(False, 1000.0, 9)])
    (task1, task2) = task_states(LABS["2_dropout"].tasks, nb)
    assert task1.state == "done" and task2.state == "not started"
