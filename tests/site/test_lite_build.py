"""book/lite/build.py refuses a browser file that does not match its official hash."""
import copy
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("lite_build", ROOT / "book" / "lite" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not (module.NPM_PYODIDE / "pyodide-lock.json").is_file():
        pytest.skip("node_modules/pyodide is missing: run `make book` first")
    return module


def test_a_wasm_wheel_whose_sha256_differs_from_the_official_lock_stops_the_build(build, tmp_path):
    lock = copy.deepcopy(build.official_lock())
    lock["packages"]["numpy"]["sha256"] = "0" * 64
    with pytest.raises(build.BuildError, match=r"numpy-2\.0\.2-.*\.whl from .*: expected sha256 0{64} \(official"):
        build.copy_pyodide_packages(lock, ["numpy"], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_served_packages_are_the_closure_of_what_the_kernel_and_book_import(build):
    packages = build.official_lock()["packages"]
    chosen = build.closure(packages, build.PYODIDE_PACKAGES)
    assert {"numpy", "matplotlib", "ipython", "micropip", "pillow", "openssl"} <= set(chosen)
    assert not {"scipy", "scikit-learn", "pandas", "openblas"} & set(chosen)


def test_every_notebook_that_uses_labkit_widgets_imports_matplotlib_itself(build):
    # The browser lab's kernel loads what a cell imports by name; numtorch's lock entry leaves matplotlib
    # out (it is the heaviest package to load at a start), so labkit.widgets, which draws with it, finds
    # it only where a cell has imported it by then.
    import jupytext

    sources = build.book_notebooks() + sorted((ROOT / "labs").glob("*/lab.md"))
    users = []
    for source in sources:
        imported = False
        for cell in jupytext.read(source).cells:
            if cell.cell_type != "code":
                continue
            imported = imported or "import matplotlib" in cell.source
            if "labkit.widgets" in cell.source:
                users.append(source)
                assert imported, f"{source.relative_to(ROOT)} uses labkit.widgets before importing matplotlib"
    assert users, "expected some book page to use labkit.widgets"


def test_the_built_lab_serves_what_its_lock_names_each_with_bytecode_and_its_verified_digest(build):
    app = ROOT / "_build" / "lite" / "app" / "static" / "pyodide"
    if not (app / "pyodide-lock.json").is_file():
        pytest.skip("the browser lab is not built: `make _build/lite.stamp`")
    import hashlib
    import json
    import zipfile

    served = json.loads((app / "pyodide-lock.json").read_text())["packages"]
    verified = json.loads((app / "verified.json").read_text())
    official = build.official_lock()["packages"]
    for name, entry in served.items():
        data = (app / entry["file_name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file_name"]
        if name in official and entry["file_name"].endswith(".whl"):
            assert verified[entry["file_name"]] == official[name]["sha256"], entry["file_name"]
    with zipfile.ZipFile(app / served["ipython"]["file_name"]) as wheel:
        names = wheel.namelist()
    assert "IPython/core/__pycache__/interactiveshell.cpython-312.pyc" in names
    assert "IPython/core/interactiveshell.py" in names  # tracebacks still show the lines
