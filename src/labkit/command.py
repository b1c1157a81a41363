"""The `labkit` command's entry point, installed with numtorch whether or not labkit's dependencies are.

They come with the `labkit` extra (`pip install 'numtorch[labkit]'`); without them the command says so,
instead of failing with a traceback at its first import.
"""

from __future__ import annotations

import sys

EXTRA = "pip install 'numtorch[labkit]'"


def main() -> int:
    try:
        from labkit.cli import main as run
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] in ("labkit", "numtorch"):
            raise  # a broken install of this project itself, not a missing dependency
        print(f"labkit: the labkit command needs {error.name}, which is not installed: {EXTRA}", file=sys.stderr)
        return 1
    return run()
