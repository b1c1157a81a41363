"""The Module APIs a learner meets after the book, on both engines: every test runs on numtorch and on torch 2.13.

nn.Buffer, forward hooks ``with_kwargs``/``prepend``, ModuleDict, ParameterList, ParameterDict,
``func.functional_call`` and ``load_state_dict(assign=True)``. Each test asserts what torch does,
so the torch run checks the claim and the numtorch run checks the engine.
"""
import importlib
import re
from collections import OrderedDict

import pytest


def func(lib):
    return importlib.import_module(f"{lib.__name__}.func")


def scaled(lib):
    """A module whose forward takes a keyword argument, a parameter and two kinds of buffer."""
    nn = lib.nn

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(lib.ones(2))
            self.offset = nn.Buffer(lib.zeros(2))
            self.cache = nn.Buffer(lib.zeros(1), persistent=False)

        def forward(self, x, scale=1.0):
            return x * self.weight * scale + self.offset

    return Scaled()


# ----- nn.Buffer ---------------------------------------------------------------------------------------------
def test_assigning_a_buffer_registers_it_in_buffers_and_persistent_false_keeps_it_out_of_state_dict(lib):
    model = scaled(lib)
    assert list(model._buffers) == ["offset", "cache"]
    assert model._non_persistent_buffers_set == {"cache"}
    assert "offset" not in model.__dict__ and "cache" not in model.__dict__
    assert list(model.state_dict()) == ["weight", "offset"]
    assert [name for name, _ in model.named_buffers()] == ["offset", "cache"]
    assert [name for name, _ in model.named_parameters()] == ["weight"]


def test_a_buffer_is_a_plain_tensor_that_isinstance_recognises(lib):
    t = lib.ones(2)
    buf = lib.nn.Buffer(t)
    assert type(buf) is lib.Tensor
    assert isinstance(buf, lib.nn.Buffer) and not isinstance(t, lib.nn.Buffer)
    assert buf.persistent is True and lib.nn.Buffer(t, persistent=False).persistent is False
    buf[0] = 5.0  # shares memory with the tensor it wraps
    assert t.tolist() == [5.0, 1.0]
    assert repr(buf) == "tensor([5., 1.])"


def test_a_buffer_of_a_graph_tensor_is_a_new_leaf_that_keeps_requires_grad(lib):
    x = lib.ones(2, requires_grad=True)
    buf = lib.nn.Buffer(x * 2)
    assert buf.is_leaf and buf.requires_grad and buf.grad_fn is None
    assert not lib.nn.Buffer(lib.ones(2)).requires_grad


def test_reassigning_a_buffer_name_with_nn_buffer_sets_its_persistence(lib):
    model = scaled(lib)
    model.cache = lib.nn.Buffer(lib.ones(1))
    assert list(model.state_dict()) == ["weight", "offset", "cache"]
    model.offset = lib.ones(2)  # a plain tensor keeps the name's persistence
    assert list(model.state_dict()) == ["weight", "offset", "cache"] and model.offset.tolist() == [1.0, 1.0]
    model.offset = lib.nn.Buffer(lib.ones(2), persistent=False)
    assert list(model.state_dict()) == ["weight", "cache"]


def test_a_buffer_cannot_take_over_a_plain_attribute_or_a_parameter(lib):
    model = scaled(lib)
    model.note = 3
    with pytest.raises(KeyError, match="attribute 'note' already exists"):
        model.note = lib.nn.Buffer(lib.ones(1))
    with pytest.raises(TypeError, match=rf"as parameter 'weight' \({lib.__name__}.nn.Parameter or None expected\)"):
        model.weight = lib.nn.Buffer(lib.ones(2))
    with pytest.raises(TypeError) as error:
        model.offset = 3
    assert str(error.value) == (f"cannot assign 'int' as buffer 'offset' "
                                f"({lib.__name__}.nn.Buffer, {lib.__name__}.Tensor or None expected)")


def test_a_buffer_before_module_init_is_refused(lib):
    class Early(lib.nn.Module):
        def __init__(self):
            self.running = lib.nn.Buffer(lib.zeros(1))

    with pytest.raises(AttributeError, match=r"cannot assign buffer before Module.__init__\(\) call"):
        Early()


