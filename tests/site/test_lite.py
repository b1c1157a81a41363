"""The browser lab (_build/html/lite, book/lite/build.py) in headless Chromium, offline.

The site is served as a learner would serve it, by `python -m http.server` on 127.0.0.1; every
other host is unresolvable for this Chromium (CHROMIUM_ARGS) and every request to one is
recorded and refused (`site_page`). Python itself (Pyodide), numtorch, labkit and ipywidgets
must therefore all come from the site.

Every lab (as released, blank) runs its public checks to the summary; a lab opened by its link
has its kernel's one web worker started by book/lite/start-kernel-early, while JupyterLab starts,
and that kernel imports before it enters the site's files (book/lite/build.py's edit of its worker);
the capstone's solution, uploaded as a learner would bring a notebook in, trains its CNN and earns
every public point;
the book's pages that train on data run to their end; an explorer redraws live; the arc of
PyTorch's tutorial "What is torch.nn really?" (tests/programs/tutorial_arc.py, which
tests/engine/test_tutorial_arc.py runs on both engines), uploaded the same way, runs to its end
with the numbers it gives in CPython. Each opens its notebook in a fresh browser profile: a kept
cache would hardly help (benchmarks/lite.py: the start is CPU-bound, Pyodide and IPython
starting up).
"""
import json
import re
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from labkit.labs import load_labs
from processes import stop
from test_lite_build import build  # noqa: F401  (book/lite/build.py, a fixture)
from test_site import ROOT
from test_widgets_site import shown, wait_for_change
from visits import watch

KERNEL_START = 300_000  # ms: Pyodide and its packages, with room for a machine busy with other builds
RUN_ALL = 300_000  # ms: a whole lab, its check cells included
LABS = [lab.name for lab in load_labs(ROOT / "labs")]
# The book's pages that train or read data: their data and everything they import must come from the site.
DATA_PAGES = ["book/02_functionals/functional_network.ipynb", "book/09_capstone/index.ipynb"]
RUN_PAGE = 1_200_000  # ms: the capstone page trains six CNNs of eight epochs each
TUTORIAL_ARC = ROOT / "tests" / "programs" / "tutorial_arc.py"


@pytest.fixture(scope="module")
def site_url(site_root):
    """The built site from `python -m http.server` on 127.0.0.1 (in place of conftest's server)."""
    server = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
                              cwd=site_root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = re.search(r"port (\d+)", server.stdout.readline())[1]
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop(server)


def open_in_lab(site_page, notebook):
    """Open a notebook of the browser lab and wait until its kernel is ready (cells sent before are lost)."""
    visit = site_page(f"lite/lab/index.html?path={notebook}")
    wait_for_kernel(visit.page)
    return visit


def wait_for_kernel(page):
    page.wait_for_function(
        "document.querySelector('.jp-StatusBar-Widget')?.innerText.includes('Python (Pyodide) | Idle')",
        timeout=KERNEL_START, polling=500)


def upload(page, notebook):
    """Bring a notebook into the browser lab as a learner does (the file browser's upload button) and open it."""
    with page.expect_file_chooser() as chooser:
        page.get_by_title("Upload Files").click()
    chooser.value.set_files(notebook)
    page.locator(".jp-DirListing-item", has_text=notebook.name).dblclick()
    wait_for_kernel(page)


def run_all_cells(page):
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def outputs(page):
    return page.locator(".jp-OutputArea-output").all_inner_texts()


# True as soon as any cell has shown a traceback (Run All stops there), or once the kernel has been idle for five
# seconds on end after Run All: the notebook has run to its end. (The cells' prompts cannot tell: a folded cell,
# as the solutions are in the browser lab, never shows its number.)
FINISHED_OR_FAILED = """() => {
    const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
    if (outputs.some(output => output.textContent.includes('Traceback (most recent call last)'))) return true;
    const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
    const idle = indicator !== null && indicator.getAttribute('data-status') === 'idle';
    window.labkitIdleSince = idle ? (window.labkitIdleSince || Date.now()) : 0;
    return idle && Date.now() - window.labkitIdleSince > 5000;
}"""


def run_to_the_end(page, timeout):
    """Run all cells and wait until the last code cell has run; fail with the traceback if a cell raised."""
    run_all_cells(page)
    page.wait_for_function("() => document.querySelector('.jp-Notebook-ExecutionIndicator')"
                           "?.getAttribute('data-status') === 'busy'", timeout=60_000, polling=100)
    page.wait_for_function(FINISHED_OR_FAILED, timeout=timeout, polling=1000)
    failed = page.locator(".jp-OutputArea-output", has_text="Traceback (most recent call last)")
    assert failed.count() == 0, failed.first.text_content()


