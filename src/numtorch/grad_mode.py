"""Grad mode: whether operations are recorded for autograd, and the context managers that set it."""
import functools

_enabled = True  # read by Function.apply on every operation


def is_grad_enabled():
    """False inside ``no_grad()`` and ``inference_mode()``."""
    return _enabled


class _GradMode:
    """Sets grad mode for a ``with`` block (or a decorated function's calls), then restores the previous one."""

    records = False

    def __init__(self):
        self.previous = []  # a stack, so that one instance can be entered again (a recursive decorated function)

    def __enter__(self):
        global _enabled
        self.previous.append(_enabled)
        _enabled = self.records

    def __exit__(self, *exc):
        global _enabled
        _enabled = self.previous.pop()

    def __call__(self, fn):
        @functools.wraps(fn)  # keeps the name, docstring and signature for help()
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Record nothing inside the block: for evaluation, and for updating parameters."""


class enable_grad(_GradMode):
    """Record again inside a ``no_grad`` block."""

    records = True


class inference_mode(_GradMode):
    """``no_grad`` for pure inference; ``inference_mode(False)`` records, as ``enable_grad`` does (torch's rule).

    torch also marks what is computed inside as inference tensors, which autograd refuses
    later; numtorch does not.
    """

    def __init__(self, mode=True):
        super().__init__()
        self.records = not mode