# ----- forward hooks: with_kwargs and prepend -------------------------------------------------------------------
def test_a_pre_hook_with_kwargs_can_change_keyword_arguments(lib):
    model = scaled(lib)
    x = lib.ones(2)
    assert model(x, scale=2.0).tolist() == [2.0, 2.0]
    handle = model.register_forward_pre_hook(lambda m, args, kwargs: (args, {**kwargs, "scale": 10.0}),
                                             with_kwargs=True)
    assert model(x).tolist() == [10.0, 10.0]
    assert model(x, scale=2.0).tolist() == [10.0, 10.0]
    handle.remove()
    assert model(x, scale=2.0).tolist() == [2.0, 2.0]


def test_a_pre_hook_without_kwargs_sees_positional_arguments_only(lib):
    model, seen = scaled(lib), []
    model.register_forward_pre_hook(lambda m, args: seen.append(len(args)))
    model(lib.ones(2), scale=3.0)
    assert seen == [1]


def test_a_pre_hook_with_kwargs_can_also_replace_positional_arguments(lib):
    model = scaled(lib)
    model.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] * 0 + 3,), kwargs), with_kwargs=True)
    assert model(lib.ones(2), scale=2.0).tolist() == [6.0, 6.0]


def test_a_pre_hook_with_kwargs_must_return_none_or_args_and_kwargs(lib):
    model = scaled(lib)
    model.register_forward_pre_hook(lambda m, args, kwargs: 5, with_kwargs=True)
    with pytest.raises(RuntimeError) as error:
        model(lib.ones(2))
    assert str(error.value) == "forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got 5."


def test_a_forward_hook_with_kwargs_sees_the_kwargs_forward_got_and_can_replace_the_output(lib):
    model, seen = scaled(lib), []
    model.register_forward_pre_hook(lambda m, args, kwargs: (args, {"scale": 4.0}), with_kwargs=True)

    def hook(module, args, kwargs, output):
        seen.append((module, len(args), kwargs, output.tolist()))
        return output + 1

    model.register_forward_hook(hook, with_kwargs=True)
    assert model(lib.ones(2), scale=2.0).tolist() == [5.0, 5.0]
    assert seen == [(model, 1, {"scale": 4.0}, [4.0, 4.0])]


def test_prepend_runs_a_hook_before_those_already_registered(lib):
    model, order = scaled(lib), []
    model.register_forward_pre_hook(lambda m, args: order.append("pre"))
    model.register_forward_pre_hook(lambda m, args, kwargs: order.append("pre, first"), prepend=True, with_kwargs=True)
    model.register_forward_hook(lambda m, args, out: order.append("post"))
    model.register_forward_hook(lambda m, args, out: order.append("post, first"), prepend=True)
    model(lib.ones(2))
    assert order == ["pre, first", "pre", "post, first", "post"]


def test_removing_a_hook_handle_takes_it_and_its_with_kwargs_flag_out(lib):
    model = scaled(lib)
    handles = [model.register_forward_pre_hook(lambda m, args, kwargs: None, with_kwargs=True),
               model.register_forward_hook(lambda m, args, kwargs, out: None, with_kwargs=True)]
    assert len(model._forward_pre_hooks_with_kwargs) == len(model._forward_hooks_with_kwargs) == 1
    for handle in handles:
        handle.remove()
        handle.remove()  # a second remove is harmless
    assert not (model._forward_pre_hooks or model._forward_hooks
                or model._forward_pre_hooks_with_kwargs or model._forward_hooks_with_kwargs)


def test_a_hook_handle_used_as_a_context_manager_removes_the_hook_on_exit(lib):
    model = scaled(lib)
    with model.register_forward_hook(lambda m, args, out: out * 0):
        assert model(lib.ones(2)).tolist() == [0.0, 0.0]
    assert model(lib.ones(2)).tolist() == [1.0, 1.0]


