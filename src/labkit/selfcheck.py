"""Self-check questions for the book's static site: answers computed by running code.

A page makes one ``SelfCheck`` and asks questions with it, each in a cell tagged
``remove-input``::

    quiz = SelfCheck(globals())
    quiz.predict('''
    layer = nn.Linear(3, 2)
    print(len(list(layer.parameters())))
    ''', why="A weight and a bias.")
    quiz.choose("How many tensors does it hold?", '''
    layer = nn.Linear(3, 2)
    len(list(layer.parameters()))
    ''', wrong={"1": "The bias is a parameter too."}, why="A weight and a bias.")

The code is shown to the reader and executed (in a copy of the page's namespace, so a
question cannot change the page). ``predict`` hides what the code printed in a dropdown;
``choose`` offers the value of the code's last expression among wrong choices, each
choice a dropdown that says whether it is right and why. Nothing is typed twice: the
right answer is whatever the code gives on the engine the page runs on, and a wrong
choice that equals it stops the build.

Each question is shown two ways. The site renders its MyST markdown (sphinx-design dropdowns;
myst-nb with ``nb_render_markdown_format: myst``, and ``text/markdown`` preferred over HTML in
``_config.yml``): it answers with no kernel and no JavaScript. JupyterLab and the browser lab,
which cannot read MyST directives, show its HTML: the same dropdowns as ``<details>``.
"""
import ast
import contextlib
import html
import io
import re
import textwrap

__all__ = ["SelfCheck"]


def run(code, namespace):
    """Run code in a copy of namespace; return (what it printed, its last expression's value).

    As in a notebook cell, the value is None when the code does not end in an expression.
    An exception the code does not catch is printed like Python's last traceback line.
    """
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    scope = dict(namespace)
    printed = io.StringIO()
    value = None
    with contextlib.redirect_stdout(printed):
        try:
            exec(compile(tree, "<self-check>", "exec"), scope)
            if last is not None:
                value = eval(compile(ast.Expression(last.value), "<self-check>", "eval"), scope)
        except Exception as error:
            print(f"{type(error).__name__}: {error}")
    return printed.getvalue(), value


def fence(text, language):
    """A fenced block (or, language None, inline code) that the text cannot close early."""
    longest = max((len(ticks) for ticks in re.findall("`+", text)), default=0)
    if language is None:
        ticks = "`" * (longest + 1)
        return f"{ticks} {text} {ticks}" if longest else f"`{text}`"
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text.rstrip()}\n{ticks}"


class SelfCheck:
    """The self-check questions of one page, numbered in the order they are asked."""

    def __init__(self, namespace):
        self.namespace = namespace
        self.asked = 0

    def _header(self, question, code):
        self.asked += 1
        code = textwrap.dedent(code).strip()
        return f"**Question {self.asked}.** {question}\n\n{fence(code, 'python')}\n", code

    def _header_html(self, question, code):
        return (f"<p><b>Question {self.asked}.</b> {inline_html(question)}</p>"
                f"<pre><code>{html.escape(code)}</code></pre>")

    def predict(self, code, why, question="What does this print? Decide, then reveal."):
        """Show code; reveal what it printed (and its last value, as a notebook would)."""
        header, code = self._header(question, code)
        printed, value = run(code, self.namespace)
        shown = printed + (repr(value) if value is not None else "")
        if not shown.strip():
            raise ValueError(f"expected question {self.asked}'s code to print something, "
                             f"but got no output from:\n{code}")
        reveal = (":::{dropdown} Reveal the output\n:class-container: self-check-reveal\n"
                  f"{fence(shown, 'text')}\n\n{why}\n:::\n")
        reveal_html = (f"<details><summary>Reveal the output</summary><pre>{html.escape(shown)}</pre>"
                       f"<p>{inline_html(why)}</p></details>")
        return Question(self._box(header, reveal), self._header_html(question, code) + reveal_html)

    def choose(self, question, code, wrong, why):
        """Ask which value the code's last expression has; wrong maps a choice to why not."""
        header, code = self._header(question, code)
        printed, value = run(code, self.namespace)
        if value is None:
            raise ValueError(f"expected question {self.asked}'s code to end in an expression, "
                             f"but got None from:\n{code}\n{printed}")
        answer = str(value)
        clashes = [choice for choice in wrong if str(choice) == answer]
        if clashes:
            raise ValueError(f"expected every wrong choice of question {self.asked} to differ "
                             f"from the computed answer {answer!r}, but got {clashes}")
        feedback = {answer: f"**Right.** {why}"}
        feedback.update({str(choice): f"**Not this one.** {reason}"
                         for choice, reason in wrong.items()})
        # A fixed order that does not depend on which choice is right.
        order = sorted(feedback, key=lambda choice: (len(choice), choice))
        dropdowns = "\n".join(
            f":::{{dropdown}} {letter}. {fence(choice, None)}\n"
            f":class-container: self-check-choice\n{feedback[choice]}\n:::\n"
            for letter, choice in zip("ABCDEFGH", order))
        choices_html = "".join(
            f"<details><summary>{letter}. <code>{html.escape(choice)}</code></summary>"
            f"<p>{inline_html(feedback[choice])}</p></details>" for letter, choice in zip("ABCDEFGH", order))
        return Question(self._box(header, dropdowns), self._header_html(question, code) + choices_html)

    @staticmethod
    def _box(header, body):
        # One container per question, so that the page (and its tests) can count them.
        return f"::::{{container}} self-check\n{header}\n{body}\n::::\n"


class Question:
    """A question as MyST markdown (for the site) and as HTML (for Jupyter, which cannot read MyST)."""

    def __init__(self, markdown, html_):
        self.data, self.html = markdown, html_

    def _repr_markdown_(self):
        return self.data

    def __repr__(self):
        return self.data

    def _repr_html_(self):
        return f'<div class="self-check">{self.html}</div>'


def inline_html(text):
    """The few inline marks the questions use (**bold**, `code`), as HTML; everything else escaped."""
    parts = html.escape(text).split("`")
    out = "".join(f"<code>{p}</code>" if i % 2 else re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", p)
                  for i, p in enumerate(parts))
    return out
