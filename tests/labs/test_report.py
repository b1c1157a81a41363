"""One result object, three renderings: plain text, an HTML table, and JSON that status reads back."""

import re

import nbformat
import pytest

from labkit.checks import Bank, expect
from labkit.report import MIMETYPE, Report, hidden_tests_of
from labkit.status import saved_results

bank = Bank("Toy lab", {1: "adding", 2: "subtracting"})


@bank.check(task=1, points=2)
def adds_small_numbers(add):
    """add(1, 2) is 3"""
    expect(add(1, 2) == 3, f"add(1, 2) returned {add(1, 2)!r}, but 1 + 2 is 3: return `a + b`")


@bank.check(task=1)
def adds_negative_numbers(add):
    """add(-1, -2) is -3"""
    expect(add(-1, -2) == -3, f"add(-1, -2) returned {add(-1, -2)!r}: <b>not</b> -3")


@bank.check(task=1)
def adds_zero(add):
    """add(0, 5) is 5"""
    expect(add(0, 5) == 5, "add(0, 5) is not 5")


def task_report(add, task=1):
    return Report(bank.lab, {task: bank.tasks[task]}, tuple(bank.run(c, {"add": add}) for c in bank.checks
                                                          if c.task == task))


def wrong_add(a, b):  # right for a zero, wrong otherwise
    return a * b + a + b - a * b + (a < 0)


def unwritten_add(a, b):
    raise NotImplementedError("Task 1: add them")


def rows(html):
    return re.findall(r"<tr.*?</tr>", html)


def test_the_text_names_the_first_failure_right_after_the_headline_and_each_message_once():
    text = str(task_report(wrong_add))
    lines = text.splitlines()
    assert lines[0] == "Toy lab, task 1 (adding): 2/3 checks pass"
    assert lines[1] == "First thing to fix: add(-1, -2) is -3: add(-1, -2) returned -2: <b>not</b> -3"
    assert "  ✓ add(1, 2) is 3 (2/2)" in lines and "  ✗ add(-1, -2) is -3 (0/1)" in lines
    assert text.count("returned -2") == 1
    assert repr(task_report(wrong_add)) == text


def test_a_message_every_failure_shares_is_said_once_as_the_first_thing_to_fix():
    text = str(task_report(unwritten_add))
    assert text.splitlines()[1].startswith("First thing to fix: every ✗ below: not written yet")
    assert text.count("not written yet") == 1


def test_a_task_that_passes_says_so_and_has_nothing_to_fix():
    report = task_report(lambda a, b: a + b)
    assert str(report).splitlines()[-1] == "All good: on to the next task."
    assert "First thing to fix" not in str(report) and "First thing to fix" not in report._repr_html_()


def test_the_html_table_puts_the_first_failure_first_highlighted_and_folds_the_other_messages():
    def add(a, b):  # fails the last two checks, with different messages
        return a + b if a > 0 else 0

    html = task_report(add)._repr_html_()
    first, *others = rows(html)
    assert "labkit-first-row" in first and "add(-1, -2) is -3" in first and "✗" in first
    assert "#cf222e" in first  # ✗ in red
    assert not any("labkit-first-row" in row for row in others)
    assert "✓" in others[0] and "#1a7f37" in others[0] and "2/2" in others[0]
    assert "<details><summary>add(0, 5) is 5</summary>add(0, 5) is not 5</details>" in others[1]
    assert html.index("First thing to fix") < html.index("<table")


def test_the_html_escapes_what_the_learner_s_code_puts_in_a_message():
    html = task_report(wrong_add)._repr_html_()
    assert "<b>not</b>" not in html and "&lt;b&gt;not&lt;/b&gt;" in html


def test_the_mimebundle_carries_text_html_and_the_json_status_reads_back_from_a_saved_notebook(tmp_path):
    report = task_report(wrong_add)
    bundle = report._repr_mimebundle_()
    assert bundle["text/plain"] == str(report) and bundle["text/html"] == report._repr_html_()
    data = bundle[MIMETYPE]
    assert (data["score"], data["max_score"]) == (3, 4)
    assert [(c["name"], c["task"], c["passed"]) for c in data["checks"]] == [
        ("adds_small_numbers", 1, True), ("adds_negative_numbers", 1, False), ("adds_zero", 1, True)]
    assert set(data["checks"][0]) >= {"name", "score", "max_score", "passed", "message", "title"}

    cell = nbformat.v4.new_code_cell("check()", execution_count=1,
                                     outputs=[nbformat.v4.new_output("display_data", data=bundle)])
    path = tmp_path / "saved.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)  # validates the bundle
    assert saved_results(nbformat.read(path, as_version=4)) == [data]


def test_the_summary_gives_points_per_task_and_the_first_failure_across_tasks():
    outcomes = tuple(bank.run(c, {"add": wrong_add}) for c in bank.checks)
    report = Report(bank.lab, bank.tasks, outcomes, summary=True, hidden_tests=2)
    lines = str(report).splitlines()
    assert lines[0] == ("Toy lab: the public checks give 3/4 points "
                        "(the grader adds 2 hidden tests of the same behaviour)")
    assert lines[1].startswith("First thing to fix: add(-1, -2) is -3")
    assert lines[2:] == ["  task 1 (adding): 2/3 checks pass", "  task 2 (subtracting): 0/0 checks pass"]
    first, _ = rows(report._repr_html_())
    assert "labkit-first-row" in first and "<details>" in first and "3/4" in first


@pytest.mark.parametrize("module, hidden", [("dropout", 2), ("capstone", 2)])
def test_a_lab_s_summary_counts_the_hidden_tests_its_source_really_has(module, hidden):
    import importlib

    from labkit.labs import load_labs

    lab_bank = importlib.import_module(f"labkit.checks.{module}").bank
    lab = next(lab for lab in load_labs() if lab.checks_module == module)
    assert hidden_tests_of(lab_bank) == len(lab.hidden_tests()) == hidden
    summary = Report(lab_bank.lab, lab_bank.tasks, (), summary=True, hidden_tests=hidden)
    assert f"the grader adds {hidden} hidden test{'s' if hidden != 1 else ''}" in str(summary)


def test_the_html_shows_the_messages_code_as_code():
    def add(a, b):
        return a - b

    html = task_report(add)._repr_html_()
    assert "return <code>a + b</code>" in html and "`" not in html
