"""Every notebook page offers its PyTorch notebook, and numtorch-only cells are marked on the page."""
import json
import sys
from pathlib import Path

import jupytext
import pytest

from test_site import ROOT, toc_pages

sys.path.insert(0, str(ROOT / "book" / "extensions"))
from to_torch import TAG  # noqa: E402

NOTEBOOK_PAGES = [path for path in toc_pages()
                  if (ROOT / path).with_suffix(".md").is_file()
                  and "kernelspec" in jupytext.read(ROOT / path.replace(".html", ".md")).metadata]


@pytest.mark.parametrize("path", ["book/04_train_eval/dropout.html", "book/intro.html"])
def test_download_menu_offers_the_pytorch_notebook_and_it_is_served(site_page, path):
    visit = site_page(path)
    page = visit.page
    page.locator(".dropdown-download-buttons button").first.click()
    link = page.locator("a.btn:has-text('.ipynb (PyTorch)')")
    link.wait_for()
    response = page.request.get(link.evaluate("a => a.href"))
    assert response.status == 200
    notebook = json.loads(response.body())
    code = "\n".join(c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                     for c in notebook["cells"] if c["cell_type"] == "code")
    assert "import torch\n" in code + "\n" and "import numtorch" not in code
    assert visit.problems == []


def test_every_notebook_page_has_a_pytorch_notebook_beside_its_sources(site_root):
    assert NOTEBOOK_PAGES, "the book has notebook pages"
    missing = [p for p in NOTEBOOK_PAGES if not (site_root / "_sources" / p.replace(".html", ".pytorch.ipynb")).is_file()]
    assert missing == []


def test_numtorch_only_cells_carry_the_internals_note_on_the_page(site_page):
    page_md = ROOT / "book" / "05_convolution" / "index.md"
    visible_tagged = [c for c in jupytext.read(page_md).cells
                      if TAG in c.metadata.get("tags", []) and "remove-cell" not in c.metadata.get("tags", [])]
    visit = site_page("book/05_convolution/index.html")
    notes = visit.page.locator(".admonition.numtorch-only")
    assert notes.count() == len(visible_tagged) > 0
    assert "numtorch internals — PyTorch does this in C++" in notes.first.inner_text()
    # The note sits right above its cell.
    following = notes.first.evaluate("note => note.nextElementSibling.className")
    assert f"tag_{TAG}" in following
    assert visit.problems == []
