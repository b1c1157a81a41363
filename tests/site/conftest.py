"""Open pages of the built site (_build/html) in headless Chromium.

A chapter's browser test needs only the `site_page` fixture:

    def test_dropout_demo_renders(site_page):
        visit = site_page("book/04_train_eval/dropout.html")
        assert visit.problems == []
        visit.page.locator(".widget-slider").first.wait_for()

`site_page(path)` loads the page from a local server and returns a `Visit`: the Playwright
page plus everything that went wrong while loading it. Requests to any other host are
blocked and recorded, so a page that would need the internet fails here instead of
hanging.
"""
import functools
import http.server
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium phones home at start-up, and those requests fail
# on a machine with no internet. The sandbox needs privileges CI's root user lacks. No host
# but 127.0.0.1 resolves, so that nothing can leave the machine even where routing (below)
# does not reach, e.g. requests of the browser lab's web workers.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@dataclass
class Visit:
    page: object
    failed_requests: list = field(default_factory=list)
    foreign_requests: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)

    @property
    def problems(self):
        return self.failed_requests + self.foreign_requests + self.console_errors


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def site_root():
    if not (SITE / "index.html").is_file():
        reason = f"{SITE} has no built site: run `make book` first"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return SITE


@pytest.fixture(scope="session")
def site_url(site_root):
    handler = functools.partial(_QuietHandler, directory=str(site_root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site_page(browser, site_url):
    """Return a function that opens a site path (e.g. "book/intro.html") and returns a Visit."""
    contexts = []

    def open_page(path):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        visit = Visit(page)

        def only_this_site(route):
            if route.request.url.startswith(site_url):
                route.continue_()
            else:
                visit.foreign_requests.append(f"blocked request to another host: {route.request.url}")
                route.abort()

        def record_failure(request):
            if not request.url.startswith(site_url):
                return  # already recorded as foreign
            visit.failed_requests.append(f"request failed: {request.url} ({request.failure})")

        def record_error_status(response):
            if response.status >= 400:
                visit.failed_requests.append(f"HTTP {response.status}: {response.url}")

        def record_console(message):
            if message.type == "error":
                visit.console_errors.append(f"console error: {message.text} at {message.location}")

        context.route("**/*", only_this_site)
        page.on("requestfailed", record_failure)
        page.on("response", record_error_status)
        page.on("console", record_console)
        page.on("pageerror", lambda error: visit.console_errors.append(f"page error: {error}"))
        page.goto(site_url + path, wait_until="networkidle")
        return visit

    yield open_page
    for context in contexts:
        context.close()
