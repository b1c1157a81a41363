"""A lab as a GitHub Classroom starter repository, and the check its workflow runs.

`build` writes the repository: the student notebook, a README for the student, the workflow
(`.github/workflows/classroom.yml`) and `.labkit/` (labkit's wheel, the pins, and the lab's public source: the
student notebook as MyST, with its check cells and without answers or hidden tests, so that nothing in the
repository gives away more than the notebook does). Hidden tests stay with the instructor: `labkit gradebook`
over a clone of the classroom's repositories, or the Gradescope export.

The workflow follows GitHub Classroom's own: it grades the notebook once with `labkit grade --json`, then one
`classroom-resources/autograding-command-grader` step per public check, worth that check's points (the action
awards them when its command exits 0), and `classroom-resources/autograding-grading-reporter` reports the
points to Classroom. Each step's command is `python -m labkit.export.classroom_check RESULT CHECK`.
"""

from __future__ import annotations

import shutil
import string
import sys
import tempfile
from importlib import resources
from pathlib import Path

import nbformat
import yaml

from labkit.export.environment import build_wheel, pinned_requirements
from labkit.export.public import public_source
from labkit.grader.grade import bank_of
from labkit.labs import SOURCE_NAME, Lab

WORKFLOW = Path(".github/workflows/classroom.yml")
RESULT = ".labkit/result.json"
COMMAND_GRADER = "classroom-resources/autograding-command-grader@v1"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"


def grade_command(lab: Lab) -> str:
    # --no-fence: a runner may lack user namespaces; the repository holds nothing the learner may not see, and
    # the learner controls this workflow anyway (the hidden tests are graded elsewhere).
    return f"labkit --labs .labkit/labs grade {lab.name}.ipynb --lab {lab.name} --json --no-fence > {RESULT}"


def workflow(lab: Lab) -> dict:
    checks = bank_of(lab).checks if lab.checks_module else []
    python = f"{sys.version_info.major}.{sys.version_info.minor}"  # the pins were resolved for this Python
    steps = [
        {"name": "Checkout code", "uses": "actions/checkout@v4"},
        {"name": "Set up Python", "uses": "actions/setup-python@v5", "with": {"python-version": python}},
        {"name": "Install labkit", "run": "python -m pip install --no-deps -r .labkit/requirements.txt && "
                                         "python -m pip install --no-deps .labkit/numtorch-*.whl"},
        # Never fails the job: a notebook that cannot be graded scores 0 on every check below, which says why.
        {"name": "Grade the notebook", "run": grade_command(lab) + " || true", "timeout-minutes": 15},
    ]
    ids = []
    for check in checks:
        if check.points != int(check.points):
            raise ValueError(f"GitHub Classroom awards whole points, but {check.name} is worth {check.points:g}")
        ids.append(check.name.replace("_", "-"))
        steps.append({"name": check.name, "id": ids[-1], "uses": COMMAND_GRADER, "with": {
            "test-name": check.name, "command": f"python -m labkit.export.classroom_check {RESULT} {check.name}",
            "timeout": 1, "max-score": int(check.points)}})
    steps.append({"name": "Autograding Reporter", "uses": REPORTER,
                  "env": {f"{i.upper()}_RESULTS": f"${{{{steps.{i}.outputs.result}}}}" for i in ids},
                  "with": {"runners": ",".join(ids)}})
    return {"name": "Autograding Tests", "on": ["push", "workflow_dispatch", "repository_dispatch"],
            "permissions": {"checks": "write", "actions": "read", "contents": "read"},
            "jobs": {"run-autograding-tests": {"runs-on": "ubuntu-latest",
                                               "if": "github.actor != 'github-classroom[bot]'", "steps": steps}}}


def build(lab: Lab, out: str | Path) -> Path:
    """Write `lab`'s starter repository into `out` (which must not exist yet, or be empty)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"expected a new or empty folder for the repository, but {out} holds files")
    notebook = lab.student_notebook()
    nbformat.validate(notebook)
    (out / ".labkit" / "labs" / lab.name).mkdir(parents=True)
    (out / f"{lab.name}.ipynb").write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
    (out / ".labkit" / "labs" / lab.name / SOURCE_NAME).write_text(public_source(lab), encoding="utf-8")
    (out / ".labkit" / "requirements.txt").write_text("\n".join(pinned_requirements()) + "\n", encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="labkit-export-") as scratch:
        wheel = build_wheel(Path(scratch))
        shutil.copy(wheel, out / ".labkit" / wheel.name)
    (out / ".gitignore").write_text(f"{RESULT}\n.ipynb_checkpoints/\n", encoding="utf-8")
    readme = (resources.files("labkit.export") / "templates" / "classroom_README.md").read_text(encoding="utf-8")
    (out / "README.md").write_text(string.Template(readme).substitute(
        title=lab.title, lab=lab.name, notebook=f"{lab.name}.ipynb", grade_command=grade_command(lab)),
        encoding="utf-8")
    (out / WORKFLOW).parent.mkdir(parents=True)
    (out / WORKFLOW).write_text(f"# The public checks of {lab.name}, on every push (written by `labkit export "
                                f"classroom`).\n" + yaml.safe_dump(workflow(lab), sort_keys=False, width=120),
                                encoding="utf-8")
    return out
