"""The pages as the browser lab and the PyTorch downloads serve them: plain Markdown, solutions folded.

``book/extensions/clean_notebook.py`` makes them; ``book/lite/build.py`` and the "Download for
PyTorch" button both use it. The notebooks still run under nbval in ``make test`` as the pages
do: cleaning changes markdown and metadata, never code.
"""
import importlib.util
import re
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "extensions"))
from clean_notebook import SOLUTION_NOTE, clean_notebook  # noqa: E402
from to_torch import torch_notebook  # noqa: E402

PAGES = sorted(p for p in (ROOT / "book").rglob("*.md") if "kernelspec" in jupytext.read(p).metadata)
# What Jupyter would show raw: directive fences and options, roles, label targets.
RAW_MYST = re.compile(r"^:{3,}|^`{3,}\{|^:[\w-]+:|\{ref\}`|\{glue:text\}`|^\([\w-]+\)=", re.M)
TITLES = {"ch9-capstone": "The capstone"}


def page(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


def md(source):
    return nbformat.v4.new_markdown_cell(source)


def code(source, *tags):
    return nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)} if tags else {})


def folded(cell):
    return cell.metadata.get("jupyter", {})


def test_an_exercise_with_a_hint_reads_as_a_paragraph_and_a_closed_details_block():
    cleaned = clean_notebook(page(md(
        "Text.\n\n::::{exercise}\n:label: ch1-ex-one\n\nDo *this*.\n\n"
        ":::{hint}\n:class: dropdown\nA hint.\n:::\n::::\n")), TITLES)
    source, = [cell.source for cell in cleaned.cells]
    assert source == ("Text.\n\n**Exercise.** Do *this*.\n\n"
                      "<details>\n<summary>Hint</summary>\n\nA hint.\n\n</details>")


def test_a_solution_of_cells_gets_its_note_and_every_cell_up_to_its_end_is_folded():
    cleaned = clean_notebook(page(
        md("::::{exercise}\n:label: ch1-ex-one\n\nDo it.\n::::\n\n"
           "```{solution-start} ch1-ex-one\n:class: dropdown\n```\n\nBecause.\n"),
        code("x = 1\nassert x == 1"),
        md("```{solution-end}\n```\n\nAfter the solution."),
        code("y = 2"),
    ), TITLES)
    assert [c.source for c in cleaned.cells] == [
        "**Exercise.** Do it.", SOLUTION_NOTE, "Because.", "x = 1\nassert x == 1", "After the solution.", "y = 2"]
    assert [folded(c) for c in cleaned.cells] == [
        {}, {}, {"source_hidden": True}, {"source_hidden": True, "outputs_hidden": True}, {}, {}]


def test_hidden_cells_stay_and_run_with_their_code_folded_and_their_output_in_view():
    cleaned = clean_notebook(page(code("assert 1 + 1 == 2", "remove-cell"), code("quiz.choose()", "remove-input"),
                                  code("plot()", "hide-input"), code("shown()")), TITLES)
    assert [c.source for c in cleaned.cells] == ["assert 1 + 1 == 2", "quiz.choose()", "plot()", "shown()"]
    assert [folded(c) for c in cleaned.cells] == [{"source_hidden": True}] * 3 + [{}]


def test_references_become_their_text_or_the_title_of_the_section_they_name():
    cleaned = clean_notebook(page(md(
        "(ch1-here)=\n## Here\n\nSee {ref}`the fix, ch. 4 <ch4-fix-flag>` and {ref}`ch9-capstone`; "
        "{ref}`ch0-gone` has no title; {glue:text}`ratio` was measured.")), TITLES)
    assert cleaned.cells[0].source == ("## Here\n\nSee the fix, ch. 4 and The capstone; that section has no "
                                       "title; `ratio` (printed above) was measured.")


def test_a_diagram_leaves_its_alt_text_and_a_table_of_contents_goes():
    cleaned = clean_notebook(page(md(
        "Before.\n\n```{tableofcontents}\n```\n\n```{graphviz} ../diagrams/x.dot\n:alt: A calls B.\n```\n")), TITLES)
    assert cleaned.cells[0].source == "Before.\n\n*Diagram: A calls B.*"


def test_the_page_itself_is_not_changed():
    notebook = page(md("::::{exercise}\n:label: e\n\nDo it.\n::::"), code("x = 1", "remove-cell"))
    clean_notebook(notebook, TITLES)
    assert notebook.cells[0].source.startswith("::::{exercise}") and "jupyter" not in notebook.cells[1].metadata


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT / "book")))
def test_every_page_cleaned_has_no_raw_myst_and_the_same_code_in_the_same_order(path):
    notebook = jupytext.read(path)
    cleaned = clean_notebook(notebook)
    leftovers = [cell.source for cell in cleaned.cells if cell.cell_type == "markdown" and RAW_MYST.search(cell.source)]
    assert leftovers == []
    assert ([c.source for c in cleaned.cells if c.cell_type == "code"]
            == [c.source for c in notebook.cells if c.cell_type == "code"])
    exercises = len(re.findall(r"^:{3,}\{exercise\}", path.read_text(), re.M))
    assert sum(c.source.count("**Exercise.**") for c in cleaned.cells) == exercises
    solutions = len(re.findall(r"^```\{solution-start\}", path.read_text(), re.M))
    assert sum(c.source == SOLUTION_NOTE for c in cleaned.cells) == solutions


def test_the_pytorch_download_of_a_page_is_clean_and_imports_torch():
    downloaded = clean_notebook(torch_notebook(jupytext.read(ROOT / "book" / "04_train_eval" / "dropout.md")))
    assert not [c for c in downloaded.cells if c.cell_type == "markdown" and RAW_MYST.search(c.source)]
    assert any(re.search(r"^import torch$", c.source, re.M) for c in downloaded.cells if c.cell_type == "code")
    hidden = [c for c in downloaded.cells if "remove-cell" in c.metadata.get("tags", [])]
    assert hidden and all(folded(c).get("source_hidden") for c in hidden)


def test_the_browser_labs_book_notebooks_are_the_cleaned_pages_with_a_note_on_top():
    spec = importlib.util.spec_from_file_location("lite_build", ROOT / "book" / "lite" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    served = build.page_notebook(ROOT / "book" / "01_two_ways" / "index.md")
    assert served.cells[0].source.startswith("**Try it in your browser.**")
    assert not [c for c in served.cells if c.cell_type == "markdown" and RAW_MYST.search(c.source)]
    assert any(c.source == SOLUTION_NOTE for c in served.cells)
