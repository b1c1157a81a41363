"""What the layer labs check alike: registration, initialisation, the call to F, gradients, repr."""

from __future__ import annotations

import numpy as np

import numtorch
import numtorch.nn.functional as F
from numtorch import nn
from labkit.checks import Mistake, expect
from labkit.checks.proxies import backward, call_traced


def values(t) -> np.ndarray:
    """A float64 copy of a tensor's values, detached from autograd."""
    return np.array(t.detach().data if isinstance(t, numtorch.Tensor) else t, dtype=np.float64)


def same(a, b, atol: float = 1e-5) -> bool:
    a, b = values(a), values(b)
    return a.shape == b.shape and np.allclose(a, b, atol=atol, rtol=1e-4)


def shape(t) -> tuple:
    return tuple(int(n) for n in t.shape)


def expect_parameters(module, expected: dict, layer: str) -> None:
    """`expected` maps each parameter name to its shape, in torch's registration order."""
    for name, want in expected.items():
        value = getattr(module, name, None)
        if value is None:
            raise Mistake(f"your {layer} has no `self.{name}`: create it in __init__ as "
                          f"`self.{name} = nn.Parameter(torch.empty{want})`")
        expect(isinstance(value, nn.Parameter),
               f"`self.{name}` is a {type(value).__name__}, not an nn.Parameter, so the module does not register "
               f"it and an optimizer never sees it: wrap it, `self.{name} = nn.Parameter(...)`")
        expect(shape(value) == want, f"`self.{name}` has shape {shape(value)}, but torch's is {want}")
        expect_float32(value, f"`self.{name}`")
    names = [n for n, _ in module.named_parameters() if n in expected]  # extras: the state_dict check's job
    expect(names == list(expected), f"your {layer}'s parameters come in the order {names}, torch's in "
                                    f"{list(expected)}: the order they are assigned in __init__")


def expect_float32(t, what: str) -> None:
    expect(t.dtype == numtorch.float32,
           f"{what} is {t.dtype}, but torch's is float32 (its default dtype), and torch refuses to mix the two in one "
           "layer: a tensor made from NumPy data keeps NumPy's float64, so make it with torch's own functions "
           "(torch.empty, torch.zeros...) or convert it with `.float()`")


def expect_no_parameter(module, name: str, flag: str, layer: str) -> None:
    names = [n for n, _ in module.named_parameters()]
    expect(name not in names, f"with {flag}, your {layer} still has a `{name}` parameter: create it only when asked")
    expect(hasattr(module, name) and getattr(module, name) is None,
           f"with {flag}, `self.{name}` should exist and be None, as in torch: "
           f"`self.register_parameter('{name}', None)`")


def expect_state_dict_keys(module, keys: list, layer: str) -> None:
    got = list(module.state_dict())
    expect(got == keys, f"your {layer}'s state_dict() keys are {got}, but torch's are {keys}; "
                        "a checkpoint saved from torch would not load into it")


def expect_uniform(t, bound: float, what: str, rule: str) -> None:
    """The values of `t` look drawn from U(-bound, bound): inside it, and filling it."""
    v = values(t)
    expect(np.all(np.isfinite(v)), f"{what} contains NaN or inf: did you initialise it? (torch.empty is uninitialised)")
    expect(np.ptp(v) > 0, f"{what} is constant ({v.flat[0]:g} everywhere): initialise it as torch does, {rule}")
    reach = np.abs(v).max()
    expect(reach <= bound * 1.0001,
           f"{what} reaches ±{reach:.3g}, beyond torch's bound ±{bound:.3g}: torch draws it from U(-b, b) with {rule}"
           + (" (torch.randn is standard-normal, not torch's default)" if reach > 1 else ""))
    expect(reach >= bound * 0.9,
           f"{what} stays within ±{reach:.3g}, but torch's fills ±{bound:.3g}: use {rule}")
    expect(abs(v.mean()) < bound * 0.2 and 0.45 < v.std() / (bound / np.sqrt(3)) < 1.55,
           f"{what} does not look uniform on ±{bound:.3g}: use {rule}")


def expect_one_call(module, x, fname: str, layer: str, sentence: str):
    """module(x) calls F.<fname> once and nothing else from F; returns its output."""
    out, calls, error = call_traced(module, x)
    names = [c["name"] for c in calls]
    if error is not None and not names:  # it failed before reaching F: that error, not the missing call, is the news
        raise error
    expect(fname in names,
           f"your {layer}.forward never calls F.{fname}; the whole forward should be one line: `{sentence}`"
           + (f" (it called {', '.join('F.' + n for n in names)})" if names else ""))
    expect(names == [fname], f"your {layer}.forward calls {', '.join('F.' + n for n in names)}; "
                             f"F.{fname} alone does the work: `{sentence}`")
    if error is not None:
        raise error
    return out


def expect_gradients(module, x, names: list, layer: str) -> None:
    """A backward pass through module(x) reaches x and each named parameter."""
    out, grads = backward(module, x, names=names)
    expect(isinstance(out, numtorch.Tensor), f"your {layer} returned a {type(out).__name__}, not a tensor")
    expect(grads is not None and out.requires_grad,
           f"the output of your {layer} is cut off from autograd: compute it with tensor "
           "operations (F...), not with `.data`, `.numpy()` or NumPy")
    for name in names:
        grad = grads.get(name)
        expect(grad is not None and np.any(values(grad) != 0),
               f"no gradient reached `self.{name}`: compute the output from the parameter itself, "
               "not from a copy or its `.data`")
    expect(grads.get("arg0") is not None, f"no gradient reached the input of your {layer}")


def expect_repr(module, reference, layer: str) -> None:
    want, got = reference.extra_repr(), module.extra_repr() if hasattr(module, "extra_repr") else ""
    expect(got == want, f"`{layer}.extra_repr()` returns {got!r}, but torch's returns {want!r}, so "
                        f"print(model) shows `{layer}({got})` instead of `{layer}({want})`")
