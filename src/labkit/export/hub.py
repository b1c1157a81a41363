"""A lab as content for a JupyterHub: what an nbgitpuller link pulls into each learner's home.

`build` writes `<lab>.ipynb` (the student notebook) and `labs/<lab>/lab.md` (its public source, labkit.export.public)
into a folder that may already hold other labs: a git repository the hub's nbgitpuller links point at. With the
sources beside the notebooks, `labkit status` and each lab's first cell find the labs there (`./labs`) on a hub
where labkit is installed as a package, with no checkout and no answer key.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from labkit.export.public import public_source
from labkit.labs import SOURCE_NAME, Lab


def build(lab: Lab, out: str | Path) -> Path:
    """Write (or rewrite) `lab`'s notebook and public source into the content folder `out`."""
    out = Path(out)
    (out / "labs" / lab.name).mkdir(parents=True, exist_ok=True)
    notebook = lab.student_notebook()
    nbformat.validate(notebook)
    (out / f"{lab.name}.ipynb").write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
    (out / "labs" / lab.name / SOURCE_NAME).write_text(public_source(lab), encoding="utf-8")
    return out
