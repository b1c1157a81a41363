"""`labkit lab` (what `make lab` runs) opens the workspace for root and others, with or without a display,
in the lab kernel, whose environment is the grader's."""

import json
import os
import pwd
import queue
import re
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager, nullcontext
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from labtools import free_port
from processes import stop
from labkit import workspace
from labkit.grader.fence import labkit_env
from labkit.kernel import KERNEL_ENV, KERNEL_NAME

ROOT = Path(__file__).resolve().parents[2]  # the checkout, whose Makefile `make lab` runs


@pytest.mark.parametrize("uid, display, flags", [
    (0, None, {"--allow-root", "--no-browser"}),
    (0, ":0", {"--allow-root"}),
    (1000, None, {"--no-browser"}),
    (1000, ":0", set()),
])
def test_jupyterlab_gets_allow_root_only_as_root_and_no_browser_only_without_a_display(monkeypatch, uid, display,
                                                                                       flags):
    monkeypatch.setattr(os, "geteuid", lambda: uid)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if display:
        monkeypatch.setenv("DISPLAY", display)
    else:
        monkeypatch.delenv("DISPLAY", raising=False)
    command = workspace.jupyterlab_command("workspace", ["--port=9999"])
    assert {"--allow-root", "--no-browser"} & set(command) == flags
    assert "--ServerApp.root_dir=workspace" in command and command[-1] == "--port=9999"


def test_install_writes_the_lab_kernel_and_turns_the_news_prompt_off_under_its_prefix(tmp_path):
    kernel, settings = workspace.install(tmp_path)
    assert kernel == tmp_path / "share/jupyter/kernels" / KERNEL_NAME / "kernel.json"
    assert json.loads(kernel.read_text())["env"] == KERNEL_ENV
    assert settings == tmp_path / "share/jupyter/lab/settings/overrides.d/labkit.json"
    news = json.loads(settings.read_text())["@jupyterlab/apputils-extension:notification"]
    assert news["fetchNews"] == "false"


@pytest.mark.kernels
def test_the_lab_kernel_runs_with_the_grader_s_thread_settings_whatever_the_caller_s(tmp_path, monkeypatch):
    workspace.install(tmp_path)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share" / "jupyter"))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, json; print(json.dumps({k: os.environ.get(k) for k in %r}))" % sorted(KERNEL_ENV))])
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "", "language": "python"}
    NotebookClient(nb, timeout=60).execute(env=labkit_env(OMP_NUM_THREADS="4", OPENBLAS_NUM_THREADS="4"))
    assert json.loads(nb.cells[0].outputs[0]["text"]) == KERNEL_ENV


def page_at(url: str, seconds: int = 60) -> str:
    """GET url, retrying while the server is not listening yet (it may print its URL a moment before)."""
    for _ in range(seconds):
        try:
            with urllib.request.urlopen(url, timeout=30) as page:
                return page.read().decode()
        except urllib.error.URLError as error:
            if not isinstance(error.reason, ConnectionRefusedError):
                raise
            time.sleep(1)
    pytest.fail(f"nothing listens at {url} after {seconds} s")


def assert_serves_jupyterlab_headless(process: subprocess.Popen, port: int) -> None:
    """`process` prints JupyterLab's URL, says that no browser opens (there is no display), and the URL serves
    JupyterLab."""
    url, seen = printed_url(process, port)
    assert any("no display here, so no browser opens" in line for line in seen)
    page = page_at(url)
    assert page.startswith("<!doctype html>") and "JupyterLab" in page


def printed_url(process: subprocess.Popen, port: int, seconds: int = 120) -> tuple[str, list[str]]:
    """The JupyterLab URL `process` prints on its output (as it prints it: nothing held back until it exits),
    on 127.0.0.1, and the lines printed up to it; fail if none comes within `seconds`."""
    lines = queue.Queue()

    def read():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)  # the end of its output

    threading.Thread(target=read, daemon=True).start()
    seen, deadline = [], time.monotonic() + seconds
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"no URL printed in {seconds} s:\n" + "".join(seen))
        if line is None:
            pytest.fail(f"exited with {process.wait()} before printing a URL:\n" + "".join(seen))
        seen.append(line)
        found = re.search(rf"http://(?:127\.0\.0\.1|localhost):{port}(/lab\?token=\w+)", seen[-1])
        if found:
            return f"http://127.0.0.1:{port}{found[1]}", seen


