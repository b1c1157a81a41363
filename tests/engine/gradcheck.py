"""A central-difference gradient checker for numtorch, independent of torch.

``gradcheck(fn, *arrays)`` runs ``fn`` on float64 tensors made from ``arrays``,
back-propagates a fixed random upstream gradient ``G`` through ``sum(fn(...) * G)``,
and compares every input's ``.grad`` with ``(f(x + eps) - f(x - eps)) / (2 eps)``
computed one element at a time.
"""
import numpy as np

import numtorch


def _scalar(fn, tensors, upstream):
    with numtorch.no_grad():
        return float((fn(*tensors).detach().numpy() * upstream).sum())


def gradcheck(fn, *arrays, eps=1e-6, atol=1e-7, rtol=1e-5, seed=0):
    """Assert that numtorch's gradients of ``fn`` match finite differences for every array argument.

    Arguments that are not float arrays (integer targets, say) are passed as tensors without gradients.
    """
    arrays = [np.asarray(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    tensors = [numtorch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = fn(*tensors)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    (out * numtorch.tensor(upstream)).sum().backward()
    for i, (t, a) in enumerate(zip(tensors, arrays)):
        if a.dtype.kind != "f":
            continue
        numeric = np.zeros_like(a)
        for index in np.ndindex(a.shape):
            shifted = []
            for delta in (eps, -eps):
                b = a.copy()
                b[index] += delta
                args = [numtorch.tensor(b) if j == i else numtorch.tensor(arrays[j]) for j in range(len(arrays))]
                shifted.append(_scalar(fn, args, upstream))
            numeric[index] = (shifted[0] - shifted[1]) / (2 * eps)
        assert t.grad is not None, f"argument {i} got no gradient"
        np.testing.assert_allclose(t.grad.numpy(), numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of argument {i}")
