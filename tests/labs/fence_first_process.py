"""What the fence's first process (PID 1 of its namespaces; the kernel's parent) must hold, tried in the fence
mode in force; run as a script, as root or as an instructor, by test_fence_first_process.py. Prints one JSON
object: the mode, what a kernel's attempts on its first process came to, and, for each way a grader can go,
whether the kernel had started, the fence's exit code, what it printed, and the command lines of the processes
still running afterwards.

Each kernel here is a Python whose command line carries a token of its own, by which it is found in /proc.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

from labkit.grader import fence
from labtools import processes_naming, until

# When the grader is killed, counted from the start of the fence: at once, before the new root is built; at
# moments up to half a second in, inside the fence's start (an idle machine runs the kernel after about 0.1 s, a
# busy one later); and (None) once the kernel runs, however long its start takes.
KILL_AFTER = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, None)


SLEEPER = "import time; time.sleep(300)"

# A kernel that goes for its first process: read its memory and environment, trace it, signal it.
ATTACKER = """
import ctypes, json, os, signal, time
tried = {}
for name in ("environ", "mem", "maps"):
    try:
        with open(f"/proc/1/{name}", "rb") as file:
            file.read(1)
        tried[name] = "read"
    except OSError as error:
        tried[name] = type(error).__name__
libc = ctypes.CDLL(None, use_errno=True)
tried["ptrace"] = "attached" if libc.ptrace(16, 1, 0, 0) == 0 else "refused"  # PTRACE_ATTACH
for number in (signal.SIGKILL, signal.SIGSTOP, signal.SIGINT, signal.SIGTERM):
    try:
        os.kill(1, number)
    except OSError:
        pass
time.sleep(0.5)
tried["first process after the signals"] = open("/proc/1/stat").read().split()[2]
print(json.dumps(tried), flush=True)
"""


class Fence:
    """The launcher's command for a kernel running `code`, in a fresh work folder of the mode in force."""

    def __init__(self, how: str, code: str = SLEEPER):
        self.token = "fence-first-process-" + secrets.token_hex(8)
        self.run = fence.run_folder()
        uid = fence.uid_for_grading() if how == "root" else os.getuid()
        work = fence.work_folder(self.run, how, uid)
        (work / "site").mkdir()
        self.kernel = [sys.executable, "-c", f"{code}\n# {self.token}"]
        self.argv = fence.launcher(work, how, cpu=60, uid=uid) + self.kernel

    def kernel_running(self) -> bool:
        return " ".join(self.kernel) in processes_naming(self.token).values()

    def left(self) -> list[str]:
        """What still runs 10 s after the grader went; ended then, so that it burdens no later test."""
        until(lambda: not processes_naming(self.token), 10)
        left = processes_naming(self.token)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(self.run, ignore_errors=True)
        return sorted(left.values())

    def launch(self, fence_reads: int) -> subprocess.Popen:
        """The fence on `fence_reads`; what it prints goes to a file, which a kernel left behind cannot hold open."""
        self.printed = open(self.run.parent / (self.run.name + "-printed"), "w+b")
        return subprocess.Popen(self.argv, stdin=fence_reads, stderr=self.printed, env=fence.labkit_env())

    def what_it_printed(self) -> str:
        self.printed.seek(0)
        text = self.printed.read().decode(errors="replace")[-500:]
        self.printed.close()
        os.unlink(self.printed.name)
        return text


def pipe_closed(how: str, before_the_fence_starts: bool) -> dict:
    """The grader's pipe closed while the kernel runs, or before the fence starts."""
    one = Fence(how)
    fence_reads, grader_holds = os.pipe()
    if before_the_fence_starts:
        os.close(grader_holds)
    launched = one.launch(fence_reads)
    os.close(fence_reads)
    started = None
    if not before_the_fence_starts:
        started = until(one.kernel_running, 60)
        os.close(grader_holds)
    try:
        launched.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    return {"started": started, "exit": launched.returncode, "printed": one.what_it_printed(),
            "left": one.left()}


# A grader: it starts the fence on a pipe it holds, as labkit's does, then waits to be killed.
GRADER = """
import os, subprocess, sys, time
fence_reads, grader_holds = os.pipe()
subprocess.Popen(sys.argv[1:], stdin=fence_reads, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.write(1, b"started\\n")
time.sleep(300)
"""


def grader_killed(how: str, after: float | None) -> dict:
    one = Fence(how)
    grader = subprocess.Popen([sys.executable, "-c", GRADER, *one.argv], stdout=subprocess.PIPE,
                              env=fence.labkit_env())
    grader.stdout.readline()
    if after is None:
        until(one.kernel_running, 60)
    else:
        time.sleep(after)
    started = one.kernel_running()
    grader.kill()
    grader.wait()
    return {"started": started, "exit": None, "printed": "", "left": one.left()}


def attacked(how: str) -> dict:
    """What a kernel's attempts on its first process came to (the machine's init is PID 1 in the "none" mode)."""
    one = Fence(how, ATTACKER)
    fence_reads, grader_holds = os.pipe()
    done = subprocess.run(one.argv, stdin=fence_reads, capture_output=True, text=True, timeout=60,
                          env=fence.labkit_env())
    os.close(fence_reads)
    os.close(grader_holds)
    one.left()
    return json.loads(done.stdout) if done.returncode == 0 else {"failed": done.stderr[-500:]}


def main() -> None:
    how = fence.mode()
    ways = {"pipe closed while the kernel runs": pipe_closed(how, before_the_fence_starts=False),
            "pipe closed before the fence starts": pipe_closed(how, before_the_fence_starts=True)}
    for after in KILL_AFTER:
        when = "once the kernel runs" if after is None else f"{after:g} s into the start"
        ways[f"grader killed {when}"] = grader_killed(how, after)
    print(json.dumps({"mode": how, "attacked": attacked(how), "ways": ways}))


if __name__ == "__main__":
    main()
