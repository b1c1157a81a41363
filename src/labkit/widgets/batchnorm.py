"""BatchNorm explorer: running statistics chasing drifting data, and eval output vs train output."""
import html
import textwrap
from dataclasses import dataclass

import numpy as np

import numtorch

from ..functional_calls import functional_of
from ._frames import EVAL_COLOUR, TRAIN_COLOUR, Choice, FrameExplorer


def drifting_stream(steps, batch_size, seed=0):
    """Data whose mean and variance move, then settle: ``(steps + 1, batch_size)`` samples and their truth.

    Row ``t`` is the batch of step ``t``; the last row is a fresh "probe" batch from the
    distribution the stream has reached. The same noise serves every batch size (a
    smaller batch is a prefix), so changing a control never changes the data behind it.
    """
    t = np.arange(steps + 1)
    mean = 4.0 - 3.0 * np.exp(-t / (steps / 5))
    std = 1.5 - 1.0 * np.exp(-t / (steps / 5))
    noise = np.random.default_rng(seed).standard_normal((steps + 1, batch_size))
    return (mean[:, None] + std[:, None] * noise).astype(np.float32), mean, std ** 2


@dataclass
class BatchNormFrame:
    """What one combination of the controls computes. Statistics lists start at step 0 (before any batch)."""

    training: bool
    momentum: object
    batch_size: int
    steps: int  # steps asked for
    running_mean: list
    running_var: list
    batch_mean: list
    batch_var: list  # unbiased, as it enters running_var
    num_batches_tracked: int
    error: str  # message of the exception that stopped the steps, or None
    probe: np.ndarray
    eval_output: np.ndarray
    train_output: np.ndarray  # None when the probe cannot be normalised by its own statistics
    train_error: str

    @property
    def steps_done(self):
        return len(self.running_mean) - 1