def test_an_always_call_hook_runs_when_forward_raises_with_output_none_and_the_error_still_propagates(lib):
    layer, seen = lib.nn.Linear(4, 2), []
    handle = layer.register_forward_hook(lambda m, args, out: seen.append(out), always_call=True)
    layer.register_forward_hook(lambda m, args, out: seen.append("plain"))
    with pytest.raises(RuntimeError):
        layer(lib.ones(3, 5))
    assert seen == [None]
    layer(lib.ones(3, 4))
    assert len(seen) == 3 and tuple(seen[1].shape) == (3, 2) and seen[2] == "plain"  # once each on success
    handle.remove()
    assert not layer._forward_hooks_always_called


def test_an_always_call_hook_that_raises_too_only_warns_so_forwards_error_is_the_one_raised(lib):
    layer = lib.nn.Linear(4, 2)

    def broken(module, args, output):
        raise ValueError("hook failed")

    layer.register_forward_hook(broken, always_call=True)
    with pytest.warns(UserWarning, match="^module forward hook with ``always_call=True`` raised an exception that "
                                         "was silenced as another error was raised in forward: hook failed$"):
        with pytest.raises(RuntimeError):
            layer(lib.ones(3, 5))


def test_hooks_on_every_layer_of_a_sequential_run_in_call_order_inside_the_containers(lib):
    nn, order = lib.nn, []
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    handles = []
    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(lambda m, args, name=name: order.append(f"pre {name}")))
        handles.append(module.register_forward_hook(lambda m, args, out, name=name: order.append(f"post {name}")))
    model(lib.ones(1, 4))
    assert order == ["pre ", "pre 0", "post 0", "pre 1", "post 1", "pre 2", "post 2", "post "]
    for handle in handles:
        handle.remove()
    model(lib.ones(1, 4))
    assert len(order) == 8 and not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_a_pre_hook_returning_a_bare_tensor_replaces_the_first_argument_and_the_forward_hook_sees_the_new_args(lib):
    layer, seen = lib.nn.Identity(), []
    layer.register_forward_pre_hook(lambda m, args: args[0] * 2)
    layer.register_forward_hook(lambda m, args, out: seen.append(args))
    assert layer(lib.ones(2)).tolist() == [2.0, 2.0]
    assert isinstance(seen[0], tuple) and len(seen[0]) == 1 and seen[0][0].tolist() == [2.0, 2.0]


def test_a_hook_that_removes_its_own_handle_runs_this_call_and_no_later_one(lib):
    layer, calls = lib.nn.Identity(), []

    def once(module, args, output):
        calls.append(1)
        handle.remove()

    handle = layer.register_forward_hook(once)
    layer(lib.ones(1))
    layer(lib.ones(1))
    assert calls == [1] and not layer._forward_hooks


def test_a_recorded_detach_sees_an_in_place_relu_of_the_output_it_shares_memory_with(lib):
    nn, records = lib.nn, []
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(inplace=True))
    with lib.no_grad():
        model[0].weight.copy_(lib.tensor([[1.0, 0.0], [0.0, -1.0]]))
        model[0].bias.zero_()
    model[0].register_forward_hook(lambda m, args, out: records.append(out.detach()))
    model(lib.ones(1, 2))
    assert records[0].tolist() == [[1.0, 0.0]]


def test_functional_call_runs_the_modules_hooks_which_see_the_borrowed_weights(lib):
    layer, seen = lib.nn.Linear(2, 1), []
    layer.register_forward_hook(lambda m, args, out: seen.append(m.weight.tolist()))
    func(lib).functional_call(layer, {"weight": lib.full((1, 2), 7.0)}, lib.ones(1, 2))
    assert seen == [[[7.0, 7.0]]] and layer.weight.tolist() != [[7.0, 7.0]]


