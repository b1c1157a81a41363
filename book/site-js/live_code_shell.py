"""The Python half of the book's Live code: one IPython shell that runs a page's cells in the browser.

live-code-worker.js runs this file in Pyodide and makes one ``PageShell``, giving it ``send(kind, json)``,
which posts a message to the page. A cell's outputs leave as they happen, in Jupyter's shapes: a
stream's text, a display's mime bundle (the value of a cell's last expression included), an error's
name, value and traceback. The page shows them under the cell.

A widget's bundle also carries the state of the widget and of every widget it refers to, links
between them included (``ipywidgets.embed.dependency_state``): the page draws it with the site's own
ipywidgets embed manager. The book's explorers compute all their frames up front and switch them
with jsdlinks in the browser, so they are clickable there as on the static page, with no comm back
to this shell (its comms are ``comm``'s default, which sends nothing).
"""
import base64
import json
import logging
import sys
import weakref

import ipywidgets
from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from ipywidgets.embed import dependency_state, embed_data
from traitlets import Any, Type
from traitlets.config import Config

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


class Stream:
    """sys.stdout or sys.stderr: text goes to the page line by line, so a long loop shows its progress."""

    encoding = "utf-8"

    def __init__(self, name, send):
        self.name, self.send, self.pending = name, send, []

    def write(self, text):
        self.pending.append(text)
        if "\n" in text:
            self.flush()
        return len(text)

    def flush(self):
        text = "".join(self.pending)
        self.pending.clear()
        if text:
            self.send("stream", json.dumps({"name": self.name, "text": text}))

    def isatty(self):
        return False


class PageDisplay(DisplayPublisher):
    """What ``display()`` shows (matplotlib's figures included) goes to the page."""

    def publish(self, data, metadata=None, *args, **kwargs):
        self.shell.display(data)

    def clear_output(self, wait=False):
        self.shell.send("clear", "{}")


class PageResult(DisplayHook):
    """The value of a cell's last expression goes to the page, as Jupyter's Out[n] would."""

    def write_output_prompt(self):
        pass

    def write_format_data(self, format_dict, md_dict=None):
        self.shell.display(format_dict)


class PageShell(InteractiveShell):
    """The page's Python: ``run(code)`` runs one cell, in the namespace every cell of the page shares.

    Make it with ``PageShell.instance(send=...)``: IPython's singleton, which ``get_ipython()`` returns
    and matplotlib's inline backend looks for to show each cell's figures at its end.

    Args:
        send: ``send(kind, json)`` posts one output to the page.
    """

    send = Any()
    display_pub_class = Type(PageDisplay)
    displayhook_class = Type(PageResult)

    def __init__(self, **kwargs):
        config = Config()
        config.InteractiveShell.colors = "NoColor"  # the page shows tracebacks as plain text
        config.HistoryManager.enabled = False  # no history file in the browser
        # matplotlib's first import in a fresh browser warns that it builds its font cache: news to no reader.
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        super().__init__(config=config, **kwargs)
        self.streams = sys.stdout, sys.stderr = Stream("stdout", self.send), Stream("stderr", self.send)
        # Every widget made from now on, so that a displayed widget can be found by its model id.
        self.widgets = weakref.WeakSet()
        ipywidgets.Widget.on_widget_constructed(self.widgets.add)

    def run(self, code):
        """Run one cell; True if it raised nothing."""
        try:
            return self.run_cell(code, store_history=True).success
        finally:
            self.flush()

    def flush(self):
        for stream in self.streams:
            stream.flush()

    def display(self, bundle):
        self.flush()
        view = bundle.get(WIDGET_VIEW)
        if view is not None:
            widget = next((w for w in self.widgets if w.comm is not None and w.model_id == view["model_id"]), None)
            if widget is not None:
                bundle = dict(bundle, **{WIDGET_STATE: embed_data([widget], state=dependency_state(widget))})
        self.send("display", json.dumps(bundle, default=_bytes_as_base64))

    def _showtraceback(self, etype, evalue, stb):
        # IPython's hook for "a different place, like a side channel" (its docstring): here an error
        # output, not printed text, as in ipykernel's shell.
        self.flush()
        self.send("error", json.dumps({"ename": etype.__name__, "evalue": str(evalue), "traceback": stb}))


def _bytes_as_base64(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"expected JSON-able output data, but got {type(value).__name__}")
