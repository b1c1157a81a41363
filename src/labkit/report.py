"""What a check cell shows: one result object, rendered for wherever it lands.

A :class:`Report` holds the outcomes of one task's checks (a check cell) or of all of a lab's
checks (the summary cell). The first thing to fix comes first in every rendering:

- ``str()`` / ``repr()``: plain text, for terminals, nbval and anything without HTML;
- ``_repr_html_``: a compact table for JupyterLab (✓/✗ coloured, points per check, the first
  failure first and highlighted, the other messages folded in ``<details>``);
- ``_repr_mimebundle_`` adds :data:`MIMETYPE`, the same result as JSON, which the notebook saves
  with its outputs and ``labkit status`` reads back without running anything.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass, field

# A mimetype of our own: JupyterLab renders the first one it knows of a bundle, and it knows
# application/json (a JSON tree), which would hide the HTML; it knows nothing of this one.
MIMETYPE = "application/vnd.labkit.report+json"
NOT_WRITTEN = "not written yet"  # how a check reports a NotImplementedError left by the release
PASS_COLOUR, FAIL_COLOUR, FIX_BACKGROUND = "#1a7f37", "#cf222e", "rgba(207, 34, 46, 0.08)"


@dataclass(frozen=True)
class Report:
    lab: str  # the lab's title, as its check bank names it
    tasks: dict  # task number -> title, for the tasks this report covers
    outcomes: tuple  # of labkit.checks.Outcome, in the bank's order
    summary: bool = False  # all of a lab's tasks (the summary cell), else one task (a check cell)
    hidden_tests: int | None = None  # how many hidden tests the grader adds (a summary says it); None: unknown
    # When the checks ran: execution counts restart with the kernel, so status orders saved results by this.
    ran_at: float = field(default_factory=time.time)

    @property
    def first_failure(self):
        return next((o for o in self.outcomes if not o.passed), None)

    def first_fix(self) -> tuple[str, str] | None:
        """What to fix first and why: the first failing check, or what every failing check says."""
        shared = None if self.summary else _shared_message(self.outcomes)
        if shared:
            return "every ✗ below", shared
        first = self.first_failure
        return (first.check.title, first.message) if first else None

    def of_task(self, task: int) -> list:
        return [o for o in self.outcomes if o.check.task == task]

    def headline(self) -> str:
        if self.summary:
            earned, points = sum(o.score for o in self.outcomes), sum(o.check.points for o in self.outcomes)
            return f"{self.lab}: the public checks give {earned:g}/{points:g} points{self._hidden_phrase()}"
        (task, title), = self.tasks.items()
        return f"{self.lab}, task {task} ({title}): {_passing(self.outcomes)}"

    def _hidden_phrase(self) -> str:
        if self.hidden_tests is None:
            return ""
        plural = "" if self.hidden_tests == 1 else "s"
        return f" (the grader adds {self.hidden_tests} hidden test{plural} of the same behaviour)"

    # Plain text ----------------------------------------------------------------------------

    def __str__(self) -> str:
        lines = [self.headline()]
        fix = self.first_fix()
        if fix:
            lines.append("First thing to fix: {}: {}".format(*fix))
        if self.summary:
            lines += [f"  task {task} ({title}): {_passing(self.of_task(task))}" for task, title in self.tasks.items()]
            return "\n".join(lines)
        for o in self.outcomes:
            lines.append(f"  {'✓' if o.passed else '✗'} {o.check.title} ({_points(o)})")
            if not o.passed and o.message != fix[1]:  # each message once
                lines.append(f"      {o.message}")
        if self.outcomes and not fix:
            lines.append("All good: on to the next task.")
        return "\n".join(lines)

    __repr__ = __str__

    # HTML ----------------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        fix = self.first_fix()
        parts = [f'<div class="labkit-report" style="font-size: var(--jp-content-font-size1, 14px); '
                 f'line-height: 1.4">', f"<div><b>{_e(self.headline())}</b></div>"]
        if fix:
            parts.append(f'<div class="labkit-first" style="margin: 4px 0; padding: 4px 8px; '
                         f'border-left: 4px solid {FAIL_COLOUR}; background: {FIX_BACKGROUND}">'
                         f"<b>First thing to fix:</b> {_e(fix[0])}<br>{_e(fix[1])}</div>")
        elif self.outcomes and not self.summary:
            parts.append(f'<div style="color: {PASS_COLOUR}">All good: on to the next task.</div>')
        rows = self._task_rows() if self.summary else self._check_rows()
        parts.append('<table class="labkit-checks" style="border-collapse: collapse; margin: 0">'
                     + "".join(rows) + "</table></div>")
        return "".join(parts)

    def _check_rows(self) -> list[str]:
        first, fix = self.first_failure, self.first_fix()
        ordered = ([first] if first else []) + [o for o in self.outcomes if o is not first]
        rows = []
        for o in ordered:
            # The message the box above shows is not repeated; any other one is folded under its check.
            folded = not o.passed and o.message != fix[1]
            title = f"<details><summary>{_e(o.check.title)}</summary>{_e(o.message)}</details>" if folded \
                else _e(o.check.title)
            rows.append(_row(o.passed, title, _points(o), highlight=o is first))
        return rows

    def _task_rows(self) -> list[str]:
        rows = []
        for task, title in self.tasks.items():
            mine = self.of_task(task)
            failing = [o for o in mine if not o.passed]
            details = "".join(f"<li>{_e(o.check.title)}: {_e(o.message)}</li>" for o in failing)
            label = f"task {task} ({title}): {_passing(mine)}"
            cell = _e(label) if not failing else (f"<details><summary>{_e(label)}</summary>"
                                                  f'<ul style="margin: 2px 0">{details}</ul></details>')
            earned, points = sum(o.score for o in mine), sum(o.check.points for o in mine)
            rows.append(_row(not failing, cell, f"{earned:g}/{points:g}",
                             highlight=any(o is self.first_failure for o in failing)))
        return rows

    # JSON ----------------------------------------------------------------------------------

    def as_dict(self) -> dict:
        return {
            "lab": self.lab,
            "tasks": {str(task): title for task, title in self.tasks.items()},
            "score": round(sum(o.score for o in self.outcomes), 6),
            "max_score": sum(o.check.points for o in self.outcomes),
            "hidden_tests": self.hidden_tests,
            "ran_at": self.ran_at,
            "checks": [dict(o.as_dict(), task=o.check.task, title=o.check.title) for o in self.outcomes],
        }

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": str(self), "text/html": self._repr_html_(), MIMETYPE: self.as_dict()}


def show(report: Report) -> None:
    """Display the report as rich output in a notebook, as its text anywhere else."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(report)
    else:
        display(report)


