"""The checks' side of the probe: the learner's objects seen as proxies, wherever they live.

A check receives a :class:`Remote` for each name it needs. Calling it, reading an attribute
or calling a method sends a request through a connection and decodes the answer: plain values
and tensors come back as local copies (numtorch tensors, Parameters kept as Parameters), other
objects as further proxies, and an exception the learner's code raised is raised again here as
a :class:`LearnerRaised` that is also an instance of the builtin exception it was (so a check's
``except ValueError`` reads as before). A connection either answers in-process
(:class:`LocalConnection`, the notebook's public checks) or through the learner's kernel (the
grader); the requests are the same.
"""

from __future__ import annotations

import builtins
import json

import numtorch
from labkit import wire
from labkit.in_kernel.guards import Mistake, TimeLimit, time_limit
from labkit.in_kernel.probe import Probe, Refused


class NoAnswer(BaseException):
    """The learner's side gave no single well-formed answer (it died, hung, or answered twice).

    A BaseException, so that no check's ``except Exception`` can take it for a learner's error."""


class LearnerRaised(Exception):
    """An exception raised by the learner's code, on the learner's side."""

    def __init__(self, name: str, message: str, where: str = ""):
        super().__init__(message)
        self.name, self.where = name, where


_RAISED_AS: dict[str, type] = {}


def learner_exception(info: dict, seconds: float | None = None) -> BaseException:
    """The exception to raise here for one the learner's code raised there."""
    if info.get("mistake"):
        return Mistake(info["message"])
    if info.get("time_limit"):
        said = f"took longer than {seconds:g} s: is there an infinite loop?" if seconds else info["message"]
        return TimeLimit(said + str(info.get("where", "")))
    base = next((getattr(builtins, n) for n in info.get("types", []) if isinstance(getattr(builtins, n, None), type)
                 and issubclass(getattr(builtins, n), Exception)), Exception)
    name = str(info.get("name", base.__name__))
    cls = _RAISED_AS.get(base.__name__)
    if cls is None:
        cls = _RAISED_AS[base.__name__] = type(f"Learner{base.__name__}", (LearnerRaised, base), {})
    return cls(name, str(info.get("message", "")), str(info.get("where", "")))


class Remote:
    """One of the learner's objects (a class, a module, a function), seen from a check."""

    __slots__ = ("_connection", "_ref", "_info")

    def __init__(self, connection: "Connection", ref: int, info: dict):
        object.__setattr__(self, "_connection", connection)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_info", info)

    def __call__(self, *args, **kwargs):
        return self._connection.call(self, args, kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._connection.request({"op": "getattr", "ref": self._ref, "name": name})

    def __setattr__(self, name, value):
        raise TypeError("a check cannot set attributes of the learner's objects; use labkit.checks.proxies.assign")

    def __repr__(self) -> str:
        return f"<learner's {self._info.get('type', 'object')}>"

    def __deepcopy__(self, memo):
        return self._connection.request({"op": "deepcopy", "ref": self._ref})


class Connection:
    """Sends requests to a probe and decodes its answers. Subclasses say how a request travels."""

    withheld: tuple[str, ...] = ()

    def send(self, request: dict) -> dict:
        raise NotImplementedError

    def limit(self, seconds: float | None):
        """A context in which the requests of one check share `seconds`."""
        return time_limit(seconds)

    def request(self, request: dict, full: bool = False):
        return self.interpret(self.send(request), full)

    def interpret(self, answer, full: bool = False):
        if not isinstance(answer, dict):
            raise NoAnswer("an answer that is not a JSON object")
        if "refused" in answer:
            raise NoAnswer(f"the probe refused a request: {answer['refused']}")
        if "raised" in answer:
            raise learner_exception(answer["raised"], getattr(self, "seconds", None))
        value = self.decode(answer.get("value"))
        return (value, answer) if full else value

    def reset(self, seed: int = 0) -> None:
        self.request({"op": "reset", "seed": seed})

    def name(self, name: str):
        """The learner's `name`: a proxy; a class that extends numtorch's own layer raises Mistake."""
        value, answer = self.request({"op": "name", "name": name}, full=True)
        base = answer.get("reference_base")
        if base:
            raise Mistake(f"your {name} subclasses numtorch's own `nn.{base}`: subclass `nn.Module` and write it "
                          "yourself")
        return value

    def call(self, target: Remote, args, kwargs, **options):
        return self.request(dict({"op": "call", "ref": target._ref, "args": [self.encode(a) for a in args],
                                  "kwargs": {k: self.encode(v) for k, v in kwargs.items()}}, **options))

    # ---- plain data -------------------------------------------------------------------------------

    def encode(self, value):
        def leaf(value):
            if isinstance(value, Remote):
                return {"ref": value._ref}
            if isinstance(value, numtorch.Tensor):
                return {"tensor": wire.array_to_text(value.detach().numpy()),
                        "requires_grad": bool(value.requires_grad)}
            if isinstance(value, (tuple, list)):  # a namedtuple, say: its items
                return wire.encode(list(value), leaf)
            if isinstance(value, dict):
                return wire.encode(dict(value), leaf)
            raise TypeError(f"a check cannot send a {type(value).__name__} to the learner's side")

        return wire.encode(value, leaf)

    def decode(self, value):
        def leaf(value: dict):
            if "tensor" in value:
                t = numtorch.tensor(wire.array_from_text(value["tensor"]))
                if value.get("parameter"):
                    return numtorch.nn.Parameter(t, requires_grad=bool(value.get("requires_grad")))
                return t.requires_grad_(True) if value.get("requires_grad") and t.dtype.kind == "f" else t
            if "ref" in value:
                if not isinstance(value["ref"], int):
                    raise wire.Malformed("a reference that is not a number")
                return Remote(self, value["ref"], {k: value.get(k) for k in ("type", "module", "class")})
            raise wire.Malformed(f"a value of unknown kind: {sorted(value)[:3]}")

        try:
            return wire.decode(value, leaf)
        except (wire.Malformed, ValueError, TypeError) as error:
            raise NoAnswer(f"a malformed answer ({error})") from None


class LocalConnection(Connection):
    """The probe in this process (the notebook's public checks): the same requests, as JSON, with no kernel between."""

    def __init__(self, namespace: dict, withheld: tuple[str, ...] = ()):
        self.probe = Probe(namespace, withheld)
        self.withheld = withheld

    def send(self, request: dict) -> dict:
        try:
            return json.loads(json.dumps(self.probe.answer(json.loads(json.dumps(request)))))
        except Refused as refused:
            return {"refused": str(refused)}


# ---- what a check asks of a learner's object beyond calling it and reading it ----------------------

def connection_of(obj) -> Connection:
    if not isinstance(obj, Remote):
        raise TypeError(f"expected one of the learner's objects, but got a {type(obj).__name__}")
    return obj._connection


def is_module(obj) -> bool:
    return isinstance(obj, Remote) and bool(obj._info.get("module"))


def call_traced(module, *args):
    """module(*args), with the names of the F functions it called, outermost first, as they started.

    Returns (output, calls, error): calls are dicts with name, positional (a count) and keywords; error is the
    exception the call raised, if it did (the calls made before it are still reported)."""
    connection = connection_of(module)
    answer = connection.send({"op": "call", "ref": module._ref, "args": [connection.encode(a) for a in args],
                              "kwargs": {}, "trace": True})
    calls = connection.decode(answer.get("calls", {"list": []})) if isinstance(answer, dict) else []
    if not isinstance(calls, list) or not all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in calls):
        raise NoAnswer("a list of calls into F that is not one")
    try:
        out = connection.interpret(answer)
    except LearnerRaised as error:
        return None, calls, error
    return out, calls, None


