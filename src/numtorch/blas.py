"""Matrix products by the fastest route the installed NumPy has.

Where NumPy calls BLAS (its wheels for CPython bring OpenBLAS), that is ``np.matmul``. Pyodide's NumPy,
which the browser lab runs, is built without BLAS: its ``np.matmul`` falls back to plain loops that read
the right factor down its columns, one row apart each step, so a product with thousands of columns
(conv2d's im2col) spends most of its time waiting for memory. ``np.einsum``'s own loops read both
factors along their rows. Measured there, on the capstone's conv2d products einsum took an eighth to a
half of matmul's time, on the smallest linear layers about the same, and a training epoch of the
capstone's CNN a third (benchmarks/lite_training.mjs); the results differ only in the order of the
additions.
"""
import numpy as np


def _numpy_has_blas() -> bool:
    blas = getattr(np.__config__, "CONFIG", {}).get("Build Dependencies", {}).get("blas")
    return blas is None or blas.get("found", False)


NUMPY_HAS_BLAS = _numpy_has_blas()


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` (NumPy's broadcasting rules): ``np.matmul`` with BLAS, ``np.einsum`` without."""
    if NUMPY_HAS_BLAS or a.ndim < 2 or b.ndim < 2 or a.dtype.kind != "f" or b.dtype.kind != "f":
        return np.matmul(a, b)
    return np.einsum("...mk,...kn->...mn", a, b)
