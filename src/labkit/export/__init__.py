"""Exports of a lab to the platforms instructors already use: `labkit export gradescope` (an autograder zip),
`labkit export classroom` (a GitHub Classroom starter repository) and `labkit export hub` (a JupyterHub's content
folder, for nbgitpuller links). The first two install labkit from its own wheel and the packages it grades with,
pinned (labkit.export.environment)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # each step of a classroom workflow imports this package (classroom_check): it stays light
    from labkit.labs import Lab


def export(platform: str, lab: "Lab", out: str | Path, hidden_visibility: str = "after_published") -> Path:
    """`labkit export PLATFORM LAB --out OUT`: write the artifact, return its path."""
    if platform == "gradescope":
        from labkit.export import gradescope

        return gradescope.build(lab, out, hidden_visibility)
    if platform == "classroom":
        from labkit.export import classroom

        return classroom.build(lab, out)
    if platform == "hub":
        from labkit.export import hub

        return hub.build(lab, out)
    raise ValueError(f"expected gradescope, classroom or hub, but got {platform!r}")