def browser_problems(visit):
    """What went wrong in the page, less JupyterLite's own harmless 404s (see the note below)."""
    return visit.foreign_requests + [p for p in visit.failed_requests + visit.console_errors
                                     if not OPTIONAL_404.search(p)]


# JupyterLite asks for optional files a static site need not have (translations, per-file
# settings overrides); a 404 for them is how it learns they are absent.
OPTIONAL_404 = re.compile(r"/api/translations/|/api/settings/overrides|/api/drive|/files/.*\.ipynb\.json")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("lab", LABS)
def test_a_lab_runs_its_public_checks_to_the_summary_in_the_browser(site_page, lab):
    visit = open_in_lab(site_page, f"labs/{lab}.ipynb")
    page = visit.page
    run_all_cells(page)
    summary = page.locator(".jp-OutputArea-output", has_text="the public checks give")
    summary.wait_for(state="attached", timeout=RUN_ALL)  # JupyterLab hides cells scrolled out of view
    # A student notebook is blank: the checks run, and say so.
    assert re.search(r"Lab \d · .*: the public checks give 0/\d+ points", summary.inner_text())
    assert any("not written yet" in text for text in outputs(page))
    # The first cell reads where the lab stands from the notebook itself: the browser lab has no lab sources.
    assert any(re.match(r"Lab \d · .* \(\w+\.ipynb\): not started\n", text) for text in outputs(page)), outputs(page)
    assert page.locator('[data-mime-type="application/vnd.jupyter.stderr"]').count() == 0
    assert browser_problems(visit) == []


# Records in the page, from its first script on, each web worker it starts, each request about the site's files
# (the drive) that the kernel's worker makes to the page (JupyterLite relays them on a BroadcastChannel), and when
# JupyterLab first showed a notebook's code cell (ms after the page was opened).
START_RECORDER = """
window.labkitStart = {workers: [], drive: [], cellShown: null};
window.Worker = class extends window.Worker {
    constructor(url, options) {
        super(url, options);
        window.labkitStart.workers.push([String(url), performance.now()]);
    }
};
window.BroadcastChannel = class extends window.BroadcastChannel {
    constructor(name) {
        super(name);
        if (name.includes('drive')) {
            this.addEventListener('message', (event) => window.labkitStart.drive.push(
                `${event.data.method} ${JSON.stringify(event.data.path)}`));
        }
    }
};
new MutationObserver((changes, observer) => {
    if (document.querySelector('.jp-Notebook .jp-CodeCell')) {
        window.labkitStart.cellShown = performance.now();
        observer.disconnect();
    }
}).observe(document, {childList: true, subtree: true});
"""


@pytest.mark.timeout(900)
def test_a_lab_opened_by_its_link_starts_one_kernel_early_which_imports_before_entering_the_drive(
        browser, site_url):
    # book/lite/start-kernel-early: the kernel's worker starts while JupyterLab starts, and the notebook takes
    # that kernel when it opens instead of starting a second one. On a first visit and on a return visit, when
    # JupyterLite's service worker (without which the kernel would not have the site's files) is already there.
    # And the worker, as book/lite/build.py edits it, imports the kernel's modules before it changes into the
    # notebook's folder in the drive, so that those imports do not wait on the page.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        context.add_init_script(START_RECORDER)
        for visit_number in range(2):
            page = context.new_page()
            visit = watch(page, site_url)
            asked = []
            page.on("console", lambda message: asked.append(message.text) if "asked for the kernel" in message.text
                    else None)
            page.goto(site_url + "lite/lab/index.html?path=labs/0_linear.ipynb")
            wait_for_kernel(page)
            drive_while_starting = page.evaluate("window.labkitStart.drive")
            first = page.locator(".jp-Notebook .jp-CodeCell").first
            first.locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")
            # The lab's status, read from the notebook: the kernel has the site's files (its drive) as its folder.
            first.locator(".jp-OutputArea-output", has_text="(0_linear.ipynb): not started").wait_for(timeout=60_000)
            start = page.evaluate("window.labkitStart")
            page.close()
            assert len(start["workers"]) == 1, f"expected the kernel's one web worker, but got {start['workers']}"
            # How early is a benchmark's figure (benchmarks/lite.py), not a test's: on a busy machine JupyterLab can
            # show the notebook first. That the extension asked, and the notebook then took that kernel, is tested.
            assert len(asked) == 1 and "asked for the kernel of labs/0_linear.ipynb" in asked[0], \
                f"visit {visit_number + 1}: expected start-kernel-early to ask once for the notebook's kernel, but " \
                f"it said {asked} (the notebook showed at {start['cellShown']:.0f} ms)"
            # Unedited, every import of the kernel's start asks the page about the drive (about 80 requests).
            assert len(drive_while_starting) <= 3, \
                f"expected the kernel to ask the page about the drive only once it has imported its modules, but " \
                f"it asked {len(drive_while_starting)} times while starting: {drive_while_starting[:5]}..."
            assert browser_problems(visit) == []
    finally:
        context.close()


