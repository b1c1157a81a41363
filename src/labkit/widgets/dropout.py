"""Dropout explorer: nn.Dropout, a bare F.dropout and F.dropout(training=self.training), side by side."""
from dataclasses import dataclass

import numpy as np

import numtorch

from ..functional_calls import functional_of
from ._frames import EVAL_COLOUR, TRAIN_COLOUR, Choice, FrameExplorer, seeded
from .tracer import trace


def dropout_layers(engine):
    """The two hand-written layers of the explorer, as ``engine.nn.Module`` classes.

    ``ForgetfulDropout`` is the pitfall: ``F.dropout(x, p)`` keeps its default
    ``training=True`` whatever the module's mode. ``FunctionalDropout`` is the fix: it hands
    the module's flag to the function, which is all ``nn.Dropout`` does.
    """
    F = functional_of(engine)

    class ForgetfulDropout(engine.nn.Module):
        def __init__(self, p):
            super().__init__()
            self.p = p

        def forward(self, x):
            return F.dropout(x, self.p)

    class FunctionalDropout(engine.nn.Module):
        def __init__(self, p):
            super().__init__()
            self.p = p

        def forward(self, x):
            return F.dropout(x, self.p, training=self.training)

    return ForgetfulDropout, FunctionalDropout


VARIANTS = ("nn.Dropout(p)", "F.dropout(x, p)", "F.dropout(x, p, training=self.training)")


def variants(p, engine=numtorch):
    """The three layers the explorer compares, in the order of ``VARIANTS``."""
    forgetful, functional = dropout_layers(engine)
    return engine.nn.Dropout(p), forgetful(p), functional(p)


def ring_image(size=24):
    """A fixed, recognisable, positive test input, so that "the mean is kept" means something."""
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    radius = np.hypot(x, y)
    return (0.15 + 0.85 * np.exp(-((radius - size / 3) / (size / 10)) ** 2)).astype(np.float32)


@dataclass
class DropoutFrame:
    """What one combination of the controls computes."""

    p: float
    training: bool
    input: np.ndarray
    outputs: dict  # variant -> output array
    received: dict  # variant -> the `training` value that reached F.dropout

    def mean(self, variant):
        return float(self.outputs[variant].mean())

    def zeroed(self, variant):
        """Fraction of elements the call set to zero (the input itself has none)."""
        return float((self.outputs[variant] == 0).mean())

    def unchanged(self, variant):
        return bool(np.array_equal(self.outputs[variant], self.input))


