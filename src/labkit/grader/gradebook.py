"""Grade every notebook in a folder, in parallel, into one CSV row per submission.

Each submission is graded by its own `labkit grade` process with a hard time limit, so
nothing one submission does (a crash of the grader included) can stop the others. The lab
comes from the assignment: `--lab`, else the folder's name, else (for `DIR/<lab>/*.ipynb`)
the subfolder's name; only without any of these does a notebook's own metadata tell, noted
on its row. When the gradebook returns, no process a submission started is left.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from labkit.checks import limit_message
from labkit.grader import fence
from labkit.grader.grade import NOTEBOOK_TIMEOUT, fence_in_force, ungradable
from labkit.grader.text import cell, md
from labkit.labs import load_labs

FIXED = ["submission", "lab", "score", "max_score", "status", "fence", "notes"]


def grade_one(path: Path, labs_root: str, timeout: float, lab: str | None, unfenced: bool) -> dict:
    command = [sys.executable, "-m", "labkit", "grade", str(path), "--json", "--labs", labs_root,
               "--timeout", str(timeout)] + (["--lab", lab] if lab else []) + (["--no-fence"] if unfenced else [])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 60,
                              env=fence.labkit_env())
        result = json.loads(done.stdout)
        if not isinstance(result, dict):
            raise json.JSONDecodeError("not an object", done.stdout, 0)
        return result
    except subprocess.TimeoutExpired:
        return ungradable(f"grading took longer than {timeout + 60:g} s")
    except json.JSONDecodeError:
        last = done.stderr.strip().splitlines()[-1:]  # a traceback ends with the error itself
        return ungradable(f"the grader failed: {limit_message(last[0] if last else f'exit {done.returncode}')}")


def submissions(folder: Path, lab: str | None, lab_names: set[str]) -> list[tuple[Path, str | None]]:
    """(notebook, assigned lab) for DIR/*.ipynb and, without --lab, DIR/<lab>/*.ipynb. Whatever is named
    *.ipynb gets a row, a link or a folder included (the grader says why it cannot grade it); lab folders
    are entered only when they are folders, not links."""
    assigned = lab or (folder.resolve().name if folder.resolve().name in lab_names else None)
    found = [(p, assigned) for p in sorted(folder.glob("*.ipynb"))]
    if not lab:
        for sub in sorted(p for p in folder.iterdir() if p.name in lab_names and p.is_dir() and not p.is_symlink()):
            found += [(p, sub.name) for p in sorted(sub.glob("*.ipynb"))]
    return found


def status(result: dict) -> str:
    if result.get("ungradable"):
        return f"ungradable: {result['ungradable']}"
    if result.get("review"):
        return "needs review: " + "; ".join(result["review"])
    return "graded" + (" (unfenced)" if result.get("fence") == "unfenced" else "")


def gradebook(folder: str | os.PathLike, out: str | os.PathLike, labs_root: str, jobs: int | None = None,
              timeout: float = NOTEBOOK_TIMEOUT, lab: str | None = None,
              feedback: str | os.PathLike | None = None, unfenced: bool = False) -> list[dict]:
    """Grade every submission into `out`; raises labkit.grader.grade.NoFence where no fence can be had and `unfenced`
    is not given."""
    mode = fence_in_force(unfenced)
    folder = Path(folder)
    found = submissions(folder, lab, {l.name for l in load_labs(labs_root)})
    jobs = jobs or os.cpu_count() or 1
    reaping = fence.become_subreaper()  # a grade process that is killed leaves its kernel to us
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(lambda item: grade_one(item[0], labs_root, timeout, item[1], unfenced), found))
    finally:
        if reaping:
            fence.end_descendants()

    names = [str(p.relative_to(folder)) for p, _ in found]
    several_labs = len({r["lab"] for r in results if r["lab"]}) > 1
    columns: list[str] = []
    rows = []
    for name, result in zip(names, results):
        row = {"submission": name, "lab": result["lab"] or "", "score": result["score"],
               "max_score": result["max_score"], "status": status(result), "fence": result.get("fence") or mode,
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
        writer.writerows({k: cell(v) for k, v in row.items()} for row in rows)
    if feedback:
        write_feedback(Path(feedback), names, results)
    return rows


def write_feedback(folder: Path, names: list[str], results: list[dict]) -> list[Path]:
    """One Markdown file per submission, to hand back: the score, each test with its message, the notes."""
    folder.mkdir(parents=True, exist_ok=True)
    written, taken = [], set()
    for name, result in zip(names, results):
        stem = name.replace(os.sep, "__").removesuffix(".ipynb")
        path, n = folder / f"{stem}.md", 1
        while path.name in taken:  # a/b.ipynb and a__b.ipynb, say: each keeps a file of its own
            n += 1
            path = folder / f"{stem}-{n}.md"
        taken.add(path.name)
        path.write_text(feedback_markdown(name, result), encoding="utf-8")
        written.append(path)
    return written


def feedback_markdown(name: str, result: dict) -> str:
    lines = [f"# Feedback on {md(name)}", ""]
    if result.get("ungradable"):
        return "\n".join(lines + [f"This notebook could not be graded: {md(result['ungradable'])}.", ""])
    lines += [f"**Lab:** {md(result['lab'])}  ", f"**Score:** {result['score']:g} / {result['max_score']:g}  ",
              f"**Status:** {md(status(result))}", "", "| | Test | Points | What to fix |", "|---|---|---|---|"]
    for test in result["tests"]:
        mark = "✓" if test["passed"] else "✗"
        lines.append(f"| {mark} | {md(test['name'].replace('_', ' '))} | {test['score']:g} / {test['max_score']:g} | "
                     f"{md(test['message']) or '—'} |")
    if result.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {md(note)}" for note in result["notes"]]
    return "\n".join(lines) + "\n"
