"""The fenced kernel's parts: numtorch without the lab's layers, and no process left behind."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from labkit.grader import fence
from test_red_team import leftovers


def test_the_kernels_numtorch_has_no_layer_of_the_lab_nor_its_family(tmp_path):
    fence.build_site(tmp_path, ("Conv2d", "BatchNorm2d"))
    code = ("import numtorch.nn as nn, numtorch.nn.functional as F, numtorch.nn.modules.conv as conv;"
            "print(sorted(n for n in ('Conv2d', 'Conv1d', 'BatchNorm2d', 'BatchNorm1d', 'Linear', 'Dropout')"
            " if hasattr(nn, n)), hasattr(conv, '_ConvNd'), callable(F.batch_norm), callable(F.conv2d))")
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(tmp_path)),
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.split() == ["['Dropout',", "'Linear']", "False", "True", "True"], done.stderr


def test_without_names_leaves_a_module_without_them_untouched():
    import ast

    tree = ast.parse("class Other:\n    pass\n__all__ = ['Other']\n")
    assert fence.without_names(tree, {"Dropout"}) is False


def test_a_detached_grandchild_is_found_and_ended(tmp_path):
    # In a process of its own: ending every descendant of the test process itself would also end
    # what the test session started (the shared Chromium, servers of other tests).
    marker = tmp_path / "alive"
    grandchild = (f"import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                  f"        open({str(marker)!r}, 'w').close()\n        time.sleep(600)\n    os._exit(0)\n")
    grader = f"""
import os, subprocess, sys, time
from labkit.grader import fence
assert fence.become_subreaper()
subprocess.run([sys.executable, "-c", {grandchild!r}], check=True)
for _ in range(100):
    if os.path.exists({str(marker)!r}):
        break
    time.sleep(0.05)
orphans = fence.descendants()
fence.end_descendants()
alive = [p for p in orphans if os.path.exists(f"/proc/{{p}}") and open(f"/proc/{{p}}/stat").read().split()[2] != "Z"]
print(len(orphans), len(alive))
"""
    done = subprocess.run([sys.executable, "-c", grader], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found, alive = map(int, done.stdout.split())
    assert found >= 1, "the detached grandchild should have become the grader's child"
    assert alive == 0, "a descendant outlived end_descendants()"


@pytest.mark.skipif(fence.mode() != "root", reason="builds a new root in a mount namespace: needs root")
def test_the_new_root_keeps_a_python_environment_that_lies_under_tmp():
    # The new root gets an empty /tmp of its own; an environment under /tmp (a checkout there) must be
    # mounted after it, or every grading kernel dies at its start (seen: "Kernel died before replying").
    under_tmp, run = Path(tempfile.mkdtemp(dir="/tmp", prefix="labkit-test-venv-")), fence.run_folder()
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(under_tmp)], check=True)
        work = fence.work_folder(run, "root", fence.uid_for_grading())
        fence.build_site(work / "site", ())
        probe = f"""
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("fence", {str(Path(fence.__file__))!r})
fence = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fence)
fence._enter_new_root(__import__("pathlib").Path({str(work)!r}), 0)
print(sys.prefix.startswith("/tmp/"), os.path.isdir(sys.prefix), os.path.isfile(sys.executable))
"""
        done = subprocess.run(["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--mount",
                               str(under_tmp / "bin" / "python"), "-c", probe], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["True", "True", "True"], done.stdout
    finally:
        shutil.rmtree(under_tmp, ignore_errors=True)
        shutil.rmtree(run, ignore_errors=True)


@pytest.mark.parametrize("command", ["grade", "gradebook"])
@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_kernel_does_not_outlive_a_grader_that_is_killed(tmp_path, toy_labs, signal_number, command):
    """Killed, `labkit grade` takes its kernel with it, and `labkit gradebook` its gradings (forked from it) and
    their kernels; ended by SIGTERM, each also removes the run folders of its gradings."""
    from labtools import notebook, write

    (tmp_path / "toy").mkdir()  # a folder named after the lab: the gradebook's assignment
    submission = write(tmp_path / "toy" / "toy.ipynb", notebook("import time\ntime.sleep(120)"))
    runs = Path(tempfile.mkdtemp(prefix="killed-"))  # this grader's run folders only
    runs.chmod(0o711)
    labs = str(Path(__file__).parent / "toylabs")
    args = (["grade", str(submission), "--lab", "toy"] if command == "grade"
            else ["gradebook", str(submission.parent), "--out", str(tmp_path / "grades.csv")])
    grader = subprocess.Popen([sys.executable, "-m", "labkit", "--labs", labs, *args],
                              env=dict(fence.labkit_env(), TMPDIR=str(runs)), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)

    def kernel_started():
        # The kernel's own process: the fence's launchers before it name ipykernel_launcher in their command lines too.
        return any(line.split()[1:3] == ["-m", "ipykernel_launcher"] for line in leftovers(runs))

    try:
        for _ in range(600):  # until the learner's cell runs in its kernel
            if kernel_started():
                break
            time.sleep(0.1)
        assert kernel_started(), "the kernel never started"
        grader.send_signal(signal_number)
        grader.wait(timeout=60)
        for _ in range(100):
            if not leftovers(runs) and (signal_number == signal.SIGKILL or not any(runs.iterdir())):
                break
            time.sleep(0.1)
        assert leftovers(runs) == []
        if signal_number == signal.SIGTERM:
            assert sorted(str(path.relative_to(runs)) for path in runs.rglob("*")) == []
    finally:
        grader.kill()
        shutil.rmtree(runs, ignore_errors=True)



@pytest.mark.parametrize("grader", ["stays", "goes"])
@pytest.mark.parametrize("pidfds", [True, False], ids=["pidfds", "pidfd_open refused"])
def test_the_first_process_exits_with_its_kernel_or_ends_it_when_the_grader_goes(pidfds, grader):
    # A container whose system-call filter predates pidfds refuses pidfd_open: the fence must still see its kernel end.
    first_process = f"""
import os, time
from labkit.grader import fence
if not {pidfds}:
    def refused(pid):
        raise PermissionError(1, "Operation not permitted")
    os.pidfd_open = refused
kernel = os.fork()
if kernel == 0:
    time.sleep({0.3 if grader == "stays" else 60})
    os._exit(3)
fence._stand_by(kernel)
"""
    fence_reads, grader_holds = os.pipe()
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-c", first_process], stdin=fence_reads, stderr=subprocess.PIPE,
                               env=fence.labkit_env(), start_new_session=True)
    os.close(fence_reads)
    if grader == "goes":
        os.close(grader_holds)
    try:
        code = process.wait(timeout=30)
    finally:
        with contextlib.suppress(OSError):  # the kernel too, should the first process have left it behind
            os.killpg(process.pid, signal.SIGKILL)
        if grader == "stays":
            os.close(grader_holds)
    printed = process.stderr.read().decode()
    if grader == "stays":
        assert code == 3, printed
    else:
        assert code == 1 and "the grader closed its pipe, or is gone" in printed, printed
    assert time.monotonic() - started < 10
