"""The rule that turns a book page into a PyTorch notebook, and the budget of numtorch-only cells.

The notebooks themselves run under nbval in `make test`; these tests pin the rule.
"""
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "extensions"))
from to_torch import NOTE, TAG, torch_code, torch_notebook  # noqa: E402

PAGES = sorted(p for p in (ROOT / "book").rglob("*.md") if "kernelspec" in jupytext.read(p).metadata)


def test_the_three_imports_become_torchs():
    source = "import numtorch as torch\nfrom numtorch import nn, optim\nimport numtorch.nn.functional as F\n"
    assert torch_code(source) == "import torch\nfrom torch import nn, optim\nimport torch.nn.functional as F\n"


def test_every_name_numtorch_is_renamed_but_strings_and_comments_keep_the_word():
    source = 'x = numtorch.save(sd, "p")  # numtorch writes npz\nif torch.__name__ == "numtorch":\n    pass\n'
    assert torch_code(source) == 'x = torch.save(sd, "p")  # numtorch writes npz\nif torch.__name__ == "numtorch":\n    pass\n'


def test_names_that_merely_contain_numtorch_are_left_alone():
    source = "numtorch_small = timings['numtorch']\nimport numtorch as nt\n"
    assert torch_code(source) == "numtorch_small = timings['numtorch']\nimport torch as nt\n"


def test_the_python_in_a_magic_line_is_renamed_too():
    assert torch_code("%timeit numtorch.ones(3)\n") == "%timeit torch.ones(3)\n"


def test_code_that_python_cannot_tokenize_is_left_as_written():
    broken = 'numtorch.ones(3)\ns = """never closed\n'
    assert torch_code(broken) == broken


def test_numtorch_only_cells_become_a_note_and_markdown_is_untouched():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("`import numtorch as torch` is the first line."),
        nbformat.v4.new_code_cell("import numtorch as torch"),
        nbformat.v4.new_code_cell("print(numtorch.nn.functional._windows)", metadata={"tags": [TAG]}),
        nbformat.v4.new_code_cell("assert True", metadata={"tags": ["remove-cell"]}),
    ])
    converted = torch_notebook(notebook)
    assert [c.cell_type for c in converted.cells] == ["markdown", "code", "markdown", "code"]
    assert converted.cells[0].source == notebook.cells[0].source
    assert converted.cells[1].source == "import torch"
    assert converted.cells[2].source == NOTE
    assert converted.cells[3].metadata["tags"] == ["remove-cell"], "hidden checks stay: they are the claims"
    assert notebook.cells[1].source == "import numtorch as torch", "the page itself is not changed"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT / "book")))
def test_no_converted_page_imports_numtorch(page):
    converted = torch_notebook(jupytext.read(page))
    for cell in converted.cells:
        if cell.cell_type == "code":
            assert "import numtorch" not in cell.source and "from numtorch" not in cell.source


def test_at_most_five_percent_of_the_books_code_cells_are_numtorch_only():
    cells = [c for page in PAGES for c in jupytext.read(page).cells if c.cell_type == "code"]
    tagged = [c for c in cells if TAG in c.metadata.get("tags", [])]
    assert tagged, "the im2col walk-through is tagged"
    assert len(tagged) <= 0.05 * len(cells), f"{len(tagged)} of {len(cells)} code cells are numtorch-only"
