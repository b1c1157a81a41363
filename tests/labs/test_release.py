"""Student notebooks are generated from the answer keys, and nothing of the answers leaks."""

import json
import subprocess
import sys

import nbformat
import pytest

from labtools import sha256
from labkit.labs import BEGIN, END, HIDDEN_TAG, SourceError, load_labs, strip_solutions

LABS = load_labs()


def secret_lines_and_public_text(lab):
    """The lines of the answers and hidden tests, and the text of everything else in the source."""
    secret, public = set(), []
    for cell in lab.source.cells:
        hidden = HIDDEN_TAG in cell.metadata.get("tags", [])
        inside = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped.startswith(BEGIN):
                inside = True
            elif stripped.startswith(END):
                inside = False
            elif hidden or inside:
                if stripped and not stripped.startswith("#"):
                    secret.add(stripped)
            else:
                public.append(line)
    return secret, "\n".join(public)


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.name)
def test_no_solution_or_hidden_test_line_leaks_into_the_student_notebook(lab):
    student = json.dumps(lab.student_notebook())  # every field, metadata included
    secret, public = secret_lines_and_public_text(lab)
    assert secret, f"{lab.name} has no solution regions"
    # A line that the text around the answers also shows (say `model.eval()`) is no leak.
    leaked = [line for line in secret if line not in public and json.dumps(line)[1:-1] in student]
    assert not leaked, f"{lab.name}: these lines of the answers reach the student notebook: {leaked}"
    for marker in (BEGIN, END, HIDDEN_TAG):
        assert marker not in student


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.name)
def test_every_hidden_test_is_graded_and_absent_from_the_student_notebook(lab):
    student = json.dumps(lab.student_notebook())
    for hidden in lab.hidden_tests():
        assert hidden.name not in student
        assert hidden.points > 0


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.name)
def test_notebooks_are_valid_and_name_their_lab(lab):
    for nb in (lab.student_notebook(), lab.solution_notebook()):
        nbformat.validate(nb)
        assert nb.metadata["labkit"]["lab"] == lab.name
    assert lab.checks_module, f"{lab.name} names no check module"


def test_a_solution_region_becomes_a_raise_with_its_hint_at_its_indentation():
    source = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION add y\n    return x + y\n    ### END SOLUTION"
    assert strip_solutions(source) == "def f(x):\n    y = 1\n    raise NotImplementedError('add y')"
    assert strip_solutions(source, student=False) == "def f(x):\n    y = 1\n    return x + y"


@pytest.mark.parametrize("source, complaint", [
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "inside a function"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1", "never closed"),
    ("def f():\n    return 1\n    ### END SOLUTION", "without"),
])
def test_a_malformed_solution_region_is_refused(source, complaint):
    with pytest.raises(SourceError, match=complaint):
        strip_solutions(source)


def labkit(*args):
    return subprocess.run([sys.executable, "-m", "labkit", *args], capture_output=True, text=True, timeout=120)


def test_release_writes_every_lab_and_never_overwrites_without_force(tmp_path):
    first = labkit("release", "--out", str(tmp_path / "workspace"))
    assert first.returncode == 0, first.stderr
    written = sorted(p.name for p in (tmp_path / "workspace").iterdir())
    assert written == sorted(f"{lab.name}.ipynb" for lab in LABS)

    mine = tmp_path / "workspace" / written[0]
    mine.write_text(mine.read_text().replace("NotImplementedError", "NotImplementedError  # my work"))
    before = sha256(mine)
    again = labkit("release", "--out", str(tmp_path / "workspace"))
    assert again.returncode == 0, again.stderr
    assert sha256(mine) == before
    assert f"kept {mine}" in again.stdout

    forced = labkit("release", "--out", str(tmp_path / "workspace"), "--force", LABS[0].name)
    assert forced.returncode == 0 and sha256(mine) != before


def test_release_names_an_unknown_lab():
    result = labkit("release", "--out", "unused", "9_nonsense")
    assert result.returncode != 0 and "no such lab: 9_nonsense" in result.stderr


def test_the_leak_check_would_catch_an_answer_key_released_as_is():
    lab = LABS[0]
    answers = json.dumps(lab.solution_notebook())
    secret, public = secret_lines_and_public_text(lab)
    assert [line for line in secret if line not in public and json.dumps(line)[1:-1] in answers]
