"""The gradebook grades 30 submissions within 3 minutes on this 2-core machine."""

import csv
import shutil
import subprocess
import sys
import time

from labkit.labs import load_labs


def test_a_gradebook_of_30_submissions_takes_under_3_minutes(tmp_path):
    for kind in ("student", "solution"):
        args = ["release", "--out", str(tmp_path / kind)] + (["--solutions"] if kind == "solution" else [])
        subprocess.run([sys.executable, "-m", "labkit", *args], check=True, capture_output=True)
    folder = tmp_path / "submissions"
    folder.mkdir()
    for copy in range(3):
        for lab in load_labs():
            for kind in ("student", "solution"):
                shutil.copy(tmp_path / kind / f"{lab.name}.ipynb", folder / f"{kind}-{copy}-{lab.name}.ipynb")
    assert len(list(folder.iterdir())) == 30

    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "labkit", "gradebook", str(folder), "--out", str(tmp_path / "grades.csv")],
                   check=True, capture_output=True, timeout=600)
    elapsed = time.monotonic() - started
    rows = list(csv.DictReader(open(tmp_path / "grades.csv")))
    assert len(rows) == 30 and all(r["status"] == "graded" for r in rows)
    assert all((r["score"] == r["max_score"]) == r["submission"].startswith("solution") for r in rows)
    assert elapsed <= 180, f"30 submissions took {elapsed:.0f} s"
