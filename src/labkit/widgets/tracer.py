"""Mode tracer: every functional call one forward pass makes, with the mode it ran in.

``trace(model, x)`` runs ``model(x)`` once with two kinds of instruments, both removed
when it returns (so nothing is slower afterwards):

* forward pre-hooks and hooks on every submodule keep a stack of the modules whose
  ``forward`` is running, so a call can be blamed on the innermost one;
* :func:`labkit.functional_calls.trace_calls` reports every call of a function of the
  model's engine's ``nn.functional`` (numtorch's or PyTorch's, whichever the model is).

For each call it records the ``training`` value the function received (if it takes
one), the module's own ``training`` flag at that moment, and which of the model's
parameters and buffers were passed in and which changed value.
"""
import copy
import html
from dataclasses import dataclass, field

import numpy as np

from ..functional_calls import engine_of, functional_of, received_argument, trace_calls
from ._frames import EVAL_COLOUR, NEUTRAL_COLOUR, TRAIN_COLOUR, Choice, FrameExplorer, seeded

MISMATCH_COLOUR = "#d62828"


def received_training(functional, function, args, kwargs):
    """The ``training`` argument a call of ``F.<function>`` ran with, defaults included; None if it has none."""
    training = received_argument(functional, function, args, kwargs, "training")
    return None if training is None else bool(training)


@dataclass
class CallRecord:
    """One functional call, or (``function=None``) a state change made by a module's own code."""

    step: int
    module: str  # dotted name from model.named_modules(); "" is the model itself
    module_type: str
    module_training: bool
    function: str  # e.g. "dropout"; None for a change made outside any F call
    training: bool  # what the call received; None if the function takes no `training`
    reads: list = field(default_factory=list)  # names of parameters/buffers passed in
    changes: list = field(default_factory=list)  # names of parameters/buffers whose value changed

    @property
    def mismatch(self):
        """True when the call ran in a different mode than the module making it."""
        return self.training is not None and self.training != self.module_training

    @property
    def where(self):
        return f"{self.module or '(model)'}: {self.module_type}"


class Trace:
    """The records of one forward pass; displays as an HTML table.

    Attributes:
        records (list): :class:`CallRecord` in call order.
        modules (list): ``(name, type name, training)`` of every module, parents first.
        output: what the forward pass returned.
    """

    def __init__(self, records, modules, output):
        self.records, self.modules, self.output = records, modules, output

    def calls(self, function=None):
        """The functional calls (not the module-code changes), optionally of one function."""
        return [r for r in self.records if r.function is not None and function in (None, r.function)]

    def mismatches(self):
        return [r for r in self.records if r.mismatch]

    def changed(self):
        """Every parameter or buffer name the pass changed, in order of first change."""
        return list(dict.fromkeys(name for r in self.records for name in r.changes))

    def to_html(self):
        def flag(value):
            if value is None:
                return "—"
            colour = TRAIN_COLOUR if value else EVAL_COLOUR
            return f"<code style='color:{colour}'>{value}</code>"

        def names(r, tensors):
            # The module column already says whose they are: "weight", not "features.0.weight".
            own = r.module + "." if r.module else ""
            return html.escape(", ".join(n[len(own):] if n.startswith(own) else n for n in tensors)) or "—"

        rows = []
        for r in self.records:
            style = f" style='background:{MISMATCH_COLOUR}22'" if r.mismatch else ""
            call = f"F.{r.function}" if r.function else "<i>forward code</i>"
            rows.append(
                f"<tr{style}><td>{r.step}</td><td style='white-space:nowrap'><code>{html.escape(r.where)}</code></td>"
                f"<td>{flag(r.module_training)}</td><td style='white-space:nowrap'><code>{call}</code></td>"
                f"<td>{flag(r.training)}</td>"
                f"<td>{names(r, r.reads)}</td><td>{names(r, r.changes)}</td></tr>")
        head = ("<tr><th>#</th><th>module</th><th>module.training</th><th>call</th>"
                "<th><code>training</code> received</th><th>reads</th><th>changes</th></tr>")
        return f"<table style='font-size:85%'>{head}{''.join(rows)}</table>"

    _repr_html_ = to_html

    def draw(self, fig):
        """The module tree, each module followed by the calls it made, coloured by mode."""
        ax = fig.add_subplot()
        fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.01)
        ax.set_axis_off()
        by_module = {}
        for r in self.records:
            by_module.setdefault(r.module, []).append(r)
        ax.set_xlim(0, 10)
        ax.set_ylim(len(self.modules) - 0.5, -1.2)
        box = dict(boxstyle="round,pad=0.25", linewidth=1.2)
        points_per_unit = fig.get_figwidth() * 72 / 10

        def chip(x, y, text, fill, edge=None, width=1.2, size=7.5):
            ax.text(x, y, text, va="center", fontsize=size, family="monospace",
                    bbox={**box, "facecolor": fill + "40", "edgecolor": edge or fill, "linewidth": width})
            # A monospace character is 0.6 em wide; leave room for the box's padding.
            return x + (0.6 * size * len(text) + 2 * size) / points_per_unit  # where the next chip starts

        x = 0.1
        for text, colour in (("train", TRAIN_COLOUR), ("eval", EVAL_COLOUR), ("no flag", NEUTRAL_COLOUR)):
            x = chip(x, -0.9, text, colour, size=7)
        x = chip(x, -0.9, "call's mode differs", "#ffffff", MISMATCH_COLOUR, 2.2, size=7)
        ax.text(x, -0.9, "* changed state", va="center", fontsize=7)
        for row, (name, type_name, training) in enumerate(self.modules):
            depth = name.count(".") + 1 if name else 0
            label = f"{name.split('.')[-1]}: {type_name}" if name else type_name
            chip(0.1 + 0.35 * depth, row, label, TRAIN_COLOUR if training else EVAL_COLOUR, size=8)
            x = 3.9
            for r in by_module.get(name, []):
                fill = NEUTRAL_COLOUR if r.training is None else (TRAIN_COLOUR if r.training else EVAL_COLOUR)
                text = (f"F.{r.function}" if r.function else "forward code") + ("*" if r.changes else "")
                x = chip(x, row, text, fill, MISMATCH_COLOUR if r.mismatch else None,
                         2.5 if r.mismatch else 1.2)


