from pathlib import Path

import pytest

from labkit.labs import load_labs

TOY_LABS = Path(__file__).parent / "toylabs"


@pytest.fixture(scope="session")
def toy_labs():
    return load_labs(TOY_LABS)
