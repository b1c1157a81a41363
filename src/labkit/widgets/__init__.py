"""Interactive figures of the book, usable in the labs too.

Each explorer is an ipywidgets box driven by the engine. In a kernel it recomputes on
every change; on the static website every frame was computed when the page was built
and the browser switches between them by itself (see :mod:`labkit.widgets._frames`).

* :class:`DropoutExplorer`: ``nn.Dropout`` vs ``F.dropout`` with and without ``training=``.
* :class:`BatchNormExplorer`: running statistics, momentum, train vs eval output.
* :func:`trace` and :class:`ModeTracer`: every functional call of a forward pass, with its mode.
"""
from .batchnorm import BatchNormExplorer, batchnorm_explorer
from .dropout import DropoutExplorer, dropout_explorer
from .tracer import CallRecord, ModeTracer, Trace, mode_tracer, trace

__all__ = ["DropoutExplorer", "dropout_explorer", "BatchNormExplorer", "batchnorm_explorer", "trace", "Trace",
           "CallRecord", "ModeTracer", "mode_tracer"]