def test_functional_call_on_a_sequential_uses_the_modules_own_tensor_for_a_missing_name_unless_strict(lib):
    nn, fc = lib.nn, func(lib).functional_call
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    zeros = {name: lib.zeros_like(t) for name, t in model.state_dict().items() if name != "1.bias"}
    assert lib.allclose(fc(model, zeros, lib.ones(3, 2)), model[1].bias.expand(3, 1))
    assert fc(model, {**zeros, "weight": lib.ones(1)}, lib.ones(3, 2)).shape == (3, 1)  # an unknown name: ignored
    with pytest.raises(RuntimeError) as error:
        fc(model, zeros, lib.ones(3, 2), strict=True)
    assert str(error.value) == "Error(s) in reparametrizing for Sequential:\n\tMissing key(s): '1.bias'."


def test_functional_call_in_training_mode_updates_the_running_statistics_passed_in_not_the_modules(lib):
    bn, fc = lib.nn.BatchNorm1d(2), func(lib).functional_call
    state = {name: t.clone() for name, t in bn.state_dict().items()}
    x = lib.tensor([[1.0, 2.0], [3.0, 6.0]])
    fc(bn, state, x, strict=True)
    assert lib.allclose(state["running_mean"], lib.tensor([0.2, 0.4]))
    assert state["num_batches_tracked"].item() == 1
    assert bn.running_mean.tolist() == [0.0, 0.0] and bn.num_batches_tracked.item() == 0


