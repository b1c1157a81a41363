"""Live code (book/site-js/live-code.js) in headless Chromium, offline: a book page's cells edited and run in place.

Python is the browser lab's own Pyodide with its verified wheels, fetched from the site by a Web Worker. The
site is served from 127.0.0.1 by a server that records every path asked of it, the worker's requests included
(`site_server`, tests/site/conftest.py); every other host is unresolvable for this Chromium (CHROMIUM_ARGS) and
every request to one is refused and recorded (tests/site/visits.py). The dropout page's tests share one page and
its Python: each runs a cell that first runs the cells above it that have not run yet, so each also works alone.
"""
import os
import re
import time

import pytest

from test_widgets_site import shown, wait_for_change
from visits import watch

# The browser lab's Python runs here (`make check` leaves these out).
pytestmark = [pytest.mark.pyodide, pytest.mark.timeout(900)]

KERNEL_START = 300_000  # ms: Pyodide, numtorch, IPython (a lab's kernel start, tests/site/test_lite.py)
RUN = 300_000  # ms: a cell, with the cells above it and matplotlib loaded on first use
READY = "document.querySelector('.live-status')?.dataset.state === 'ready'"


def cell(page, text):
    """The page's code cell whose code contains `text`."""
    return page.locator("div.cell", has=page.locator(".cell_input", has_text=text))


def seconds_since(start):
    return f"{time.monotonic() - start:.1f} s"


def load():
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def test_a_page_only_read_fetches_no_python_and_hovering_the_toggle_starts_it(site_page, site_server):
    asked_before = len(site_server.paths)  # the server's paths, from this test on
    visit = site_page("book/01_two_ways/calling_a_module.html")
    page = visit.page
    toggle = page.locator("button.live-toggle")
    assert toggle.inner_text() == "Live code"
    for _ in range(0, page.evaluate("document.body.scrollHeight"), 600):  # read it to the end and back
        page.mouse.wheel(0, 600)
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(1000)
    assert [path for path in site_server.paths[asked_before:] if "/lite/" in path] == []
    assert page.locator(".live-status").inner_text() == ""

    start = time.monotonic()
    toggle.hover()
    page.wait_for_function(READY, timeout=KERNEL_START, polling=100)
    ready = seconds_since(start)
    fetched = [path for path in site_server.paths[asked_before:] if "/lite/" in path]
    assert "/lite/static/pyodide/pyodide.asm.wasm" in fetched
    assert any(re.search(r"/lite/static/pyodide/numtorch-.*\.whl$", path) for path in fetched)
    assert not any("matplotlib-" in path for path in fetched)  # only once a cell imports it

    # On, and once Python is ready: a cell edited to show a widget, on a page that had none (the
    # site's widget manager comes with the first one).
    start = time.monotonic()
    toggle.click()
    editable = cell(page, 'print("callable(pool):')
    editor = editable.locator("textarea.live-editor")
    editor.fill(editor.input_value() + "\nimport ipywidgets\nipywidgets.IntSlider(7, description='seven')")
    editable.locator("button.live-run").click()
    editable.locator(".live-output .widget-slider .widget-readout", has_text="7").wait_for(timeout=RUN)
    print(f"live code: Python ready {ready} after hovering the toggle; then the first cell's output "
          f"{seconds_since(start)} after turning it on ({load()})")
    assert "callable(pool):             True" in editable.locator(".live-output").inner_text()
    assert not editable.locator(".cell_output").is_visible()
    assert visit.problems == []


