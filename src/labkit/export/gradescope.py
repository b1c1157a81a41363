"""A lab as a Gradescope autograder, and what that autograder runs for each submission.

`build` writes the zip the instructor uploads, laid out as Gradescope's autograder specification asks:
`setup.sh` and `run_autograder` at its root (Gradescope unpacks it into /autograder/source), with the pins,
labkit's wheel, the lab's source (its answer key and hidden tests: they stay in the zip, on Gradescope's side)
and `labkit-autograder.json` (the lab, and how long hidden tests stay hidden).

For each submission, `run_autograder` calls `python -m labkit.export.gradescope /autograder`, which grades the
one notebook in /autograder/submission with `labkit grade --json` and writes /autograder/results/results.json:
the total score, and a test per check and hidden test with its points, its message to the learner and its
visibility. A submission that cannot be graded, or whose grading needs a person's look, scores 0 with an output
that says why; it never ends without a results.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import zipfile
from importlib import resources
from pathlib import Path

from labkit.export.environment import build_wheel, pinned_requirements
from labkit.labs import Lab

# Gradescope's visibility settings, from most to least hidden.
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
CONFIG = "labkit-autograder.json"
# `labkit grade` ends a notebook itself (its --timeout); this only stops a grader that hangs.
GRADE_TIMEOUT = 30 * 60


def build(lab: Lab, out: str | Path, hidden_visibility: str = "after_published") -> Path:
    """Write `lab`'s autograder zip to `out`."""
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"hidden tests' visibility must be one of {', '.join(VISIBILITIES)}, "
                         f"but got {hidden_visibility!r}")
    config = {"lab": lab.name, "hidden_tests": [test.name for test in lab.hidden_tests()],
              "hidden_visibility": hidden_visibility}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    templates = resources.files("labkit.export") / "templates"
    with tempfile.TemporaryDirectory(prefix="labkit-export-") as scratch:
        wheel = build_wheel(Path(scratch))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for script in ("setup.sh", "run_autograder"):
                _add(archive, script, (templates / script).read_bytes(), executable=True)
            _add(archive, "requirements.txt", ("\n".join(pinned_requirements()) + "\n").encode())
            _add(archive, wheel.name, wheel.read_bytes())
            for path in sorted(lab.path.parent.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    _add(archive, f"labs/{lab.name}/{path.relative_to(lab.path.parent).as_posix()}", path.read_bytes())
            _add(archive, CONFIG, (json.dumps(config, indent=1) + "\n").encode())
    return out


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # the same lab gives the same zip
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    archive.writestr(info, data)


def results(graded: dict, hidden_tests: set[str], hidden_visibility: str, seconds: float) -> dict:
    """Gradescope's results.json for one `labkit grade --json` result."""
    # Plain text: what a submission controls (its file name, its exceptions' messages) is shown, never rendered.
    report = {"execution_time": round(seconds), "stdout_visibility": "hidden", "output_format": "text"}
    if graded.get("ungradable"):
        return dict(report, score=0, tests=[], output=f"This notebook could not be graded: {graded['ungradable']}.")
    tests = []
    for test in graded["tests"]:
        hidden = test["name"] in hidden_tests
        tests.append({
            "name": test["name"],
            "score": test["score"],
            "max_score": test["max_score"],
            "status": "passed" if test["passed"] else "failed",
            "output": test["message"] or ("passed" if test["passed"] else "failed"),
            "output_format": "text",
            "visibility": hidden_visibility if hidden else "visible",
        })
    lines = [f"{graded['lab']}: {graded['score']:g} of {graded['max_score']:g} points."]
    score = graded["score"]
    if graded.get("review"):
        score = 0
        lines = [f"{graded['lab']}: held for your instructor to review, so it scores 0 until then "
                 f"(the tests below found {graded['score']:g} of {graded['max_score']:g} points): "
                 + "; ".join(graded["review"]) + "."]
    lines += [f"Note: {note}" for note in graded.get("notes", [])]
    return dict(report, score=score, tests=tests, output="\n".join(lines))


def failed(why: str, seconds: float = 0.0) -> dict:
    """results.json for a submission that never reached the grader's verdict."""
    return {"score": 0, "execution_time": round(seconds), "stdout_visibility": "hidden", "output_format": "text",
            "tests": [], "output": f"This submission could not be graded: {why}."}


def run(root: Path) -> dict:
    """Grade the submission under `root` (Gradescope's /autograder) and return its results.json."""
    started = time.monotonic()
    config = json.loads((root / "source" / CONFIG).read_text(encoding="utf-8"))
    submission = root / "submission"
    notebooks = sorted(submission.glob("*.ipynb")) if submission.is_dir() else []
    if len(notebooks) != 1:
        handed = sorted(p.name for p in submission.iterdir()) if submission.is_dir() else []
        return failed(f"expected one .ipynb notebook (the lab's notebook, {config['lab']}.ipynb), but got "
                      + (", ".join(handed) if handed else "no files"), time.monotonic() - started)
    command = [sys.executable, "-m", "labkit", "--labs", str(root / "source" / "labs"), "grade", "--json",
               "--lab", config["lab"], str(notebooks[0])]
    print("running:", " ".join(command), flush=True)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=GRADE_TIMEOUT, cwd=root)
    except subprocess.TimeoutExpired:
        return failed("the grader did not finish in time", time.monotonic() - started)
    print(done.stderr, end="", flush=True)  # the instructor sees it in the autograder's output, the learner not
    seconds = time.monotonic() - started
    if done.returncode == 2:
        return failed("this platform cannot fence the notebook's code off from the grader, so it was not run "
                      "(your instructor can see why in the autograder's output)", seconds)
    try:
        graded = json.loads(done.stdout)
    except ValueError:
        return failed(f"the grader stopped with exit code {done.returncode} (the autograder's output says why)",
                      seconds)
    print(f"graded {notebooks[0].name} as {config['lab']}: "
          + (f"ungradable: {graded['ungradable']}" if graded.get("ungradable")
             else f"{graded['score']:g}/{graded['max_score']:g}, fence {graded.get('fence')}"), flush=True)
    return results(graded, set(config["hidden_tests"]), config["hidden_visibility"], seconds)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0] if argv else "/autograder")
    try:
        report = run(root)
    except Exception as error:  # the platform needs a results.json whatever happened
        print(f"labkit autograder: {type(error).__name__}: {error}", file=sys.stderr)
        report = failed("the autograder itself failed (your instructor can see why in its output)")
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
