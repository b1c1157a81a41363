"""Feedback says what the learner's code did: the check's own reference computations are not blamed on the
learner, the argument a check tried is named, hidden tests are named by their behaviour, one length policy
holds everywhere, and numtorch's warnings stay out of the learner's output."""

import warnings

from labkit.checks import MESSAGE_LIMIT, Mistake, limit_message
from labkit.grader.grade import run_hidden
from labkit.checks.proxies import LocalConnection
import pytest

from catalogue import NET
from test_mistakes import bank_of, solution_namespace


def run(lab, check, code):
    namespace = dict(solution_namespace(lab))
    exec(code, namespace)
    return bank_of(lab).run(bank_of(lab)[check], namespace)


def test_a_transposed_linear_weight_is_named_by_its_shape_not_as_an_exception_of_the_learner():
    outcome = run("0_linear", "forward_matches_F_linear", """
class Linear(Linear):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__(in_features, out_features, bias)
        self.weight = nn.Parameter(torch.empty(in_features, out_features).uniform_(-0.1, 0.1))
    def forward(self, input):
        return input @ self.weight + self.bias
""")
    assert not outcome.passed
    assert "Linear(3, 2).weight has shape (3, 2)" in outcome.message and "your code raised" not in outcome.message


def test_a_conv2d_that_crashes_on_groups_0_is_told_which_call_was_tried():
    outcome = run("1_conv2d", "rejects_groups_that_do_not_divide_the_channels", """
class Conv2d(Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True):
        in_channels % groups
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)
""")
    assert outcome.message.startswith("Conv2d(4, 4, 3, groups=0) should raise ValueError"), outcome.message
    assert "ZeroDivisionError" in outcome.message


def test_a_failing_hidden_test_is_named_by_its_behaviour_and_points_only_at_the_learners_code():
    def double(x):
        return x / 0

    score, message, review = run_hidden("hidden_doubles_two", 1, "assert double(2) == 4",
                                        LocalConnection({"double": double}), 2)
    assert score == 0 and review is None
    assert message.startswith("your code raised ZeroDivisionError: division by zero (in `double`"), message
    assert "<module>" not in message and "hidden test" not in message
    score, message, _ = run_hidden("hidden_doubles_two", 1, "assert double(2) == 4",
                                   LocalConnection({"double": lambda x: 3 * x}), 2)
    assert message == "hidden test hidden_doubles_two (doubles two) failed"


def test_the_notebook_and_the_grader_cut_messages_at_the_same_length():
    long = "x" * (MESSAGE_LIMIT * 2)
    assert len(limit_message(long)) == MESSAGE_LIMIT
    namespace = {"f": lambda: None}
    from labkit.checks import Bank

    bank = Bank("t", {1: "t"})

    @bank.check(task=1)
    def says_a_lot(f):
        raise Mistake(long)

    assert bank.run(bank["says_a_lot"], namespace).message == limit_message(long)


def test_numtorch_warnings_do_not_reach_the_learner():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = run("2_dropout", "p_equal_1_drops_everything_without_nan", """
class Dropout(Dropout):
    def forward(self, input):
        if not self.training:
            return input
        return input * (torch.rand(*input.shape) >= self.p).float() / (1 - self.p)
""")
    assert "NaN or inf" in outcome.message
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


@pytest.mark.parametrize("layer, code", [
    ("Dropout", "class Dropout(Dropout):\n    def forward(self, input):\n        return F.dropout(input, self.p)\n"),
    ("BatchNorm2d", "class BatchNorm2d(BatchNorm2d):\n    def forward(self, input):\n"
                    "        return F.batch_norm(input, None, None, self.weight, self.bias, True, 0.1, self.eps)\n"),
])
def test_a_capstone_layer_that_ignores_eval_mode_is_blamed_and_evaluate_is_not(layer, code):
    namespace = dict(solution_namespace("4_capstone"))
    exec(code + NET, namespace)
    bank = bank_of("4_capstone")
    outcomes = {c.name: bank.run(c, namespace) for c in bank.checks if c.task == 3}
    blamed = outcomes.pop("model_in_eval_mode_gives_each_image_its_own_prediction")
    assert not blamed.passed and blamed.message.startswith(f"the {layer} in your model"), blamed.message
    assert all(o.passed for o in outcomes.values()), {n: o.message for n, o in outcomes.items()}
