"""labkit.selfcheck: the right answer is what the code gives, and a wrong choice cannot be it."""
import pytest

from labkit.selfcheck import SelfCheck, run


def test_run_returns_what_the_code_printed_and_its_last_value():
    printed, value = run("print('a')\nx = 2\nx * scale", {"scale": 5})
    assert (printed, value) == ("a\n", 10)


def test_run_prints_an_uncaught_exception_like_python_does():
    printed, value = run("1 / 0", {})
    assert printed == "ZeroDivisionError: division by zero\n" and value is None


def test_a_question_cannot_change_the_page_namespace():
    page = {"x": 1}
    SelfCheck(page).predict("x = 2\nprint(x)", why="")
    assert page == {"x": 1}


def test_predict_hides_the_printed_output_behind_a_reveal():
    text = SelfCheck({}).predict("print(6 * 7)", why="Arithmetic.").data
    reveal = text[text.index(":::{dropdown} Reveal the output"):]
    assert "```python\nprint(6 * 7)\n```" in text
    assert "```text\n42\n```" in reveal and "Arithmetic." in reveal


def test_choose_marks_the_computed_value_right_and_explains_each_wrong_choice():
    text = SelfCheck({}).choose("Sum?", "1 + 2", wrong={4: "Off by one.", 2: "Too small."},
                                why="Add them.").data
    assert ":::{dropdown} A. `2`\n:class-container: self-check-choice\n**Not this one.** Too small." in text
    assert ":::{dropdown} B. `3`\n:class-container: self-check-choice\n**Right.** Add them." in text
    assert ":::{dropdown} C. `4`\n:class-container: self-check-choice\n**Not this one.** Off by one." in text


def test_choose_refuses_a_wrong_choice_equal_to_the_computed_answer():
    with pytest.raises(ValueError, match=r"differ from the computed answer '3', but got \[3\]"):
        SelfCheck({}).choose("Sum?", "1 + 2", wrong={3: "typed by hand"}, why="")


def test_choose_refuses_code_that_does_not_end_in_an_expression():
    with pytest.raises(ValueError, match="end in an expression, but got None"):
        SelfCheck({}).choose("?", "x = 1", wrong={}, why="")


def test_questions_are_numbered_in_the_order_asked():
    quiz = SelfCheck({})
    first = quiz.predict("print(1)", why="").data
    second = quiz.choose("?", "1", wrong={0: "no"}, why="").data
    assert "**Question 1.**" in first and "**Question 2.**" in second


def test_a_choice_with_backticks_stays_one_inline_code_span():
    text = SelfCheck({}).choose("?", "'a`b'", wrong={"c": "no"}, why="").data
    assert "``` a`b ``" not in text and "`` a`b ``" in text


def test_jupyter_gets_the_question_as_html_without_myst_syntax():
    quiz = SelfCheck({})
    shown = quiz.choose("Which **one**?", "'<b>' + 'x'", wrong={"y": "Not `y`."}, why="It <adds>.")._repr_html_()
    assert ":::" not in shown and "{dropdown}" not in shown
    assert shown.count("<details>") == 2 and "<b>one</b>" in shown and "<code>y</code>" in shown
    assert "&lt;b&gt;x" in shown and "&lt;adds&gt;" in shown and "<b>x" not in shown
    assert "<details><summary>Reveal the output</summary>" in quiz.predict("print(1)", why="One.")._repr_html_()
