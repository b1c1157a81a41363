"""The mode tracer attributes every functional call to its module, with the mode it ran in.

Every test runs on numtorch and on PyTorch (the ``engine`` fixture): the tracer watches a
model from outside, through its engine's ``nn.functional``, so it must not care which.
"""
import importlib

import numpy as np
import pytest

from labkit.widgets import ModeTracer, trace


@pytest.fixture(params=["numtorch", "torch"])
def engine(request):
    return pytest.importorskip(request.param)


@pytest.fixture
def F(engine):
    return importlib.import_module(engine.__name__ + ".nn.functional")


def make_net(engine, F):
    nn = engine.nn

    class Net(nn.Module):
        """Nested Sequential, a BatchNorm, an nn.Dropout, and a hand-written F.dropout (the pitfall)."""

        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(),
                                      nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5)))
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            return self.head(F.dropout(self.body(x), 0.2))

    return Net()


@pytest.fixture
def model(engine, F):
    engine.manual_seed(0)
    return make_net(engine, F)


@pytest.fixture
def x(engine):
    return engine.randn(6, 4)


def summary(records):
    return [(r.module, r.function, r.training) for r in records]


def test_eval_reaches_every_submodule_but_not_the_hand_written_dropout(model, x):
    result = trace(model.eval(), x)
    assert summary(result.calls()) == [
        ("body.0", "linear", None),
        ("body.1", "batch_norm", False),
        ("body.2", "relu", None),
        ("body.3.0", "linear", None),
        ("body.3.1", "dropout", False),
        ("", "dropout", True),  # F.dropout(x, 0.2) in Net.forward: default training=True
        ("head", "linear", None),
    ]
    assert all(training is False for _, _, training in result.modules)
    assert summary(result.mismatches()) == [("", "dropout", True)]
    assert result.changed() == []


def test_train_mode_batch_norm_changes_its_buffers_and_module_code_counts_the_batch(model, x):
    result = trace(model.train(), x)
    bn = [r for r in result.records if r.module == "body.1"]
    assert [(r.function, r.changes) for r in bn] == [
        (None, ["body.1.num_batches_tracked"]),  # self.num_batches_tracked += 1, before the call
        ("batch_norm", ["body.1.running_mean", "body.1.running_var"]),
    ]
    assert bn[1].reads == ["body.1.running_mean", "body.1.running_var", "body.1.weight", "body.1.bias"]
    assert result.mismatches() == []
    assert model.body[1].num_batches_tracked.item() == 1  # a real forward pass


def test_reads_name_the_parameters_each_call_was_given(model, x):
    result = trace(model.eval(), x)
    assert result.calls("linear")[0].reads == ["body.0.weight", "body.0.bias"]
    assert result.calls("relu")[0].reads == []


def test_trace_returns_the_forward_output(engine, model, x):
    model.eval()
    engine.manual_seed(1)  # the hand-written F.dropout still draws a mask
    expected = model(x)
    engine.manual_seed(1)
    np.testing.assert_array_equal(trace(model, x).output.detach().numpy(), expected.detach().numpy())


def test_tracing_leaves_no_hook_and_no_wrapped_functional_behind(F, model, x):
    original = F.dropout
    trace(model, x)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert F.dropout is original and not hasattr(F.dropout, "__wrapped__")


def test_tracing_cleans_up_when_the_forward_pass_raises(engine, F, model):
    with pytest.raises(RuntimeError):
        trace(model, engine.randn(6, 5))  # wrong number of features
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert not hasattr(F.linear, "__wrapped__")


def test_html_table_has_one_row_per_record_and_marks_the_mismatch(model, x):
    result = trace(model.eval(), x)
    table = result.to_html()
    assert table.count("<tr") == len(result.records) + 1
    assert table.count("background:") == 1


def test_mode_tracer_shows_both_modes_without_touching_the_model_or_its_mode(model, x):
    model.train()
    before = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    tracer = ModeTracer(model, x)
    try:
        eval_table = tracer.frames[(1,)][1].value
        train_table = tracer.frames[(0,)][1].value
        assert "running_mean" in train_table.split("batch_norm")[1]  # changed in train mode...
        assert model.training and all(m.training for m in model.modules())
        for key, value in model.state_dict().items():  # ...but on a copy
            np.testing.assert_array_equal(value.detach().numpy(), before[key])
        assert eval_table != train_table
        tracer.controls["mode"].value = "model.eval()"
        assert tracer.result.mismatches()[0].function == "dropout"
    finally:
        tracer.close()


def test_mode_tracer_retraces_the_model_as_it_is_now(engine, model, x):
    tracer = ModeTracer(model, x, static=False)
    try:
        model.head = engine.nn.Sequential(engine.nn.Linear(8, 3), engine.nn.Dropout(0.1))
        tracer.controls["mode"].value = "model.eval()"
        assert ("head.1", "dropout", False) in summary(tracer.result.calls())
    finally:
        tracer.close()
