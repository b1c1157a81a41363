"""labkit watches an engine's nn.functional from outside: the same tool for numtorch and PyTorch."""
import importlib
import types

import pytest

from labkit.functional_calls import engine_of, functional_of, public_functions, received_argument, trace_calls


@pytest.fixture(params=["numtorch", "torch"])
def engine(request):
    return pytest.importorskip(request.param)


def test_engine_of_finds_the_package_of_a_module_a_subclass_and_a_tensor(engine):
    class Mine(engine.nn.Linear):
        pass

    for thing in (engine.nn.Linear(2, 2), Mine(2, 2), Mine, engine.ones(2), engine.nn.Parameter(engine.ones(2))):
        assert engine_of(thing) is engine
    assert functional_of(engine.ones(1)) is importlib.import_module(engine.__name__ + ".nn.functional")


def test_engine_of_refuses_what_no_engine_made():
    with pytest.raises(TypeError, match="expected an engine's nn.Module or Tensor, but got builtins.int"):
        engine_of(3)


def test_a_layer_call_is_reported_once_with_its_own_parameter_objects(engine):
    F = functional_of(engine)
    layer = engine.nn.Linear(3, 2)
    calls = []
    with trace_calls(F, lambda name, args, kwargs, out: calls.append((name, args, out))):
        out = layer(engine.randn(4, 3))
    assert [name for name, _, _ in calls] == ["linear"]
    assert calls[0][1][1] is layer.weight and calls[0][1][2] is layer.bias and calls[0][2] is out


def test_the_functions_are_put_back_after_the_block_even_when_it_raises(engine):
    F = functional_of(engine)
    before = {name: getattr(F, name) for name in public_functions(F)}
    with pytest.raises(RuntimeError):
        with trace_calls(F, lambda *call: None):
            engine.nn.Linear(3, 2)(engine.randn(4, 5))
    assert {name: getattr(F, name) for name in public_functions(F)} == before


def test_only_the_outermost_call_is_reported():
    fake = types.ModuleType("fake_functional")
    fake.__all__ = ["outer", "inner"]
    fake.inner = lambda x: x + 1
    fake.outer = lambda x: fake.inner(x) * 2
    calls = []
    with trace_calls(fake, lambda name, args, kwargs, out: calls.append((name, args, out))):
        fake.outer(1)
        fake.inner(5)
    assert calls == [("outer", (1,), 4), ("inner", (5,), 6)]


def test_reporting_at_the_start_sees_a_call_that_raises_and_only_the_outermost(engine):
    F = functional_of(engine)
    calls = []
    with pytest.raises(RuntimeError):
        with trace_calls(F, lambda name, args, kwargs, out: calls.append((name, out)), when="started"):
            F.cross_entropy(engine.randn(4, 3), engine.tensor([0, 1, 2, 0]))
            engine.nn.Linear(3, 2)(engine.randn(4, 5))  # wrong in_features: linear raises
    assert calls == [("cross_entropy", None), ("linear", None)]


def test_trace_calls_refuses_an_unknown_moment():
    with pytest.raises(ValueError, match="when must be 'returned' or 'started', but got 'later'"):
        with trace_calls(types.ModuleType("empty"), print, when="later"):
            pass


def test_received_argument_fills_in_defaults_and_says_none_for_absent_parameters(engine):
    F = functional_of(engine)
    x = engine.ones(3)
    assert received_argument(F, "dropout", (x, 0.5), {}, "training") is True
    assert received_argument(F, "dropout", (x,), {"training": False}, "training") is False
    assert received_argument(F, "relu", (x,), {}, "training") is None
