"""Sphinx extension: link the book's pages and labs to the browser lab (built by build.py).

Every page that is a notebook gets "Run this page in your browser" under its title, opening the
same page as a notebook in the site's JupyterLite. In each "Exercises" section, every lab the
exercises name as ``labs/<lab>`` gets a link that opens that lab there: the links follow the
text, so no page carries a hand-written URL.
"""

import functools
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

LAB_APP = "lite/lab/index.html"  # where `make book` puts the browser lab, relative to the site root
LAB_MENTION = re.compile(r"^labs/(\w+)/?$")
logger = logging.getLogger(__name__)


def _is_notebook(path: Path) -> bool:
    """A MyST notebook has a kernelspec in its front matter (as the Makefile's NOTEBOOKS)."""
    return re.search(r"^kernelspec:", path.read_text(encoding="utf-8"), re.M) is not None


def _link(app, docname: str, notebook: str, text: str) -> nodes.paragraph:
    url = relative_uri(app.builder.get_target_uri(docname), LAB_APP) + "?path=" + notebook
    paragraph = nodes.paragraph(classes=["lite-link"])
    paragraph += nodes.reference("", text, refuri=url)
    return paragraph


@functools.cache
def _lab_titles(srcdir: str) -> dict:
    from labkit.labs import load_labs

    return {lab.name: lab.title for lab in load_labs(Path(srcdir) / "labs")}


def add_lite_links(app, doctree, docname):
    if app.builder.format != "html" or not _is_notebook(Path(app.env.doc2path(docname))):
        return
    title = next(iter(doctree.findall(nodes.title)), None)
    if title is not None:
        title.parent.insert(title.parent.index(title) + 1,
                            _link(app, docname, f"{docname}.ipynb", "▶ Run this page in your browser"))

    titles = _lab_titles(str(app.srcdir))
    for section in doctree.findall(nodes.section):
        if section[0].astext() != "Exercises":
            continue
        named = []
        for literal in section.findall(nodes.literal):
            match = LAB_MENTION.match(literal.astext())
            if match and match[1] not in named:
                named.append(match[1])
        for lab in named:
            if lab not in titles:
                logger.warning(f"the exercises name labs/{lab}, but there is no such lab (labs: {', '.join(titles)})",
                               location=docname)
                continue
            section += _link(app, docname, f"labs/{lab}.ipynb", f"▶ Open {titles[lab]} in your browser")


def setup(app):
    app.connect("doctree-resolved", add_lite_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