def backward(module, x, weights="random", names=()):
    """module(x) with x requiring grad, then backward of sum(output * weights) (standard-normal weights unless
    given): (output, grads), grads naming "arg0" (x) and each of `names`; None when the output is not a tensor
    that requires grad."""
    connection = connection_of(module)
    x = x.detach().requires_grad_(True)
    out, answer = connection.request({"op": "call", "ref": module._ref, "args": [connection.encode(x)],
                                      "kwargs": {}, "backward": connection.encode(weights), "grads_of": list(names)},
                                     full=True)
    grads = connection.decode(answer.get("grads"))
    return out, grads


def call_kept(fn, *args) -> Remote:
    """fn(*args), its result left where fn lives, even plain data: a proxy, whose value_of is read as it is then."""
    return connection_of(fn).call(fn, args, {}, keep=True)


def kept_there(obj: Remote, value) -> Remote:
    """`value` (plain data) made a live object where obj lives: a proxy, which the learner's code can be given and
    change, and whose value_of shows the change."""
    connection = connection_of(obj)
    return connection.request({"op": "keep", "value": connection.encode(value)})


def value_of(obj: Remote):
    """What one of the learner's objects holds now: plain data and tensors as local copies."""
    return connection_of(obj).request({"op": "value", "ref": obj._ref})


def seed(obj, number: int) -> None:
    """numtorch.manual_seed(number) where obj lives, so that the learner's code draws what torch's would."""
    connection_of(obj).request({"op": "seed", "seed": number})


def assign(module, name: str, values) -> None:
    """module.<name>.data[...] = values, where the module lives."""
    connection = connection_of(module)
    connection.request({"op": "setdata", "ref": module._ref, "name": name, "value": connection.encode(values)})


def submodules(module, classes: list[str]) -> list[dict]:
    """For each of module.modules(): its type, numtorch's layer name if it is one, which of `classes` it is."""
    connection = connection_of(module)
    return connection.request({"op": "modules", "ref": module._ref, "classes": list(classes)})


def modes_during(fn, model, *args):
    """fn(a copy of model put in training mode, *args): (what it returned, the mode of each forward of the copy)."""
    connection = connection_of(fn)
    out, answer = connection.request({"op": "modes", "ref": fn._ref, "model": model._ref,
                                      "args": [connection.encode(a) for a in args]}, full=True)
    modes = answer.get("modes")
    if not isinstance(modes, list) or not all(isinstance(m, bool) for m in modes):
        raise NoAnswer("a list of modes that is not a list of booleans")
    return out, modes


def predict(model, x):
    """model(x) in eval mode under no_grad, the model's mode restored after: the logits, as a local tensor."""
    was_training = bool(model.training)
    model.eval()
    try:
        return connection_of(model).call(model, (x,), {}, no_grad=True)
    finally:
        model.train(was_training)
