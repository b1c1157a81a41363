"""The warm kernels Sphinx runs the book's pages in and nbval the pages on torch and the labs
(book/extensions/warm_kernels.py): each starts where, and with the environment, its kernel manager says, draws
random numbers of its own, stops a cell on an interrupt, and ends when the process its kernel manager started
(the stand-in) is killed; `run` gives its command warm `python3` kernels and passes on its exit code, for root and
for an ordinary user (who builds the book on their own machine)."""
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

import warm_kernels
from instructor import as_user, open_folder, root_or_skip, throwaway_user
from processes import stop

REPORT = ("import os, random, sys, numpy; print(os.getcwd(), os.environ['WARM_KERNEL_TEST'], sys.path[0], os.getpid(), "
          "'torch' in sys.modules, 'numtorch' in sys.modules, random.random(), numpy.random.rand())")


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("warm")
    server = warm_kernels.start_server(folder)
    yield KernelSpecManager(kernel_dirs=[str(folder / "kernels")])
    stop(server)


@contextlib.contextmanager
def warm_kernel(specs, cwd):
    """A warm kernel started in `cwd` with WARM_KERNEL_TEST set: its manager, and a function that runs code in it
    and returns the reply and the printed words."""
    manager = KernelManager(kernel_name=warm_kernels.NAME, kernel_spec_manager=specs)
    manager.start_kernel(cwd=str(cwd), env=dict(os.environ, WARM_KERNEL_TEST="from-the-manager"))
    client = manager.client()
    client.start_channels()

    def run(code, timeout=60):
        printed = []
        reply = client.execute_interactive(code, timeout=timeout, output_hook=lambda message: printed.append(
            message["content"].get("text", "")) if message["msg_type"] == "stream" else None)
        return reply["content"], "".join(printed).split()

    try:
        client.wait_for_ready(timeout=60)
        yield manager, run
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_kernel_runs_where_and_with_the_environment_its_manager_gave(specs, tmp_path):
    with warm_kernel(specs, tmp_path) as (_, run):
        reply, (cwd, mark, first_path, _, torch_preloaded, numtorch_preloaded, *_) = run(REPORT)
    assert reply["status"] == "ok"
    assert [cwd, mark, first_path] == [str(tmp_path), "from-the-manager", str(tmp_path)]
    assert (torch_preloaded, numtorch_preloaded) == ("True", "False")


def test_two_kernels_draw_different_random_numbers(specs, tmp_path):
    draws = []
    for _ in range(2):
        with warm_kernel(specs, tmp_path) as (_, run):
            draws.append(run(REPORT)[1][-2:])
    assert draws[0][0] != draws[1][0] and draws[0][1] != draws[1][1], draws


def test_an_interrupt_stops_the_running_cell(specs, tmp_path):
    with warm_kernel(specs, tmp_path) as (manager, run):
        threading.Timer(2, manager.interrupt_kernel).start()
        started = time.monotonic()
        reply, _ = run("import time; time.sleep(60)", timeout=30)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    assert time.monotonic() - started < 20


def test_a_kernel_ends_when_its_stand_in_is_killed(specs, tmp_path):
    with warm_kernel(specs, tmp_path) as (manager, run):
        pid = int(run(REPORT)[1][3])
        assert pid != manager.provisioner.pid  # the kernel is forked from the server, not the process started
        os.kill(manager.provisioner.pid, signal.SIGKILL)  # as jupyter_client kills a kernel
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)
        assert not Path(f"/proc/{pid}").exists(), "the forked kernel outlived its stand-in"


# Run by `run`: a kernel of the spec `python3`, as jupyter-book starts one for each page.
IN_RUN = """
import os, sys
from jupyter_client.manager import start_new_kernel
manager, client = start_new_kernel(kernel_name="python3")
printed = []
client.execute_interactive("import sys; print('matplotlib.pyplot' in sys.modules, 'numtorch' in sys.modules)",
                           timeout=60, output_hook=lambda m: printed.append(m["content"].get("text", "")))
client.stop_channels()
manager.shutdown_kernel(now=True)
print(os.environ["JUPYTER_PATH"].split(os.pathsep)[0], "".join(printed).strip())
sys.exit(3)
"""


@pytest.fixture(params=["this user", "ordinary user"])
def as_whom(request, skip_or_fail_on_ci):
    """How to run a command as whoever builds the book: this user (root, under CI), or a throwaway ordinary user,
    as an instructor on their own machine (tests/instructor.py)."""
    if request.param == "this user":
        yield lambda argv: argv
        return
    root_or_skip(skip_or_fail_on_ci)
    runtime = open_folder()  # jupyter_client's connection files: the user has no home
    with throwaway_user() as name:
        yield lambda argv: as_user(name, argv, env={"JUPYTER_RUNTIME_DIR": str(runtime)})
    shutil.rmtree(runtime, ignore_errors=True)


def test_run_gives_its_command_warm_python3_kernels_and_its_exit_code(as_whom):
    argv = as_whom([sys.executable, warm_kernels.__file__, "run", "--", sys.executable, "-c", IN_RUN])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    folder, *preloaded = done.stdout.split() or [""]
    assert (done.returncode, preloaded) == (3, ["True", "False"]), done.stderr
    # The server ended with `run`, and its folder (the spec and the socket) is gone.
    assert not Path(folder).exists()
    assert not [p for p in Path("/proc").glob("[0-9]*") if folder in _command_line(p)]


def _command_line(process: Path) -> str:
    try:
        return (process / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""