# ----- ModuleDict, ParameterList, ParameterDict -------------------------------------------------------------------
def with_containers(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleDict({"cls": nn.Linear(2, 2), "box": nn.ReLU()})
            self.scales = nn.ParameterList([lib.ones(1), nn.Parameter(lib.ones(2, 3))])
            self.extra = nn.ParameterDict({"b": lib.ones(1), "a": nn.Parameter(lib.zeros(2), requires_grad=False)})

    return Net()


def test_containers_register_their_contents_under_torchs_state_dict_keys(lib):
    model = with_containers(lib)
    assert list(model.state_dict()) == ["heads.cls.weight", "heads.cls.bias", "scales.0", "scales.1",
                                        "extra.a", "extra.b"]
    assert [name for name, _ in model.named_parameters()] == list(model.state_dict())
    assert [name for name, _ in model.named_modules()] == ["", "heads", "heads.cls", "heads.box", "scales", "extra"]


def test_containers_print_as_torchs_repr(lib):
    assert repr(with_containers(lib)) == f"""Net(
  (heads): ModuleDict(
    (cls): Linear(in_features=2, out_features=2, bias=True)
    (box): ReLU()
  )
  (scales): ParameterList(
      (0): Parameter containing: [{lib.__name__}.float32 of size 1]
      (1): Parameter containing: [{lib.__name__}.float32 of size 2x3]
  )
  (extra): ParameterDict(
      (a): Parameter containing: [{lib.__name__}.FloatTensor of size 2]
      (b): Parameter containing: [{lib.__name__}.FloatTensor of size 1]
  )
)"""


def test_a_container_of_one_prints_on_one_line_and_an_empty_one_as_its_name(lib):
    nn = lib.nn
    assert repr(nn.ParameterList([lib.ones(1, dtype=lib.float64)])) == \
        f"ParameterList(  (0): Parameter containing: [{lib.__name__}.float64 of size 1])"
    assert repr(nn.ParameterDict({"w": lib.ones(2, 2, dtype=lib.float64)})) == \
        f"ParameterDict(  (w): Parameter containing: [{lib.__name__}.DoubleTensor of size 2x2])"
    assert [repr(c()) for c in (nn.ModuleDict, nn.ParameterList, nn.ParameterDict)] == \
        ["ModuleDict()", "ParameterList()", "ParameterDict()"]


def test_module_dict_is_an_ordered_dict_of_registered_children(lib):
    nn = lib.nn
    heads = nn.ModuleDict({"b": nn.Linear(2, 3), "a": nn.ReLU()})
    assert list(heads) == list(heads.keys()) == ["b", "a"] and len(heads) == 2 and "a" in heads
    heads["c"] = nn.Tanh()
    heads.update([("d", nn.Identity())])
    assert type(heads.pop("a")).__name__ == "ReLU"
    assert [(k, type(m).__name__) for k, m in heads.items()] == [("b", "Linear"), ("c", "Tanh"), ("d", "Identity")]
    del heads["d"]
    names = [type(m).__name__ for m in heads.values()]
    assert names == ["Linear", "Tanh"] == [type(m).__name__ for m in heads.children()]
    heads.clear()
    assert len(heads) == 0 and not list(heads.parameters())


def test_module_dict_refuses_what_torch_refuses(lib):
    heads = lib.nn.ModuleDict()
    with pytest.raises(TypeError, match="^int is not a Module subclass$"):
        heads["q"] = 3
    with pytest.raises(TypeError, match="^ModuleDict.update should be called with an iterable of key/value pairs, "
                                        "but got int$"):
        heads.update(5)
    with pytest.raises(ValueError, match="^ModuleDict update sequence element #0 has length 3; 2 is required$"):
        heads.update([("a", lib.nn.ReLU(), 1)])
    with pytest.raises(NotImplementedError, match=r'^Module \[ModuleDict\] is missing the required "forward"'):
        heads(lib.ones(1))


def test_parameter_list_makes_tensors_parameters_and_indexes_like_a_list(lib):
    nn = lib.nn
    frozen = nn.Parameter(lib.ones(3), requires_grad=False)
    params = nn.ParameterList([lib.zeros(2), frozen])
    assert [type(p).__name__ for p in params] == ["Parameter", "Parameter"]
    assert params[1] is frozen and not frozen.requires_grad and params[0].requires_grad
    assert params[-1] is frozen and [p.shape[0] for p in params[0:2]] == [2, 3]
    assert type(params[0:1]) is nn.ParameterList
    params.append("note")  # not a tensor: kept, not registered
    params += [lib.ones(4)]
    assert len(params) == 4 and params[2] == "note" and list(params.state_dict()) == ["0", "1", "3"]
    params[0] = lib.full((5,), 2.0)
    assert type(params[0]).__name__ == "Parameter" and params.state_dict()["0"].tolist() == [2.0] * 5
    assert repr(params).endswith("(2): Object of type: str\n    (3): Parameter containing: "
                                 f"[{lib.__name__}.float32 of size 4]\n)")


def test_parameter_list_refuses_what_torch_refuses(lib):
    params = lib.nn.ParameterList([lib.ones(1)])
    with pytest.raises(IndexError, match="^index 5 is out of range$"):
        params[5]
    with pytest.raises(TypeError, match="^ParameterList.extend should be called with an iterable, but got Tensor$"):
        params.extend(lib.ones(2))
    with pytest.raises(RuntimeError, match="^ParameterList should not be called.$"):
        params(lib.ones(1))


def test_parameter_dict_sorts_a_plain_dict_and_keeps_the_order_of_pairs(lib):
    nn = lib.nn
    assert list(nn.ParameterDict({"b": lib.ones(1), "a": lib.ones(1)})) == ["a", "b"]
    assert list(nn.ParameterDict(OrderedDict([("b", lib.ones(1)), ("a", lib.ones(1))]))) == ["b", "a"]
    assert list(nn.ParameterDict([("b", lib.ones(1)), ("a", lib.ones(1))])) == ["b", "a"]


def test_parameter_dict_is_a_dict_of_registered_parameters(lib):
    nn = lib.nn
    params = nn.ParameterDict({"w": lib.ones(2)})
    params["b"] = lib.zeros(1)
    assert type(params["b"]).__name__ == "Parameter" and params["b"].requires_grad
    assert "b" in params and len(params) == 2 and params.get("missing", 7) == 7
    assert list(params.keys()) == ["w", "b"] == [k for k, _ in params.items()] == list(params.state_dict())
    assert [p.shape[0] for p in params.values()] == [2, 1]
    assert params.pop("w").shape[0] == 2 and list(params.state_dict()) == ["b"]
    params.clear()
    assert len(params) == 0 and not list(params.parameters())


def test_parameter_dict_refuses_what_torch_refuses(lib):
    params = lib.nn.ParameterDict()
    with pytest.raises(TypeError, match=r"^Index given to ParameterDict cannot be used as a key as it is not a string "
                                        r"\(type is 'int'\)\. Open an issue on github if you need non-string keys\.$"):
        params[1] = lib.ones(1)
    with pytest.raises(TypeError, match="^ParametersDict.update should be called with an iterable of key/value pairs, "
                                        "but got int$"):
        params.update(5)
    with pytest.raises(RuntimeError, match="^ParameterDict should not be called.$"):
        params(lib.ones(1))


# ----- func.functional_call ----------------------------------------------------------------------------------------
def test_functional_call_runs_forward_with_the_given_tensors_and_puts_the_modules_own_back(lib):
    model = scaled(lib)
    weight, offset = model.weight, model.offset
    out = func(lib).functional_call(model, {"weight": lib.full((2,), 3.0), "offset": lib.ones(2)},
                                    (lib.ones(2),), {"scale": 2.0})
    assert out.tolist() == [7.0, 7.0]
    assert model.weight is weight and model.offset is offset
    assert list(model._parameters) == ["weight"] and list(model._buffers) == ["offset", "cache"]
    assert model(lib.ones(2)).tolist() == [1.0, 1.0]


def test_functional_call_keeps_the_modules_tensors_for_names_not_given_and_takes_one_argument_as_args(lib):
    model = scaled(lib)
    assert func(lib).functional_call(model, {"offset": lib.full((2,), 5.0)}, lib.ones(2)).tolist() == [6.0, 6.0]


def test_functional_call_accepts_several_dicts_but_not_a_key_twice(lib):
    model, fc = scaled(lib), func(lib).functional_call
    assert fc(model, ({"weight": lib.zeros(2)}, {"offset": lib.ones(2)}), lib.ones(2)).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match=r"^\['weight'\] appeared in multiple dictionaries; "
                                         "behavior of functional call is ambiguous$"):
        fc(model, [{"weight": lib.zeros(2)}, {"weight": lib.ones(2)}], lib.ones(2))
    with pytest.raises(ValueError, match="^Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, "
                                         "but got <class 'int'>$"):
        fc(model, 5, lib.ones(2))


