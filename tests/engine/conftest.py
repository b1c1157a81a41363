import importlib
import sys

import pytest

import numtorch


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state (torch's too, once loaded), so failures reproduce."""
    numtorch.manual_seed(0)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)


@pytest.fixture(scope="session", params=["numtorch", "torch"])
def lib(request):
    """The engine under test, as a module: each test that takes it runs once on numtorch and once on torch.

    The torch case skips, alone, where torch is not installed; the numtorch case always runs.
    """
    if request.param == "torch":
        return pytest.importorskip("torch")
    return importlib.import_module(request.param)


@pytest.fixture(scope="session")
def torch():
    """The real torch, for tests that compare against it; they skip where it is not installed."""
    return pytest.importorskip("torch")
