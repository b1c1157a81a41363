"""Progress across the labs, read from the check results that the notebooks saved.

Each check cell's output carries its result as JSON (:data:`labkit.report.MIMETYPE`), and
JupyterLab saves it with the notebook. So progress is read, not re-run: nothing is executed
and no notebook is modified. The price: it is as fresh as the last check cell run and saved.

Per task, the most recently run cell that checked it (a check cell or the summary) decides:

- done: every check of the task passes;
- partly done: some pass, or some fail for a reason other than "not written yet";
- not started: no saved check of the task, or every check still finds the released stub.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from labkit.report import MIMETYPE, NOT_WRITTEN

if TYPE_CHECKING:
    from labkit.labs import Lab

# labkit.labs (jupytext) and nbformat are imported where they are used: the browser lab has
# neither, nor the labs' sources, and its labs' first cell must still show where the lab stands.

DONE, PARTLY_DONE, NOT_STARTED = "done", "partly done", "not started"
AS_LAST_SAVED = "(as this notebook was last saved: run its check cells and save it to update)"


@dataclass(frozen=True)
class TaskStatus:
    task: int
    title: str
    state: str
    passed: int = 0
    checks: int = 0

    def __str__(self) -> str:
        counted = f" ({self.passed}/{self.checks} checks pass)" if self.checks else ""
        return f"task {self.task} ({self.title}): {self.state}{counted}"


def saved_results(nb) -> list[dict]:
    """The check results saved in a notebook's outputs, oldest run first."""
    found = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            result = output.get("data", {}).get(MIMETYPE)
            # Saved outputs are the learner's file: believe only results in the shape Report writes.
            checks = result.get("checks") if isinstance(result, dict) else None
            if isinstance(checks, list) and all(isinstance(c, dict) for c in checks):
                ran_at = result.get("ran_at")
                when = (ran_at if isinstance(ran_at, (int, float)) else 0, cell.get("execution_count") or 0)
                found.append((when, result))
    return [result for _, result in sorted(found, key=lambda pair: pair[0])]


def task_states(tasks: dict[int, str], nb) -> list[TaskStatus]:
    """Where each of a lab's `tasks` (titles by number) stands in notebook `nb` (None: no notebook)."""
    latest: dict[int, list[dict]] = {}
    for result in saved_results(nb) if nb is not None else []:
        for task in {c.get("task") for c in result["checks"]}:
            latest[task] = [c for c in result["checks"] if c.get("task") == task]
    return [_state(task, title, latest.get(task, [])) for task, title in tasks.items()]


def _state(task: int, title: str, checks: list[dict]) -> TaskStatus:
    passed = sum(c.get("passed") is True for c in checks)
    if not checks or (not passed and all(str(c.get("message", "")).startswith(NOT_WRITTEN) for c in checks)):
        state = NOT_STARTED
    else:
        state = DONE if passed == len(checks) else PARTLY_DONE
    return TaskStatus(task, title, state, passed, len(checks))


def lab_state(states: list[TaskStatus]) -> str:
    kinds = {s.state for s in states}
    return kinds.pop() if len(kinds) == 1 else PARTLY_DONE


def find_notebook(lab: Lab, folder: Path, labs: list[Lab]) -> Path | None:
    """The notebook in `folder` that answers `lab`: <lab>.ipynb, else one that names it (metadata, imports)."""
    named = folder / f"{lab.name}.ipynb"
    if named.exists():
        return named
    from labkit.labs import identify

    for path in sorted(folder.glob("*.ipynb")):
        nb = _read(path)
        if nb is not None and identify(nb, path.name, labs) == lab:
            return path
    return None


def lab_lines(lab: Lab, folder: Path, labs: list[Lab]) -> list[str]:
    path = find_notebook(lab, folder, labs)
    if path is None:
        return [f"{lab.title}: not started (no notebook for it in {folder}; `make lab` releases it)"]
    nb = _read(path)
    if nb is None:
        return [f"{lab.title}: {path.name} is not a readable notebook"]
    return progress_lines(lab.title, lab.tasks, path, nb)


def progress_lines(title: str, tasks: dict[int, str], path: Path, nb) -> list[str]:
    """Where the lab of that title and tasks stands in notebook `nb`, read from `path`: a line, then one per task."""
    states = task_states(tasks, nb)
    return [f"{title} ({path.name}): {lab_state(states)}"] + [f"  {s}" for s in states]


def folder_report(folder: str | os.PathLike = "workspace", labs: list[Lab] | None = None) -> str:
    """Per lab and per task, where the notebooks in `folder` stand: what `labkit status` prints."""
    from labkit.labs import load_labs

    labs = labs if labs is not None else load_labs()
    folder = Path(folder)
    lines = [f"Progress in {folder}/ (from the check results saved in the notebooks: run a lab's check "
             "cells and save it to update)"]
    for lab in labs:
        lines += lab_lines(lab, folder, labs)
    return "\n".join(lines)


def show(lab_name: str, folder: str | os.PathLike = ".") -> None:
    """Print where one lab stands, from its notebook as last saved: the first cell of every lab."""
    try:
        from labkit.labs import load_labs

        labs = load_labs()
    except (FileNotFoundError, ImportError):  # no lab sources here, e.g. in the browser lab
        show_from_the_notebook(lab_name, Path(folder))
        return
    lab = next((lab for lab in labs if lab.name == lab_name), None)
    if lab is None:
        print(f"no progress to show: no lab named {lab_name!r} (labs: {', '.join(l.name for l in labs)})")
        return
    if find_notebook(lab, Path(folder), labs) is None:  # e.g. the grader's scratch folder
        print(f"{lab.title}: no saved copy of this notebook in {Path(folder).resolve()} to read progress from")
        return
    print("\n".join(lab_lines(lab, Path(folder), labs)))
    print(AS_LAST_SAVED)


def show_from_the_notebook(lab_name: str, folder: Path) -> None:
    """Without the labs' sources (the browser lab): where the lab stands, from its notebook alone, whose metadata
    names the lab's title and tasks as `labkit release` wrote them."""
    path = folder / f"{lab_name}.ipynb"
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        meta = nb["metadata"]["labkit"]
        tasks = {int(number): str(title) for number, title in meta["tasks"].items()}
        lines = progress_lines(str(meta["title"]), tasks, path, nb)
    except FileNotFoundError:
        print(f"no progress to show: no saved copy of {path.name} in {folder.resolve()} to read it from")
        return
    except Exception as error:  # a learner's file may be anything; status only reports
        print(f"no progress to show: {path.name} does not name its lab's tasks as a released notebook does "
              f"({type(error).__name__}: {error})")
        return
    print("\n".join(lines))
    print(AS_LAST_SAVED)


def _read(path: Path):
    import nbformat

    try:
        return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception:  # a learner's file may be anything; status only reports
        return None
