"""Every catalogued learner mistake fails its check, with a message that names it; the
solutions pass every check."""

import functools
import importlib

import pytest

from catalogue import CATALOGUE
from labkit.labs import CHECK_TAG, HIDDEN_TAG, load_labs

LABS = {lab.name: lab for lab in load_labs()}


def tiered(lab_name, *values):
    """A parameter set, marked slow for the capstone, whose answer key trains its network before any check runs."""
    return pytest.param(lab_name, *values, marks=pytest.mark.slow if lab_name == "4_capstone" else ())


@functools.lru_cache(maxsize=None)
def solution_namespace(lab_name: str) -> dict:
    """Run the answer key's code cells (not its check cells) in a fresh namespace, as a kernel would."""
    nb = LABS[lab_name].solution_notebook()
    namespace = {"__name__": "__main__"}
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and CHECK_TAG not in tags and HIDDEN_TAG not in tags:
            exec(compile(cell.source, f"<{lab_name} cell>", "exec"), namespace)
    return namespace


def bank_of(lab_name):
    return importlib.import_module(f"labkit.checks.{LABS[lab_name].checks_module}").bank


@functools.lru_cache(maxsize=None)
def outcome_with(lab_name, mistake):
    """The outcome of `mistake`'s check on the answer key with `mistake` in it, run once for the two tests that
    read it (a capstone mistake trains a network)."""
    namespace = dict(solution_namespace(lab_name))
    exec(compile(mistake.code, f"<{mistake.name}>", "exec"), namespace)
    bank = bank_of(lab_name)
    return bank.run(bank[mistake.check], namespace)


def test_every_lab_has_a_catalogue_of_at_least_six_mistakes():
    assert set(CATALOGUE) == set(LABS)
    for lab_name, mistakes in CATALOGUE.items():
        assert len(mistakes) >= (6 if lab_name != "4_capstone" else 4), lab_name
        checks = {c.name for c in bank_of(lab_name).checks}
        assert {m.check for m in mistakes} <= checks, lab_name


@pytest.mark.parametrize("lab_name", [tiered(lab) for lab in sorted(LABS)])
def test_the_solution_passes_every_check(lab_name):
    bank = bank_of(lab_name)
    for check in bank.checks:
        outcome = bank.run(check, solution_namespace(lab_name))
        assert outcome.passed, f"{check.name}: {outcome.message}"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # some buggy layers divide by zero on purpose
@pytest.mark.parametrize("lab_name, mistake", [tiered(lab, m) for lab, ms in CATALOGUE.items() for m in ms],
                         ids=lambda v: str(v).replace(" ", "-"))
def test_each_mistake_loses_points_with_its_own_message(lab_name, mistake):
    outcome = outcome_with(lab_name, mistake)
    assert not outcome.passed and outcome.score < bank_of(lab_name)[mistake.check].points, \
        f"{mistake.name} went unnoticed"
    assert mistake.says in outcome.message, f"{mistake.name}: the message was {outcome.message!r}"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("lab_name", [tiered(lab) for lab in sorted(CATALOGUE)])
def test_no_two_mistakes_of_a_lab_get_the_same_message(lab_name):
    messages = {}
    for mistake in CATALOGUE[lab_name]:
        messages.setdefault(outcome_with(lab_name, mistake).message, []).append(mistake.name)
    assert all(len(names) == 1 for names in messages.values()), messages