class DropoutExplorer(FrameExplorer):
    """Three dropout layers fed the same image, with a train/eval toggle and a ``p`` slider.

    In train mode all three drop the same pixels (each call starts from the same seed) and
    scale the survivors by ``1/(1-p)``, so the mean stays near the input's. In eval mode
    ``nn.Dropout`` and ``F.dropout(..., training=self.training)`` return their input, and the
    bare ``F.dropout(x, p)`` goes on dropping.

    Args:
        p_values (tuple): the positions of the ``p`` slider. Default: 0 to 0.9.
        size (int): side of the square input image. Default: 24.
        seed (int): seed of the dropout masks. Default: 0.
        static (bool): see :class:`FrameExplorer`. Default: ``True``.
        engine (module): the engine whose layers run, ``numtorch`` or ``torch``. Default: numtorch.
    """

    figsize = (6.6, 2.45)

    def __init__(self, p_values=(0.0, 0.1, 0.25, 0.5, 0.75, 0.9), size=24, seed=0, static=True, engine=numtorch):
        self.choices = [
            Choice("mode", "", [("model.train()", "train"), ("model.eval()", "eval")]),
            Choice("p", "p", list(p_values), default=0.5 if 0.5 in p_values else None, kind="slider"),
        ]
        self.image, self.seed, self.engine = ring_image(size), seed, engine
        super().__init__(static=static)

    def compute(self, mode, p):
        layers = variants(p, self.engine)
        container = self.engine.nn.Sequential(*layers)  # one .train()/.eval() on the parent reaches all three
        container.train(mode == "train")
        x = self.engine.tensor(self.image)
        outputs, received = {}, {}
        for name, layer in zip(VARIANTS, layers):
            with seeded(self.seed, self.engine):
                record = trace(layer, x)
            outputs[name] = record.output.numpy().copy()
            received[name] = record.calls("dropout")[0].training
        return DropoutFrame(p, mode == "train", self.image, outputs, received)

    def setup(self, fig):
        axes = fig.subplots(1, 5, gridspec_kw={"width_ratios": [1, 1, 1, 1, 1.15]})
        fig.subplots_adjust(left=0.01, right=0.99, top=0.72, bottom=0.17, wspace=0.25)
        titles = ["input x", "nn.Dropout(p)", "F.dropout(x, p)", "F.dropout(x, p,\ntraining=self.training)"]
        self.pictures = []
        for ax, title in zip(axes, titles):
            self.pictures.append(ax.imshow(self.image, cmap="magma", vmin=0, interpolation="nearest"))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title, fontsize=7)
        axes[0].set_xlabel(f"mean {self.image.mean():.3f}", fontsize=8)
        self.panels, self.bar_axes = axes[1:4], axes[4]
        self.bars = self.bar_axes.bar(range(4), [0, 0, 0, 0], color="#6c757d")
        self.bar_axes.axhline(self.image.mean(), color="black", linestyle="--", linewidth=1)
        self.bar_axes.set_xticks(range(4), ["x", "nn", "F", "F+flag"], fontsize=7)
        self.bar_axes.tick_params(axis="y", labelsize=7)
        self.bars[0].set_height(self.image.mean())
        self.heading = fig.suptitle("", fontsize=9)

    def update(self, frame):
        top = float(frame.input.max()) / (1 - frame.p) if frame.p < 1 else float(frame.input.max())
        for picture, image in zip(self.pictures, [frame.input] + [frame.outputs[name] for name in VARIANTS]):
            picture.set_data(image)
            picture.set_clim(0, top)  # one scale for all: survivors grow by 1/(1-p), visibly
        for ax, bar, name in zip(self.panels, self.bars[1:], VARIANTS):
            quiet = frame.unchanged(name)
            colour = EVAL_COLOUR if quiet else TRAIN_COLOUR
            ax.set_xlabel(("returns x" if quiet else f"{frame.zeroed(name):.0%} zeroed")
                          + f"\nmean {frame.mean(name):.3f}", fontsize=8)
            for spine in ax.spines.values():  # the frame says whether this layer is dropping
                spine.set_color(colour)
                spine.set_linewidth(3)
            bar.set_height(frame.mean(name))
            bar.set_color(colour)
        self.bar_axes.set_ylim(0, max(bar.get_height() for bar in self.bars) * 1.35 + 1e-6)
        scale = "inf" if frame.p == 1 else f"{1 / (1 - frame.p):.2f}"
        self.bar_axes.set_title(f"means\n1/(1-p) = {scale}", fontsize=7)
        self.heading.set_text(f"model.{'train' if frame.training else 'eval'}(), p = {frame.p}")
        self.heading.set_color(TRAIN_COLOUR if frame.training else EVAL_COLOUR)

    def caption(self, frame):
        rows = "".join(
            f"<tr><td><code>{name}</code></td><td><code>{frame.received[name]}</code></td>"
            f"<td>{'returns x' if frame.unchanged(name) else f'{frame.zeroed(name):.0%} zeroed'}</td></tr>"
            for name in VARIANTS)
        return ("<table style='font-size:85%'><tr><th>layer</th><th><code>training</code> that reached "
                f"F.dropout</th><th>result</th></tr>{rows}</table>")


def dropout_explorer(**kwargs):
    """Make a :class:`DropoutExplorer`; keyword arguments pass through."""
    return DropoutExplorer(**kwargs)
