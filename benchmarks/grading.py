"""How long grading takes: one submission, and a gradebook of 30 on this machine's cores.

Goals: one submission <= 20 s; 30 submissions <= 3 minutes on 2 cores. The 30 are the
five labs' answer keys and blank student versions, three copies each, in one folder (so each
notebook's lab comes from its metadata, as `labkit gradebook` allows without `--lab`). Run::

    .venv/bin/python benchmarks/grading.py
"""
import csv
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


def main():
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
        print(f"gradebook of {len(rows)} submissions ({graded} graded): {seconds:.0f} s (goal <= 180 s)  "
              f"{'ok' if seconds <= 180 else 'OVER GOAL'}")


if __name__ == "__main__":
    main()
