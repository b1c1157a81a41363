"""numtorch.blas: without BLAS (Pyodide's NumPy, in the browser lab) matrix products take np.einsum's route,
which must give what np.matmul gives, values and gradients, for every layer that multiplies matrices.
(tests/site/test_lite.py checks that the browser lab's NumPy is seen as having no BLAS.)"""
import numpy as np
import pytest

import numtorch
import numtorch.nn.functional as F
from numtorch import blas

# name: (function of the tensors, their shapes)
CASES = {
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, padding=1), [(4, 3, 7, 6), (5, 3, 3, 3), (5,)]),
    "conv2d, strided and grouped": (lambda x, w: F.conv2d(x, w, stride=2, groups=2), [(2, 4, 9, 9), (6, 2, 3, 3)]),
    "linear on a batch of batches": (lambda x, w, b: F.linear(x, w, b), [(2, 3, 5), (4, 5), (4,)]),
    "matmul, broadcast": (lambda a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)]),
    "matmul, matrix by vector": (lambda a, b: a @ b, [(3, 4), (4,)]),
}
PRODUCT = "...mk,...kn->...mn"


def values_and_gradients(case):
    function, shapes = CASES[case]
    rng = np.random.default_rng(0)
    inputs = [numtorch.tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=True) for shape in shapes]
    out = function(*inputs)
    out.backward(numtorch.tensor(rng.standard_normal(tuple(out.shape), dtype=np.float32)))
    return [out.detach().numpy()] + [x.grad.numpy() for x in inputs]


@pytest.fixture
def einsums(monkeypatch):
    """The subscripts of every np.einsum call made while the test runs."""
    subscripts = []
    einsum = np.einsum
    monkeypatch.setattr(np, "einsum", lambda *args, **kwargs: subscripts.append(args[0]) or einsum(*args, **kwargs))
    return subscripts


@pytest.mark.parametrize("case", CASES)
def test_without_blas_the_products_give_what_they_give_with_it(case, monkeypatch, einsums):
    monkeypatch.setattr(blas, "NUMPY_HAS_BLAS", True)
    with_blas = values_and_gradients(case)
    assert PRODUCT not in einsums
    monkeypatch.setattr(blas, "NUMPY_HAS_BLAS", False)
    without_blas = values_and_gradients(case)
    assert PRODUCT in einsums, einsums
    for a, b in zip(with_blas, without_blas):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


def test_with_blas_the_products_are_numpys_matmul(monkeypatch, einsums):
    monkeypatch.setattr(blas, "NUMPY_HAS_BLAS", True)
    for case in CASES:
        values_and_gradients(case)
    assert PRODUCT not in einsums


def test_integer_products_keep_numpys_matmul_without_blas(monkeypatch):
    monkeypatch.setattr(blas, "NUMPY_HAS_BLAS", False)
    a, b = np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)
    product = blas.matmul(a, b)
    assert product.dtype == np.matmul(a, b).dtype and np.array_equal(product, a @ b)


@pytest.mark.parametrize("config, has_blas", [
    ({"Build Dependencies": {"blas": {"name": "scipy-openblas", "found": True}}}, True),  # a CPython wheel
    ({"Build Dependencies": {"blas": {"name": "auto"}, "lapack": {"name": "lapack"}}}, False),  # Pyodide 0.27
    ({"Build Dependencies": {"blas": {"name": "openblas", "found": False}}}, False),
])
def test_blas_is_read_from_numpys_build_configuration(config, has_blas, monkeypatch):
    monkeypatch.setattr(np.__config__, "CONFIG", config)
    assert blas._numpy_has_blas() is has_blas