@pytest.fixture(scope="module")
def live_dropout(browser, site_url):
    """The dropout page with Live code turned on at once (no hover first), and what went wrong on it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    visit = watch(page, site_url)
    page.goto(site_url + "book/04_train_eval/dropout.html", wait_until="networkidle")
    page.locator("button.live-toggle").click()
    page.started = time.monotonic()
    yield page, visit
    context.close()


def test_an_edited_cell_runs_in_place_and_its_new_output_replaces_the_static_one(live_dropout):
    page, visit = live_dropout
    dropout = cell(page, "out = F.dropout(ones, 0.25)")
    static = dropout.locator(".cell_output").inner_text()
    assert "1.3333" in static  # survivors of p = 0.25 are scaled by 1/(1 - p)
    editor = dropout.locator("textarea.live-editor")
    editor.fill(editor.input_value().replace("F.dropout(ones, 0.25)", "F.dropout(ones, 0.5)"))
    dropout.locator("button.live-run").click()
    output = dropout.locator(".live-output")
    output.locator(".live-display").wait_for(timeout=KERNEL_START + RUN)
    print(f"live code: the first cell's output {seconds_since(page.started)} after turning it on, cold ({load()})")
    shown_now = output.inner_text()
    # {np.float32(0.0): np.int32(n0), np.float32(2.0): np.int32(n2)}: half the ones dropped, the rest doubled.
    counts = {float(value): int(count) for value, count in re.findall(r"np\.float32\(([\d.]+)\): np\.int\d+\((\d+)\)",
                                                                 shown_now)}
    assert set(counts) == {0.0, 2.0}, shown_now
    assert sum(counts.values()) == 10_000 and 4_700 < counts[0.0] < 5_300, counts
    assert dropout.locator(".live-output").is_visible() and not dropout.locator(".cell_output").is_visible()
    assert visit.problems == []


def test_a_cell_that_raises_shows_its_error_in_place(live_dropout):
    page, visit = live_dropout
    failing = cell(page, "x = torch.rand(2, 5)")
    editor = failing.locator("textarea.live-editor")
    editor.fill("F.dropout(torch.ones(3), 1.5)")
    editor.press("Shift+Enter")
    error = failing.locator(".live-error", has_text="ValueError")
    error.wait_for(timeout=KERNEL_START + RUN)
    assert error.locator("strong").inner_text() == (
        "ValueError: dropout probability has to be between 0 and 1, but got 1.5")
    assert "F.dropout(torch.ones(3), 1.5)" in error.locator("pre").text_content()  # the traceback, folded
    assert visit.problems == []


def test_a_labkit_explorer_run_live_switches_frames_when_its_controls_are_clicked(live_dropout):
    page, visit = live_dropout
    explorer = cell(page, "DropoutExplorer(engine=torch)")
    explorer.locator("button.live-run").click()
    picture = explorer.locator(".live-output img.widget-image").first
    picture.wait_for(state="visible", timeout=KERNEL_START + RUN)
    assert not explorer.locator(".cell_output").is_visible()  # the static explorer is hidden: this one is live
    before = shown(page)
    assert len(before) == 1  # one explorer, one frame on screen
    explorer.locator(".live-output .widget-toggle-button", has_text="eval()").click()
    assert wait_for_change(page, before) != before
    assert visit.problems == []


def test_restart_stops_a_cell_that_never_ends_and_the_cells_run_again_on_a_fresh_python(live_dropout):
    page, visit = live_dropout
    looping = cell(page, "class WithModule(nn.Module):")
    editor = looping.locator("textarea.live-editor")
    code = editor.input_value()
    editor.fill("while True:\n    pass")
    looping.locator("button.live-run").click()
    looping.and_(page.locator(".live-running")).wait_for(timeout=KERNEL_START + RUN)  # the cells above have run
    page.locator("button.live-restart").click()
    looping.locator(".live-error", has_text="Python was restarted before this cell finished").wait_for()
    editor.fill(code)
    looping.locator("button.live-run").click()
    looping.locator(".live-output", has_text="WithFunction in eval mode").wait_for(timeout=KERNEL_START + RUN)
    assert "WithModule in eval mode: [1. 1. 1. 1. 1. 1. 1. 1.]" in looping.locator(".live-output").inner_text()
    assert visit.problems == []