@pytest.mark.kernels
def test_labkit_lab_starts_without_a_display_prints_the_url_and_serves_it(tmp_path):
    """As root when the tests run as root (as in CI): the case where JupyterLab used to refuse to start."""
    env = labkit_env(JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    port = free_port()
    lab = subprocess.Popen([sys.executable, "-m", "labkit", "lab", str(tmp_path / "workspace"), f"--port={port}"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                           start_new_session=True)
    try:
        assert_serves_jupyterlab_headless(lab, port)
        assert (tmp_path / "workspace" / "2_dropout.ipynb").exists()
    finally:
        stop(lab)  # labkit became JupyterLab, which stops its kernels


@contextmanager
def throwaway_user(skip_or_fail_on_ci):
    """A system user of its own (CI runs as root, learners do not), deleted afterwards."""
    if os.geteuid() != 0:
        yield pwd.getpwuid(os.geteuid())  # already not root: run as ourselves
        return
    name = f"labkit-test-{secrets.token_hex(4)}"
    try:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        name], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as error:
        skip_or_fail_on_ci(f"cannot add a user to run make lab as: {error}")
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], capture_output=True)  # its cleanup never fails the test


def as_user(user: pwd.struct_passwd) -> list[str]:
    """The command prefix that runs a command as `user` (nothing when that is who we are)."""
    if user.pw_uid == os.geteuid():
        return []
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--"]


def runnable_bin(user: pwd.struct_passwd, home: Path, skip_or_fail_on_ci) -> tuple[Path, dict]:
    """A bin folder with a Python and a `labkit` that `user` can run, seeing this environment's packages, and the
    environment variables it needs: this one's, or, where its interpreter lives where only root may go (e.g. under
    /root), a venv in `home` made from a system Python of the same version that adds this environment's
    site-packages, and JupyterLab's files (which it finds under its own prefix)."""
    here = Path(sys.executable).parent
    # Through a shell, as make runs it (a shell refuses an interpreter behind a folder the user may not enter).
    if not subprocess.run([*as_user(user), "bash", "-c", f"{here / 'labkit'} --help"], capture_output=True).returncode:
        return here, {}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    python = next((p for p in (f"/usr/bin/{version}", f"/usr/local/bin/{version}") if os.access(p, os.X_OK)), None)
    if python is None:
        skip_or_fail_on_ci(f"{user.pw_name} cannot run {sys.executable}, and there is no /usr/bin/{version}")
    venv = home / "venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    site = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # An `import` line of a .pth file runs: addsitedir also reads the editable install's own .pth files.
    theirs = sysconfig.get_path("purelib")
    Path(site, "checkout.pth").write_text(f"import site; site.addsitedir({theirs!r})\n")
    labkit = venv / "bin" / "labkit"
    labkit.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom labkit.command import main\nsys.exit(main())\n")
    labkit.chmod(0o755)
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(venv)], check=True)
    share = Path(sys.prefix, "share", "jupyter")
    return venv / "bin", {"JUPYTERLAB_DIR": str(share / "lab"), "JUPYTER_PATH": str(share)}


@pytest.mark.kernels
@pytest.mark.parametrize("who", ["root", "learner"])
def test_make_lab_shows_the_url_while_jupyterlab_runs_and_serves_it(skip_or_fail_on_ci, who):
    """`make lab` itself, with its Makefile's flags (two jobs, output held back per recipe elsewhere), as root and
    as another user, on a machine without a display. It runs in this test's environment (BIN) or one made from
    it, never remade (-o); the notebooks go to a folder of its own (LAB_DIR), not the checkout's workspace/."""
    if who == "root" and os.geteuid() != 0:
        pytest.skip("not root here")
    if not shutil.which("make"):
        skip_or_fail_on_ci("make is missing")
    with throwaway_user(skip_or_fail_on_ci) if who == "learner" else nullcontext(pwd.getpwuid(0)) as user:
        home = Path(tempfile.mkdtemp(prefix="make-lab-"))  # not under tmp_path, which only root may enter
        try:
            os.chown(home, user.pw_uid, user.pw_gid)
            prefix = as_user(user)
            if subprocess.run([*prefix, "test", "-r", str(ROOT / "Makefile")]).returncode:
                skip_or_fail_on_ci(f"{user.pw_name} cannot read the checkout {ROOT}")
            bin_, bin_env = runnable_bin(user, home, skip_or_fail_on_ci)
            port = free_port()
            env = labkit_env(HOME=str(home), USER=user.pw_name, JUPYTER_CONFIG_DIR=str(home / "config"),
                             JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                             JUPYTER_PORT=str(port), JUPYTER_PORT_RETRIES="0", **bin_env)
            for name in ("DISPLAY", "WAYLAND_DISPLAY", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
                env.pop(name, None)
            lab = subprocess.Popen(
                [*prefix, "make", "-o", ".venv/.installed", "lab", f"BIN={bin_}", f"LAB_DIR={home / 'workspace'}"],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                start_new_session=True)
            try:
                assert_serves_jupyterlab_headless(lab, port)
                assert (home / "workspace" / "2_dropout.ipynb").stat().st_uid == user.pw_uid
            finally:
                stop(lab)
        finally:
            shutil.rmtree(home, ignore_errors=True)
