"""How long grading takes: one submission, and a gradebook of every lab on this machine's cores.

Goals: one submission <= 20 s; a gradebook at no less than 10 submissions a minute on 2 cores. The
gradebook holds every lab's answer key and blank student version, three copies each, in one folder
(so each notebook's lab comes from its metadata, as `labkit gradebook` allows without `--lab`).

Then throughput: one lab's folder of answer keys and blanks (half each) graded by `labkit gradebook --jobs N`
for each N, in submissions per minute. Run::

    .venv/bin/python benchmarks/grading.py
    .venv/bin/python benchmarks/grading.py --throughput-only --jobs 1 2 --submissions 10
"""
import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labkit.labs import load_labs


def labkit(*args):
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "labkit", *args], check=True, capture_output=True, text=True)
    return time.monotonic() - started, done.stdout


def throughput(jobs=(1, 2), lab="2_dropout", submissions=10):
    """Submissions per minute of `labkit gradebook --jobs N` on `submissions` notebooks of `lab`."""
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        labkit("release", "--out", str(scratch / "student"), lab)
        labkit("release", "--out", str(scratch / "solution"), "--solutions", lab)
        folder = scratch / lab  # the folder's name assigns the lab, as for a real hand-in
        folder.mkdir()
        for number in range(submissions):
            kind = ("solution", "student")[number % 2]
            shutil.copy(scratch / kind / f"{lab}.ipynb", folder / f"{kind}-{number}.ipynb")
        print(f"{submissions} submissions of {lab} (half answer keys, half blanks), {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.1f} before:")
        for n in jobs:
            before = _children_cpu()
            seconds, _ = labkit("gradebook", str(folder), "--out", str(scratch / f"grades-{n}.csv"), "--jobs", str(n))
            cpu = (_children_cpu() - before) / submissions
            rows = list(csv.DictReader(open(scratch / f"grades-{n}.csv")))
            graded = sum(row["status"] == "graded" for row in rows)
            # Processor time per submission bounds the rate on an idle machine: cores × 60 / cpu a minute.
            print(f"  --jobs {n}: {seconds:5.0f} s, {60 * len(rows) / seconds:5.1f} submissions/min "
                  f"({seconds / len(rows):.1f} s each; {cpu:.1f} s of processor time each, so at most "
                  f"{60 * min(n, os.cpu_count() or 1) / cpu:.1f}/min on {min(n, os.cpu_count() or 1)} idle cores; "
                  f"{graded} of {len(rows)} graded; load average {os.getloadavg()[0]:.1f} after)")


def _children_cpu() -> float:
    """Processor seconds used by the finished processes this one started, and theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--throughput-only", action="store_true", help="skip the single and whole-gradebook runs")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, os.cpu_count() or 1])
    parser.add_argument("--submissions", type=int, default=10)
    args = parser.parse_args()
    if not args.throughput_only:
        single_and_gradebook()
    throughput(tuple(dict.fromkeys(args.jobs)), submissions=args.submissions)


def single_and_gradebook():
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        labkit("release", "--out", str(scratch / "student"))
        labkit("release", "--out", str(scratch / "solution"), "--solutions")
        slowest = 0.0
        for lab in load_labs():
            seconds, _ = labkit("grade", str(scratch / "solution" / f"{lab.name}.ipynb"), "--json")
            slowest = max(slowest, seconds)
            print(f"grade {lab.name:16s} answer key: {seconds:5.1f} s")
        print(f"slowest single submission: {slowest:.1f} s (goal <= 20 s)  {'ok' if slowest <= 20 else 'OVER GOAL'}")

        folder = scratch / "submissions"
        folder.mkdir()
        for copy in range(3):
            for lab in load_labs():
                for kind in ("student", "solution"):
                    shutil.copy(scratch / kind / f"{lab.name}.ipynb", folder / f"{kind}-{copy}-{lab.name}.ipynb")
        seconds, _ = labkit("gradebook", str(folder), "--out", str(scratch / "grades.csv"))
        rows = list(csv.DictReader(open(scratch / "grades.csv")))
        graded = sum(not row["status"].startswith("ungradable") for row in rows)
        rate = 60 * len(rows) / seconds
        print(f"gradebook of {len(rows)} submissions ({graded} graded): {seconds:.0f} s, {rate:.1f}/min "
              f"(goal >= 10/min)  {'ok' if rate >= 10 else 'OVER GOAL'}")


if __name__ == "__main__":
    main()