@pytest.mark.timeout(1200)
def test_the_capstone_solution_uploaded_to_the_browser_lab_trains_and_earns_every_public_point(
        site_page, build, tmp_path):
    solution = next(path for path in build.release_labs(tmp_path, solutions=True) if path.stem == "4_capstone")
    uploaded = solution.rename(tmp_path / "my_capstone.ipynb")
    visit = site_page("lite/lab/index.html")
    page = visit.page
    upload(page, uploaded)
    run_all_cells(page)
    summary = page.locator(".jp-OutputArea-output", has_text="the public checks give")
    summary.wait_for(state="attached", timeout=RUN_ALL)
    earned, points = re.search(r"the public checks give ([\d.]+)/([\d.]+) points", summary.inner_text()).groups()
    assert earned == points, summary.inner_text()
    assert page.locator(".jp-OutputArea-output", has_text=re.compile(r"^Trained in [\d.]+ s; accuracy")).count() == 1
    assert browser_problems(visit) == []


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("notebook", DATA_PAGES)
def test_a_book_page_that_trains_on_data_runs_to_its_end_in_the_browser(site_page, notebook):
    visit = open_in_lab(site_page, notebook)
    run_to_the_end(visit.page, RUN_PAGE)
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


def tutorial_arc_log(printed):
    """What the tutorial arc printed at its end: the numbers it logged and how it printed its CNN."""
    return json.loads(re.search(r"^tutorial arc: (\{.*\})$", printed.strip(), re.M)[1])


@pytest.mark.timeout(900)
def test_the_tutorial_arc_runs_in_the_browser_lab_with_the_numbers_it_gives_in_cpython(site_page, tmp_path):
    source = TUTORIAL_ARC.read_text()
    cpython = tutorial_arc_log(subprocess.run([sys.executable, str(TUTORIAL_ARC)], capture_output=True, text=True,
                                              check=True, timeout=300).stdout)
    # As a learner would type it in: a cell for each stage of the program, which is left as it is.
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(stage.strip("\n"))
                                               for stage in re.split(r"\n(?=# ----- )", source)])
    # The browser lab's NumPy has no BLAS, so numtorch's products took np.einsum's route (numtorch/blas.py).
    notebook.cells.append(nbformat.v4.new_code_cell('import numtorch.blas; print("numpy has blas:", '
                                                    'numtorch.blas.NUMPY_HAS_BLAS)'))
    # Uploaded to the file browser's top folder, it runs there: the drive's top (book/lite/build.py edits how the
    # kernel gets there).
    notebook.cells.append(nbformat.v4.new_code_cell('import os; print("folder:", os.getcwd())'))
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(notebook, tmp_path / "tutorial_arc.ipynb")
    visit = site_page("lite/lab/index.html")
    page = visit.page
    upload(page, tmp_path / "tutorial_arc.ipynb")
    run_to_the_end(page, RUN_ALL)
    printed = page.locator(".jp-OutputArea-output", has_text="tutorial arc: ")
    assert printed.count() == 1, outputs(page)
    pyodide = tutorial_arc_log(printed.text_content())
    blas = page.locator(".jp-OutputArea-output", has_text="numpy has blas:")
    blas.wait_for(state="attached", timeout=60_000)
    assert blas.text_content().strip() == "numpy has blas: False"
    assert page.locator(".jp-OutputArea-output", has_text="folder:").text_content().strip() == "folder: /drive"
    assert pyodide["printed_cnn"] == cpython["printed_cnn"]
    assert list(pyodide["log"]) == list(cpython["log"])
    for stage, numbers in cpython["log"].items():
        np.testing.assert_allclose(pyodide["log"][stage], numbers, rtol=1e-4, atol=1e-5, err_msg=stage)
    assert browser_problems(visit) == []
