"""numtorch against torch (CPU): each engine in its own process, at its own defaults.

Each case is written once as ``case(lib)``, where ``lib`` is a namespace holding ``torch``,
``nn``, ``F`` and ``optim`` from one engine; it returns a function that runs one repetition.
Run from the repo root::

    make bench          # or: .venv/bin/python benchmarks/bench.py [--quick]

Fairness: every engine runs in a fresh process of its own, so neither one's threads, caches or
allocator state touch the other's; the variables that set thread counts (``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ...) are removed from that process's environment, so each engine
uses its own default threading (on this machine NumPy's OpenBLAS and torch both use every core);
nothing else is set. The two processes take turns, ``--rounds`` times, and each case reports
the median over all rounds of its per-round median, so a noisy minute on a shared machine falls
on both engines rather than one.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np

# Each engine picks its own thread count when these are unset (the Makefile sets two of them
# to 1 for the tests, which run several processes at once).
THREAD_SETTINGS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY",
                   "OMP_DYNAMIC", "GOTO_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def load_engine(name):
    if name == "numtorch":
        import numtorch as torch
    else:
        import torch
    return SimpleNamespace(name=name, torch=torch, nn=torch.nn, F=torch.nn.functional, optim=torch.optim)


def leaf(lib, shape, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return lib.torch.tensor(data, requires_grad=True)


def fwd_bwd(make_inputs, op):
    def case(lib):
        inputs = make_inputs(lib)

        def run():
            for t in inputs:
                t.grad = None
            op(lib, *inputs).sum().backward()
        return run
    return case


def conv_case(n, c, hw, out, k, p):
    return fwd_bwd(lambda lib: [leaf(lib, (n, c, hw, hw)), leaf(lib, (out, c, k, k), 1), leaf(lib, (out,), 2)],
                   lambda lib, x, w, b: lib.F.conv2d(x, w, b, padding=p))


def batch_norm_case(lib):
    x, w, b = leaf(lib, (64, 16, 28, 28)), leaf(lib, (16,), 1), leaf(lib, (16,), 2)
    mean, var = lib.torch.zeros(16), lib.torch.ones(16)

    def run():
        x.grad = w.grad = b.grad = None
        lib.F.batch_norm(x, mean, var, w, b, training=True).sum().backward()
    return run


def per_op_overhead(lib, ops=200):
    """200 recorded ops (forward + backward) on 2x2 tensors; reported per op."""
    a = leaf(lib, (2, 2))

    def run():
        a.grad = None
        y = a
        for _ in range(ops // 2):
            y = y * 1.01 + 0.5
        y.sum().backward()
    return run


def module_calls(lib, calls=1000, through_module=True):
    x = lib.torch.tensor(np.ones((4, 4), np.float32))
    layer = lib.nn.ReLU()

    def run():
        for _ in range(calls):
            layer(x) if through_module else lib.F.relu(x)
    return run


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


def capstone_epoch(lib):
    x_train, _, y_train, _ = digits()
    lib.torch.manual_seed(0)
    model = capstone_model(lib)
    opt = lib.optim.Adam(model.parameters(), lr=0.01)
    return lambda: train_epoch(lib, model, opt, x_train, y_train)


# (name, goal for numtorch / torch, case, repetitions per round). The conv2d shapes: the book's
# and labs' MNIST-sized layers, a 5x5 kernel on CIFAR-sized images, and the capstone's two
# layers on 8x8 digits.
CASES = [
    ("conv2d fwd+bwd (64,1,28,28)->16 k3 p1", 1.5, conv_case(64, 1, 28, 16, 3, 1), 15),
    ("conv2d fwd+bwd (64,16,28,28)->32 k3 p1", 1.5, conv_case(64, 16, 28, 32, 3, 1), 15),
    ("conv2d fwd+bwd (128,3,32,32)->16 k5", 1.5, conv_case(128, 3, 32, 16, 5, 0), 15),
    ("conv2d fwd+bwd (64,1,8,8)->16 k3 p1 capstone", 1.5, conv_case(64, 1, 8, 16, 3, 1), 50),
    ("conv2d fwd+bwd (64,16,4,4)->32 k3 p1 capstone", 1.5, conv_case(64, 16, 4, 32, 3, 1), 50),
    ("batch_norm fwd+bwd (64,16,28,28) training", 2.5, batch_norm_case, 15),
    ("max_pool2d fwd+bwd (64,16,28,28) k2", 1.5, fwd_bwd(
        lambda lib: [leaf(lib, (64, 16, 28, 28))], lambda lib, x: lib.F.max_pool2d(x, 2)), 15),
    ("dropout fwd+bwd (64,16,28,28) p=0.5", 1.2, fwd_bwd(
        lambda lib: [leaf(lib, (64, 16, 28, 28))], lambda lib, x: lib.F.dropout(x, 0.5)), 15),
    ("linear fwd+bwd (256,512)->256", 1.2, fwd_bwd(
        lambda lib: [leaf(lib, (256, 512)), leaf(lib, (256, 512), 1), leaf(lib, (256,), 2)],
        lambda lib, x, w, b: lib.F.linear(x, w, b)), 15),
    ("200 autograd ops on 2x2 tensors", None, per_op_overhead, 15),
    ("1000 ReLU calls through the Module", None, module_calls, 15),
    ("1000 F.relu calls", None, lambda lib: module_calls(lib, through_module=False), 15),
    ("capstone CNN, one epoch on digits (1437 imgs)", 1.5, capstone_epoch, 3),
]


def median_seconds(run, repeats):
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(engine, quick):
    """Run in the engine's own process: {case name: median seconds}."""
    lib = load_engine(engine)
    return {name: median_seconds(case(lib), max(2, repeats // 5) if quick else repeats)
            for name, _, case, repeats in CASES}


def capstone_accuracy():
    """numtorch only: epochs and seconds for the capstone CNN to reach 97% test accuracy."""
    lib = load_engine("numtorch")
    x_train, x_test, y_train, y_test = digits()
    lib.torch.manual_seed(0)
    model = capstone_model(lib)
    opt = lib.optim.Adam(model.parameters(), lr=0.01)
    start, epochs, acc = time.perf_counter(), 0, 0.0
    while acc < 0.97 and epochs < 30:
        train_epoch(lib, model, opt, x_train, y_train, seed=epochs)
        epochs += 1
        model.eval()
        with lib.torch.no_grad():
            acc = float((model(lib.torch.tensor(x_test)).argmax(1).numpy() == y_test).mean())
    return acc, epochs, time.perf_counter() - start


def in_own_process(engine, quick):
    env = {k: v for k, v in os.environ.items() if k not in THREAD_SETTINGS}
    args = [sys.executable, __file__, "--engine", engine] + (["--quick"] if quick else [])
    return json.loads(subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and one round (a smoke test)")
    parser.add_argument("--rounds", type=int, default=3, help="how many times each engine's process runs")
    parser.add_argument("--engine", choices=["numtorch", "torch"], help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(measure(args.engine, args.quick)))
        return

    try:
        import torch
        engines = ["numtorch", "torch"]
        print(f"numpy {np.__version__}, torch {torch.__version__}, {os.cpu_count()} cores; "
              f"each engine in its own process at its default threading")
    except ImportError:
        engines = ["numtorch"]
        print("torch is not installed: only numtorch's times are shown (pip install torch==2.13.0)")
    rounds = 1 if args.quick else args.rounds
    runs = {e: [] for e in engines}
    for _ in range(rounds):
        for engine in engines:
            runs[engine].append(in_own_process(engine, args.quick))

    over = []
    for name, goal, _, _ in CASES:
        seconds = [statistics.median(run[name] for run in runs[e]) for e in engines]
        shown = "  ".join(f"{e} {s * 1e3:9.3f} ms" for e, s in zip(engines, seconds))
        line = f"{name:47s} {shown}"
        if len(seconds) == 2:
            ratio = seconds[0] / seconds[1]
            line += f"  ratio {ratio:5.2f}"
            if goal is not None:
                line += f" (goal <= {goal}) " + ("ok" if ratio <= goal else "OVER GOAL")
                if ratio > goal:
                    over.append(name)
        print(line)

    acc, epochs, spent = capstone_accuracy()
    print(f"capstone on numtorch: test accuracy {acc:.4f} after {epochs} epochs, {spent:.2f} s of training "
          f"(goal >= 0.97 in <= 3 s)")
    if len(engines) == 2:
        print("\nover goal: " + ", ".join(over) if over else "\nall within goal")


if __name__ == "__main__":
    main()
