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

The questions are MyST markdown (sphinx-design dropdowns), rendered by myst-nb with
``nb_render_markdown_format: myst``: the site answers with no kernel and no JavaScript.
"""
import ast
import contextlib
import io
import re
import textwrap

from IPython.display import Markdown

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
        return self._box(header, reveal)

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
        return self._box(header, dropdowns)

    @staticmethod
    def _box(header, body):
        # One container per question, so that the page (and its tests) can count them.
        return Markdown(f"::::{{container}} self-check\n{header}\n{body}\n::::\n")
