"""Matrix products by the fastest route the installed NumPy has.

Where NumPy calls BLAS (every wheel for CPython), that is ``np.matmul``. Pyodide's NumPy, which the
browser lab runs, is built without BLAS: its ``np.matmul`` falls back to plain loops that read the
right factor one row at a time down each column, so a product with thousands of columns (conv2d's
im2col, a batch times a transposed weight) spends most of its time waiting for memory. ``np.einsum``'s
own loops read both factors along their rows; on the products of the book's layers they took a
sixth to an eighth of the time there, with the same results up to the order of the additions.
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
