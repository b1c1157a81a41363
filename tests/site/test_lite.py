"""The browser lab (_build/html/lite, book/lite/build.py) in headless Chromium, offline.

The site is served as a learner would serve it, by `python -m http.server` on 127.0.0.1; every
other host is unresolvable for this Chromium (CHROMIUM_ARGS) and every request to one is
recorded and refused (`site_page`). Python itself (Pyodide), numtorch, labkit and ipywidgets
must therefore all come from the site.
"""
import re
import subprocess
import sys

import pytest

from test_widgets_site import shown, wait_for_change

KERNEL_START = 300_000  # ms: Pyodide and its packages (165 s seen on 2 cores shared by 8 builds)
RUN_ALL = 300_000  # ms: a whole lab, its check cells included


@pytest.fixture(scope="module")
def site_url(site_root):
    """The built site from `python -m http.server` on 127.0.0.1 (in place of conftest's server)."""
    server = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
                              cwd=site_root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = re.search(r"port (\d+)", server.stdout.readline())[1]
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(10)


def open_in_lab(site_page, notebook):
    """Open a notebook of the browser lab and wait until its kernel is ready (cells sent before are lost)."""
    visit = site_page(f"lite/lab/index.html?path={notebook}")
    visit.page.wait_for_function(
        "document.querySelector('.jp-StatusBar-Widget')?.innerText.includes('Python (Pyodide) | Idle')",
        timeout=KERNEL_START, polling=500)
    return visit


def run_all_cells(page):
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def outputs(page):
    return page.locator(".jp-OutputArea-output").all_inner_texts()


def browser_problems(visit):
    """What went wrong in the page, less JupyterLite's own harmless 404s (see the note below)."""
    return visit.foreign_requests + [p for p in visit.failed_requests + visit.console_errors
                                     if not OPTIONAL_404.search(p)]


# JupyterLite asks for optional files a static site need not have (translations, per-file
# settings overrides); a 404 for them is how it learns they are absent.
OPTIONAL_404 = re.compile(r"/api/translations/|/api/settings/overrides|/api/drive|/files/.*\.ipynb\.json")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("lab", ["0_linear", "2_dropout"])
def test_a_lab_runs_its_public_checks_to_the_summary_in_the_browser(site_page, lab):
    visit = open_in_lab(site_page, f"labs/{lab}.ipynb")
    page = visit.page
    run_all_cells(page)
    summary = page.locator(".jp-OutputArea-output", has_text="the public checks give")
    summary.wait_for(state="attached", timeout=RUN_ALL)  # JupyterLab hides cells scrolled out of view
    # A student notebook is blank: the checks run, and say so.
    assert re.search(r"Lab \d · .*: the public checks give 0/\d+ points", summary.inner_text())
    assert any("not written yet" in text for text in outputs(page))
    assert page.locator('[data-mime-type="application/vnd.jupyter.stderr"]').count() == 0
    assert browser_problems(visit) == []


@pytest.mark.timeout(900)
def test_a_book_page_explorer_redraws_live_in_the_browser(site_page):
    visit = open_in_lab(site_page, "book/04_train_eval/dropout.ipynb")
    page = visit.page
    run_all_cells(page)
    eval_button = page.locator(".widget-toggle-button", has_text="eval()").first
    eval_button.wait_for(state="attached", timeout=RUN_ALL)
    eval_button.scroll_into_view_if_needed()
    before = shown(page)
    eval_button.click()
    assert wait_for_change(page, before) != before
    # The kernel redrew the frame too (not only the browser switching to a precomputed one):
    # ask it, in a cell added at the end of the notebook.
    page.locator(".jp-Notebook .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.insert_text('print("redrawn:", [e.redraw_seconds > 0 for e in __import__("gc").get_objects() '
                              'if type(e).__name__ == "DropoutExplorer"])')
    page.keyboard.press("Shift+Enter")
    page.locator(".jp-OutputArea-output", has_text="redrawn:").wait_for(state="attached", timeout=60_000)
    assert [text.strip() for text in outputs(page) if text.startswith("redrawn:")] == ["redrawn: [True]"]
    assert browser_problems(visit) == []
