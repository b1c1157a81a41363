"""The fence's first process, in each mode the fence runs in (as root, as an ordinary user with user namespaces,
and without them; tests/labs/fence_first_process.py): no kernel outlives its grader, however and whenever the
grader goes (closing its pipe to the fence while the kernel runs, gone before the fence starts, killed at any
moment of the fence's start), and a kernel can neither read, trace nor stop the process that watches it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from instructor import as_user, root_or_skip, throwaway_user
from labkit.grader import fence

FIRST_PROCESS = str(Path(__file__).with_name("fence_first_process.py"))
SOURCE = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module", params=["root", "userns", "none"])
def found(request, skip_or_fail_on_ci):
    """fence_first_process.py's findings, run as root, or as a throwaway user with user namespaces or without."""
    argv = [sys.executable, FIRST_PROCESS]
    if request.param == "root":
        if fence.mode() != "root":
            pytest.skip("the root fence needs root")
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": SOURCE, "TMPDIR": "/tmp"})
    else:
        root_or_skip(skip_or_fail_on_ci)
        with throwaway_user() as name:
            command = as_user(name, argv, user_namespaces=request.param == "userns", env={"PYTHONPATH": SOURCE})
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    assert found["mode"] == request.param, f"expected the {request.param} fence, but got {found['mode']}"
    return found


@pytest.fixture
def gone(found):
    return found["ways"]


def test_nothing_outlives_a_grader_however_it_goes(gone):
    left = {way: seen["left"] for way, seen in gone.items() if seen["left"]}
    assert left == {}


def test_a_closed_pipe_ends_a_running_kernel_with_the_reason(gone):
    seen = gone["pipe closed while the kernel runs"]
    assert seen["started"], "the kernel never started"
    assert seen["exit"] == 1, seen
    assert "the grader closed its pipe, or is gone" in seen["printed"], seen


def test_a_fence_started_after_its_grader_has_gone_ends_at_once(gone):
    seen = gone["pipe closed before the fence starts"]
    assert seen["exit"] == 1, seen
    assert "the fence did not start the kernel" in seen["printed"], seen


def test_the_kills_span_the_whole_start(gone):
    # The first kill must land before the kernel runs and the last after: otherwise the moments in between, where a
    # kernel could slip through, were not tried.
    started = [seen["started"] for way, seen in gone.items() if way.startswith("grader killed")]
    assert started[0] is False and started[-1] is True, started


@pytest.mark.parametrize("found", ["root", "userns"], indirect=True)  # unfenced, PID 1 is the machine's init
def test_a_kernel_can_neither_read_trace_nor_stop_its_first_process(found):
    assert found["attacked"] == {"environ": "PermissionError", "mem": "PermissionError", "maps": "PermissionError",
                                 "ptrace": "refused", "first process after the signals": "S"}
