"""How soon the browser lab runs a learner's first cell, where that time goes, and how much it weighs.

Goals: the first code cell of a lab has run <= 8 s after the page was opened on a first visit and
<= 4 s on a return visit (2 idle cores), and the browser lab (_build/html/lite) is <= 60 MB. Beside
them, how soon a book page's Live code gives its first cell's output: clicked at once, and clicked
after the pointer rested on the toggle (which starts Python) while the page was read.
Needs the browser lab in _build/html/lite (`make book`, or just `make _build/lite.stamp` and a copy
of _build/lite/app there). Run::

    .venv/bin/python benchmarks/lite.py [ROUNDS]

The site is served by `python -m http.server` on 127.0.0.1, as a learner would serve it, and
opened in headless Chromium with an empty cache each round, as on a first visit; then once more
with the cache of a visit before, as on a return. For each it prints when JupyterLab showed the
lab, when the kernel's web worker started, when it had fetched Pyodide's runtime (WebAssembly and
stdlib) and the last of the packages it preloads (both downloads overlap the runtime's start), when the kernel said Idle, and
when the first cell had run: the worker's own resource timings, read by a cell run afterwards.

Inside the worker nothing tells unpacking packages from importing the kernel; so the same steps
also run in Node (benchmarks/lite_phases.mjs: the same Pyodide, lock and first cell on Chromium's
V8), with CPU time beside wall time and Python's `-X importtime` heaviest imports. Then, in Node
too, a capstone training epoch with numtorch's matrix products as np.einsum (its route without
BLAS, src/numtorch/blas.py) and as np.matmul (benchmarks/lite_training.mjs). On shared cores
every figure follows the load average, printed beside each.
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
LITE = SITE / "lite"
sys.path.insert(0, str(ROOT / "tests"))
from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (one Chromium configuration)
from processes import stop  # noqa: E402  (terminate, wait, then kill)

LAB = "labs/0_linear.ipynb"
COLD_GOAL, WARM_GOAL, SIZE_GOAL = 8, 4, 60  # s, s, MB


def megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def load() -> str:
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


KERNEL_IDLE = "document.querySelector('.jp-StatusBar-Widget')?.innerText.includes('Python (Pyodide) | Idle')"
# Run in the kernel after the first cell: the worker's clock and what it fetched, and when.
WORKER_TIMINGS = ("import js, json; print('worker timings', json.dumps({'origin': js.performance.timeOrigin, "
                  "'entries': [[e.name, e.startTime, e.responseEnd] for e in js.performance.getEntriesByType('resource')]}))")
# The moments of a start (seconds after the page was opened).
PHASES = ("notebook shown", "worker started", "runtime fetched", "packages fetched", "kernel idle", "first cell run")


def worker_moments(timings: dict, page_origin: float) -> list[float]:
    """Worker started, runtime fetched (WebAssembly and stdlib), last package fetched: s after opening.
    (Pyodide asks for the preloaded packages while it compiles its runtime.)"""
    at = lambda ms: (timings["origin"] + ms - page_origin) / 1000  # noqa: E731
    ends = {name.rsplit("/", 1)[-1]: end for name, _, end in timings["entries"]}
    runtime = max(ends["pyodide.asm.wasm"], ends["python_stdlib.zip"])
    packages = max(end for name, end in ends.items() if re.search(r"\.(whl|zip)$", name) and name != "python_stdlib.zip")
    return [at(0), at(runtime), at(packages)]


def first_cell_phases(context, url: str) -> list[float]:
    """Seconds from opening the lab in a new tab of `context` to each of PHASES."""
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
    page_origin = page.evaluate("performance.timeOrigin")
    page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-editor").first.wait_for(timeout=300_000)
    shown = time.perf_counter() - started
    # A cell sent before the kernel session exists is dropped: run it once the kernel is idle.
    page.wait_for_function(KERNEL_IDLE, timeout=300_000, polling=100)
    idle = time.perf_counter() - started
    first = page.locator(".jp-Notebook .jp-CodeCell").first
    first.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    first.locator(".jp-InputPrompt", has_text=re.compile(r"\[\d+\]")).wait_for(timeout=300_000)
    ran = time.perf_counter() - started
    # Then, in a cell of its own below the first, the worker's timings.
    first.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.insert_text(WORKER_TIMINGS)
    page.keyboard.press("Shift+Enter")
    output = page.locator(".jp-OutputArea-output", has_text="worker timings")
    output.wait_for(timeout=60_000)
    timings = json.loads(output.inner_text().split("worker timings", 1)[1])
    page.close()
    return [shown, *worker_moments(timings, page_origin), idle, ran]


def visits(browser, url: str, count: int) -> list[list[float]]:
    """The phases of `count` visits in one fresh browser profile: a first visit, nothing cached, then
    return visits, with the browser's cache (and its compiled WebAssembly) kept from the ones before."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        return [first_cell_phases(context, url) for _ in range(count)]
    finally:
        context.close()


# Live code (book/site-js/live-code.js) on a book page: the same Pyodide, started on the page itself.
LIVE_PAGE = "book/01_two_ways/index.html"
LIVE_READY = "document.querySelector('.live-status')?.dataset.state === 'ready'"
# The cell that was run has run (live-code.js marks it live-ran when its run starts, live-queued until it ends).
LIVE_RAN = "[...document.querySelectorAll('div.cell.live-ran')].some((cell) => !cell.classList.contains('live-queued'))"
REST = 15  # s the pointer rests on the toggle before the click, in the second way of starting


