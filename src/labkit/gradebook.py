"""Grade every notebook in a folder, in parallel, into one CSV row per submission.

Each submission is graded by its own `labkit grade` process with a hard time limit, so
nothing one submission does (a crash of the grader included) can stop the others.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from labkit.grade import NOTEBOOK_TIMEOUT, _short, labkit_env, ungradable

FIXED = ["submission", "lab", "score", "max_score", "status", "notes"]


def grade_one(path: Path, labs_root: str, timeout: float) -> dict:
    command = [sys.executable, "-m", "labkit", "grade", str(path), "--json", "--labs", labs_root,
               "--timeout", str(timeout)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 60, env=labkit_env())
        return json.loads(done.stdout)
    except subprocess.TimeoutExpired:
        return ungradable(f"grading took longer than {timeout + 60:g} s")
    except json.JSONDecodeError:
        last = done.stderr.strip().splitlines()[-1:]  # a traceback ends with the error itself
        return ungradable(f"the grader failed: {_short(last[0] if last else f'exit {done.returncode}')}")


def gradebook(folder: str | os.PathLike, out: str | os.PathLike, labs_root: str, jobs: int | None = None,
              timeout: float = NOTEBOOK_TIMEOUT) -> list[dict]:
    paths = sorted(p for p in Path(folder).glob("*.ipynb") if p.is_file())
    jobs = jobs or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda p: grade_one(p, labs_root, timeout), paths))

    several_labs = len({r["lab"] for r in results if r["lab"]}) > 1
    columns: list[str] = []
    rows = []
    for path, result in zip(paths, results):
        row = {"submission": path.name, "lab": result["lab"] or "", "score": result["score"],
               "max_score": result["max_score"],
               "status": f"ungradable: {result['ungradable']}" if result.get("ungradable") else "graded",
               "notes": "; ".join(result.get("notes", []))}
        for test in result["tests"]:
            column = f"{result['lab']}:{test['name']}" if several_labs else test["name"]
            if column not in columns:
                columns.append(column)
            row[column] = test["score"]
        rows.append(row)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIXED + columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return rows
