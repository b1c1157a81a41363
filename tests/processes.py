"""Stopping the servers the tests start (JupyterLab, `make lab`, `python -m http.server`).

A test's cleanup must never fail the test: a server that takes long to exit on a busy machine is
terminated, given a few seconds, then killed. Start a server with ``start_new_session=True`` and the
signals reach its whole process group (make, the JupyterLab it runs, that one's kernels).
"""
import os
import signal
import subprocess

GRACE = 10  # seconds between SIGTERM and SIGKILL


def stop(process: subprocess.Popen, grace: float = GRACE) -> None:
    """Terminate `process` (and its group, if it leads one), wait up to `grace` seconds, then kill it."""
    if process.poll() is not None:
        return
    _signal(process, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        _signal(process, signal.SIGKILL)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:  # unkillable (uninterruptible I/O): the OS reaps it later
            pass


def _signal(process: subprocess.Popen, sig: int) -> None:
    try:
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    except ProcessLookupError:  # it exited between poll() and the signal
        pass
