"""Every exercise answers back: a hint and a worked solution, folded until asked for, or a link to its lab."""
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

SITE = Path(__file__).resolve().parents[2] / "_build" / "html"


def exercises():
    """(page, exercise id, exercise element, the page's soup) for every exercise of the built book."""
    found = []
    for html in sorted((SITE / "book").rglob("*.html")):
        soup = BeautifulSoup(html.read_text(), "html.parser")
        for box in soup.select("div.exercise"):
            found.append((html.relative_to(SITE).as_posix(), box.get("id"), box, soup))
    return found


def test_the_book_has_exercises_and_each_has_a_hint_and_a_solution_or_is_a_lab_task():
    found = exercises()
    assert len(found) >= 80, f"only {len(found)} exercises found in {SITE}: is the book built?"
    missing = []
    for page, ident, box, soup in found:
        if "lab task" in box.get_text():
            labs = set(re.findall(r"labs/(\w+)", box.get_text()))
            links = {a["href"] for a in box.find_parent("section").select("p.lite-link a[href]")}
            assert labs and all(any(h.endswith(f"?path=labs/{lab}.ipynb") for h in links) for lab in labs), \
                f"{page}#{ident}: a lab task should name its lab and the page link to it in the browser lab"
            continue
        solutions = [s for s in soup.select("div.solution") if s.select_one(f'a[href="#{ident}"]')]
        if not (box.select("div.hint.dropdown") and solutions and "dropdown" in solutions[0]["class"]):
            missing.append(f"{page}#{ident}")
    assert missing == [], f"exercises without a folded hint and a folded solution: {missing}"


def test_a_hint_and_a_solution_open_on_click_and_the_solution_shows_its_executed_output(site_page):
    visit = site_page("book/01_two_ways/calling_a_module.html")
    page = visit.page
    hint = page.locator("#ch1-ex-zero-hook .hint")
    hint_text = hint.get_by_text("A forward hook that returns a value")
    solution = page.locator("div.solution", has=page.locator('a[href="#ch1-ex-zero-hook"]'))
    output = solution.locator(".cell_output", has_text="layer.forward(x):")
    assert not hint_text.is_visible() and not output.is_visible(), "hint and solution start folded"
    hint.locator(".admonition-title").click()
    hint_text.wait_for(state="visible", timeout=5000)
    assert not output.is_visible(), "opening the hint must not open the solution"
    solution.locator(".admonition-title").first.click()
    output.wait_for(state="visible", timeout=5000)
    assert visit.problems == []
