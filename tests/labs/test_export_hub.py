"""`labkit export hub`: a JupyterHub's content folder, where `labkit status` runs unchanged.

On a hub labkit is an installed package, with no checkout (and so no labs/ with the answer keys) around it. The
tests copy labkit and numtorch into a folder of their own and import them from there, as from site-packages."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labtools import labkit_export
from labkit.labs import load_labs

SRC = Path(__file__).resolve().parents[2] / "src"
LABS = ("0_linear", "2_dropout")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """(the content folder with two labs, the environment of a Python with labkit installed as a package)"""
    root = tmp_path_factory.mktemp("hub")
    for package in ("labkit", "numtorch"):
        shutil.copytree(SRC / package, root / "site" / package, ignore=shutil.ignore_patterns("__pycache__"))
    for lab in LABS:
        done = labkit_export("hub", lab, root / "content")
        assert done.returncode == 0, done.stderr
    env = dict(os.environ, PYTHONPATH=str(root / "site"))
    env.pop("LABKIT_LABS", None)
    return root / "content", env


def test_content_holds_each_notebook_and_its_public_source_only(hub):
    content, _ = hub
    files = {p.relative_to(content).as_posix() for p in content.rglob("*") if p.is_file()}
    assert files == {f"{lab}.ipynb" for lab in LABS} | {f"labs/{lab}/lab.md" for lab in LABS}
    by_name = {lab.name: lab for lab in load_labs()}
    for lab in LABS:
        source = (content / "labs" / lab / "lab.md").read_text()
        assert "BEGIN SOLUTION" not in source and "hidden-test" not in source
        assert all(test.name not in source for test in by_name[lab].hidden_tests())


def test_labkit_status_runs_unchanged_in_the_content_folder(hub):
    content, env = hub
    where = subprocess.run([sys.executable, "-c", "import labkit; print(labkit.__file__)"], cwd=content, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert not where.startswith(str(SRC))  # the installed copy, with no checkout around it
    done = subprocess.run([sys.executable, "-m", "labkit", "status", "."], cwd=content, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for lab in load_labs():
        assert (f"({lab.name}.ipynb): not started" in done.stdout) == (lab.name in LABS), done.stdout
    shown = subprocess.run([sys.executable, "-c", "from labkit import status; status.show('2_dropout')"],
                           cwd=content, env=env, capture_output=True, text=True, timeout=120)
    assert "Lab 2 · Dropout (2_dropout.ipynb): not started" in shown.stdout, shown.stdout + shown.stderr


def test_without_the_public_sources_status_says_where_it_looked(hub, tmp_path):
    content, env = hub
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(content / "2_dropout.ipynb", bare)
    done = subprocess.run([sys.executable, "-m", "labkit", "status", "."], cwd=bare, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no labs folder found" in done.stderr
