import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from labkit.labs import load_labs

TOY_LABS = Path(__file__).parent / "toylabs"


@pytest.fixture(scope="session")
def toy_labs():
    return load_labs(TOY_LABS)


def notebook(*sources, lab="toy", **metadata):
    """A submission with one code cell per source, as JupyterLab would save it."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    if lab:
        nb.metadata["labkit"] = {"lab": lab}
    nb.metadata.update(metadata)
    return nb


def write(path: Path, nb) -> Path:
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def by_name(result: dict) -> dict:
    return {t["name"]: t for t in result["tests"]}


def dump(result) -> str:
    return json.dumps(result, indent=1)
