"""numtorch.parallel: kernels share their copies and adds among threads, with the same results."""
import os
import select
import signal

import numpy as np
import pytest

import numtorch
from numtorch import parallel

from .parity import assert_parity, rand


@pytest.fixture
def threads():
    """Sets numtorch's thread count for one test, then puts the previous one back."""
    before = numtorch.get_num_threads()
    yield numtorch.set_num_threads
    numtorch.set_num_threads(before)


def conv_fwd_bwd(x, w, b, **options):
    tensors = [numtorch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = numtorch.nn.functional.conv2d(*tensors, **options)
    (out * numtorch.tensor(rand(*out.shape, seed=9))).sum().backward()
    return [out.detach().numpy()] + [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("options", [dict(padding=1), dict(stride=2, dilation=2, groups=2)])
def test_conv2d_on_two_threads_gives_the_same_bits_as_on_one(threads, options):
    x, w, b = rand(128, 4, 32, 32), rand(6, 4 // options.get("groups", 1), 3, 3, seed=1), rand(6, seed=2)
    threads(1)
    serial = conv_fwd_bwd(x, w, b, **options)
    threads(2)
    assert len(parallel._slabs(x, 2)) == 2  # the input alone is large enough to be split
    for name, one, two in zip(["out", "x.grad", "w.grad", "b.grad"], serial, conv_fwd_bwd(x, w, b, **options)):
        assert np.array_equal(one, two), name


def test_conv2d_on_more_threads_than_rows_still_matches_torch(threads):
    threads(64)
    x = rand(300, 4, 3, 300)
    assert len(parallel._slabs(x, 2)) == 3  # one slab per row
    assert_parity(lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, padding=1),
                  x, rand(4, 4, 3, 3, seed=1), rand(4, seed=2), rtol=1e-3, atol=1e-2)  # sums of 270,000 terms


def test_small_arrays_stay_on_the_calling_thread(threads):
    threads(2)
    assert parallel._slabs(np.empty(parallel.GRAIN_SIZE), 0) == [(Ellipsis,)]
    assert len(parallel._slabs(np.empty((2, parallel.GRAIN_SIZE)), 0)) == 2


@pytest.mark.parametrize("bad, message", [(0, "expects a positive integer"), (-1, "expects a positive integer"),
                                          (1.5, "expects an int, but got float"), (True, "expects an int, but got bool")])
def test_set_num_threads_refuses_what_torch_refuses(lib, bad, message):
    with pytest.raises(RuntimeError, match=message):
        lib.set_num_threads(bad)


def test_get_num_threads_reports_what_was_set(lib):
    before = lib.get_num_threads()
    try:
        lib.set_num_threads(3)
        assert lib.get_num_threads() == 3
    finally:
        lib.set_num_threads(before)


def test_a_forked_child_can_still_use_threads(threads):
    threads(2)
    x, w, b = rand(128, 4, 32, 32), rand(6, 4, 3, 3, seed=1), rand(6, seed=2)
    expected = conv_fwd_bwd(x, w, b, padding=1)  # the parent's pool now has threads
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # a child with a copy of the pool but none of its threads
        same = all(np.array_equal(a, e) for a, e in zip(conv_fwd_bwd(x, w, b, padding=1), expected))
        os.write(write, b"1" if same else b"0")
        os._exit(0)
    os.close(write)
    # A child waiting on threads that were never forked would hang: give it a minute.
    answered, _, _ = select.select([read], [], [], 60)
    answer = os.read(read, 1) if answered else b"no answer"
    if not answered:
        os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    assert answer == b"1"
