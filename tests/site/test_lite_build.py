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
