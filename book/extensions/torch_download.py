"""Sphinx extension: each notebook page is also offered for PyTorch, and numtorch-only cells say so.

* "Download for PyTorch": at build time every notebook page is converted by the rule of
  ``to_torch.py`` (the one ``make test`` runs on torch), its MyST made plain Markdown by
  ``clean_notebook.py`` (as in the browser lab), and written beside the page's other
  downloads, ``_sources/<page>.pytorch.ipynb``; the theme's download menu gets a link to it.
* A code cell tagged ``numtorch-only`` gets a note above it, "numtorch internals —
  PyTorch does this in C++", styled as the theme's admonitions (no extra CSS or script).
"""
from pathlib import Path

import jupytext
import nbformat
from docutils import nodes

from clean_notebook import clean_notebook
from to_torch import TAG, torch_notebook

BADGE_TITLE = "numtorch internals — PyTorch does this in C++"
BADGE_TEXT = "Runs on numtorch only; this page's PyTorch notebook leaves it out."


def _is_notebook(notebook):
    return "kernelspec" in notebook.metadata


def mark_numtorch_only_cells(app, doctree, docname):
    """Put a note above every cell tagged ``numtorch-only`` (MyST-NB gives the cell the class ``tag_<tag>``)."""
    for cell in list(doctree.findall(nodes.container)):
        if f"tag_{TAG}" not in cell.get("classes", []):
            continue
        note = nodes.admonition(classes=["note", "numtorch-only"])
        note += nodes.title(text=BADGE_TITLE)
        note += nodes.paragraph(text=BADGE_TEXT)
        cell.parent.insert(cell.parent.index(cell), note)


def add_torch_download(app, pagename, templatename, context, doctree):
    """Write the page's PyTorch notebook and link it from the download menu, after the ``.ipynb``."""
    source = Path(app.env.doc2path(pagename)) if pagename in app.env.all_docs else None
    if source is None or source.suffix != ".md":
        return
    notebook = jupytext.read(source)
    if not _is_notebook(notebook):
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.pytorch.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(clean_notebook(torch_notebook(notebook)), str(target))
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        buttons = group["buttons"]
        at = next((i + 1 for i, b in enumerate(buttons) if b.get("label") == "download-notebook-button"), 0)
        buttons.insert(at, {
            "type": "link",
            "url": f"{context['pathto']('_sources', 1)}/{pagename}.pytorch.ipynb",
            "text": ".ipynb (PyTorch)",
            "icon": "fas fa-code",
            "tooltip": "Download notebook for PyTorch (imports changed to torch)",
            "label": "download-pytorch-button",
        })


def setup(app):
    app.connect("doctree-resolved", mark_numtorch_only_cells)
    # After sphinx-book-theme builds the download menu (priority 501).
    app.connect("html-page-context", add_torch_download, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
