import subprocess
import sys
from pathlib import Path

import pytest

from instructor import root_or_skip, throwaway_user
from labkit.labs import load_labs

TOY_LABS = Path(__file__).parent / "toylabs"


@pytest.fixture(scope="session")
def toy_labs():
    return load_labs(TOY_LABS)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """Every lab released by `labkit release`: student notebooks in student/, answer keys in solution/."""
    root = tmp_path_factory.mktemp("released")
    for kind in ("student", "solution"):
        args = ["release", "--out", str(root / kind)] + (["--solutions"] if kind == "solution" else [])
        subprocess.run([sys.executable, "-m", "labkit", *args], check=True, capture_output=True)
    return root


@pytest.fixture(scope="session")
def instructor(skip_or_fail_on_ci):
    """An ordinary user's name, for grading as instructors do (tests/instructor.py)."""
    root_or_skip(skip_or_fail_on_ci)
    with throwaway_user() as name:
        yield name
