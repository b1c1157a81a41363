"""The command of each check step in a GitHub Classroom workflow (labkit.export.classroom): did this check pass in
the notebook's `labkit grade --json` result? It exits 0 if so, which earns the step its points, and prints the
check's message for the learner. One Python start per check: it imports nothing beyond the standard library."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def passed(result_file: str, check: str) -> int:
    try:
        graded = json.loads(Path(result_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        print(f"{check}: the notebook was not graded (no result in {result_file}): see the step that grades it")
        return 1
    if graded.get("ungradable"):
        print(f"{check}: the notebook could not be graded: {graded['ungradable']}")
        return 1
    for test in graded.get("tests", []):
        if test.get("name") == check:
            message = f": {test['message']}" if test["message"] else ""
            print(f"{check}: {test['score']:g}/{test['max_score']:g}{message}")
            return 0 if test["passed"] else 1
    print(f"{check}: expected a result for this check in {result_file}, but it has none")
    return 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: python -m labkit.export.classroom_check RESULT_JSON CHECK_NAME, but got {sys.argv[1:]}")
    sys.exit(passed(sys.argv[1], sys.argv[2]))