def test_functional_call_gives_gradients_to_the_tensors_passed_in_not_to_the_modules_parameters(lib):
    model = lib.nn.Linear(3, 1)
    params = {name: lib.zeros_like(p).requires_grad_() for name, p in model.named_parameters()}
    func(lib).functional_call(model, params, lib.ones(2, 3)).sum().backward()
    assert params["weight"].grad.tolist() == [[2.0, 2.0, 2.0]] and params["bias"].grad.tolist() == [2.0]
    assert model.weight.grad is None and model.bias.grad is None


def test_functional_call_restores_the_modules_tensors_when_forward_raises(lib):
    model = lib.nn.Linear(3, 1)
    weight = model.weight
    with pytest.raises(RuntimeError):
        func(lib).functional_call(model, {"weight": lib.zeros(1, 3)}, lib.ones(2, 4))
    assert model.weight is weight and type(model.weight).__name__ == "Parameter"


def test_functional_call_leaves_a_buffer_reassigned_by_forward_in_the_callers_dict(lib):
    class Counter(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = lib.nn.Buffer(lib.zeros(()))

        def forward(self, x):
            self.calls = self.calls + 1
            return x

    model, state = Counter(), {"calls": lib.full((), 10.0)}
    func(lib).functional_call(model, state, lib.ones(1))
    assert state["calls"].item() == 11.0 and model.calls.item() == 0.0


def shared_weight(lib):
    """Two layers that share one weight Parameter (tied weights, as in a language model's embedding and output)."""
    nn = lib.nn

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.encode = nn.Linear(1, 1, bias=False)
            self.decode = nn.Linear(1, 1, bias=False)
            self.decode.weight = self.encode.weight

        def forward(self, x):
            return self.decode(self.encode(x))

    return Tied()


def test_functional_call_replaces_a_tied_weight_under_all_its_names_unless_tie_weights_is_false(lib):
    model, fc = shared_weight(lib), func(lib).functional_call
    with lib.no_grad():
        model.encode.weight.fill_(1.0)
    two = lib.full((1, 1), 2.0)
    assert fc(model, {"encode.weight": two}, lib.ones(1, 1)).item() == 4.0
    assert fc(model, {"encode.weight": two}, lib.ones(1, 1), tie_weights=False).item() == 2.0
    assert fc(model, {"encode.weight": two, "decode.weight": two}, lib.ones(1, 1)).item() == 4.0
    with pytest.raises(ValueError, match=r"^functional_call got multiple values for keys \['decode.weight', "
                                         r"'encode.weight'\], which are tied. Consider using tie_weights=False$"):
        fc(model, {"encode.weight": two, "decode.weight": lib.ones(1, 1)}, lib.ones(1, 1))
    assert model.encode.weight is model.decode.weight and model.encode.weight.item() == 1.0


def test_functional_call_restores_a_weight_reached_through_a_submodule_registered_twice(lib, request):
    if lib.__name__ == "torch":
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="torch 2.13 restores in forward order, so the second name puts the borrowed "
                                "tensor back (numtorch restores in reverse)"))
    layer = lib.nn.Linear(1, 1)
    model = lib.nn.Sequential(layer, layer)  # "0.weight" and "1.weight" are one Parameter of one module
    weight = layer.weight
    func(lib).functional_call(model, {"0.weight": lib.zeros(1, 1)}, lib.ones(1, 1))
    assert layer.weight is weight