class BatchNormExplorer(FrameExplorer):
    """``nn.BatchNorm1d(1)`` fed a stream of batches whose statistics drift.

    Controls: the mode the steps run in, ``momentum`` (``None`` = cumulative average),
    the batch size (1 shows the error) and the number of steps. Left: running mean and
    variance, step by step, against the data's true statistics and each batch's own.
    Right: one probe batch from where the data has drifted to, through the same layer in
    train mode (normalised by its own statistics) and eval mode (by the running ones).

    Args:
        momenta (tuple): the momentum buttons. Default: 0.01, 0.1, 0.5, None.
        batch_sizes (tuple): the batch-size positions. Default: 1, 4, 32.
        step_counts (tuple): the step positions; the largest sets the drift's time scale.
            Default: 1, 10, 50, 200.
        seed (int): seed of the data. Default: 0.
        static (bool): see :class:`FrameExplorer`. Default: ``True``.
        engine (module): the engine whose layers run, ``numtorch`` or ``torch``. Default: numtorch.
    """

    figsize = (6.6, 2.6)

    def __init__(self, momenta=(0.01, 0.1, 0.5, None), batch_sizes=(1, 4, 32), step_counts=(1, 10, 50, 200),
                 seed=0, static=True, engine=numtorch):
        self.engine = engine
        self.choices = [
            Choice("mode", "steps run in", [("train()", "train"), ("eval()", "eval")]),
            Choice("momentum", "momentum", [(str(m), m) for m in momenta], default=0.1 if 0.1 in momenta else None),
            Choice("batch_size", "batch size", list(batch_sizes), default=max(batch_sizes), kind="slider"),
            Choice("steps", "steps", list(step_counts), default=step_counts[len(step_counts) // 2], kind="slider"),
        ]
        self.max_steps = max(step_counts)
        self.data, self.true_mean, self.true_var = drifting_stream(self.max_steps, max(batch_sizes), seed)
        super().__init__(static=static)

    def compute(self, mode, momentum, batch_size, steps):
        torch, F = self.engine, functional_of(self.engine)
        layer = torch.nn.BatchNorm1d(1, momentum=momentum)
        layer.train(mode == "train")
        running_mean, running_var = [float(layer.running_mean[0])], [float(layer.running_var[0])]
        batch_mean, batch_var, error = [], [], None
        for t in range(steps):
            batch = self.data[t, :batch_size]
            try:
                layer(torch.tensor(batch[:, None]))
            except ValueError as exc:  # a batch of one in train mode
                error = f"{type(exc).__name__}: {exc}"
                break
            batch_mean.append(float(batch.mean()))
            batch_var.append(float(batch.var(ddof=1)) if batch_size > 1 else float("nan"))
            running_mean.append(float(layer.running_mean[0]))
            running_var.append(float(layer.running_var[0]))
        probe = torch.tensor(self.data[self.max_steps, :batch_size][:, None])
        with torch.no_grad():
            eval_output = layer.eval()(probe).numpy()  # eval reads the buffers, never writes them
            train_output, train_error = None, None
            try:  # copies of the buffers: the train-mode output must not move the statistics shown
                train_output = F.batch_norm(probe, layer.running_mean.clone(), layer.running_var.clone(),
                                            layer.weight, layer.bias, training=True).numpy()
            except ValueError as exc:
                train_error = f"{type(exc).__name__}: {exc}"
        return BatchNormFrame(mode == "train", momentum, batch_size, steps, running_mean, running_var,
                              batch_mean, batch_var, int(layer.num_batches_tracked), error, probe.numpy()[:, 0],
                              eval_output[:, 0], None if train_output is None else train_output[:, 0], train_error)

    def setup(self, fig):
        mean_ax, var_ax, out_ax = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.1]})
        fig.subplots_adjust(left=0.05, right=0.99, top=0.82, bottom=0.16, wspace=0.25)
        t = np.arange(self.max_steps + 1)
        self.curves = {}
        for ax, truth, name in ((mean_ax, self.true_mean, "mean"), (var_ax, self.true_var, "var")):
            ax.plot(t, truth, color="black", linestyle="--", linewidth=1, label=f"data {name}")
            batch, = ax.plot([], [], ".", color="#adb5bd", markersize=3, label=f"batch {name}")
            running, = ax.plot([], [], "-", marker="o", markersize=3, linewidth=1.8, label=f"running_{name}")
            self.curves[name] = (batch, running)
            ax.set_xlim(-0.02 * self.max_steps, self.max_steps * 1.02)
            ax.set_ylim(-0.3, 5.0)
            ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_title(f"running_{name}", fontsize=8)
        self.legend = mean_ax.legend(fontsize=6.5, loc="lower right")
        self.stopped = mean_ax.text(0.5, 0.55, "stopped at step 1:\nbatch of one", transform=mean_ax.transAxes,
                                    ha="center", fontsize=8, color="#d62828")
        out_ax.axhline(0, color="#adb5bd", linewidth=0.8)
        self.eval_points, = out_ax.plot([], [], "s", color=EVAL_COLOUR, markersize=4, label="eval")
        self.train_points, = out_ax.plot([], [], "o", color=TRAIN_COLOUR, markersize=3, label="train")
        self.train_error = out_ax.text(0.5, 0.2, "", fontsize=6, transform=out_ax.transAxes, ha="center",
                                       color="#d62828")
        out_ax.set_xlim(0, 8)
        out_ax.set_ylim(-4, 8)
        out_ax.set_xlabel("probe batch input", fontsize=8)
        out_ax.set_title("output for one probe batch", fontsize=8)
        out_ax.tick_params(labelsize=7)
        self.output_legend = out_ax.legend(fontsize=6.5, loc="upper left")
        self.heading = fig.suptitle("", fontsize=9)
        # What update() changes, in matplotlib's drawing order: lines, then the spines that frame
        # them, then text and legends.
        self.changing = ([line for pair in self.curves.values() for line in pair] + [self.eval_points, self.train_points]
                         + [spine for ax in (mean_ax, var_ax, out_ax) for spine in ax.spines.values()]
                         + [self.stopped, self.train_error, self.legend, self.output_legend, self.heading])

    def update(self, frame):
        colour = TRAIN_COLOUR if frame.training else EVAL_COLOUR
        for name in ("mean", "var"):
            batch_values, running_values = getattr(frame, f"batch_{name}"), getattr(frame, f"running_{name}")
            batch, running = self.curves[name]
            batch.set_data(np.arange(1, len(batch_values) + 1), batch_values)
            running.set_data(np.arange(len(running_values)), running_values)
            running.set_color(colour)
            self.legend.legend_handles[2].set_color(colour)
            running.set_marker("o" if len(running_values) < 15 else "")
        self.stopped.set_visible(frame.error is not None)
        self.eval_points.set_data(frame.probe, frame.eval_output)
        legend = self.output_legend.get_texts()
        legend[0].set_text(f"eval: mean {round(float(frame.eval_output.mean()), 2) + 0.0:+.2f}")
        if frame.train_output is None:
            self.train_points.set_data([], [])
            legend[1].set_text("train: error")
            self.train_error.set_text("train mode:\n" + textwrap.fill(frame.train_error, 34))
        else:
            self.train_points.set_data(frame.probe, frame.train_output)
            legend[1].set_text(f"train: mean {round(float(frame.train_output.mean()), 2) + 0.0:+.2f}")
            self.train_error.set_text("")
        momentum = "None (cumulative)" if frame.momentum is None else frame.momentum
        self.heading.set_text(f"{frame.steps_done} of {frame.steps} steps in {'train' if frame.training else 'eval'} mode, "
                              f"momentum={momentum}, batch size {frame.batch_size}")
        self.heading.set_color(colour)

    def caption(self, frame):
        text = (f"after {frame.steps_done} step(s): <code>running_mean={frame.running_mean[-1]:.3f}</code>, "
                f"<code>running_var={frame.running_var[-1]:.3f}</code>, "
                f"<code>num_batches_tracked={frame.num_batches_tracked}</code>; the data has reached mean "
                f"{self.true_mean[frame.steps_done]:.3f}, variance {self.true_var[frame.steps_done]:.3f}.")
        if frame.error:
            text += f"<br><code style='color:#d62828'>{html.escape(frame.error)}</code>"
        return f"<div style='font-size:85%'>{text}</div>"


def batchnorm_explorer(**kwargs):
    """Make a :class:`BatchNormExplorer`; keyword arguments pass through."""
    return BatchNormExplorer(**kwargs)
