"""The book's pages as PyTorch notebooks: one mechanical rule, used by CI and by the site.

The rule, applied to every code cell of a page (markdown is left as written):

    every Python name ``numtorch`` becomes ``torch``

and nothing else. Names only: strings and comments keep the word, so a cell can still ask
``torch.__name__ == "numtorch"``. ``import numtorch as torch`` thus becomes ``import torch``,
``from numtorch import nn`` becomes ``from torch import nn`` and
``import numtorch.nn.functional as F`` becomes ``import torch.nn.functional as F``; the
code below the imports is untouched, which is the book's promise.

A cell tagged ``numtorch-only`` reads numtorch's own internals (PyTorch does that work in
C++); it is replaced by a markdown note saying so. The hidden assertion cells stay: they
are the claims, and they must hold on both engines.

``make test`` converts every page with this file and runs the notebooks on torch under
nbval; the site offers the same notebooks as "Download for PyTorch" (see
``torch_download.py``). Command line: ``python to_torch.py OUT_DIR PAGE.md...`` writes
``OUT_DIR/<PAGE>.ipynb`` for each page, keeping the page's folders.
"""
import io
import re
import sys
import tokenize
from pathlib import Path

import jupytext
import nbformat

TAG = "numtorch-only"
NOTE = ("*A cell that reads numtorch's internals is left out here: PyTorch does this work "
        "in C++.*")


def torch_code(source):
    """``source`` with every Python name ``numtorch`` renamed ``torch`` (the one rule)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        tokens = None
    if tokens is None:  # IPython magics and the like: not Python, left as written
        return source
    lines = source.splitlines(keepends=True)
    # Rename from the end of the cell so that earlier positions stay valid.
    for tok in reversed(tokens):
        if tok.type == tokenize.NAME and tok.string == "numtorch":
            (row, start), (_, end) = tok.start, tok.end
            line = lines[row - 1]
            lines[row - 1] = line[:start] + "torch" + line[end:]
    # `import numtorch as torch` reads `import torch as torch` after the rename; say it plainly.
    return re.sub(r"^(\s*)import torch as torch\b", r"\1import torch", "".join(lines), flags=re.M)


def torch_notebook(notebook):
    """A copy of ``notebook`` (nbformat) with the rule applied and ``numtorch-only`` cells noted."""
    out = nbformat.from_dict(notebook)
    cells = []
    for cell in out.cells:
        if cell.cell_type != "code":
            cells.append(cell)
        elif TAG in cell.metadata.get("tags", []):
            cells.append(nbformat.v4.new_markdown_cell(NOTE))
        else:
            cell.source = torch_code(cell.source)
            cells.append(cell)
    out.cells = cells
    return out


def convert_page(page, out):
    """Write the PyTorch notebook of the MyST page ``page`` to ``out``."""
    notebook = torch_notebook(jupytext.read(page))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(out))


def main(argv):
    out_dir, pages = Path(argv[0]), argv[1:]
    for page in pages:
        convert_page(page, out_dir / Path(page).with_suffix(".ipynb"))


if __name__ == "__main__":
    main(sys.argv[1:])
