"""The built site works offline: every page loads cleanly, widgets and math render."""
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def toc_pages():
    """Site paths of the pages in _toc.yml, root first."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    walk(toc.get("chapters", []))
    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return [re.sub(r"\.(md|ipynb)$", "", name) + ".html" for name in files]


@pytest.mark.parametrize("path", toc_pages() + ["genindex.html", "search.html"])
def test_page_loads_with_no_failed_request_no_other_host_and_no_console_error(site_page, path):
    visit = site_page(path)
    assert visit.problems == []


def test_no_built_page_embeds_a_resource_from_another_host(site_root):
    # Catches pages outside the toc too; links (<a href>) to other sites are fine.
    remote = re.compile(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=\"(https?:)?//[^\"]*\"")
    offenders = [
        f"{html.relative_to(site_root)}: {match.group(0)}"
        for html in site_root.rglob("*.html")
        for match in remote.finditer(html.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_page_declares_an_icon_the_site_serves(site_root):
    # A page that declares none makes the browser ask the host's root for /favicon.ico: outside the site, a 404 in
    # the console. (Not seen in the page-load tests: with requests routed through Playwright, Chromium asks for none.)
    icon = re.compile(r'<link\b[^>]*\brel="icon"[^>]*\bhref="([^"?#]+)')
    pages = [html for html in site_root.rglob("*.html") if html != site_root / "index.html"  # a bare redirect
             and not {"_static", "files"} & set(html.relative_to(site_root).parts)]
    assert len(pages) > 50 and any("lite" in html.parts for html in pages)
    missing = [str(html.relative_to(site_root)) for html in pages
               if not (found := icon.search(html.read_text(encoding="utf-8")))
               or not (html.parent / found[1]).resolve().is_file()]
    assert missing == [], f"expected every page to declare an icon the site serves, but got none in {missing}"


def test_no_built_page_shows_pytorch_missing(site_root):
    # The comparison cells print PyTorch's own figures when torch is importable, and the site
    # is built with torch: an output (not the cell's source, where the text sits in quotes)
    # saying it is missing means the build ran, or a cached page was executed, without it.
    missing = re.compile(r'(?<!")PyTorch is not installed')
    pages = [str(html.relative_to(site_root)) for html in site_root.rglob("*.html")
             if missing.search(html.read_text(encoding="utf-8"))]
    assert pages == []


@pytest.mark.parametrize("width", [1280, 600], ids=["wide", "narrow"])
def test_a_page_shows_one_search_box(site_page, width):
    # sphinx-book-theme puts one in the header and one in the sidebar (on a narrow screen the header's icon
    # stands in for both); _config.yml takes the sidebar's out.
    visit = site_page("book/intro.html")
    visit.page.set_viewport_size({"width": width, "height": 900})
    boxes = visit.page.locator(".search-button__button")
    assert sum(boxes.nth(i).is_visible() for i in range(boxes.count())) == 1


def test_site_root_redirects_to_the_intro(site_page):
    visit = site_page("index.html")
    visit.page.wait_for_url("**/book/intro.html")
    assert visit.problems == []


def test_intro_math_is_typeset_by_the_bundled_mathjax(site_page):
    visit = site_page("book/intro.html")
    visit.page.locator("mjx-container").first.wait_for()
    assert visit.problems == []


def test_intro_sliders_render_and_stay_linked_with_no_kernel(site_page):
    visit = site_page("book/intro.html")
    page = visit.page
    sliders = page.locator(".widget-slider")
    sliders.first.wait_for()
    assert sliders.count() == 2
    readouts = page.locator(".widget-slider .widget-readout")
    assert readouts.all_inner_texts() == ["3", "3"]

    page.locator(".widget-slider .noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")

    # jslink runs in the browser: the second slider follows the first.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.widget-slider .widget-readout')]"
        ".every(r => r.innerText.trim() === '4')"
    )
    assert visit.problems == []
