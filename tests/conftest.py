"""Fixtures every test folder shares: one headless Chromium, for the site's and the labs' browser tests.

Where Chromium (or Playwright) is missing, browser tests skip on a developer's machine but fail
under CI (``CI=true``), so that they can never vanish from a CI run unnoticed.
"""
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import pytest

from processes import stop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "extensions"))
import warm_kernels  # noqa: E402  (book/extensions: `make html` runs the book's pages in its kernels too)

# `make` gives every process one BLAS/OpenMP thread (Makefile); so does pytest run by hand, for its kernels and
# subprocesses, so that both run the same way: on two cores shared by several kernels, threads of their own only
# wait on each other. (A run by hand without it once failed the convolution page's timing claim on torch.)
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright's own browser download needs the internet
# Without the networking flags Chromium phones home at start-up, and those requests fail
# on a machine with no internet. The sandbox needs privileges CI's root user lacks. No host
# but 127.0.0.1 resolves, so that nothing can leave the machine even where request routing
# does not reach, e.g. requests of the browser lab's web workers.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def _skip_or_fail_on_ci(reason):
    """Skip the test here; fail it under CI, where a missing tool means the run checks less than it claims."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def skip_or_fail_on_ci():
    """The policy for a missing tool, for fixtures in other folders (conftest modules are not imported by name)."""
    return _skip_or_fail_on_ci


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (a Playwright ``Browser``), started once for the whole test session."""
    if not Path(CHROMIUM).is_file():
        _skip_or_fail_on_ci(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail_on_ci("playwright is not installed: `make venv`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        try:
            chromium.close()
        except Exception as error:  # leaving sync_playwright() kills it anyway: the tests have their results
            warnings.warn(f"Chromium did not close cleanly: {error}")


# ---- Tiers -------------------------------------------------------------------------------------------------------
# `make check` runs the tests that carry none of these markers (pyproject.toml describes each): the engine, the
# widgets, the labs' checks run in-process, the packaging's static checks. A file that is wholly one tier is
# named here; a test alone in its tier carries the marker itself; any test that uses Chromium is `browser`.
TIERS = {
    "tests/book/test_warm_kernels.py": "kernels",
    "tests/labs/test_browser.py": "kernels",
    "tests/labs/test_export_classroom.py": "kernels",
    "tests/labs/test_export_gradescope.py": "kernels",
    "tests/labs/test_fence.py": "kernels",
    "tests/labs/test_fence_parts.py": "kernels",
    "tests/labs/test_fence_first_process.py": "kernels",
    "tests/labs/test_grader.py": "kernels",
    "tests/labs/test_gradebook_output.py": "kernels",
    "tests/labs/test_grading_labs.py": "kernels",
    "tests/labs/test_red_team.py": "kernels",
    "tests/site/test_lite.py": "pyodide",
    "tests/site/test_lite_build.py": "pyodide",
}


# ---- Two workers (`make test` runs pytest -n 2 --dist loadgroup) --------------------------------------------
# Every test gets an xdist_group mark (below), and a group runs whole in one worker. A file is a group: a
# notebook's cells share one kernel and run in order, and a module's fixtures (the red team's one gradebook run)
# are built once. Files that write to one shared place form one group, so that they never run at the same time.
SHARED_UNITS = {
    # `labkit lab` and `make lab` write the lab kernel and JupyterLab's settings into .venv, which the other reads.
    "tests/labs/test_browser.py": "tests/labs (labkit lab)",
    "tests/labs/test_workspace.py": "tests/labs (labkit lab)",
}


# Site tests that share no module fixture are groups of their own, each test: the browser lab's, each a minute or
# two of Pyodide, which as one file all waited for one worker; and the page loads (test_site.py loads every page of
# the book), which as one file ended the run on one worker while the other idled. In the files' order the browser
# lab's come early and most page loads after them, where they fill both workers to the end.
SPLIT_FILES = {"tests/site/test_lite.py", "tests/site/test_site.py", "tests/site/test_selfcheck_site.py",
               "tests/site/test_torch_download.py", "tests/site/test_widgets_site.py",
               "tests/site/test_exercises_site.py"}


def _group(path: str, nodeid: str) -> str:
    return nodeid if path in SPLIT_FILES else SHARED_UNITS.get(path, path)


def pytest_xdist_node_collection_finished(node, ids):
    # xdist groups by renaming each node id to end in "@<group>"; pytest 9.2 ignores the rename and every test
    # runs wherever it lands, without a word (pytest-dev/pytest-xdist#1386, hence pytest<9.2 in requirements.txt).
    if node.config.getvalue("dist") == "loadgroup":
        ungrouped = [nodeid for nodeid in ids if "@" not in nodeid]
        if ungrouped:
            pytest.exit(f"--dist loadgroup expected every node id to end in @<group>, but got {len(ungrouped)} "
                        f"without, e.g. {ungrouped[0]}: this pytest-xdist does not group under this pytest "
                        "(requirements.txt says which pytest does)", returncode=pytest.ExitCode.USAGE_ERROR)


# First, so that `-m` (pytest's own hook of this name) sees the tiers' marks.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    root = Path(config.rootpath)
    for item in items:
        path = Path(item.path)
        path = path.relative_to(root).as_posix() if path.is_relative_to(root) else ""
        if path in TIERS:
            item.add_marker(TIERS[path])
        if path.endswith(".ipynb"):  # a book page or a lab under nbval, in a kernel
            item.add_marker("kernels")
        if path.startswith("tests/site/"):
            item.add_marker("site")
        if "browser" in getattr(item, "fixturenames", ()):  # nbval's cells have no fixtures
            item.add_marker("browser")
        item.add_marker(pytest.mark.xdist_group(_group(path, item.nodeid)))


class WarmKernelsForNbval:
    """Where nbval would run a notebook in a kernel of this Python (--nbval-current-env, as `make test` asks),
    it runs it in a warm one (book/extensions/warm_kernels.py): the same Python and packages. Set as the first
    notebook's first cell is set up, before nbval starts that notebook's kernel."""

    def __init__(self):
        self.server = self.folder = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        if self.server or not str(item.path).endswith(".ipynb") or not item.config.option.nbval_current_env:
            return
        self.folder = Path(tempfile.mkdtemp(prefix="warm-kernels-"))
        self.server = warm_kernels.start_server(self.folder)
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(self.folder), os.environ.get("JUPYTER_PATH")]))
        item.config.option.nbval_current_env = False
        item.config.option.nbval_kernel_name = warm_kernels.NAME

    def pytest_unconfigure(self, config):
        if self.server:
            stop(self.server)
            shutil.rmtree(self.folder, ignore_errors=True)


def pytest_configure(config):
    # Registered as a plugin: global, not for this folder's tests only (nbval's notebooks lie in .scratch/).
    config.pluginmanager.register(WarmKernelsForNbval(), "warm kernels for nbval")
