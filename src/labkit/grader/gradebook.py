"""Grade every notebook in a folder, in parallel, into one CSV row per submission.

Each submission is graded in a process of its own, forked from the gradebook's (which has already imported
the grader and read the labs, so a grading starts at once), with a hard time limit, so nothing one
submission does (a crash of the grader included) can stop the others. The lab comes from the assignment:
`--lab`, else the folder's name, else (for `DIR/<lab>/*.ipynb`) the subfolder's name; only without any of
these does a notebook's own metadata tell, noted on its row. When the gradebook returns, or is killed, no
process a submission started is left.
"""

from __future__ import annotations

import csv
import json
import os
import selectors
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

from labkit.checks import limit_message
from labkit.grader import fence
from labkit.grader.grade import NOTEBOOK_TIMEOUT, fence_in_force, grade, tests_of, ungradable
from labkit.grader.text import cell, md
from labkit.labs import Lab, load_labs

FIXED = ["submission", "lab", "score", "max_score", "status", "fence", "notes"]
HARD_LIMIT_MARGIN = 60  # s beyond a notebook's own time limit before its grading process is killed


class _Grading:
    """One submission's grading process, forked from this one: its result arrives whole on a pipe, what it
    prints goes to a file of its own (the last line says why, should it fail). Its run folder (its kernel's
    work) is made here and removed here once the process has ended, however it ended."""

    def __init__(self, path: Path, lab: str | None, labs: list[Lab], timeout: float, unfenced: bool):
        self.limit = timeout + HARD_LIMIT_MARGIN
        self.deadline = time.monotonic() + self.limit
        self.chunks: list[bytes] = []
        self.log = tempfile.TemporaryFile()
        self.run = fence.run_folder()
        self.pipe, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:
            _child(parent, write, self.log.fileno(), path, lab, labs, timeout, unfenced, self.run)
        os.close(write)

    def stop(self, grace: float = 10) -> None:
        """End the grading early, through its own cleanup (it ends on SIGTERM as `labkit grade` does, its
        kernel and run folder with it), and for good if it has not ended within `grace` seconds."""
        os.kill(self.pid, signal.SIGTERM)
        end = time.monotonic() + grace
        while os.waitpid(self.pid, os.WNOHANG)[0] == 0:
            if time.monotonic() > end:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.05)
        self._ended()
        self.log.close()

    def result(self, timed_out: bool = False) -> dict:
        """The grading's result, once its pipe has closed; or, `timed_out`, after killing it."""
        if timed_out:
            os.kill(self.pid, signal.SIGKILL)
        status = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        self._ended()
        with self.log:
            if timed_out:
                return ungradable(f"grading took longer than {self.limit:g} s")
            try:
                return json.loads(b"".join(self.chunks))
            except ValueError:  # it died before sending all of it
                self.log.seek(0)
                last = self.log.read().decode("utf-8", "replace").strip().splitlines()[-1:]  # a traceback's error
                return ungradable(f"the grader failed: {limit_message(last[0] if last else f'exit {status}')}")

    def _ended(self) -> None:
        """Once the process has ended: what it left (a grading killed before its cleanup, a kernel's files) goes."""
        os.close(self.pipe)
        shutil.rmtree(self.run, ignore_errors=True)


def _child(parent: int, write: int, log: int, path: Path, lab: str | None, labs: list[Lab], timeout: float,
           unfenced: bool, run: Path):
    """The forked process: grade, send the result, and leave without running anything of the parent's at exit.
    It ends, through its cleanup, when the gradebook ends, killed or not: `labkit gradebook` ends a grading
    on SIGTERM (SystemExit) as `labkit grade` does."""
    status = 1
    try:
        fence.end_with_parent(parent)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.stdout = sys.stderr = open(log, "w", encoding="utf-8", closefd=False)
        data = json.dumps(grade(path, labs, timeout=timeout, lab=lab, unfenced=unfenced, run=run)).encode()
        with os.fdopen(write, "wb") as out:
            out.write(data)
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def grade_all(found: list[tuple[Path, str | None]], labs: list[Lab], jobs: int, timeout: float,
              unfenced: bool) -> list[dict]:
    """Each (notebook, assigned lab) graded in a forked process, `jobs` at a time; results in the same order."""
    results: list[dict | None] = [None] * len(found)
    waiting = list(enumerate(found))[::-1]
    running: dict[int, tuple[int, _Grading]] = {}  # pipe -> (index, grading)
    with selectors.DefaultSelector() as selector:
        try:
            while waiting or running:
                while waiting and len(running) < jobs:
                    index, (path, lab) = waiting.pop()
                    grading = _Grading(path, lab, labs, timeout, unfenced)
                    running[grading.pipe] = (index, grading)
                    selector.register(grading.pipe, selectors.EVENT_READ)
                soonest = min(g.deadline for _, g in running.values())
                for key, _ in selector.select(max(0.0, soonest - time.monotonic())):
                    chunk = os.read(key.fd, 1 << 16)
                    index, grading = running[key.fd]
                    if chunk:
                        grading.chunks.append(chunk)
                        continue
                    selector.unregister(key.fd)
                    del running[key.fd]
                    results[index] = grading.result()
                for pipe, (index, grading) in list(running.items()):
                    if time.monotonic() > grading.deadline:
                        selector.unregister(pipe)
                        del running[pipe]
                        results[index] = grading.result(timed_out=True)
        finally:
            for index, grading in running.values():  # interrupted (Ctrl-C, kill): no grading outlives us
                grading.stop()
    return results


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
    labs = load_labs(labs_root)
    found = submissions(folder, lab, {l.name for l in labs})
    assigned = {name for _, name in found}
    for each in labs:  # read once here, the assigned labs' tests are there in every grading process
        if each.name in assigned:
            tests_of(each)
    reaping = fence.become_subreaper()  # a grading process that is killed leaves its kernel to us
    try:
        results = grade_all(found, labs, jobs or os.cpu_count() or 1, timeout, unfenced)
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
