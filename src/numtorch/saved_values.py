"""What a Function keeps for its backward, and the check that no in-place operation has changed it since.

Each tensor counts its in-place changes, its version; a view shares its base's count (``Tensor._viewing``). A value
saved for backward is recorded with the count of the tensor it belongs to, and a backward that finds the count moved
on refuses, in torch's words, rather than compute a gradient from values the forward pass did not use. Which values
each Function saves follows torch (``ops.py``, ``nn/_functions.py``), so numtorch refuses where torch does.

A record is ``(counter, version when saved, array, holder)``: the holder is the input's position among the
Function's inputs, or the Function's name for its own output.
"""
import re

import numpy as np

from .dtypes import scalar_type


def records_of(arrays, inputs):
    """The records of the inputs among ``arrays`` (the values a Function saved), or of a view of one (a weight
    reshaped). Each saved value is one input's: the one in its own position if it holds it (``x * x`` saves each
    operand as the other's), else the first, in order, not already matched."""
    records, taken = [], set()
    for j, a in enumerate(arrays):
        if a is None:
            continue
        if j < len(inputs) and inputs[j] is not None and j not in taken and _holds(a, inputs[j]):
            i = j
        else:
            i = next((i for i, t in enumerate(inputs) if t is not None and i not in taken and _holds(a, t)), None)
            if i is None:
                continue
        taken.add(i)
        t = inputs[i]
        records.append((t._version, t._version[0], t.array, i))
    return records


def record_output(ctx, out):
    """If ``ctx`` saved its output's own values (exp, sigmoid, relu... save their result), record them too: an
    in-place change of the output must make backward refuse, and torch then names the Function that saved it."""
    array = out.array
    for a in ctx.saved:
        if a is array or (type(a) is not np.ndarray and getattr(a, "array", None) is array):
            ctx.versions.append((out._version, out._version[0], array, ctx.name))
            return


def keep_own_copy(ctx, tensor):
    """``tensor``, the first input of the in-place operation ``ctx`` records, is about to be overwritten by it: what
    ``ctx`` saved of ``tensor``'s values becomes a copy of its own, as torch's in-place operations save the original,
    and needs no check. (Saved as another input too, as in ``h.mul_(h)``, it is still checked, and refused, as in
    torch.)"""
    if any(a is tensor.array for a in ctx.saved):
        ctx.saved = tuple(a.copy() if a is tensor.array else a for a in ctx.saved)
        if ctx.inputs[0] is tensor:
            ctx.versions = [v for v in ctx.versions if v[3] != 0]


def output_written_into(ctx, tensor, result):
    """The in-place operation ``ctx`` records wrote ``result`` into ``tensor``: what it saved of its output is
    ``tensor``'s values now, and an in-place change of them must make backward refuse."""
    if any(a is result.array for a in ctx.saved):
        ctx.saved = tuple(tensor.array if a is result.array else a for a in ctx.saved)
        ctx.versions = [(tensor._version, tensor._version[0], tensor.array, ctx.name)
                        if v[0] is result._version else v for v in ctx.versions]


def check(ctx):
    """Raise torch's error if a value ``ctx`` saved was changed in place since."""
    for counter, version, array, holder in ctx.versions:
        if counter[0] != version:
            raise RuntimeError(_modified_in_place(counter[0], version, array,
                                                  ctx.inputs[holder] if isinstance(holder, int) else holder))


def _holds(saved, tensor):
    """Whether ``saved`` (an array or, from a Function written as in torch, a tensor) is ``tensor``'s values."""
    array = tensor.array
    return saved is array or saved is tensor or (type(saved) is np.ndarray and saved.base is array)


def _modified_in_place(version, expected, array, holder):
    """torch's words for a saved value overwritten in place. ``holder`` is the input tensor that was saved (named by
    the operation that last wrote it, unless it is a leaf) or, for a saved output, the name of its Function."""
    if isinstance(holder, str):
        name = holder
    elif holder._view is not None and holder._view[2] != holder._version[0]:
        name = "AsStridedBackward0"  # the grad_fn torch gives a view whose memory changed since (Tensor._catch_up)
    else:
        name = None if holder._node is None else holder._node.name
    which = "" if name is None else f", which is output 0 of {re.sub('Backward(0$)?', '', name)},"  # Exp, Max1
    return ("one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"[torch.{scalar_type(array.dtype)}Tensor {list(array.shape)}]{which} is at version {version}; expected "
            f"version {expected} instead. Hint: run backward before changing the tensor (an optimizer step, a copy_ "
            "or +=), or change a clone.")
