"""What a platform installs to grade: labkit's own wheel and the packages grading imports, pinned to the
versions installed here (the ones this labkit was tested with), so that a platform grades as this machine does."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

# What `labkit grade` imports, beyond the standard library; their own requirements follow from their metadata.
# No torch: the grader compares against numtorch, which is in the wheel.
GRADING = ("numpy", "nbformat", "nbclient", "ipykernel", "jupytext")


def pinned_requirements(roots: tuple[str, ...] = GRADING) -> list[str]:
    """`name==version` for `roots` and everything they require (for this Python), sorted by name."""
    pins: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = _normal(todo.pop())
        if name in pins:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise RuntimeError(f"labkit export pins what grading uses here, but {name} is not installed") from None
        pins[name] = dist.version
        for line in dist.requires or ():
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return [f"{name}=={pins[name]}" for name in sorted(pins)]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_root() -> Path:
    """The checkout this labkit runs from: the wheel is built from its sources."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "pyproject.toml").is_file() or not (root / "src" / "labkit").is_dir():
        raise RuntimeError(f"labkit export builds labkit's wheel from a checkout, but {root} is not one "
                           "(install labkit with `pip install -e .` from a clone)")
    return root


def build_wheel(out_dir: Path) -> Path:
    """Build the numtorch/labkit wheel into `out_dir` from a copy of the sources, so that the build leaves
    nothing behind in the checkout; return its path."""
    root = project_root()
    with tempfile.TemporaryDirectory(prefix="labkit-wheel-") as scratch:
        copy = Path(scratch) / "project"
        copy.mkdir()
        shutil.copy(root / "pyproject.toml", copy)
        shutil.copytree(root / "src", copy / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                               "--wheel-dir", str(out_dir), str(copy)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"could not build labkit's wheel: {done.stderr.strip()[-2000:]}")
    wheels = sorted(Path(out_dir).glob("numtorch-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one numtorch wheel in {out_dir}, but got {[w.name for w in wheels]}")
    return wheels[0]
