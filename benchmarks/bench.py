"""numtorch against torch (CPU), side by side in one process.

Each case is written once as ``case(lib)``, where ``lib`` is a namespace holding
``torch``, ``nn`` and ``F`` from one engine; it returns a function that runs one
repetition. The two engines' repetitions are interleaved, so a noisy moment hurts
both alike, and the median of each is compared. Run from the repo root::

    make bench          # or: .venv/bin/python benchmarks/bench.py [--quick]

`make bench` sets the environment the figures assume: two BLAS/OpenMP threads; glibc's
MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ so that freed memory is reused instead of
paying page faults (both engines alike); and OMP_WAIT_POLICY=PASSIVE, because torch's
OpenMP workers otherwise spin for a while after each op, on the very cores NumPy's BLAS
threads need for the interleaved numtorch repetition that follows.
"""
import argparse
import statistics
import sys
import time
from types import SimpleNamespace

import numpy as np

import numtorch
import numtorch.nn.functional as nF
from numtorch import nn as nnn
from numtorch import optim as noptim


def engines():
    ours = SimpleNamespace(name="numtorch", torch=numtorch, nn=nnn, F=nF, optim=noptim)
    try:
        import torch
        import torch.nn.functional as tF
        from torch import nn as tnn
        from torch import optim as toptim
    except ImportError:
        return ours, None
    torch.set_num_threads(2)
    return ours, SimpleNamespace(name="torch", torch=torch, nn=tnn, F=tF, optim=toptim)


def fwd_bwd(make_inputs, op):
    def case(lib):
        inputs = make_inputs(lib)

        def run():
            for t in inputs:
                if getattr(t, "grad", None) is not None:
                    t.grad = None
            op(lib, *inputs).sum().backward()
        return run
    return case


def leaf(lib, shape, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return lib.torch.tensor(data, requires_grad=True)


def conv_case(n, c, hw, out, k, p):
    return fwd_bwd(lambda lib: [leaf(lib, (n, c, hw, hw)), leaf(lib, (out, c, k, k), 1), leaf(lib, (out,), 2)],
                   lambda lib, x, w, b: lib.F.conv2d(x, w, b, padding=p))


def per_op_overhead(lib, ops=200):
    """Seconds per recorded op (forward + its share of backward) on 2x2 tensors."""
    a = leaf(lib, (2, 2))

    def run():
        a.grad = None
        y = a
        for _ in range(ops // 2):
            y = y * 1.01 + 0.5
        y.sum().backward()
    return run


def module_vs_functional(lib, calls=1000):
    x = lib.torch.tensor(np.ones((4, 4), np.float32))
    layer = lib.nn.ReLU()

    def run_module():
        for _ in range(calls):
            layer(x)

    def run_functional():
        for _ in range(calls):
            lib.F.relu(x)
    return run_module, run_functional


def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None]
    return train_test_split(x, data.target.astype(np.int64), test_size=0.2, random_state=0, stratify=data.target)


def capstone_model(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 2 * 2, 10))


def train_epoch(lib, model, opt, x, y, batch=64, seed=0):
    model.train()
    order = np.random.default_rng(seed).permutation(len(x))
    for start in range(0, len(x), batch):
        idx = order[start:start + batch]
        xb, yb = lib.torch.tensor(x[idx]), lib.torch.tensor(y[idx])
        opt.zero_grad()
        lib.F.cross_entropy(model(xb), yb).backward()
        opt.step()


def accuracy(lib, model, x, y):
    model.eval()
    with lib.torch.no_grad():
        pred = model(lib.torch.tensor(x)).argmax(1).numpy()
    return float((pred == y).mean())


def capstone(lib, data):
    x_train, x_test, y_train, y_test = data
    lib.torch.manual_seed(0)
    model = capstone_model(lib)
    opt = lib.optim.Adam(model.parameters(), lr=0.01)
    return model, opt, lambda seed=0: train_epoch(lib, model, opt, x_train, y_train, seed=seed)


