"""The labs' hidden tests, run in this process on the answer keys' names as the grader runs them on a kernel's:
each answer key passes every one, and a catalogued layer whose mistake they are about fails them."""

import pytest

from labkit.grader.grade import run_hidden
from labkit.checks.proxies import LocalConnection
from catalogue import BATCHNORM2D
from test_mistakes import LABS, bank_of, solution_namespace

HIDDEN = [(lab.name, test) for lab in LABS.values() for test in lab.hidden_tests()]


def run(lab_name, test, code=""):
    namespace = dict(solution_namespace(lab_name))
    exec(code, namespace)
    connection = LocalConnection(namespace, bank_of(lab_name).withheld)
    return run_hidden(test.name, test.points, test.source, connection, 30)


def catalogued(name):
    """The code of the catalogue's BatchNorm2d mistake of that name."""
    return next(m.code for m in BATCHNORM2D if m.name == name)


def test_every_lab_has_hidden_tests_worth_at_least_two_points():
    for lab in LABS.values():
        assert sum(t.points for t in lab.hidden_tests()) >= 2, lab.name


@pytest.mark.parametrize("lab_name, test", HIDDEN, ids=lambda v: getattr(v, "name", v))
def test_the_answer_key_passes_every_hidden_test(lab_name, test):
    score, message, review = run(lab_name, test)
    assert (score, message, review) == (test.points, "", None)


def test_a_batchnorm_whose_momentum_none_divides_by_zero_in_eval_fails_the_hidden_test():
    test = next(t for t in LABS["3_batchnorm2d"].hidden_tests() if "momentum_none" in t.name)
    score, message, _ = run("3_batchnorm2d", test,
                            catalogued("momentum=None turned into 1/num_batches_tracked on every call"))
    assert score == 0 and "ZeroDivisionError" in message, message


def test_the_capstones_hidden_evaluate_test_does_not_blame_evaluate_for_a_dropout_that_ignores_eval_mode():
    from catalogue import NET

    test = next(t for t in LABS["4_capstone"].hidden_tests() if "evaluate" in t.name)
    score, message, _ = run("4_capstone", test, """
class Dropout(Dropout):
    def forward(self, input):
        return F.dropout(input, self.p)
""" + NET)
    assert score == test.points, message


def test_a_resume_that_leaves_the_generator_alone_fails_the_hidden_resume_tests():
    from catalogue import CHECKPOINT

    code = next(m.code for m in CHECKPOINT if m.name == "resume leaves the generator where the new process has it")
    for test in LABS["6_checkpoint"].hidden_tests():
        score, message, _ = run("6_checkpoint", test, code)
        assert score == 0 and "your run ends with another" in message, message