def hidden_tests_of(bank) -> int | None:
    """How many hidden tests the grader adds to `bank`'s checks: its lab source says; None where no source is found."""
    module = bank.checks[0].fn.__module__.rsplit(".", 1)[-1] if bank.checks else None
    try:
        from labkit.labs import load_labs

        lab = next((lab for lab in load_labs() if lab.checks_module == module), None)
    except (FileNotFoundError, ImportError):  # labkit without the labs' sources, or without jupytext (browser lab)
        return None
    return len(lab.hidden_tests()) if lab else None


def _passing(outcomes) -> str:
    return f"{sum(o.passed for o in outcomes)}/{len(outcomes)} checks pass"


def _points(outcome) -> str:
    return f"{outcome.score:g}/{outcome.check.points:g}"


def _shared_message(outcomes) -> str | None:
    """The one message of several failures (say it once), else None."""
    failures = [o for o in outcomes if not o.passed]
    messages = {o.message for o in failures}
    return messages.pop() if len(messages) == 1 and len(failures) > 1 else None


def _e(text) -> str:
    """Escaped for HTML, with the messages' `code` shown as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(text)))


def _row(passed: bool, cell: str, points: str, highlight: bool) -> str:
    mark = (f'<span style="color: {PASS_COLOUR}">✓</span>' if passed
            else f'<span style="color: {FAIL_COLOUR}">✗</span>')
    style = f' class="labkit-first-row" style="background: {FIX_BACKGROUND}"' if highlight else ""
    td = 'style="padding: 1px 8px; text-align: left; vertical-align: top"'
    return f"<tr{style}><td {td}>{mark}</td><td {td}>{cell}</td><td {td}>{points}</td></tr>"
