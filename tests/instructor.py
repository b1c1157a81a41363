"""An ordinary (non-root) user for tests that CI, which runs as root, must also run as an instructor would.

`throwaway_user()` creates a system user and deletes it afterwards; `as_user(name, argv)` is the command that
runs argv as that user, with this Python's installation made reachable to them (it may lie in root's 0700
home) through a private mount namespace, and, with `user_namespaces=False`, on a machine where that user can
create no user namespace (per-namespace `user.max_user_namespaces` = 0), as on kernels that forbid them.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest


def root_or_skip(skip_or_fail_on_ci) -> None:
    if os.geteuid() != 0:
        pytest.skip("creating a throwaway user needs root (CI runs as root)")
    for tool in ("useradd", "userdel", "setpriv", "unshare"):
        if subprocess.run(["sh", "-c", f"command -v {tool} || test -x /usr/sbin/{tool}"],
                          capture_output=True).returncode:
            skip_or_fail_on_ci(f"{tool} is missing (util-linux / passwd)")


@contextlib.contextmanager
def throwaway_user():
    name = "lk" + secrets.token_hex(4)
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        subprocess.run(["userdel", name], capture_output=True)


def hidden_ancestor(path: str) -> str | None:
    """The outermost folder above `path` that others cannot enter (root's home, say), or None."""
    parts = Path(path).resolve().parts
    for i in range(2, len(parts)):
        folder = Path(*parts[:i])
        if not os.stat(folder).st_mode & 0o001:
            return str(folder)
    return None


def as_user(name: str, argv: list[str], user_namespaces: bool = True, env: dict | None = None) -> list[str]:
    """The command that runs `argv` as user `name` (see the module's docstring)."""
    steps = ["set -e", "mount --make-rprivate /"]
    for prefix in sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}):
        hidden = hidden_ancestor(prefix)
        if hidden:  # keep `prefix`, then lay an open, empty folder over `hidden` and put `prefix` back in it
            hold = f"/tmp/.hold-{secrets.token_hex(4)}"
            steps += [f"mkdir -p {hold}", f"mount --bind {shlex.quote(prefix)} {hold}",
                      f"mount -t tmpfs -o mode=0755,size=1m reach {shlex.quote(hidden)}",
                      f"mkdir -p {shlex.quote(prefix)}", f"mount --move {hold} {shlex.quote(prefix)}",
                      f"rmdir {hold}"]
    if not user_namespaces:
        steps.append("echo 0 > /proc/sys/user/max_user_namespaces")
    variables = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp", **(env or {})}
    steps.append("exec setpriv --reuid={0} --regid={0} --clear-groups --reset-env env {1} {2}".format(
        name, " ".join(shlex.quote(f"{k}={v}") for k, v in variables.items()), shlex.join(argv)))
    script = ["bash", "-c", "\n".join(steps)]
    if user_namespaces:
        return ["unshare", "--mount", "--", *script]
    # A user namespace of its own, mapping root and the user to themselves, in which the limit can be set
    # without touching the machine's.
    ids = [subprocess.run(["id", flag, name], check=True, capture_output=True, text=True).stdout.strip()
           for flag in ("-u", "-g")]
    return [sys.executable, __file__, *ids, *script]


def open_folder() -> Path:
    """A folder the instructor can read and write (pytest's own tmp_path lies in root's 0700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="fence-"))
    folder.chmod(0o1777)
    return folder


# Each notebook's time limit in these gradebooks: several times what an honest submission or an attack needs on a
# busy machine, but no more, since a submission that hangs its kernel waits all of it out.
NOTEBOOK_TIMEOUT = 60


def gradebook(folder: Path, out: Path, user: str | None, user_namespaces: bool = True, *extra: str):
    """Run `labkit gradebook --jobs 2` as root or as `user`, with its run folders in a folder of their own.
    Returns (the finished process, its run folders' parent, the worst delay seen meanwhile in starting a
    process as the instructor, and how many such starts failed)."""
    runs = open_folder()  # short, under /tmp: the kernels' sockets lie in it
    argv = [sys.executable, "-m", "labkit", "gradebook", str(folder), "--out", str(out), "--jobs", "2",
            "--timeout", str(NOTEBOOK_TIMEOUT), *extra]
    env = {"TMPDIR": str(runs), "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    command = as_user(user, argv, user_namespaces, env) if user else argv
    shell = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "true"] if user else ["true"]
    worst, failed, done = [0.0], [0], threading.Event()

    def instructors_shell():
        while not done.wait(0.5):
            started = time.monotonic()
            try:
                failed[0] += subprocess.run(shell, capture_output=True, timeout=60).returncode != 0
            except subprocess.TimeoutExpired:
                failed[0] += 1
            worst[0] = max(worst[0], time.monotonic() - started)

    watcher = threading.Thread(target=instructors_shell)
    watcher.start()
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=900,
                                  env=dict(os.environ, **env) if not user else None)
    finally:
        done.set()
        watcher.join()
    return finished, runs, worst[0], failed[0]


CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000


def _in_mapped_user_namespace(uid: str, gid: str, argv: list[str]) -> int:
    """Run argv in a new user and mount namespace where root and the user's uid and gid map to themselves."""
    import ctypes

    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    child = os.fork()
    if child == 0:
        if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
            os._exit(100)
        os.write(ready_w, b"1")
        os.read(go_r, 1)
        os.execvp(argv[0], argv)
    if os.read(ready_r, 1) != b"1":
        return 100
    for kind, id_ in (("uid_map", uid), ("gid_map", gid)):
        Path(f"/proc/{child}/{kind}").write_text(f"0 0 1\n{id_} {id_} 1\n")
    os.write(go_w, b"1")
    return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])


if __name__ == "__main__":
    sys.exit(_in_mapped_user_namespace(sys.argv[1], sys.argv[2], sys.argv[3:]))