def live_first_output(browser, url: str, rest: float) -> tuple[float | None, float]:
    """In a fresh browser profile, open `url`, point at the Live code toggle, wait `rest` s, click it and run the
    page's first cell: (s from pointing to Python ready, or None with no rest; s from the click to the cell's end)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(url)
        page.hover(".live-toggle")
        pointed, ready = time.perf_counter(), None
        if rest:
            page.wait_for_function(LIVE_READY, timeout=300_000, polling=50)
            ready = time.perf_counter() - pointed
            time.sleep(max(0.0, rest - ready))
        clicked = time.perf_counter()
        page.click(".live-toggle")
        page.locator(".live-run").first.click()
        page.wait_for_function(LIVE_RAN, timeout=300_000, polling=50)
        return ready, time.perf_counter() - clicked
    finally:
        context.close()


def first_cell_code() -> str:
    notebook = json.loads((LITE / "files" / LAB).read_text())
    return "".join(next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")["source"])


def node_phases() -> dict:
    """One run of benchmarks/lite_phases.mjs: the kernel's start, step by step, in Node."""
    done = subprocess.run(["node", str(ROOT / "benchmarks" / "lite_phases.mjs"), str(LITE), first_cell_code()],
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def node_training() -> dict:
    """One run of benchmarks/lite_training.mjs: a capstone epoch in the lab's Pyodide, by each product route."""
    done = subprocess.run(["node", str(ROOT / "benchmarks" / "lite_training.mjs"), str(LITE)],
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_phases(title: str, phases: list[float]) -> None:
    # In the order they came: the kernel's worker starts while JupyterLab starts (book/lite/start-kernel-early).
    timed = sorted(zip(phases, PHASES))
    steps = [f"{name} {seconds:.1f}" for seconds, name in timed]
    gaps = [f"{name} +{seconds - before:.1f}" for (seconds, name), (before, _) in zip(timed, [(0.0, ""), *timed])]
    print(f"  {title}: " + ", ".join(steps))
    print(f"  {' ' * len(title)}  (each step: " + ", ".join(gaps) + ")")


def main() -> int:
    if not (LITE / "jupyter-lite.json").is_file():
        print(f"{LITE} has no browser lab: run `make book` first")
        return 1
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"[{os.cpu_count()} cores, {load()} at the start]")
    server = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
                              cwd=SITE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = re.search(r"port (\d+)", server.stdout.readline())[1]
        url = f"http://127.0.0.1:{port}/lite/lab/index.html?path={LAB}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                cold = [visits(browser, url, 1)[0] for _ in range(rounds)]
                warm = [visits(browser, url, 2)[1] for _ in range(max(1, rounds // 2))]
                live_url = f"http://127.0.0.1:{port}/{LIVE_PAGE}"
                at_once = [live_first_output(browser, live_url, 0) for _ in range(rounds)]
                rested = [live_first_output(browser, live_url, REST) for _ in range(rounds)]
            finally:
                browser.close()
    finally:
        stop(server)
    browser_load = load()
    runs = [node_phases() for _ in range(rounds)]

    times = [phases[-1] for phases in cold]
    median = statistics.median(times)
    print(f"browser lab, first cell of {LAB} run after: median {median:.1f} s, max {max(times):.1f} s over "
          f"{rounds} cold loads (goal <= {COLD_GOAL} s)  {'ok' if median <= COLD_GOAL else 'OVER GOAL'}  [{browser_load}]")
    print_phases("cold, median s after opening", [statistics.median(p[i] for p in cold) for i in range(len(PHASES))])
    warm_median = statistics.median(phases[-1] for phases in warm)
    print(f"  a return visit (browser cache kept): first cell run after {warm_median:.1f} s median of {len(warm)} "
          f"(goal <= {WARM_GOAL} s)  {'ok' if warm_median <= WARM_GOAL else 'OVER GOAL'}")
    print_phases("warm, median s after opening", [statistics.median(p[i] for p in warm) for i in range(len(PHASES))])

    print(f"Live code on {LIVE_PAGE} (Python on the page, first visit each): the page's first cell has run "
          f"{statistics.median(ran for _, ran in at_once):.1f} s median after a click at once; after the pointer "
          f"rested {REST} s on the toggle (Python ready {statistics.median(ready for ready, _ in rested):.1f} s after "
          f"pointing), {statistics.median(ran for _, ran in rested):.1f} s after the click  [{load()}]")

    print(f"the kernel's start step by step in Node (same Pyodide, lock and first cell; median of {rounds}; {load()}):")
    for step in runs[0]["phases"]:
        wall = statistics.median(run["phases"][step]["wall"] for run in runs)
        cpu = statistics.median(run["phases"][step]["cpu"] for run in runs)
        print(f"  {step:<20} {wall:5.2f} s wall, {cpu:5.2f} s CPU")
    print("  heaviest imports after the runtime's own (cumulative s, first run): " + ", ".join(
        f"{item['module']} {item['seconds']:.2f}" for item in runs[0]["heaviest_imports"]))

    training = node_training()
    print(f"training in the lab's Pyodide (NumPy with BLAS: {training['numpy_has_blas']}), in Node: a capstone CNN "
          f"epoch on 1,280 random images took {training['einsum']:.2f} s with numtorch's products as np.einsum, "
          f"{training['matmul']:.2f} s with np.matmul (median of 3)  [{load()}]")

    size = megabytes(LITE)
    print(f"browser lab size: {size:.1f} MB in _build/html/lite (goal <= {SIZE_GOAL} MB)  "
          f"{'ok' if size <= SIZE_GOAL else 'OVER GOAL'}; whole site {megabytes(SITE):.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
