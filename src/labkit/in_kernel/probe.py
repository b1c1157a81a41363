"""The fixed probe: the only grading code that runs beside the learner's code.

A check never touches the learner's objects directly. It sends requests ("build Linear(3, 2)",
"read its `weight`", "call it on this array in eval mode") and gets plain data back: numbers,
strings, lists, arrays as ``.npy`` bytes (loaded with ``allow_pickle=False``), references to
objects that stay where they were made, and the exception a request raised. In the notebook the
probe answers in-process; while grading it runs in the learner's kernel and the checks run in the
grader's process (labkit.checks.proxies). Either way the same requests go through :func:`answer`, so a
check sees the same thing in both.

Nothing here decides a verdict. Whatever the learner's code does to this module changes only the
learner's own answers.
"""

from __future__ import annotations

import contextlib
import copy
import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np

from labkit import wire
from labkit.in_kernel.guards import Mistake, TimeLimit, forbid_reference, quiet_engine, time_limit

MAX_ITEMS = wire.MAX_ITEMS
_LIBRARY = (str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[2] / "numtorch"))


class Refused(Exception):
    """A request the probe will not serve (malformed, or an unknown reference)."""


class Objects:
    """The objects a request made or reached, kept where they live; the other side holds their numbers."""

    def __init__(self):
        self.table: dict[int, object] = {}

    def keep(self, obj) -> int:
        number = len(self.table) + 1
        self.table[number] = obj
        return number

    def get(self, number) -> object:
        if not isinstance(number, int) or number not in self.table:
            raise Refused(f"no object number {number!r}")
        return self.table[number]


def encode(value, objects: Objects):
    """A value as plain data: tensors as .npy text, objects that are not data as references kept in `objects`."""
    import numtorch

    def leaf(value):
        if isinstance(value, numtorch.Tensor):
            return {"tensor": wire.array_to_text(np.asarray(value.detach().numpy())),
                    "requires_grad": bool(value.requires_grad),
                    "parameter": isinstance(value, numtorch.nn.Parameter)}
        return reference(value, objects)

    try:
        return wire.encode(value, leaf)
    except wire.Malformed as error:
        raise Refused(str(error)) from None


def reference(value, objects: Objects) -> dict:
    """`value` kept where it lives, as the other side sees it: its number and what kind of object it is."""
    import numtorch

    return {"ref": objects.keep(value), "type": type(value).__name__,
            "module": isinstance(value, numtorch.nn.Module), "class": isinstance(value, type)}


def decode_here(value, objects: Objects):
    """A request's argument as a live value on this side."""
    import numtorch

    def leaf(value: dict):
        if "tensor" in value:
            t = numtorch.tensor(wire.array_from_text(value["tensor"]))
            return t.requires_grad_(True) if value.get("requires_grad") and t.dtype.kind == "f" else t
        if "ref" in value:
            return objects.get(value["ref"])
        raise Refused(f"a value of unknown kind: {sorted(value)[:3]}")

    try:
        return wire.decode(value, leaf)
    except wire.Malformed as error:
        raise Refused(str(error)) from None


def raised(error: BaseException) -> dict:
    """What the other side needs to know of an exception the learner's code raised."""
    return {"raised": {"types": [c.__name__ for c in type(error).__mro__ if c.__module__ == "builtins"],
                       "name": type(error).__name__, "message": str(error), "where": where(error),
                       "mistake": isinstance(error, Mistake), "time_limit": isinstance(error, TimeLimit)}}


