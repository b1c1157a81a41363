"""labtools.processes_naming decides what the grading tests count as left running after a grader: it must find a
process however it waits, and leave out only one the kernel is already ending (SIGKILL pending)."""
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from labtools import killed, processes_naming, until


@pytest.fixture
def sleeper():
    token = "labtools-" + secrets.token_hex(6)
    process = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep(60)  # {token}"])
    # Until it has started Python, the child shows this process's command line.
    started = until(lambda: token.encode() in Path(f"/proc/{process.pid}/cmdline").read_bytes(), 30)
    assert started, "the sleeper did not start within 30 s"
    yield process, token
    process.kill()
    process.wait()


def test_a_stopped_process_with_a_signal_pending_still_counts_as_running(sleeper):
    process, token = sleeper
    assert list(processes_naming(token)) == [process.pid]
    process.send_signal(signal.SIGSTOP)
    status = Path(f"/proc/{process.pid}/status")
    until(lambda: "\nState:\tT" in status.read_text(), 10)
    process.send_signal(signal.SIGTERM)  # held pending while the process is stopped
    status = status.read_text()
    assert f"{1 << (signal.SIGTERM - 1):016x}" in status, status
    assert list(processes_naming(token)) == [process.pid]


@pytest.mark.parametrize("pending, ending", [
    ({}, False),
    ({"SigPnd": 1 << (signal.SIGTERM - 1)}, False),
    ({"SigPnd": 1 << (signal.SIGKILL - 1)}, True),  # sent to the process
    ({"ShdPnd": 1 << (signal.SIGKILL - 1) | 1 << (signal.SIGTERM - 1)}, True),  # sent to its whole group
])
def test_only_a_pending_sigkill_marks_a_process_as_ending(tmp_path, pending, ending):
    lines = ["Name:\tpython", "State:\tR (running)"]
    lines += [f"{field}:\t{pending.get(field, 0):016x}" for field in ("SigPnd", "ShdPnd")]
    lines += ["SigBlk:\t0000000000000000", f"SigIgn:\t{1 << (signal.SIGKILL - 1):016x}"]
    (tmp_path / "status").write_text("\n".join(lines) + "\n")
    assert killed(tmp_path) is ending
