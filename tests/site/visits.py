"""What went wrong while a page of the built site was open: `watch(page, site_url)` records it on a `Visit`.

Requests to any other host are blocked and recorded, so a page that would need the internet fails its test
instead of hanging; failed requests, HTTP errors and console errors are recorded too.
"""
from dataclasses import dataclass, field


@dataclass
class Visit:
    page: object
    failed_requests: list = field(default_factory=list)
    foreign_requests: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)

    @property
    def problems(self):
        return self.failed_requests + self.foreign_requests + self.console_errors


def watch(page, site_url: str) -> Visit:
    """A Visit of `page` that records, from now on, what goes wrong on it (every page of its browser context
    is kept to `site_url`)."""
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

    page.context.route("**/*", only_this_site)
    page.on("requestfailed", record_failure)
    page.on("response", record_error_status)
    page.on("console", record_console)
    page.on("pageerror", lambda error: visit.console_errors.append(f"page error: {error}"))
    return visit