def where(error: BaseException) -> str:
    """The learner's line that raised: the last frame outside labkit and numtorch."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not _is_library(f.filename)]
    if not frames:
        return ""
    frame = frames[-1]
    line = f": `{frame.line.strip()}`" if frame.line else ""
    return f" (in `{frame.name}`{line})"


def _is_library(filename: str) -> bool:
    return (filename.startswith(_LIBRARY) or "numtorch" in Path(filename).parts or "site-packages" in filename
            or filename.startswith(("<frozen", sys.base_prefix, sys.prefix)))


# ---- the requests ---------------------------------------------------------------------------------

class Probe:
    """Answers requests about the objects of one namespace (the learner's)."""

    def __init__(self, namespace: dict, withheld: tuple[str, ...] = ()):
        self.namespace = namespace
        self.withheld = withheld  # numtorch layers the learner must not use (absent while grading)
        self.objects = Objects()

    def answer(self, request: dict) -> dict:
        """Serve one request; every failure of the learner's code is part of the answer."""
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            raise Refused("a request is a JSON object with an `op`")
        handler = getattr(self, "op_" + request["op"], None)
        if handler is None:
            raise Refused(f"no such request: {request['op']!r}")
        try:
            with time_limit(request.get("timeout")), quiet_engine(), contextlib.ExitStack() as stack:
                for name in self.withheld:
                    stack.enter_context(forbid_reference(name))
                return handler(request)
        except Refused:
            raise
        except BaseException as error:  # noqa: B036 (TimeLimit and SystemExit are answers too)
            if isinstance(error, KeyboardInterrupt):
                raise
            return raised(error)

    def _value(self, value):
        return {"value": encode(value, self.objects)}

    def _args(self, request):
        args = [decode_here(a, self.objects) for a in request.get("args", [])]
        kwargs = {k: decode_here(v, self.objects) for k, v in request.get("kwargs", {}).items()}
        return args, kwargs

    def op_reset(self, request):
        """Forget the objects of the last check, and seed both generators as every check starts."""
        import numtorch

        self.objects = Objects()
        np.random.seed(request.get("seed", 0))
        numtorch.manual_seed(request.get("seed", 0))
        return {"value": None}

    def op_seed(self, request):
        """Seed the generators the learner's code draws from (as `torch.manual_seed` in the check would)."""
        import numtorch

        numtorch.manual_seed(int(request.get("seed", 0)))
        return {"value": None}

    def op_name(self, request):
        name = request["name"]
        if name not in self.namespace:
            raise NameError(f"name {name!r} is not defined")
        value = self.namespace[name]
        answer = self._value(value)
        if isinstance(value, type):
            answer["reference_base"] = next((c.__name__ for c in value.__mro__[1:] if c.__name__ in self.withheld
                                             and c.__module__.startswith("numtorch.")), None)
        return answer

    def op_getattr(self, request):
        return self._value(getattr(self.objects.get(request["ref"]), request["name"]))

    def op_call(self, request):
        """Call an object (or one of its methods), optionally tracing F, under no_grad, then backward."""
        import numtorch

        target = self.objects.get(request["ref"])
        if request.get("method"):
            target = getattr(target, request["method"])
        args, kwargs = self._args(request)
        calls = []
        with contextlib.ExitStack() as stack:
            if request.get("no_grad"):
                stack.enter_context(numtorch.no_grad())
            if request.get("trace"):
                stack.enter_context(_tracing(calls))
            try:
                out = target(*args, **kwargs)
            except BaseException as error:
                if not calls:
                    raise
                answer = raised(error)
                answer["calls"] = {"list": calls}
                return answer
        answer = {"value": reference(out, self.objects)} if request.get("keep") else self._value(out)
        if request.get("trace"):
            answer["calls"] = {"list": calls}
        if "backward" in request:
            answer["grads"] = self._backward(out, decode_here(request["backward"], self.objects), args,
                                             request.get("grads_of", []), request["ref"])
        return answer

    def _backward(self, out, weights, args, names, ref):
        import numtorch

        if not (isinstance(out, numtorch.Tensor) and out.requires_grad):
            return None
        if isinstance(weights, str):  # "random": standard-normal weights, the same for every learner
            weights = np.random.default_rng(1).standard_normal(tuple(out.shape))
        (out * numtorch.tensor(weights, dtype=out.dtype)).sum().backward()
        module = self.objects.get(ref)
        grads = {f"arg{i}": a.grad for i, a in enumerate(args) if isinstance(a, numtorch.Tensor)}
        grads.update({name: getattr(getattr(module, name, None), "grad", None) for name in names})
        return encode(grads, self.objects)

    def op_setdata(self, request):
        """Overwrite the values of a tensor attribute in place (as `m.weight.data[:] = ...` does)."""
        tensor = getattr(self.objects.get(request["ref"]), request["name"])
        tensor.data[...] = decode_here(request["value"], self.objects)
        return {"value": None}

    def op_keep(self, request):
        """Plain data made a live object on this side, kept: the learner's code can change it, value reads it back."""
        return {"value": reference(decode_here(request["value"], self.objects), self.objects)}

    def op_value(self, request):
        """What a kept object holds now, as plain data (a result kept by a call, read after later calls)."""
        return self._value(self.objects.get(request["ref"]))

    def op_deepcopy(self, request):
        return self._value(copy.deepcopy(self.objects.get(request["ref"])))

    def op_modules(self, request):
        """Each submodule's class, whether it is numtorch's own layer, and which of the named classes it is."""
        classes = {n: self.namespace.get(n) for n in request.get("classes", [])}
        return {"value": {"list": [
            {"dict": [["type", type(m).__name__],
                      ["numtorch", type(m).__name__ if type(m).__module__.startswith("numtorch.") else None],
                      ["of", {"list": [n for n, c in classes.items() if isinstance(c, type) and isinstance(m, c)]}]]}
            for m in list(self.objects.get(request["ref"]).modules())[:MAX_ITEMS]]}}

    def op_modes(self, request):
        """Call fn(copy of model in training mode, *args) and report the mode of every forward of the copy."""
        model = copy.deepcopy(self.objects.get(request["model"]))
        modes = []
        model.register_forward_pre_hook(lambda module, args: modes.append(bool(module.training)))
        model.train()
        args, kwargs = self._args(request)
        out = self.objects.get(request["ref"])(model, *args, **kwargs)
        return {"value": encode(out, self.objects), "modes": modes}


def _tracing(calls: list):
    """Record each outermost call into F as it starts (so even a call that raises is seen): its name, how many
    positional arguments and which keywords it got."""
    import numtorch.nn.functional as F

    from labkit.functional_calls import trace_calls

    def record(name, args, kwargs, _):
        calls.append({"dict": [["name", name], ["positional", len(args)], ["keywords", {"list": sorted(kwargs)}]]})

    return trace_calls(F, record, when="started")


# ---- in the learner's kernel ---------------------------------------------------------------------

_served: dict = {}


def serve(nonce: str, request_text: str, withheld: tuple = ()) -> None:
    """Answer one request from the grader with exactly one display output carrying its nonce."""
    from IPython.display import display

    namespace = get_ipython().user_ns  # noqa: F821 (run by the kernel)
    probe = _served.get("probe")
    if probe is None or probe.namespace is not namespace:
        probe = _served["probe"] = Probe(namespace, tuple(withheld))
    started = time.process_time()
    try:
        answer = probe.answer(json.loads(request_text))
    except Refused as refused:
        answer = {"refused": str(refused)}
    answer["elapsed"] = time.process_time() - started  # a check's time limit counts the processor time used here
    sys.stdout.flush()
    display({wire.MIME: wire.answer_text(nonce, answer)}, raw=True)
