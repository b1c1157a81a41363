"""Self-check questions answer in the browser with no kernel; diagrams render as SVG."""
import io
from pathlib import Path

from PIL import Image

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[2]


def self_check_pages():
    toc = (ROOT / "_toc.yml").read_text()
    return sorted(line.split("file: ")[1] + ".html" for line in toc.splitlines()
                  if line.strip().startswith("- file: ") and line.endswith("/self_check"))


def test_every_chapter_and_the_primer_have_a_self_check_page():
    chapters = sorted(path.name for path in (ROOT / "book").iterdir()
                      if path.is_dir() and path.name[:2].isdigit())
    assert [page.split("/")[1] for page in self_check_pages()] == chapters


@pytest.mark.parametrize("path", self_check_pages())
def test_self_check_page_has_at_least_three_questions_and_both_kinds(site_root, path):
    # The questions are the executed page's own markup (labkit.selfcheck writes it); that each page loads in the
    # browser with no problem is test_site.py's, and that they answer on click is the tests below.
    page = BeautifulSoup((site_root / path).read_text(encoding="utf-8"), "html.parser")
    assert len(page.select(".self-check")) >= 3
    assert len(page.select(".self-check-reveal")) >= 1
    assert len(page.select(".self-check-choice")) >= 2


def test_clicking_a_wrong_then_the_right_choice_shows_each_verdict(site_page):
    visit = site_page("book/01_two_ways/self_check.html")
    page = visit.page
    question = page.locator(".self-check").filter(has_text="How many times did the hook run?")
    wrong = question.locator(".self-check-choice").filter(has=page.locator("summary", has_text="2"))
    right = question.locator(".self-check-choice").filter(has=page.locator("summary", has_text="1"))
    assert not wrong.get_by_text("Not this one.").is_visible()

    wrong.locator("summary").click()
    wrong.get_by_text("Not this one.").wait_for(state="visible")
    assert "skips" in wrong.inner_text() or "bypasses" in wrong.inner_text()

    right.locator("summary").click()
    right.get_by_text("Right.").wait_for(state="visible")
    assert visit.problems == []


def test_revealing_a_prediction_shows_the_computed_output(site_page):
    visit = site_page("book/01_two_ways/self_check.html")
    reveal = visit.page.locator(".self-check-reveal").first
    output = reveal.locator("pre")
    assert not output.is_visible()
    reveal.locator("summary").click()
    output.wait_for(state="visible")
    assert output.inner_text().strip() == "None"
    assert visit.problems == []


DIAGRAMS = {
    "book/01_two_ways/calling_a_module.html": "call_chain",
    "book/03_module_anatomy/index.html": "module_dictionaries",
    "book/06_state/index.html": "tensor_destinations",
    "book/08_myths/module_or_functional.html": "module_or_functional",
}


@pytest.mark.parametrize("path", DIAGRAMS)
def test_diagram_renders_as_a_transparent_svg_served_by_the_site(site_page, site_root, path):
    visit = site_page(path)
    diagram = visit.page.locator(".graphviz").first
    diagram.wait_for(state="visible")
    box = diagram.bounding_box()
    assert box["width"] > 200 and box["height"] > 100
    # The file the page embeds, not any graphviz-*.svg: an old build may leave stale ones.
    source = diagram.locator("object").get_attribute("data")
    svg = (site_root / path).parent.joinpath(source).resolve().read_text()
    assert f"<title>{DIAGRAMS[path]}</title>" in svg
    # graphviz paints a white background polygon unless the background is transparent.
    assert '<polygon fill="white"' not in svg
    # In dark mode the dark page shows through the diagram's corner (no white backdrop).
    visit.page.evaluate("document.documentElement.dataset.theme = 'dark'")
    corner = Image.open(io.BytesIO(diagram.screenshot())).convert("L").getpixel((1, 1))
    assert corner < 80
    assert visit.problems == []
