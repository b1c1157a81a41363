import pytest

import numtorch


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state, so failures reproduce."""
    numtorch.manual_seed(0)
    yield
