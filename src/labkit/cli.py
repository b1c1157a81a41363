"""The `labkit` command: release, grade, gradebook; lab, status, install."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

# nbformat imports jsonschema, whose optional IRI format checker compiles a grammar at import
# (over a second of CPU). Notebooks never use that format; skipping it speeds every grading
# process of a gradebook.
sys.modules.setdefault("rfc3987_syntax", None)

from labkit.export import export
from labkit.export.gradescope import VISIBILITIES
from labkit.grader.grade import NOTEBOOK_TIMEOUT, NoFence, grade
from labkit.grader.gradebook import gradebook
from labkit.grader.text import plain
from labkit.labs import find_labs_root, load_labs, release
from labkit.status import folder_report
from labkit.workspace import install, open_lab


NO_FENCE_HELP = ("where neither root nor unprivileged user namespaces are available, grade anyway, with the "
                 "learner's code running as you and seeing your files (rows say unfenced)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description="Release and grade the book's labs.")
    parser.add_argument("--labs", help="the labs folder (default: the checkout's labs/, or ./labs)")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("release", help="write each lab's student notebook to DIR/<lab>.ipynb")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--force", action="store_true", help="overwrite notebooks that already exist")
    p.add_argument("--solutions", action="store_true", help="write the answer keys instead")
    p.add_argument("lab", nargs="*", help="only these labs (default: all)")

    p = commands.add_parser("grade", help="execute one notebook in a fresh kernel and grade it")
    p.add_argument("notebook")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--timeout", type=float, default=NOTEBOOK_TIMEOUT, help="seconds for the whole notebook")
    p.add_argument("--lab", help="the lab assigned (default: the notebook's folder, if named after a lab)")
    p.add_argument("--no-fence", action="store_true", help=NO_FENCE_HELP)

    p = commands.add_parser("gradebook", help="grade every notebook in DIR, in parallel, into a CSV")
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--out", required=True, metavar="CSV")
    p.add_argument("--jobs", type=int, help="notebooks graded at once (default: one per core)")
    p.add_argument("--timeout", type=float, default=NOTEBOOK_TIMEOUT, help="seconds per notebook")
    p.add_argument("--lab", help="the lab assigned (default: DIR's name, or DIR/<lab>/ for each lab)")
    p.add_argument("--feedback", metavar="FOLDER", help="also write one Markdown feedback file per submission here")
    p.add_argument("--no-fence", action="store_true", help=NO_FENCE_HELP)

    p = commands.add_parser("status", help="per lab and task: done, partly done or not started (reads the "
                                           "check results saved in the notebooks of DIR; runs and changes nothing)")
    p.add_argument("folder", nargs="?", default="workspace", metavar="DIR", help="default: workspace")

    p = commands.add_parser("lab", help="release the student notebooks into DIR (keeping existing ones) and open "
                                        "JupyterLab there with the lab kernel (what `make lab` runs)")
    p.add_argument("folder", nargs="?", default="workspace", metavar="DIR", help="default: workspace")
    p.add_argument("jupyter_args", nargs=argparse.REMAINDER, help="passed on to JupyterLab, e.g. --port=8899")

    p = commands.add_parser("install", help="install the lab kernel and JupyterLab's lab settings into PREFIX")
    p.add_argument("--prefix", default=sys.prefix, help="default: this Python's environment, %(default)s")

    p = commands.add_parser("export", help="write LAB for a platform: a Gradescope autograder zip, a GitHub Classroom "
                                           "starter repository, or a JupyterHub content folder (README.md: running a course)")
    p.add_argument("platform", choices=("gradescope", "classroom", "hub"))
    p.add_argument("lab")
    p.add_argument("--out", required=True, help="the zip (gradescope), the new repository's folder (classroom), or "
                                                 "the content folder, which may hold other labs (hub)")
    p.add_argument("--hidden-visibility", default="after_published",
                   choices=VISIBILITIES,
                   help="(gradescope) when learners see the hidden tests' results (default: %(default)s)")

    for sub in commands.choices.values():  # --labs reads naturally after the command too
        sub.add_argument("--labs", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        labs = load_labs(args.labs)
    except FileNotFoundError as error:
        parser.error(str(error))

    if args.command == "install":
        for path in install(args.prefix):
            print(f"wrote {path}")
        return 0

    if args.command == "status":
        if not Path(args.folder).is_dir():
            parser.error(f"no folder {args.folder} (`make lab` or `labkit release --out {args.folder}` makes it)")
        print(folder_report(args.folder, labs))
        return 0

    if args.command == "export":
        chosen = {lab.name: lab for lab in labs}.get(args.lab)
        if chosen is None:
            parser.error(f"no such lab: {args.lab} (labs: {', '.join(l.name for l in labs)})")
        try:
            print(f"wrote {export(args.platform, chosen, args.out, args.hidden_visibility)}")
        except (FileExistsError, ValueError, RuntimeError) as error:
            print(f"labkit export: {error}", file=sys.stderr)
            return 1
        return 0

    if args.command == "lab":
        for path, written in release(args.folder, labs):
            print(f"wrote {path}" if written else f"kept {path} (your work)")
        open_lab(args.folder, args.jupyter_args)

    if args.command == "release":
        unknown = set(args.lab) - {lab.name for lab in labs}
        if unknown:
            parser.error(f"no such lab: {', '.join(sorted(unknown))} (labs: {', '.join(l.name for l in labs)})")
        chosen = [lab for lab in labs if not args.lab or lab.name in args.lab]
        for path, written in release(args.out, chosen, force=args.force, solutions=args.solutions):
            print(f"wrote {path}" if written else f"kept {path} (already there; --force overwrites it)")
        return 0

    # `kill` ends grading as Ctrl-C does: through the cleanup that ends every kernel a submission started.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        if args.command == "grade":
            result = grade(args.notebook, labs, timeout=args.timeout, lab=args.lab, unfenced=args.no_fence)
            if args.json:
                print(json.dumps(result, indent=1))
            else:
                _print_result(args.notebook, result)
            return 1 if result.get("ungradable") else 0

        started = time.monotonic()
        rows = gradebook(args.folder, args.out, str(find_labs_root(args.labs)), args.jobs, args.timeout, args.lab,
                         args.feedback, unfenced=args.no_fence)
    except NoFence as refused:
        print(f"labkit {args.command}: refused: {refused}", file=sys.stderr)
        return 2
    bad = sum(r["status"].startswith("ungradable") for r in rows)
    review = sum(r["status"].startswith("needs review") for r in rows)
    fences = ", ".join(sorted({r["fence"] for r in rows})) or "none needed"
    print(f"graded {len(rows) - bad} of {len(rows)} notebooks in {time.monotonic() - started:.0f} s "
          f"({bad} ungradable, {review} to review; fence: {fences}) -> {args.out}"
          + (f"; feedback in {args.feedback}" if args.feedback else ""))
    if bad:
        print(f"labkit gradebook: {bad} notebook(s) could not be graded: see the status column of {args.out}",
              file=sys.stderr)
    return 1 if bad else 0


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def _print_result(name: str, result: dict) -> None:
    """The result for a terminal: everything that came from the submission is printed without control
    characters, which could otherwise move the cursor or rewrite what is shown."""
    fence = f" [fence: {result.get('fence')}]"
    if result.get("ungradable"):
        print(plain(f"{name}: ungradable: {result['ungradable']}") + fence)
        return
    print(plain(f"{name} ({result['lab']}): {result['score']:g}/{result['max_score']:g}") + fence
          + plain(f"  NEEDS REVIEW: {'; '.join(result['review'])}" if result.get("review") else ""))
    for test in result["tests"]:
        mark = "✓" if test["passed"] else "✗"
        print(plain(f"  {mark} {test['name']} {test['score']:g}/{test['max_score']:g}"
                    + (f": {test['message']}" if test["message"] else "")))
    for note in result.get("notes", []):
        print(plain(f"  note: {note}"))


if __name__ == "__main__":
    sys.exit(main())
