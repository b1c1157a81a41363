"""How soon the browser lab runs a learner's first cell, and how much it weighs.

Goals: the first code cell of a lab has run <= 10 s after the page was opened (2 cores), and
the browser lab (_build/html/lite) is <= 60 MB. Needs `make book` first. Run::

    .venv/bin/python benchmarks/lite.py [ROUNDS]

The site is served by `python -m http.server` on 127.0.0.1, as a learner would serve it, and
opened in headless Chromium with an empty cache each round, as on a first visit; then once more
with the cache of a visit before, as on a return. Besides the time to the first cell it prints
when JupyterLab showed the lab and when the kernel became idle (the rest is Pyodide, the kernel's
packages and IPython starting), and the load average: on shared cores the figures follow it.
"""
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

LAB = "labs/0_linear.ipynb"


def megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


KERNEL_IDLE = "document.querySelector('.jp-StatusBar-Widget')?.innerText.includes('Python (Pyodide) | Idle')"
# The moments of a cold start, in order: JupyterLab shown with the lab open (the kernel starts
# then), Pyodide and the kernel's packages loaded (the kernel says Idle), the first cell run.
PHASES = ("notebook shown", "kernel idle", "first cell run")


def first_cell_phases(context, url: str) -> list[float]:
    """Seconds from opening the lab in a new tab of `context` to each of PHASES."""
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
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
    page.close()
    return [shown, idle, ran]


def visits(browser, url: str, count: int) -> list[list[float]]:
    """The phases of `count` visits in one fresh browser profile: a first visit, nothing cached, then
    return visits, with the browser's cache (and its compiled WebAssembly) kept from the ones before."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        return [first_cell_phases(context, url) for _ in range(count)]
    finally:
        context.close()


def main() -> int:
    if not (LITE / "jupyter-lite.json").is_file():
        print(f"{LITE} has no browser lab: run `make book` first")
        return 1
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    server = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
                              cwd=SITE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = re.search(r"port (\d+)", server.stdout.readline())[1]
        url = f"http://127.0.0.1:{port}/lite/lab/index.html?path={LAB}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            rounds_phases = [visits(browser, url, 1)[0] for _ in range(rounds)]
            warm = visits(browser, url, 2)[1]
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    times = [phases[-1] for phases in rounds_phases]
    median = statistics.median(times)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"browser lab, first cell of {LAB} run after: median {median:.1f} s, "
          f"max {max(times):.1f} s over {rounds} cold loads (goal <= 10 s)  {'ok' if median <= 10 else 'OVER GOAL'}"
          f"  [{os.cpu_count()} cores, load average {load}]")
    medians = [statistics.median(phases[i] for phases in rounds_phases) for i in range(len(PHASES))]
    print("  where the time goes (median s after opening): "
          + ", ".join(f"{name} {seconds:.1f}" for name, seconds in zip(PHASES, medians)))
    print(f"  a return visit (browser cache kept): first cell run after {warm[-1]:.1f} s (kernel idle {warm[1]:.1f})")
    size = megabytes(LITE)
    print(f"browser lab size: {size:.1f} MB in _build/html/lite (goal <= 60 MB)  {'ok' if size <= 60 else 'OVER GOAL'}; "
          f"whole site {megabytes(SITE):.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
