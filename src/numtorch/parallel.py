"""Intra-op parallelism, as torch's ``at::parallel_for``: one kernel's work shared among threads.

BLAS already runs its matrix products on every core. The rest of a convolution is copying and
adding arrays (im2col and col2im), which NumPy does on one core while it releases the GIL; these
helpers split such a copy or add along one axis into a slab per thread. Like torch, numtorch
uses as many threads as ``OMP_NUM_THREADS`` says, or one per core, and small arrays stay on
the calling thread (below :data:`GRAIN_SIZE` elements per thread, handing work to threads costs
more than it saves).
"""
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Handing a slab to a Python thread and waiting for it costs tens of microseconds, so a slab must
# take a few hundred microseconds of copying to repay it (torch's at::internal::GRAIN_SIZE, 32768,
# fits OpenMP's much cheaper threads).
GRAIN_SIZE = 1 << 18


def _default_num_threads():
    if sys.platform == "emscripten":  # Pyodide, in the browser lab, cannot start threads
        return 1
    setting = os.environ.get("OMP_NUM_THREADS", "")
    return int(setting) if setting.isdigit() and int(setting) > 0 else os.cpu_count() or 1


_num_threads = _default_num_threads()
_pool = None


def _forget_pool():
    """In a forked child the pool's threads do not exist: start a new pool when one is needed."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def get_num_threads():
    """How many threads a kernel may use."""
    return _num_threads


def set_num_threads(num_threads):
    """Let kernels use ``num_threads`` threads (1: everything on the calling thread)."""
    global _num_threads, _pool
    if not isinstance(num_threads, int) or isinstance(num_threads, bool):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(num_threads).__name__}")
    if num_threads < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    if _pool is not None:
        _pool.shutdown()
        _pool = None
    _num_threads = num_threads


def _slabs(dst, axis):
    """Index tuples that cut ``dst`` into one slab per thread along ``axis`` (one slab if small)."""
    threads = min(_num_threads, dst.shape[axis], dst.size // GRAIN_SIZE)
    if threads <= 1:
        return [(Ellipsis,)]
    bounds = [dst.shape[axis] * k // threads for k in range(threads + 1)]
    return [(slice(None),) * axis + (slice(lo, hi),) for lo, hi in zip(bounds, bounds[1:])]


def _run(tasks):
    global _pool
    if len(tasks) == 1:
        return tasks[0]()
    if _pool is None:
        _pool = ThreadPoolExecutor(_num_threads, thread_name_prefix="numtorch")
    for future in [_pool.submit(task) for task in tasks]:
        future.result()


def copyto(dst, src, axis=0):
    """``dst[...] = src``, ``src`` broadcast to ``dst``'s shape, shared among threads along ``axis``."""
    src = np.broadcast_to(src, dst.shape)
    _run([lambda where=where: np.copyto(dst[where], src[where]) for where in _slabs(dst, axis)])


def add_to(dst, src, axis=0):
    """``dst += src``, shared among threads along ``axis``."""
    src = np.broadcast_to(src, dst.shape)
    _run([lambda where=where: np.add(dst[where], src[where], out=dst[where]) for where in _slabs(dst, axis)])