def _tensors(values, tensor_type):
    for value in values:
        if isinstance(value, tensor_type):
            yield value
        elif isinstance(value, (list, tuple)):
            yield from _tensors(value, tensor_type)


def trace(model, *args, **kwargs):
    """Run ``model(*args, **kwargs)`` once and return a :class:`Trace` of its functional calls.

    The pass is a real one: in train mode BatchNorm's running statistics move, exactly as
    they would without the tracer (use :class:`ModeTracer` to look without touching).
    The model may be numtorch's or PyTorch's: the calls watched are those into its own
    engine's ``nn.functional``.
    """
    engine = engine_of(model)
    functional = functional_of(engine)
    state = list(model.named_parameters()) + list(model.named_buffers())
    names = {id(t): name for name, t in state}  # the model's parameters and buffers, by identity
    tensors = {id(t): t for _, t in state}
    seen = {key: t.detach().numpy().copy() for key, t in tensors.items()}  # values when last looked at
    module_names = {id(m): name for name, m in model.named_modules()}
    running, records = [], []  # running: the modules whose forward is on the Python stack

    def changed(tensor_ids):
        out = []
        for key in tensor_ids:
            now = tensors[key].detach().numpy()
            if not np.array_equal(now, seen[key]):
                out.append(names[key])
                seen[key] = now.copy()
        return out

    def record(module, function, training, reads, changes):
        records.append(CallRecord(len(records) + 1, module_names[id(module)], type(module).__name__,
                                  module.training, function, training, reads, changes))

    def own_state(module):
        return [id(t) for t in list(module.parameters(recurse=False)) + list(module.buffers(recurse=False))]

    def module_code_changes(module, skip=()):
        # State the module's own code changed outside any F call (BatchNorm's num_batches_tracked += 1).
        changes = changed([key for key in own_state(module) if key not in skip])
        if changes:
            record(module, None, None, [], changes)

    def on_call(function, call_args, call_kwargs, output):
        passed = list(dict.fromkeys(id(t) for t in _tensors(list(call_args) + list(call_kwargs.values()),
                                                            engine.Tensor)
                                    if id(t) in names))
        module = running[-1] if running else model
        module_code_changes(module, skip=passed)  # made before this call, so listed before it
        record(module, function, received_training(functional, function, call_args, call_kwargs),
               [names[key] for key in passed], changed(passed))

    def enter(module, inputs):
        running.append(module)

    def leave(module, inputs, output):
        running.pop()
        module_code_changes(module)

    handles = []
    try:
        for module in model.modules():
            handles.append(module.register_forward_pre_hook(enter))
            handles.append(module.register_forward_hook(leave))
        with trace_calls(functional, on_call):
            output = model(*args, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    modules = [(name, type(m).__name__, m.training) for name, m in model.named_modules()]
    return Trace(records, modules, output)


class ModeTracer(FrameExplorer):
    """A train/eval toggle over the :func:`trace` of one forward pass of ``model``.

    Each frame traces a deep copy of the model (so the learner's running statistics never
    move), put in the chosen mode with ``train()``/``eval()`` on the copy's root. The
    random generator is restored afterwards too. In a kernel, every toggle traces the model
    as it is now; on a static page both traces were taken when the page was built.

    Args:
        model (Module): the model to trace.
        inputs (tuple): the arguments of the forward pass.
        static (bool): see :class:`FrameExplorer`. Default: ``True``.
    """

    dpi = 100

    def __init__(self, model, *inputs, static=True, seed=0):
        self.model, self.inputs, self.seed = model, inputs, seed
        self.choices = [Choice("mode", "", [("model.train()", "train"), ("model.eval()", "eval")])]
        self.figsize = (6.6, 0.5 + 0.27 * len(list(model.modules())))
        super().__init__(static=static)

    def compute(self, mode):
        copy_ = copy.deepcopy(self.model)
        copy_.train(mode == "train")
        with seeded(self.seed, engine_of(copy_)):
            return trace(copy_, *self.inputs)

    def setup(self, fig):
        pass  # every trace has its own layout: update draws from scratch

    def update(self, result):
        self.figure.clear()
        result.draw(self.figure)

    def caption(self, result):
        return result.to_html()


def mode_tracer(model, *inputs, **kwargs):
    """Make a :class:`ModeTracer`; keyword arguments pass through."""
    return ModeTracer(model, *inputs, **kwargs)
