"""Lab sources and the notebooks made from them.

A lab is a folder ``labs/<name>/`` holding one MyST markdown notebook, ``lab.md``: the
answer key. Inside it:

- a code region between ``### BEGIN SOLUTION [hint]`` and ``### END SOLUTION`` is the
  answer; the student version replaces it by ``raise NotImplementedError("hint")`` at the
  same indentation, so a blank answer fails only when the check calls it;
- a code cell tagged ``hidden-test`` (with ``test`` and ``points`` options) is graded but
  never shown to the learner;
- a code cell tagged ``check`` is a public check cell; the grader skips it when the learner
  left it unchanged, since it only prints feedback.

The front matter names the check module: ``labkit: {title: ..., checks: dropout}``.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import jupytext
import nbformat

from labkit.kernel import DISPLAY_NAME, KERNEL_NAME

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HIDDEN_TAG = "hidden-test"
CHECK_TAG = "check"
SOURCE_NAME = "lab.md"
DEFAULT_HINT = "your code here"


class SourceError(ValueError):
    """A lab source breaks the format above."""


@dataclass(frozen=True)
class HiddenTest:
    name: str
    points: float
    source: str
    timeout: float | None = None


@dataclass(frozen=True)
class Lab:
    name: str
    path: Path

    @cached_property
    def source(self) -> nbformat.NotebookNode:
        return jupytext.reads(self.path.read_text(encoding="utf-8"), fmt="md:myst")

    @property
    def meta(self) -> dict:
        return dict(self.source.metadata.get("labkit", {}))

    @property
    def title(self) -> str:
        return self.meta.get("title", self.name)

    @property
    def checks_module(self) -> str:
        return self.meta.get("checks", "")

    @property
    def tasks(self) -> dict[int, str]:
        """The lab's tasks, by number: their titles, from its checks."""
        return importlib.import_module(f"labkit.checks.{self.checks_module}").bank.tasks

    def hidden_tests(self) -> list[HiddenTest]:
        tests = []
        for cell in self.source.cells:
            if HIDDEN_TAG in cell.metadata.get("tags", []):
                name = cell.metadata.get("test")
                if not name:
                    raise SourceError(f"{self.path}: a hidden-test cell has no `:test:` name")
                tests.append(HiddenTest(name, float(cell.metadata.get("points", 1)), cell.source,
                                        cell.metadata.get("timeout")))
        return tests

    def check_cell_sources(self) -> set[str]:
        return {c.source.strip() for c in self.source.cells if CHECK_TAG in c.metadata.get("tags", [])}

    def student_notebook(self) -> nbformat.NotebookNode:
        return self._notebook(student=True)

    def solution_notebook(self) -> nbformat.NotebookNode:
        return self._notebook(student=False)

    def _notebook(self, student: bool) -> nbformat.NotebookNode:
        src = self.source
        cells = []
        for index, cell in enumerate(src.cells):
            tags = list(cell.metadata.get("tags", []))
            if student and HIDDEN_TAG in tags:
                continue
            text = cell.source
            if cell.cell_type == "code":
                text = strip_solutions(text, f"{self.path} cell {index}", student)
                new = nbformat.v4.new_code_cell(text)
            else:
                new = nbformat.v4.new_markdown_cell(text)
            if tags:
                new.metadata["tags"] = tags
            # Ids stay stable from release to release so diffs of notebooks stay small.
            new["id"] = f"{self.name}-{index}".replace("_", "-")
            cells.append(new)
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"display_name": DISPLAY_NAME, "language": "python", "name": KERNEL_NAME}
        nb.metadata["language_info"] = {"name": "python"}
        # The title and tasks let a first cell show progress where the labs' sources are not (the browser lab).
        nb.metadata["labkit"] = {"lab": self.name, "title": self.title,
                                 "tasks": {str(number): title for number, title in self.tasks.items()}}
        return nb


def strip_solutions(text: str, where: str = "cell", student: bool = True) -> str:
    """Replace (student) or unwrap (solution) every solution region of one code cell."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise SourceError(f"{where}, line {number}: {BEGIN} inside another solution")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            if not indent:
                # A top-level raise would stop the student notebook before its checks run.
                raise SourceError(f"{where}, line {number}: a solution region must sit inside a function")
            if student:
                hint = stripped[len(BEGIN):].strip(" :") or DEFAULT_HINT
                out.append(f"{indent}raise NotImplementedError({hint!r})")
        elif stripped.startswith(END):
            if not inside:
                raise SourceError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = False
        elif not (inside and student):
            out.append(line)
    if inside:
        raise SourceError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(out)


def find_labs_root(explicit: str | os.PathLike | None = None) -> Path:
    """The labs folder: the argument, $LABKIT_LABS, the checkout labkit runs from, or ./labs."""
    if explicit:
        candidates = [explicit]
    else:
        candidates = [os.environ.get("LABKIT_LABS"), Path(__file__).resolve().parents[2] / "labs", Path.cwd() / "labs"]
    for candidate in candidates:
        if candidate and any(Path(candidate).glob(f"*/{SOURCE_NAME}")):
            return Path(candidate)
    raise FileNotFoundError(
        f"no labs folder found (looked for */{SOURCE_NAME} in: "
        + ", ".join(str(c) for c in candidates if c) + "); pass --labs DIR"
    )


def load_labs(root: str | os.PathLike | None = None) -> list[Lab]:
    root = find_labs_root(root)
    return [Lab(p.parent.name, p) for p in sorted(root.glob(f"*/{SOURCE_NAME}"))]


def identify(nb: nbformat.NotebookNode, filename: str, labs: list[Lab]) -> Lab | None:
    """Which lab a submission answers: its metadata, else its file name, else its imports."""
    by_name = {lab.name: lab for lab in labs}
    # A submission's metadata is the learner's to break: believe it only in the shape release writes.
    metadata = nb.get("metadata")
    labkit = metadata.get("labkit") if isinstance(metadata, dict) else None
    named = labkit.get("lab") if isinstance(labkit, dict) else None
    if isinstance(named, str) and named in by_name:
        return by_name[named]
    stem = Path(filename).stem.lower()
    for lab in labs:
        if lab.name.lower() in stem:
            return lab
    code = "\n".join(c.get("source", "") for c in nb.get("cells", []) if c.get("cell_type") == "code")
    found = {lab for lab in labs if lab.checks_module and re.search(rf"\bimport\s+{lab.checks_module}\b", code)}
    return found.pop() if len(found) == 1 else None


def release(out_dir: str | os.PathLike, labs: list[Lab], force: bool = False, solutions: bool = False):
    """Write each lab's notebook to out_dir/<lab>.ipynb; yield (path, written)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for lab in labs:
        path = out / f"{lab.name}.ipynb"
        if path.exists() and not force:
            yield path, False
            continue
        nb = lab.solution_notebook() if solutions else lab.student_notebook()
        nbformat.validate(nb)
        path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        yield path, True
