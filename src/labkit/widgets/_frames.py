"""The machinery the explorers share: discrete controls, one frame per combination of them,
and a view that switches frames in the browser without a kernel.

A frame is a picture (a PNG drawn with matplotlib) plus a line of HTML. On a static page
there is no Python to redraw anything, so every frame is computed when the page is built
and the page only has to *show* the right one. ipywidgets can do that with no kernel:
a ``Stack`` shows one of its children, chosen by ``selected_index``, and ``jsdlink``
copies a control's ``index`` into it inside the browser. One control picks a child of
one Stack; for several controls the Stacks nest, one level per control, and each control
is linked to every Stack of its level::

    mode ──> Stack[train, eval]
                 └─ each child: Stack over p  <── p
                        └─ each child: one frame

In a kernel the same widgets are live as well: an observer recomputes the frame the
controls now point at with the engine and replaces its picture.
"""
import io
import sys
import time

import ipywidgets as widgets
import numpy as np

try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
except ModuleNotFoundError as missing:
    if sys.platform != "emscripten":
        raise
    # The browser lab loads matplotlib, the largest package, only for a cell whose own text imports it.
    raise ModuleNotFoundError("labkit.widgets draws with matplotlib, which the browser lab loads only when a "
                              "cell imports it: add `import matplotlib.pyplot` to this cell, above the line that "
                              "imports labkit.widgets, and run it again") from missing
from PIL import Image

import numtorch

# CPU seconds of this thread; Pyodide (the browser lab) has no thread clock, and runs one thread.
_cpu_time = getattr(time, "thread_time", time.process_time)

# Colours of the two modes, used by every explorer so that "orange = train" holds across the book.
TRAIN_COLOUR = "#e76f51"
EVAL_COLOUR = "#2a9d8f"
NEUTRAL_COLOUR = "#adb5bd"


class Choice:
    """One control: a name, a label for the reader, and the discrete values it can take.

    Args:
        name (str): keyword under which the chosen value reaches ``compute``.
        description (str): the label shown next to the control.
        options (list): ``(label, value)`` pairs, or plain values labelled by ``str``.
        default: the value selected at first. Default: the first option.
        kind (str): ``"buttons"`` (ToggleButtons) or ``"slider"`` (SelectionSlider).
    """

    def __init__(self, name, description, options, default=None, kind="buttons"):
        self.name, self.description, self.kind = name, description, kind
        self.options = [opt if isinstance(opt, tuple) else (str(opt), opt) for opt in options]
        values = [value for _, value in self.options]
        self.default_index = 0 if default is None else values.index(default)

    def widget(self):
        # The widgets get labels only: ipywidgets 8 syncs a selection's `index`, not its value,
        # and a value of None (momentum=None) would read as "nothing selected".
        labels = [label for label, _ in self.options]
        common = dict(options=labels, index=self.default_index, description=self.description,
                      style={"description_width": "initial"})
        if self.kind == "slider":
            return widgets.SelectionSlider(continuous_update=False, **common)
        return widgets.ToggleButtons(**common)


def figure_png(fig, colours=128):
    """The picture on ``fig``'s Agg canvas (drawn already), as PNG bytes with a palette of ``colours``.

    A plot has few colours, so a palette image is a third the size of RGB at no visible
    cost; it matters because every frame of every explorer is embedded in the page.
    """
    rgb = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    out = io.BytesIO()
    rgb.quantize(colours, method=Image.Quantize.FASTOCTREE).save(out, format="png")
    return out.getvalue()


class seeded:
    """Run a block with the engine's generator in a known state, then put the old state back.

    The explorers draw dropout masks and data from the engine's own generator (so that they
    exercise the engine as a learner's code would), but a widget on a page must neither
    depend on nor disturb the random numbers of the cells around it. PyTorch saves and
    restores its state with ``get_rng_state``/``set_rng_state``; numtorch's generator is a
    NumPy one, whose state is set directly.
    """

    def __init__(self, seed, engine=numtorch):
        self.seed, self.engine = seed, engine

    def __enter__(self):
        if hasattr(self.engine, "get_rng_state"):
            self.saved = self.engine.get_rng_state()
            self.engine.manual_seed(self.seed)
        else:
            self.saved = numtorch.random.generator().bit_generator.state
            numtorch.random.generator().bit_generator.state = np.random.default_rng(self.seed).bit_generator.state

    def __exit__(self, *exc):
        if hasattr(self.engine, "get_rng_state"):
            self.engine.set_rng_state(self.saved)
        else:
            numtorch.random.generator().bit_generator.state = self.saved


