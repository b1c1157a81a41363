"""Helpers shared by the lab tests (a module of its own: `conftest` names collide across test folders)."""
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat


def notebook(*sources, lab="toy", **metadata):
    """A submission with one code cell per source, as JupyterLab would save it."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    if lab:
        nb.metadata["labkit"] = {"lab": lab}
    nb.metadata.update(metadata)
    return nb


def write(path: Path, nb) -> Path:
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def by_name(result: dict) -> dict:
    return {t["name"]: t for t in result["tests"]}


def dump(result) -> str:
    return json.dumps(result, indent=1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def labkit_export(platform: str, lab: str, out: Path, *options: str) -> subprocess.CompletedProcess:
    """`labkit export PLATFORM LAB --out OUT [OPTIONS]`, its output captured."""
    return subprocess.run([sys.executable, "-m", "labkit", "export", platform, lab, "--out", str(out), *options],
                          capture_output=True, text=True, timeout=300)


def processes_naming(text: str) -> dict[int, str]:
    """The processes, other than this one, whose command line holds `text` and that the kernel is not already ending:
    pid, command line (spaces between the arguments). One with SIGKILL pending is left out: it runs no instruction of
    its own again, though it can stay queued, waiting for a processor to die on, for many seconds on a busy machine (a
    child forked an instant before its parent was killed, say)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if text not in cmdline or entry.name == str(os.getpid()) or killed(entry):
                continue
        except OSError:
            continue
        found[int(entry.name)] = cmdline.strip()
    return found


def killed(process: Path) -> bool:
    """SIGKILL is pending for the process in /proc folder `process` (sent to it, or to its whole group)."""
    pending = 0
    for line in (process / "status").read_text().splitlines():
        if line.startswith(("SigPnd:", "ShdPnd:")):
            pending |= int(line.split()[1], 16)
    return bool(pending & 1 << (signal.SIGKILL - 1))


def until(condition, seconds: float) -> bool:
    """Whether `condition()` comes true within `seconds`, looking every 50 ms."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
