"""Open pages of the built site (_build/html) in headless Chromium.

A chapter's browser test needs only the `site_page` fixture (Chromium itself is the `browser`
fixture of tests/conftest.py):

    def test_dropout_demo_renders(site_page):
        visit = site_page("book/04_train_eval/dropout.html")
        assert visit.problems == []
        visit.page.locator(".widget-slider").first.wait_for()

`site_page(path)` loads the page from a local server and returns a `Visit` (tests/site/visits.py):
the Playwright page plus everything that went wrong on it. Requests to any other host are
blocked and recorded, so a page that would need the internet fails here instead of
hanging.
"""
import functools
import http.server
import threading
from pathlib import Path

import pytest

from visits import watch

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"


class _RecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site quietly, and adds each path asked of it to its server's `paths`."""

    def log_message(self, format, *args):
        pass

    def send_head(self):
        self.server.paths.append(self.path.split("?")[0])
        return super().send_head()


@pytest.fixture(scope="session")
def site_root(skip_or_fail_on_ci):
    if not (SITE / "index.html").is_file():
        skip_or_fail_on_ci(f"{SITE} has no built site: run `make book` first")
    return SITE


@pytest.fixture(scope="session")
def site_server(site_root):
    """The built site on 127.0.0.1; its `paths` are those asked of it, in order (a worker's whole session)."""
    handler = functools.partial(_RecordingHandler, directory=str(site_root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.paths = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def site_url(site_server):
    return f"http://127.0.0.1:{site_server.server_port}/"


@pytest.fixture
def site_page(browser, site_url):
    """Return a function that opens a site path (e.g. "book/intro.html") and returns a Visit."""
    contexts = []

    def open_page(path):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        visit = watch(page, site_url)
        page.goto(site_url + path, wait_until="networkidle")
        return visit

    yield open_page
    for context in contexts:
        context.close()
