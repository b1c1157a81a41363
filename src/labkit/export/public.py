"""What of a lab the learner may see: its source as the student notebook is, without answers or hidden tests.

`labkit grade` and `labkit status` read a lab's checks and check cells from its source (labs/<lab>/lab.md); this
source, written next to the learner's notebooks (a classroom repository, a hub's content), lets them run there
without the answer key.
"""

from __future__ import annotations

import jupytext

from labkit.labs import Lab


def public_source(lab: Lab) -> str:
    """The student notebook as MyST, with the front matter that names the lab's checks."""
    notebook = lab.student_notebook()
    notebook.metadata["labkit"] = lab.meta
    notebook.metadata["jupytext"] = {"notebook_metadata_filter": "labkit,kernelspec"}
    return jupytext.writes(notebook, fmt="md:myst")
