"""The protocol between the grader and the probe in a learner's kernel, and its one codec.

Both sides speak plain data: JSON, with arrays as base64 ``.npy`` text loaded without pickle.
A request is one cell that calls the probe with a nonce; the answer is one display output of
type ``MIME`` holding ``{"nonce": ..., "answer": ...}``. Values are encoded the same way in both
directions; what is not plain data (a tensor, or an object that stays where it lives) is handed
to the side's own ``leaf`` function, so each side says only how it represents those.

Everything read from the other side is bounded (nesting, items, array bytes, text length) and
anything malformed raises :class:`Malformed`. This module imports nothing from labkit: the
grader and the kernel share it without sharing anything else.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from typing import Callable

import numpy as np

MIME = "application/vnd.labkit.answer"  # its data is JSON text (not a +json type: text keeps NaN as is)
MAX_ITEMS = 10_000  # items of a list, tuple or dict (and of a generator, which may never end)
MAX_DEPTH = 20  # levels of nesting
MAX_ARRAY_BYTES = 256 * 1024**2  # one array's data
MAX_ANSWER_CHARS = 50_000_000  # one answer's text
ARRAY_KINDS = "biuf"  # bool, integers, floats: nothing that needs pickle


class Malformed(ValueError):
    """Data from the other side that does not follow the protocol."""


# ---- arrays ------------------------------------------------------------------------------------------

def array_to_text(a: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, np.array(a, order="C"), allow_pickle=False)  # (ascontiguousarray would make a scalar 1-D)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def array_from_text(text) -> np.ndarray:
    """An array from .npy text, its header checked before any memory is set aside for it."""
    if not isinstance(text, str) or len(text) > MAX_ARRAY_BYTES * 4 // 3 + 1024:
        raise Malformed("an array that is not .npy text of a bounded size")
    try:
        data = base64.b64decode(text, validate=True)
        stream = io.BytesIO(data)
        version = np.lib.format.read_magic(stream)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise ValueError(f".npy version {version}")
        shape, fortran, dtype = read_header(stream)
    except (binascii.Error, ValueError, TypeError, SyntaxError) as error:
        raise Malformed(f"an array whose .npy header does not read ({type(error).__name__})") from None
    if dtype.kind not in ARRAY_KINDS or dtype.hasobject:
        raise Malformed(f"arrays must hold numbers, but got dtype {dtype}")
    count = int(np.prod(shape, dtype=object))
    if count * dtype.itemsize > MAX_ARRAY_BYTES or count * dtype.itemsize != len(data) - stream.tell():
        raise Malformed(f"an array of shape {tuple(shape)} whose data is not the {count * dtype.itemsize} bytes "
                        "it declares, or more than the protocol carries")
    return np.load(io.BytesIO(data), allow_pickle=False)


# ---- values ------------------------------------------------------------------------------------------

def encode(value, leaf: Callable[[object], dict], depth: int = 0):
    """`value` as JSON-able plain data; `leaf(value)` encodes whatever is not plain data."""
    if depth > MAX_DEPTH:
        raise Malformed(f"a value nested more than {MAX_DEPTH} levels deep")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in ARRAY_KINDS:
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in ARRAY_KINDS:
        return {"array": array_to_text(value)}
    if type(value) in (tuple, list):
        return {type(value).__name__: [encode(v, leaf, depth + 1) for v in value[:MAX_ITEMS]]}
    if isinstance(value, dict) and type(value).__module__ in ("builtins", "collections"):
        return {"dict": [[encode(k, leaf, depth + 1), encode(v, leaf, depth + 1)]
                         for k, v in list(value.items())[:MAX_ITEMS]]}
    if type(value).__name__ == "generator":
        items = []
        for item in value:
            items.append(encode(item, leaf, depth + 1))
            if len(items) >= MAX_ITEMS:
                break
        return {"list": items}
    return leaf(value)


def decode(value, leaf: Callable[[dict], object], depth: int = 0):
    """Plain data back as values; `leaf(dict)` decodes the kinds that are not plain data."""
    if depth > MAX_DEPTH:
        raise Malformed(f"a value nested more than {MAX_DEPTH} levels deep")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if not isinstance(value, dict):
        raise Malformed(f"a value holding a {type(value).__name__}")
    if "array" in value:
        return array_from_text(value["array"])
    for kind in ("tuple", "list"):
        if kind in value:
            items = value[kind]
            if not isinstance(items, list) or len(items) > MAX_ITEMS:
                raise Malformed(f"a {kind} that is not a bounded list")
            items = [decode(v, leaf, depth + 1) for v in items]
            return tuple(items) if kind == "tuple" else items
    if "dict" in value:
        pairs = value["dict"]
        if not isinstance(pairs, list) or len(pairs) > MAX_ITEMS or not all(
                isinstance(p, list) and len(p) == 2 for p in pairs):
            raise Malformed("a dict that is not a bounded list of pairs")
        out = {}
        for k, v in pairs:
            key = decode(k, leaf, depth + 1)
            try:
                hash(key)
            except TypeError:
                raise Malformed("a dict key that is not hashable") from None
            out[key] = decode(v, leaf, depth + 1)
        return out
    return leaf(value)


# ---- framing -----------------------------------------------------------------------------------------

def answer_text(nonce: str, answer: dict) -> str:
    return json.dumps({"nonce": nonce, "answer": answer})


def read_answer(text, nonce: str) -> dict:
    """The answer to the request `nonce` from an answer's text; Malformed for anything else."""
    if not isinstance(text, str) or len(text) > MAX_ANSWER_CHARS:
        raise Malformed("an answer that is not JSON text of a bounded size")
    try:
        framed = json.loads(text)
    except (ValueError, RecursionError):
        raise Malformed("an answer that is not JSON (or nested beyond what JSON readers take)") from None
    if not isinstance(framed, dict) or not isinstance(framed.get("answer"), dict):
        raise Malformed("a malformed answer")
    if framed.get("nonce") != nonce:
        raise Malformed("an answer to another request")
    return framed["answer"]
