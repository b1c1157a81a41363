"""Run the same code on numtorch and on torch and compare values and gradients.

The code under test is written once, as a function of ``lib`` (the ``numtorch`` or
the ``torch`` module), because the two share an API: ``lambda lib, x: lib.exp(x)``.
The helpers that need torch skip the calling test, alone, when it is not installed.
"""
import numpy as np
import pytest

import numtorch


def rand(*shape, seed=0, low=None, high=None, dtype=np.float32):
    """A reproducible float array; uniform in [low, high) if given, else standard normal."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape) if low is None else rng.uniform(low, high, shape)
    return a.astype(dtype)


def as_array(t):
    return t.detach().numpy() if t is not None else None


def assert_close(actual, expected, rtol=1e-4, atol=1e-5, what=""):
    """Compare two tensors (of either library) or arrays with float32 tolerances."""
    actual = as_array(actual) if not isinstance(actual, np.ndarray) else actual
    expected = as_array(expected) if not isinstance(expected, np.ndarray) else expected
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def run(lib, fn, arrays, grad=True):
    """``fn(lib, *tensors)`` and, if ``grad``, every float input's gradient of ``sum(out * G)``."""
    tensors = [lib.tensor(a, requires_grad=grad and a.dtype.kind == "f") if isinstance(a, np.ndarray) else a
               for a in arrays]
    out = fn(lib, *tensors)
    grads = []
    if grad:
        upstream = np.random.default_rng(123).standard_normal(tuple(out.shape)).astype(as_array(out).dtype)
        (out * lib.tensor(upstream)).sum().backward()
        grads = [t.grad if isinstance(a, np.ndarray) and a.dtype.kind == "f" else None
                 for t, a in zip(tensors, arrays)]
    return out, grads


def assert_parity(fn, *arrays, grad=True, rtol=1e-4, atol=1e-5):
    """``fn`` gives the same output, and the same gradient for every float array argument, in both libraries."""
    torch = pytest.importorskip("torch")
    (ours, our_grads), (theirs, their_grads) = (run(lib, fn, arrays, grad) for lib in (numtorch, torch))
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", "")), "dtype"
    assert_close(ours, theirs, rtol, atol, "output")
    for i, (g, h) in enumerate(zip(our_grads, their_grads)):
        if h is None:
            assert g is None, f"argument {i} should get no gradient"
        else:
            assert g is not None, f"argument {i} got no gradient"
            assert_close(g, h, rtol, atol, f"gradient of argument {i}")
    return ours, theirs


def copy_module(src, dst):
    """Copy every parameter and buffer of numtorch module ``src`` into the torch module ``dst``."""
    torch = pytest.importorskip("torch")
    ours = src.state_dict()
    theirs = dst.state_dict()
    assert list(ours) == list(theirs)
    dst.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in ours.items()})


def build(lib, source, name="model"):
    """Run ``source`` with ``torch``, ``nn`` and ``F`` bound to ``lib`` and return the variable ``name``."""
    namespace = {"torch": lib, "nn": lib.nn, "F": lib.nn.functional}
    exec(source, namespace)
    return namespace[name]