def test_functional_call_strict_wants_every_parameter_and_buffer_and_nothing_else(lib):
    model, fc = scaled(lib), func(lib).functional_call
    with pytest.raises(RuntimeError) as error:
        fc(model, {"weight": lib.ones(2), "bias": lib.ones(2)}, lib.ones(2), strict=True)
    assert str(error.value) == ("Error(s) in reparametrizing for Scaled:\n\tUnexpected key(s): 'bias'.\n\t"
                                "Missing key(s): 'cache', 'offset'.")
    complete = {"weight": lib.ones(2), "offset": lib.ones(2), "cache": lib.ones(1)}
    assert fc(model, complete, lib.ones(2), strict=True).tolist() == [2.0, 2.0]


def test_functional_call_refuses_a_non_tensor_and_an_unknown_submodule(lib):
    model, fc = scaled(lib), func(lib).functional_call
    with pytest.raises(TypeError, match=rf"^3 is not an instance of {lib.__name__}.Tensor$"):
        fc(model, {"weight": 3}, lib.ones(2))
    with pytest.raises(AttributeError, match="^Scaled has no attribute `head`$"):
        fc(model, {"head.weight": lib.ones(2)}, lib.ones(2))
    assert type(model.weight).__name__ == "Parameter" and model.weight.tolist() == [1.0, 1.0]


# ----- load_state_dict(assign=True) ------------------------------------------------------------------------------
def test_load_state_dict_assign_makes_the_given_tensors_the_modules_own(lib):
    model = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
    model[0].bias.requires_grad_(False)
    state = {key: value.double() + 1 for key, value in model.state_dict().items()}
    assert repr(model.load_state_dict(state, assign=True)) == "<All keys matched successfully>"
    weight, bias, running_mean = model[0].weight, model[0].bias, model[1].running_mean
    assert type(weight).__name__ == "Parameter" and str(weight.dtype).endswith("float64")
    assert weight.requires_grad and not bias.requires_grad  # requires_grad comes from the module
    assert running_mean is state["1.running_mean"]
    state["0.weight"][0, 0] = 100.0  # the Parameter wraps the given tensor's memory
    assert weight[0, 0].item() == 100.0
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_load_state_dict_without_assign_copies_into_the_modules_tensors(lib):
    model = lib.nn.Linear(2, 2)
    weight = model.weight
    state = {key: value.double() + 1 for key, value in model.state_dict().items()}
    model.load_state_dict(state)
    assert model.weight is weight and str(weight.dtype).endswith("float32")


def test_load_state_dict_assign_takes_a_parameter_itself_and_sets_its_requires_grad(lib):
    model = lib.nn.Linear(2, 2)
    given = lib.nn.Parameter(lib.zeros(2), requires_grad=False)
    model.load_state_dict({"bias": given}, strict=False, assign=True)
    assert model.bias is given and given.requires_grad


