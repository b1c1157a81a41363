"""A book page as a notebook for people, not for Sphinx: what the browser lab and the downloads serve.

A page's markdown is MyST, which only the book's build renders; Jupyter shows it raw
(``:::{exercise}``, ``:label: ...``, ``{ref}`...```). ``clean_notebook`` rewrites it as plain
Markdown that Jupyter renders:

* an exercise becomes a paragraph that starts **Exercise.**; a hint, and a solution written as
  markdown, a ``<details>`` block that opens on a click;
* a solution made of cells (``solution-start`` ... ``solution-end``) gets a **Solution** line,
  and its cells are folded (``jupyter.source_hidden`` and ``outputs_hidden``, which JupyterLab
  and Notebook honour): visible as a bar, opened on a click, run by Run All like any cell;
* ``{ref}`text <label>``` becomes its text, a bare ``{ref}`label``` the title of the section it
  names; ``(label)=`` targets, tables of contents and the like go; a diagram leaves its
  ``:alt:`` text.

Code is never changed, so the notebook computes what the page computes. Cells the page hides
stay, because they must run (hidden assertions are the page's claims, and some define what
later cells use), but are kept out of the way: ``remove-cell``, ``remove-input`` and
``hide-input`` cells have their code folded. Their output stays in view: an assertion prints
nothing unless it fails, and the figures a page quotes in its text are printed there.
"""
import functools
import re
from pathlib import Path

import nbformat

BOOK = Path(__file__).resolve().parents[1]
SOLUTION_NOTE = ("**Solution.** *Try the exercise first. The solution's cells are folded: "
                 "click the bar beside a cell to open it.*")
# Directive fences: ``:::{name} argument`` ... a closing fence of the same number of colons.
COLON_DIRECTIVE = re.compile(
    r"^(?P<fence>:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<argument>[^\n]*)\n"
    r"(?P<options>(?::[\w-]+:[^\n]*\n)*)"
    r"(?P<body>.*?)"
    r"^(?P=fence)[ \t]*$\n?", re.M | re.S)
BACKTICK_DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<argument>[^\n]*)\n"
    r"(?P<options>(?::[\w-]+:[^\n]*\n)*)"
    r"(?P<body>.*?)"
    r"^(?P=fence)[ \t]*$\n?", re.M | re.S)
REF = re.compile(r"\{ref\}`(?:(?P<text>[^`<]*?)\s*<(?P<target>[^`>]+)>|(?P<bare>[^`]+))`")
GLUE = re.compile(r"\{glue:text\}`(?P<name>[^`]+)`")
LABEL_LINE = re.compile(r"^\([\w-]+\)=[ \t]*\n", re.M)
HEADING_AFTER_LABEL = re.compile(r"^\((?P<label>[\w-]+)\)=[ \t]*\n+#+\s+(?P<title>.+)$", re.M)


@functools.lru_cache
def section_titles(book=BOOK):
    """label -> title of the heading right below it, over every page of the book."""
    titles = {}
    for page in sorted(Path(book).rglob("*.md")):
        for match in HEADING_AFTER_LABEL.finditer(page.read_text()):
            titles[match["label"]] = match["title"].strip()
    return titles


def _options(text):
    return dict(re.findall(r"^:([\w-]+):[ \t]*(.*)$", text, re.M))


def _details(summary, body):
    # Blank lines around the body: Markdown inside <details> is rendered only as its own block.
    return f"<details>\n<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>\n"


def _directive(match):
    name, argument = match["name"], match["argument"].strip()
    options, body = _options(match["options"]), _markdown_directives(match["body"]).strip()
    if name == "exercise":
        return f"**Exercise.** {body}\n"
    if name == "hint":
        return _details("Hint", body)
    if name == "solution":
        return _details("Solution", body)
    if name == "dropdown":
        return _details(argument or "More", body)
    if name == "graphviz":
        return f"*Diagram: {options['alt']}*\n" if "alt" in options else ""
    if name in ("tableofcontents", "eval-rst"):
        return ""
    title = argument or name.capitalize()
    return "\n".join(f"> {line}" if line else ">" for line in f"**{title}.** {body}".splitlines()) + "\n"


def _markdown_directives(text):
    text = COLON_DIRECTIVE.sub(_directive, text)
    return BACKTICK_DIRECTIVE.sub(_directive, text)


def clean_markdown(text, titles):
    """Plain Markdown for one markdown cell's MyST (solution-start/end handled by the caller)."""
    text = _markdown_directives(text)
    text = REF.sub(lambda m: m["text"] if m["target"] else titles.get(m["bare"].strip(), "that section"), text)
    text = GLUE.sub(lambda m: f"`{m['name']}` (printed above)", text)
    text = LABEL_LINE.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _fold(cell, outputs=True):
    jupyter = cell.metadata.setdefault("jupyter", {})
    jupyter["source_hidden"] = True
    if outputs and cell.cell_type == "code":
        jupyter["outputs_hidden"] = True


SOLUTION_FENCE = re.compile(r"^(`{3,})\{solution-(?P<end>start|end)\}.*\n(?::[\w-]+:.*\n)*^\1[ \t]*$\n?", re.M)


def _split_at_solution_fences(text):
    """[(kind, text)]: kind "text", "start" or "end", in the order they come in one markdown cell."""
    parts, at = [], 0
    for match in SOLUTION_FENCE.finditer(text):
        parts.append(("text", text[at:match.start()]))
        parts.append((match["end"], ""))
        at = match.end()
    parts.append(("text", text[at:]))
    return parts


def clean_notebook(notebook, titles=None):
    """A copy of ``notebook`` (as jupytext reads a page) that Jupyter shows as plain Markdown."""
    titles = section_titles() if titles is None else titles
    out = nbformat.from_dict(notebook)
    cells, in_solution = [], False
    for cell in out.cells:
        if cell.cell_type == "code":
            tags = cell.metadata.get("tags", [])
            if in_solution:
                _fold(cell)
            elif {"remove-cell", "remove-input", "hide-input"} & set(tags):
                _fold(cell, outputs=False)
            cells.append(cell)
            continue
        for kind, text in _split_at_solution_fences(cell.source):
            if kind == "start":
                in_solution = True
                cells.append(nbformat.v4.new_markdown_cell(SOLUTION_NOTE))
            elif kind == "end":
                in_solution = False
            elif text.strip():
                piece = nbformat.v4.new_markdown_cell(clean_markdown(text, titles))
                if piece.source:
                    if in_solution:
                        _fold(piece)
                    cells.append(piece)
    out.cells = cells
    return out
