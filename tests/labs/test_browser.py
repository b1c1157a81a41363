"""A real browser opens a released lab in JupyterLab, runs every cell, and sees the checks' feedback.

JupyterLab listens on a free loopback port behind a token; Chromium is the shared `browser`
fixture (tests/conftest.py).
"""

import re
import secrets
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from labtools import free_port
from processes import stop
from labkit.checks.dropout import bank as dropout_bank
from labkit.grader.fence import labkit_env


@pytest.fixture
def jupyterlab(tmp_path):
    workspace = tmp_path / "workspace"
    subprocess.run([sys.executable, "-m", "labkit", "release", "--out", str(workspace), "--solutions", "2_dropout"],
                   check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "labkit", "release", "--out", str(workspace), "0_linear"],
                   check=True, capture_output=True)
    port, token = free_port(), secrets.token_hex(16)
    env = labkit_env(JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    # What `make lab` runs: the lab kernel and JupyterLab's settings installed, the other labs released.
    server = subprocess.Popen(
        [sys.executable, "-m", "labkit", "lab", str(workspace), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "jupyterlab.log", "w"), start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if server.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start: " + (tmp_path / "jupyterlab.log").read_text()[-2000:])
        yield base, token
    finally:
        stop(server)


def run_all_cells(page, base, token, notebook):
    page.goto(f"{base}/lab/tree/{notebook}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    accept = page.locator(".jp-Dialog .jp-mod-accept")
    for _ in range(3):
        # JupyterLab may ask which kernel to start (Python 3 is preselected); that drops a queued run.
        page.wait_for_timeout(3000)
        if accept.count():
            accept.first.click()
            continue
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", state="attached", timeout=60_000)
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
        page.wait_for_timeout(3000)
        if accept.count():
            accept.first.click()
            continue
        # A run-all sent while the kernel is still connecting is dropped silently: run again unless a cell ran.
        ran = page.locator(".jp-InputPrompt", has_text=re.compile(r"\[(\*|\d+)\]"))
        for _ in range(30):
            if ran.count():
                return
            page.wait_for_timeout(1000)


def see(page, text, screenshot, seconds=120):
    """Wait until a cell's output shows `text` (cells may be scrolled out of view: attached is enough)."""
    output = page.locator(f".jp-OutputArea-output:has-text({text!r})")
    try:
        for _ in range(seconds):
            if output.count():
                return
            page.wait_for_timeout(1000)
        pytest.fail(f"no output shows {text!r} after {seconds} s; see {screenshot}")
    finally:
        page.screenshot(path=str(screenshot), full_page=True)


def test_a_learner_runs_a_lab_in_jupyterlab_and_sees_the_checks(browser, jupyterlab, tmp_path):
    base, token = jupyterlab
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    try:
        run_all_cells(page, base, token, "2_dropout.ipynb")  # the answer key: every check passes
        see(page, "All good: on to the next task.", tmp_path / "dropout.png")
        points = sum(check.points for check in dropout_bank.checks)
        see(page, f"the public checks give {points:g}/{points:g} points", tmp_path / "dropout.png")

        run_all_cells(page, base, token, "0_linear.ipynb")  # a blank lab: the checks say what to do
        see(page, "not written yet", tmp_path / "linear.png")
        see(page, "the public checks give 0/14 points", tmp_path / "linear.png")
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        assert errors.count() == 0, "a cell of the blank lab raised instead of reporting"
    finally:
        page.close()


def test_jupyterlab_shows_the_feedback_as_a_table_with_the_first_failure_first_and_no_news_prompt(browser, jupyterlab,
                                                                                                   tmp_path):
    base, token = jupyterlab
    # A learner whose Dropout ignores the training flag: task 1 passes, task 2 has something to fix.
    nb = nbformat.read(tmp_path / "workspace" / "2_dropout.ipynb", as_version=4)
    for cell in nb.cells:
        cell.source = cell.source.replace("F.dropout(input, self.p, self.training, self.inplace)",
                                          "F.dropout(input, self.p)")
    nbformat.write(nb, tmp_path / "workspace" / "dropout-bob.ipynb")
    screenshot = tmp_path / "feedback.png"
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    try:
        run_all_cells(page, base, token, "dropout-bob.ipynb")
        see(page, "First thing to fix", screenshot)
        html = ".jp-OutputArea-output[data-mime-type='text/html'] .labkit-report"
        task2 = page.locator(html, has_text="task 2 (forward and extra_repr)").first
        rows = task2.locator("table.labkit-checks tr")
        first = rows.first
        assert "labkit-first-row" in first.get_attribute("class")
        assert "✗" in first.inner_text() and "0/" in first.inner_text()
        assert first.locator("span").first.evaluate("e => getComputedStyle(e).color") == "rgb(207, 34, 46)"
        fix = task2.locator(".labkit-first")
        assert "pass self.training to F.dropout" in fix.inner_text()
        assert fix.locator("code", has_text="self.training").count()  # the message's `code` as code
        passing = rows.filter(has_text="✓").first
        assert passing.locator("span").first.evaluate("e => getComputedStyle(e).color") == "rgb(26, 127, 55)"
        task2.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot), full_page=True)
        assert page.get_by_text("Python 3 (labkit)").count(), "the notebook is not running the lab kernel"
        assert page.get_by_text("official Jupyter news").count() == 0, "JupyterLab asked about its news"
    finally:
        page.close()