def test_load_state_dict_assign_of_a_graph_tensor_gives_a_leaf_parameter(lib):
    x = lib.ones(2, 2, requires_grad=True)
    model = lib.nn.Linear(2, 2)
    model.load_state_dict({"weight": x * 2, "bias": lib.zeros(2)}, assign=True)
    assert model.weight.is_leaf and model.weight.grad_fn is None and model.bias.requires_grad


def test_load_state_dict_assign_reports_problems_as_the_copying_load_does(lib):
    model = lib.nn.Linear(2, 2)
    weight = model.weight
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict({"weight": lib.ones(2, 2), "bias": lib.ones(3), "extra": lib.ones(1)}, assign=True)
    assert str(error.value) == (
        'Error(s) in loading state_dict for Linear:\n\tUnexpected key(s) in state_dict: "extra". \n\t'
        f"size mismatch for bias: copying a param with shape {lib.__name__}.Size([3]) from checkpoint, "
        f"the shape in current model is {lib.__name__}.Size([2]).")
    assert type(model.weight).__name__ == "Parameter"
    result = model.load_state_dict({"weight": lib.ones(2, 2)}, strict=False, assign=True)
    assert (result.missing_keys, result.unexpected_keys) == (["bias"], [])
    assert model.weight is not weight and model.weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_load_state_dict_refuses_what_is_not_a_mapping(lib):
    with pytest.raises(TypeError, match="^Expected state_dict to be dict-like, got <class 'list'>.$"):
        lib.nn.Linear(1, 1).load_state_dict([1])


def test_load_state_dict_calls_a_key_unexpected_unless_its_first_name_is_a_child_or_an_own_tensor(lib):
    model = lib.nn.Sequential(lib.nn.Linear(1, 1))
    result = model.load_state_dict({"0": lib.ones(1), "0.weight.x": lib.ones(1)}, strict=False)
    assert (result.missing_keys, result.unexpected_keys) == (["0.weight", "0.bias"], ["0", "0.weight.x"])


def test_a_batch_norm_state_dict_without_its_count_loads_and_keeps_the_modules_own(lib):
    norm = lib.nn.BatchNorm1d(2)
    norm(lib.randn(4, 2))
    state = {"weight": lib.ones(2), "bias": lib.zeros(2), "running_mean": lib.zeros(2), "running_var": lib.ones(2)}
    result = norm.load_state_dict(state)
    assert (result.missing_keys, result.unexpected_keys) == ([], [])
    assert norm.num_batches_tracked.item() == 1


def test_a_state_dict_records_each_modules_format_and_one_of_batch_norms_second_must_hold_the_count(lib):
    model = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2), lib.nn.ModuleList([lib.nn.ReLU()]))
    state = model.state_dict()
    assert dict(state._metadata) == {"": {"version": 1}, "0": {"version": 1}, "1": {"version": 2},
                                     "2": {"version": 1}, "2.0": {"version": 1}}
    del state["1.num_batches_tracked"]
    assert model.load_state_dict(state, strict=False).missing_keys == ["1.num_batches_tracked"]
    state._metadata["1"]["version"] = 1  # saved before the count existed
    assert model.load_state_dict(state).missing_keys == []


def test_get_parameter_and_get_buffer_find_a_tensor_by_its_dotted_name_or_say_what_is_there(lib):
    model = lib.nn.Sequential(lib.nn.Linear(1, 1), lib.nn.BatchNorm1d(2))
    assert model.get_parameter("0.bias") is model[0].bias
    assert model.get_buffer("1.running_mean") is model[1].running_mean
    for get, target, message in [(model.get_parameter, "1.running_mean", "`running_mean` is not an nn.Parameter"),
                                 (model.get_buffer, "0.bias", "`bias` is not a buffer"),
                                 (model.get_parameter, "0.nope", "Linear has no attribute `nope`"),
                                 (model.get_buffer, "nope.bias", "Sequential has no attribute `nope`")]:
        with pytest.raises(AttributeError, match=f"^{re.escape(message)}$"):
            get(target)