class FrameExplorer:
    """A picture that depends on a few discrete controls, viewable with or without a kernel.

    Subclasses set ``choices`` (a list of :class:`Choice`) and implement
    ``compute(**values)``, which runs the engine and returns any result object;
    ``setup(fig)``, which creates the axes and artists once; and ``update(result)``,
    which puts a result's data into them. (Creating axes costs more than everything
    else in a redraw, hence the split.) ``caption(result)`` may return HTML shown under
    the picture. ``setup`` may also list in ``self.changing`` the artists that ``update``
    changes, in drawing order: the rest (axes, ticks, labels: most of the text, which is
    most of matplotlib's drawing time) is then drawn once, and each frame draws only those
    artists over a copy of it. ``update`` must then leave every other artist as it was.

    Args:
        static (bool): compute every frame now, so that the page works without a kernel.
            With ``False`` only the frame on screen is computed, on each change. Default: ``True``.

    Attributes:
        controls (dict): the control widgets by choice name; set ``.value`` to a label to drive them.
        result: what ``compute`` returned for the frame on screen.
        figure: the matplotlib ``Figure`` of the frame on screen.
        redraw_seconds (float): how long the last recompute-and-draw took (wall clock).
        redraw_cpu_seconds (float): the same in CPU time of this thread, which other busy
            processes on the machine do not inflate.
        widget: the whole thing as an ipywidgets box (the explorer also displays as it).
    """

    choices = []
    figsize = (6.6, 2.5)
    dpi = 100
    changing = ()

    def __init__(self, static=True):
        self.controls = {choice.name: choice.widget() for choice in self.choices}
        self.frames = {}  # index tuple -> (Image, HTML)
        # Shared by every frame: each widget would otherwise get Layout and style models of its
        # own, and every model is stored in the page (hundreds, for the BatchNorm explorer).
        self._layout = widgets.Layout()
        self._picture_layout = widgets.Layout(max_width="100%", height="auto")
        self._text_style = widgets.widget_string.HTMLStyle()
        self._links = []
        self.result = self.figure = self._background = None
        self.redraw_seconds = self.redraw_cpu_seconds = self.precompute_seconds = 0.0
        view = self._stack(())
        current = self._current_key()
        # The frame on screen goes last, so that `result` and `figure` describe it.
        keys = [key for key in self.frames if key != current] + [current] if static else [current]
        start = time.perf_counter()
        for key in keys:
            self._fill(key)
        self.precompute_seconds = time.perf_counter() - start
        for control in self.controls.values():
            control.observe(self._on_change, names="index")
        controls = widgets.VBox(list(self.controls.values()))
        self.widget = widgets.VBox([controls, view], layout=widgets.Layout(width="100%"))

    # ----- what subclasses provide ----------------------------------------------------------
    def compute(self, **values):
        raise NotImplementedError

    def setup(self, fig):
        raise NotImplementedError

    def update(self, result):
        raise NotImplementedError

    def caption(self, result):
        return ""

    # ----- public --------------------------------------------------------------------------
    def values(self, key=None):
        """The value each control points at (or the indices ``key`` point at), by choice name."""
        key = self._current_key() if key is None else key
        return {choice.name: choice.options[i][1] for choice, i in zip(self.choices, key)}

    def refresh(self):
        """Recompute the frame on screen (e.g. after changing a model the explorer looks at)."""
        self._on_change()

    def close(self):
        """Close every widget of this explorer, e.g. one made only to be driven from code."""
        def close_tree(widget):
            for child in getattr(widget, "children", ()):
                close_tree(child)
            widget.close()

        close_tree(self.widget)
        for link in self._links:
            link.close()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # ----- machinery --------------------------------------------------------------------------
    def _current_key(self):
        return tuple(self.controls[choice.name].index for choice in self.choices)

    def _stack(self, prefix):
        """The view for the choices after ``prefix``: a frame, or a Stack of sub-views."""
        depth = len(prefix)
        if depth == len(self.choices):
            picture = widgets.Image(format="png", layout=self._picture_layout)
            text = widgets.HTML(layout=self._layout, style=self._text_style)
            self.frames[prefix] = (picture, text)
            return widgets.VBox([picture, text], layout=self._layout)
        choice = self.choices[depth]
        control = self.controls[choice.name]
        stack = widgets.Stack([self._stack(prefix + (i,)) for i in range(len(choice.options))],
                              selected_index=control.index, layout=self._layout)
        # Browser side: runs with no kernel. Kernel side: the observer below does the same.
        self._links.append(widgets.jsdlink((control, "index"), (stack, "selected_index")))
        control.observe(lambda change, stack=stack: setattr(stack, "selected_index", change["new"]),
                        names="index")
        return stack

    def _fill(self, key):
        result = self.compute(**self.values(key))
        if self.figure is None:
            # No layout engine: each explorer places its axes itself, and constrained layout
            # alone would cost more than the whole rest of a redraw.
            self.figure = Figure(figsize=self.figsize, dpi=self.dpi)
            FigureCanvasAgg(self.figure)
            self.setup(self.figure)
        self.update(result)
        picture, text = self.frames[key]
        self._draw()
        picture.value = figure_png(self.figure)
        text.value = self.caption(result)
        self.result = result

    def _draw(self):
        """Draw the frame: all of it, or only ``changing`` over a copy of everything else."""
        canvas = self.figure.canvas
        if not self.changing:
            canvas.draw()
            return
        if self._background is None:
            for artist in self.changing:
                artist.set_animated(True)  # left out of canvas.draw()
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self.changing:
            self.figure.draw_artist(artist)

    def _on_change(self, change=None):
        start, start_cpu = time.perf_counter(), _cpu_time()
        self._fill(self._current_key())
        self.redraw_seconds = time.perf_counter() - start
        self.redraw_cpu_seconds = _cpu_time() - start_cpu
