"""What `pip install .` and `pip install '.[labkit]'` give, each on its own.

The declared requirements must cover every module the code imports (read from the source); and the
wheel built from this checkout is installed into fresh venvs that hold only what it declares (the
requirements' distributions linked in from this environment, so that nothing is downloaded), where
numtorch alone imports and its `labkit` command says what to install, and numtorch[labkit] runs labkit.
"""
import ast
import json
import importlib.metadata as metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
CORE = [Requirement(r) for r in PROJECT["dependencies"]]
LABKIT_EXTRA = [Requirement(r) for r in PROJECT["optional-dependencies"]["labkit"]]
OWN = {"numtorch", "labkit"}


def imported_distributions(package: str) -> dict[str, set[str]]:
    """The distributions that provide the third-party modules `package` imports anywhere, with the files that do."""
    providers = metadata.packages_distributions()
    found = {}
    for path in sorted((ROOT / "src" / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top in sys.stdlib_module_names or top in OWN:
                    continue
                for dist in providers.get(top, [f"<no installed distribution provides {top}>"]):
                    found.setdefault(canonicalize_name(dist), set()).add(path.relative_to(ROOT).as_posix())
    return found


def test_numtorch_imports_nothing_but_numpy():
    assert imported_distributions("numtorch").keys() == {canonicalize_name(r.name) for r in CORE} == {"numpy"}


def test_every_distribution_labkit_imports_is_declared_by_the_labkit_extra():
    declared = {canonicalize_name(r.name) for r in CORE + LABKIT_EXTRA}
    undeclared = {dist: files for dist, files in imported_distributions("labkit").items() if dist not in declared}
    assert not undeclared, f"add to [project.optional-dependencies] labkit in pyproject.toml: {undeclared}"


# ---- Fresh venvs ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """numtorch's wheel, built from a copy of the checkout's sources (a build writes next to what it builds)."""
    tmp = tmp_path_factory.mktemp("wheel")
    shutil.copy(ROOT / "pyproject.toml", tmp)
    shutil.copytree(ROOT / "src", tmp / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--wheel-dir", str(tmp / "dist"), str(tmp)], check=True, capture_output=True)
    return next((tmp / "dist").glob("numtorch-*.whl"))


def closure(requirements: list[Requirement]) -> set[str]:
    """The installed distributions `requirements` need, recursively (the environment markers of this Python)."""
    seen, todo = set(), [(r, "") for r in requirements]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        todo += [(Requirement(r), e) for r in metadata.requires(name) or [] for e in ("", *requirement.extras)]
        seen.add(name)
    return seen


def fresh_venv(path: Path, wheel: Path, requirements: list[Requirement]) -> Path:
    """A venv with the wheel installed and the distributions of `requirements` (linked from here), nothing else."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, capture_output=True)
    python = path / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--no-compile", str(wheel)], check=True, capture_output=True)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    here = Path(sysconfig.get_path("purelib"))
    for name in closure(requirements):
        dist = metadata.distribution(name)
        tops = {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}  # its .dist-info too
        assert tops, f"{name} lists no files (no RECORD): cannot link it into a fresh venv"
        for top in tops:
            if not (site / top).exists() and (here / top).exists():
                (site / top).symlink_to(here / top)
    return path / "bin"


def run(command: list, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}  # no PYTHONPATH to the checkout
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_pip_install_gives_numtorch_alone_whose_labkit_command_names_the_extra_to_install(wheel, tmp_path):
    bin_ = fresh_venv(tmp_path / "venv", wheel, CORE)
    engine = run([bin_ / "python", "-c", "import numtorch; print(numtorch.ones(2, 3).sum().item())"], tmp_path)
    assert engine.stdout.strip() == "6.0", engine.stderr
    labkit = run([bin_ / "labkit", "status"], tmp_path)
    assert labkit.returncode == 1
    assert "pip install 'numtorch[labkit]'" in labkit.stderr and "Traceback" not in labkit.stderr, labkit.stderr


@pytest.mark.slow
def test_pip_install_with_the_labkit_extra_gives_a_labkit_command_that_releases_a_lab(wheel, tmp_path):
    bin_ = fresh_venv(tmp_path / "venv", wheel, CORE + LABKIT_EXTRA)
    every_module = ("import importlib, pkgutil, labkit; "
                    "[importlib.import_module(m.name) for m in pkgutil.walk_packages(labkit.__path__, 'labkit.') "
                    "if m.name != 'labkit.__main__']")
    imported = run([bin_ / "python", "-c", every_module], tmp_path)
    assert imported.returncode == 0, imported.stderr
    released = run([bin_ / "labkit", "--labs", ROOT / "labs", "release", "--out", tmp_path / "out", "0_linear"],
                   tmp_path)
    assert released.returncode == 0, released.stderr
    assert (tmp_path / "out" / "0_linear.ipynb").is_file()


# ---- The browser lab -----------------------------------------------------------------------------------------------

# Pyodide's labkit has none of these (book/lite/build.py installs labkit with numpy, matplotlib and ipywidgets).
NOT_IN_THE_BROWSER = ("jupytext", "nbformat", "nbclient", "jupyter_client")
BLOCK = f"""
import sys
class NotInTheBrowser:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {NOT_IN_THE_BROWSER!r}:
            raise ImportError(f"{{name}} is not in the browser lab")
sys.meta_path.insert(0, NotInTheBrowser())
"""


def browser_imports() -> list[str]:
    """Every `from labkit... import ...` line of the labs and the book's pages: what the browser lab runs."""
    lines = set()
    for page in [*ROOT.glob("labs/*/*.md"), *ROOT.glob("book/**/*.md")]:
        lines.update(re.findall(r"^(from labkit[\w.]* import [\w, ]+)$", page.read_text(), re.MULTILINE))
    return sorted(lines)


def test_what_the_labs_and_pages_import_from_labkit_imports_without_jupytext_or_nbformat(tmp_path):
    imports = browser_imports()
    assert len(imports) >= 5 and any("labkit.checks" in line for line in imports), imports
    # Every lab's first cell, too: it reads the lab's sources when it can, and says so when it cannot.
    first_cells = [f"status.show({lab.name!r})" for lab in (ROOT / "labs").iterdir() if (lab / "lab.md").is_file()]
    code = "\n".join([BLOCK, "from labkit import status", *imports, *first_cells])
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("no progress to show") == len(first_cells), result.stdout


def test_without_the_labs_sources_a_lab_s_first_cell_reads_progress_from_its_released_notebook(tmp_path):
    from labkit.labs import load_labs, release
    from labkit.report import MIMETYPE

    labs = load_labs(ROOT / "labs")
    list(release(tmp_path, labs))  # what the browser lab serves, beside the cells that run there
    saved = json.loads((tmp_path / "2_dropout.ipynb").read_text())  # as if task 1's check cell had run and passed
    result = {"checks": [{"task": 1, "passed": True, "message": ""}], "ran_at": 1.0}
    check_cell = [cell for cell in saved["cells"] if cell["cell_type"] == "code"][-1]
    check_cell["outputs"] = [{"output_type": "display_data", "data": {MIMETYPE: result}, "metadata": {}}]
    (tmp_path / "2_dropout.ipynb").write_text(json.dumps(saved))
    code = "\n".join([BLOCK, "from labkit import status", *(f"status.show({lab.name!r})" for lab in labs)])
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for lab in labs:
        state = "partly done" if lab.name == "2_dropout" else "not started"
        assert f"{lab.title} ({lab.name}.ipynb): {state}\n" in result.stdout, result.stdout
    assert "no progress to show" not in result.stdout
