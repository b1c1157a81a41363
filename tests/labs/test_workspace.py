"""`labkit lab` (what `make lab` runs) opens the workspace for root and others, with or without a display,
in the lab kernel, whose environment is the grader's."""

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import nbformat
import pytest
from nbclient import NotebookClient

from labtools import free_port
from labkit import workspace
from labkit.grader.fence import labkit_env
from labkit.kernel import KERNEL_ENV, KERNEL_NAME


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


def test_labkit_lab_starts_without_a_display_prints_the_url_and_serves_it(tmp_path):
    """As root when the tests run as root (as in CI): the case where JupyterLab used to refuse to start."""
    env = labkit_env(JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    for name in ("DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    port = free_port()
    lab = subprocess.Popen([sys.executable, "-m", "labkit", "lab", str(tmp_path / "workspace"), f"--port={port}"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in lab.stdout], daemon=True).start()
    seen = []
    try:
        url = None
        while url is None:
            try:
                seen.append(lines.get(timeout=120))
            except queue.Empty:
                pytest.fail("no URL printed in 120 s:\n" + "".join(seen))
            found = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=\w+", seen[-1])
            url = found and found.group(0)
        assert any("no display here, so no browser opens" in line for line in seen)
        page = page_at(url)
        assert page.startswith("<!doctype html>") and "JupyterLab" in page
        assert (tmp_path / "workspace" / "2_dropout.ipynb").exists()
    finally:
        lab.terminate()  # labkit became JupyterLab, which stops its kernels
        lab.wait(timeout=30)