def median_seconds(runs, repeats):
    """Interleave the runs ``repeats`` times; median seconds of each."""
    times = [[] for _ in runs]
    for run in runs:
        run()  # warm-up
    for _ in range(repeats):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            run()
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke test)")
    args = parser.parse_args()
    repeats = 3 if args.quick else 15
    ours, theirs = engines()
    if theirs is None:
        print("torch is not installed: only numtorch's absolute times are shown (pip install torch==2.13.0)")
    pairs = [e for e in (ours, theirs) if e is not None]
    results = []

    def report(name, goal, seconds, unit=1e3, unit_name="ms"):
        ratio = seconds[0] / seconds[1] if len(seconds) == 2 else None
        verdict = "" if ratio is None else ("ok" if ratio <= goal else "OVER GOAL")
        shown = "  ".join(f"{e.name} {s * unit:9.3f} {unit_name}" for e, s in zip(pairs, seconds))
        ratio_text = "" if ratio is None else f"ratio {ratio:5.2f} (goal <= {goal})"
        print(f"{name:44s} {shown}  {ratio_text}  {verdict}")
        results.append((name, ratio, goal))
        sys.stdout.flush()

    print(f"numpy {np.__version__}" + (f", torch {theirs.torch.__version__}" if theirs else ""))
    cases = [
        ("conv2d fwd+bwd (64,1,28,28)->16 k3 p1", 2.0, conv_case(64, 1, 28, 16, 3, 1)),
        ("conv2d fwd+bwd (64,16,28,28)->32 k3 p1", 2.0, conv_case(64, 16, 28, 32, 3, 1)),
        ("conv2d fwd+bwd (128,3,32,32)->16 k5", 2.0, conv_case(128, 3, 32, 16, 5, 0)),
        ("batch_norm fwd+bwd (64,16,28,28) training", 2.5, fwd_bwd(
            lambda lib: [leaf(lib, (64, 16, 28, 28)), leaf(lib, (16,), 1), leaf(lib, (16,), 2),
                         lib.torch.zeros(16), lib.torch.ones(16)],
            lambda lib, x, w, b, rm, rv: lib.F.batch_norm(x, rm, rv, w, b, training=True))),
        ("max_pool2d fwd+bwd (64,16,28,28) k2", 1.5, fwd_bwd(
            lambda lib: [leaf(lib, (64, 16, 28, 28))], lambda lib, x: lib.F.max_pool2d(x, 2))),
        ("dropout fwd+bwd (64,16,28,28) p=0.5", 1.2, fwd_bwd(
            lambda lib: [leaf(lib, (64, 16, 28, 28))], lambda lib, x: lib.F.dropout(x, 0.5))),
        ("linear fwd+bwd (256,512)->256", 1.2, fwd_bwd(
            lambda lib: [leaf(lib, (256, 512)), leaf(lib, (256, 512), 1), leaf(lib, (256,), 2)],
            lambda lib, x, w, b: lib.F.linear(x, w, b))),
    ]
    for name, goal, case in cases:
        report(name, goal, median_seconds([case(e) for e in pairs], repeats))

    ops = 200
    seconds = [s / ops for s in median_seconds([per_op_overhead(e, ops) for e in pairs], repeats)]
    shown = "  ".join(f"{e.name} {s * 1e6:9.3f} us" for e, s in zip(pairs, seconds))
    verdict = "ok" if seconds[0] <= 10e-6 else "OVER GOAL"
    print(f"{'autograd overhead per op, 2x2 tensors':44s} {shown}  goal: numtorch <= 10 us  {verdict}")
    results.append(("autograd overhead per op", seconds[0] / 10e-6, 1.0))

    calls = 1000
    overheads = []
    for e in pairs:
        module_s, functional_s = median_seconds(module_vs_functional(e, calls), repeats)
        overheads.append(max(module_s - functional_s, 0.0) / calls)
    report("Module call overhead over functional call", 2.0, overheads, unit=1e6, unit_name="us")

    data = digits()
    epochs = []
    for e in pairs:
        _, _, epoch = capstone(e, data)
        epochs.append(epoch)
    report("capstone CNN, one epoch on digits (1437 imgs)", 1.5, median_seconds(epochs, max(3, repeats // 3)))

    model, _, epoch = capstone(ours, data)
    start, n_epochs, acc = time.perf_counter(), 0, 0.0
    while acc < 0.97 and n_epochs < 30:
        epoch(seed=n_epochs)
        n_epochs += 1
        acc = accuracy(ours, model, data[1], data[3])
    spent = time.perf_counter() - start
    print(f"capstone on numtorch: test accuracy {acc:.4f} after {n_epochs} epochs, {spent:.2f} s of training "
          f"(goal >= 0.97 in <= 3 s)")

    over = [name for name, ratio, goal in results if ratio is not None and ratio > goal]
    if theirs is not None:
        print("\nover goal: " + ", ".join(over) if over else "\nall within goal")


if __name__ == "__main__":
    main()
