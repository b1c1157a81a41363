"""Kernels that start warm: forked from a process that has already imported NumPy, matplotlib, ipywidgets,
ipykernel and, where it is installed, PyTorch, so that a page or notebook run in one does not spend seconds of
CPU importing them again. numtorch and labkit are not preloaded: each kernel imports them afresh, as a
learner's does.

    python book/extensions/warm_kernels.py run -- COMMAND...

runs COMMAND with its `python3` kernels warm (`make html` runs jupyter-book so: Sphinx runs every page in a
kernel of its own); tests/conftest.py gives nbval the warm kernel spec `warm-python3` in the same way.

Each kernel is still a process of its own, started by jupyter_client from a kernel spec as any other:

    python book/extensions/warm_kernels.py kernel SOCKET CONNECTION_FILE

That process (the stand-in) asks the server on SOCKET for a kernel, which the server forks; the kernel takes
the stand-in's standard streams, working directory and environment, and draws random numbers of its own (the
global generators of Python and NumPy do not repeat from kernel to kernel). The stand-in passes on the
signals it is sent (an interrupt is a SIGINT) and ends when the kernel ends; the kernel ends when the
stand-in does (killed included), so to jupyter_client the stand-in is the kernel.

    python book/extensions/warm_kernels.py serve SOCKET PARENT_PID

runs the server, which ends with the process that started it (`start_server`). Only the server imports more
than the standard library. Forking needs Linux (pidfds, and no frameworks that break across a fork, as on
macOS): elsewhere `run` runs COMMAND with the usual kernels.
"""
import importlib
import importlib.util
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path

NAME = "warm-python3"
PRELOADED = ["IPython", "ipykernel.kernelapp", "ipywidgets", "matplotlib.pyplot", "numpy", "torch"]
# What a fresh ipykernel sets before matplotlib is first imported (ipykernel.kernelapp.init_gui_pylab): the
# server imports matplotlib, so it must be set there already.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def start_server(folder: Path, name: str = NAME) -> subprocess.Popen:
    """Start the server and write the kernel spec `name` into `folder` (put `folder` first on JUPYTER_PATH: a
    spec there hides one of the same name elsewhere). Returns the server's process once it accepts kernels."""
    sock = folder / "server.sock"
    server = subprocess.Popen([sys.executable, __file__, "serve", str(sock), str(os.getpid())],
                              stdout=subprocess.PIPE, text=True)
    ready = server.stdout.readline().strip()
    if ready != "ready":
        server.kill()
        raise RuntimeError(f"the warm-kernel server should print 'ready' once it has imported {PRELOADED}, "
                           f"but it printed {ready!r} and exited with {server.wait()}")
    spec = folder / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, __file__, "kernel", str(sock), "{connection_file}"],
        "display_name": "Python 3 (forked warm)", "language": "python"}))
    return server


def run(command: list[str]) -> int:
    """Run `command` with the kernel spec `python3` warm; its exit code."""
    if sys.platform != "linux":
        return subprocess.run(command).returncode
    folder = Path(tempfile.mkdtemp(prefix="warm-kernels-"))
    try:
        server = start_server(folder, "python3")
        try:
            path = os.pathsep.join(filter(None, [str(folder), os.environ.get("JUPYTER_PATH")]))
            return subprocess.run(command, env=dict(os.environ, JUPYTER_PATH=path)).returncode
        finally:
            server.kill()
            server.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def serve(sock: str, parent: int) -> None:
    from labkit.grader import fence

    fence.end_with_parent(parent)  # PR_SET_PDEATHSIG: no thread in the process the kernels are forked from
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    for module in PRELOADED:
        if importlib.util.find_spec(module.partition(".")[0]):  # torch, a test dependency, may be missing
            importlib.import_module(module)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernels are nobody's to wait for
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(sock)
        server.listen()
        print("ready", flush=True)
        while True:
            connection, _ = server.accept()
            with connection:
                request, streams = _receive(connection)
                pid = os.fork()
                if pid == 0:
                    server.close()
                    _become_kernel(request, streams)
                for fd in streams:
                    os.close(fd)
                connection.sendall(str(pid).encode())


def _receive(connection: socket.socket) -> tuple[dict, list[int]]:
    message, streams, _, _ = socket.recv_fds(connection, 1 << 16, 3)
    while chunk := connection.recv(1 << 16):
        message += chunk
    return json.loads(message), streams


def _become_kernel(request: dict, streams: list[int]) -> None:
    status = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        for number, fd in enumerate(streams):
            os.dup2(fd, number)
            os.close(fd)
        os.chdir(request["cwd"])
        sys.path[0] = request["cwd"]  # as `python -m` puts it, not this file's folder
        os.environ.clear()
        os.environ.update(request["env"])
        # Python's global generator reseeds itself after a fork; NumPy's is made on first use, so in the kernel,
        # unless a preloaded module has made it already.
        if "numpy.random" in sys.modules:
            sys.modules["numpy.random"].seed()
        _end_with(request["stand_in"])
        from ipykernel.kernelapp import IPKernelApp

        sys.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", request["connection_file"]]
        # Its default was read from the server's environment, where jupyter_client had not set it.
        parent = f"--IPKernelApp.parent_handle={os.environ.get('JPY_PARENT_PID', 0)}"
        IPKernelApp.launch_instance(argv=[*sys.argv[3:], parent])
        status = 0
    except Exception:
        traceback.print_exc()  # to the stand-in's standard error, as a fresh kernel's would go
    finally:
        os._exit(status)


def _end_with(pid: int) -> None:
    """End this process at once when process `pid`, not its parent, ends (a thread waits on it)."""
    watched = os.pidfd_open(pid)

    def wait():
        select.select([watched], [], [])
        os._exit(1)

    threading.Thread(target=wait, daemon=True).start()


def stand_in(sock: str, connection_file: str) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.connect(sock)
        request = {"connection_file": connection_file, "cwd": os.getcwd(), "env": dict(os.environ),
                   "stand_in": os.getpid()}
        socket.send_fds(server, [json.dumps(request).encode()], [0, 1, 2])
        server.shutdown(socket.SHUT_WR)
        kernel = int(server.recv(64))
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(number, lambda number, frame: _send(kernel, number))
    try:
        select.select([os.pidfd_open(kernel)], [], [])
    except ProcessLookupError:  # already ended
        pass


def _send(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:  # it has just ended: so will the stand-in
        pass


if __name__ == "__main__":
    if sys.argv[1] == "run":
        if sys.argv[2:3] != ["--"] or not sys.argv[3:]:
            sys.exit(f"usage: {sys.argv[0]} run -- COMMAND...: expected -- and a command, but got {sys.argv[2:]}")
        sys.exit(run(sys.argv[3:]))
    elif sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        stand_in(sys.argv[2], sys.argv[3])
