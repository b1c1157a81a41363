"""Checks of lab 7: forward hooks (recording every layer, changing one layer's input) and stateless calls
(an ensemble and per-sample gradients through one module object with `functional_call`).

Every reference is computed here, on this side's copy of the learner's network, made from its state_dict; the
learner's side only runs the learner's functions on the network its own `make_net` built."""

import numpy as np

import numtorch
import numtorch.nn.functional as F
from numtorch import nn
from numtorch.func import functional_call
from labkit.checks import Bank, Mistake, expect
from labkit.checks.proxies import LearnerRaised, Remote, backward, connection_of, is_module, submodules
from labkit.checks._common import same, shape, values

bank = Bank("Lab 7 · Hooks and stateless calls", {1: "Record every layer's output with forward hooks",
                                                   2: "Change a layer's input with a forward pre-hook",
                                                   3: "Other weights through functional_call"})
RECORD = "activations[name] = output.detach().clone()"
PRE_HOOK = "return (args[0].clamp(low, high), *args[1:])"
STATELESS = "functional_call(model, weights, (x,), strict=True)"
LOW, HIGH = -0.25, 0.25


def check_task1(record_activations, make_net):
    """Print how your record_activations does."""
    bank.report(1, record_activations=record_activations, make_net=make_net)


def check_task2(clamp_input, make_net):
    """Print how your clamp_input does."""
    bank.report(2, clamp_input=clamp_input, make_net=make_net)


def check_task3(ensemble_predict, per_sample_grads, make_net):
    """Print how your ensemble_predict and per_sample_grads do."""
    bank.report(3, ensemble_predict=ensemble_predict, per_sample_grads=per_sample_grads, make_net=make_net)


def summary(record_activations, clamp_input, ensemble_predict, per_sample_grads, make_net):
    """Print your points on all the public checks."""
    bank.summary(record_activations=record_activations, clamp_input=clamp_input, ensemble_predict=ensemble_predict,
                 per_sample_grads=per_sample_grads, make_net=make_net)


# ---- this side's network and references ------------------------------------------------------------------------

def reference_net():
    """The lab's network, as make_net builds it in the notebook."""
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))


LAYERS = {name: type(m).__name__ for name, m in reference_net().named_modules() if name}


def networks(make_net):
    """make_net() on the learner's side, and a copy of it here with the same weights, for the references."""
    model = make_net()
    expect(is_module(model), f"make_net() returned a {type(model).__name__}, not the lab's nn.Sequential: restore "
                             "the cell that defines make_net")
    kinds = [m["numtorch"] for m in submodules(model, [])]
    local = reference_net()
    want_kinds = [type(m).__name__ for m in local.modules()]
    expect(kinds == want_kinds, f"make_net() no longer builds the lab's network of numtorch's own layers (expected "
                                f"{want_kinds}, but got {kinds}, None for a class of the notebook): restore the cell "
                                "that defines make_net")
    expect(getattr(model, "1").inplace is True, "make_net()'s ReLU is no longer `nn.ReLU(inplace=True)`: restore the "
                                                "cell that defines make_net")
    state = model.state_dict()
    want = {name: shape(t) for name, t in local.state_dict().items()}
    got = {name: shape(t) for name, t in state.items()} if isinstance(state, dict) else state
    expect(got == want, f"make_net() no longer builds the lab's network (expected the state_dict shapes {want}, but "
                        f"got {got}): restore the cell that defines make_net")
    local.load_state_dict(state)
    return model, local


def reference_records(local, x):
    """{name: output} of each submodule of `local` on x, as record_activations should give them."""
    records, handles = {}, []
    for name, module in local.named_modules():
        if name:
            handles.append(module.register_forward_hook(
                lambda module, args, output, name=name: records.__setitem__(name, output.detach().clone())))
    try:
        local(x)
    finally:
        for handle in handles:
            handle.remove()
    return records


def hooks_left(model) -> dict:
    """{name: how many forward hooks and pre-hooks} for each module of the learner's model that still has any."""
    left = {}
    for name, module in model.named_modules():
        count = len(module._forward_hooks) + len(module._forward_pre_hooks)
        if count:
            left[repr(name) if name else "the model itself"] = count
    return left


def described(left: dict) -> str:
    return f"{sum(left.values())} ({', '.join(f'{n} on {where}' for where, n in left.items())})"


def with_clamped_input(local, layer: str, x):
    """local(x) with the input of submodule `layer` clamped to [LOW, HIGH], by this side's own pre-hook."""
    handle = getattr(local, layer).register_forward_pre_hook(lambda module, args: (args[0].clamp(LOW, HIGH),))
    try:
        return local(x)
    finally:
        handle.remove()


def random_weights(local, seed: int) -> dict:
    """A weight set for the network, by state_dict name, unlike the network's own."""
    rng = np.random.default_rng(seed)
    return {name: numtorch.tensor(rng.standard_normal(shape(t)) * 0.6, dtype=numtorch.float32)
            for name, t in local.state_dict().items()}


def reference_per_sample_grads(local, weights: dict, x, y) -> dict:
    grads = {name: [] for name in weights}
    for i in range(len(x)):
        leaves = {name: w.detach().clone().requires_grad_(True) for name, w in weights.items()}
        F.cross_entropy(functional_call(local, leaves, (x[i:i + 1],)), y[i:i + 1]).backward()
        for name, leaf in leaves.items():
            grads[name].append(values(leaf.grad))
    return {name: np.stack(g) for name, g in grads.items()}


def is_tensor(t) -> bool:
    return isinstance(t, numtorch.Tensor)


# ---- task 1 ----------------------------------------------------------------------------------------------------

def recorded(record_activations, model, x) -> dict:
    got = record_activations(model, x)
    expect(isinstance(got, dict), f"record_activations returned a {type(got).__name__}, but a dict from each "
                                  f"submodule's name to its output is expected: `{RECORD}` in the hook")
    return got


@bank.check(task=1, points=2)
def records_the_output_of_every_layer(record_activations, make_net):
    """record_activations gives {name: output} for every submodule, in the order they finished"""
    model, local = networks(make_net)
    x = numtorch.randn(5, 4)
    got, want = recorded(record_activations, model, x), reference_records(local, x)
    hint = (" (skip the model itself, whose name is '': `if name:`)" if "" in got else
            " (register the hooks on the submodules before calling model(x))" if not got else "")
    expect(list(got) == list(want), f"expected the names {list(want)} (every submodule of model.named_modules() but "
                                    f"the model itself), in the order they ran, but got {list(got)}{hint}")
    inputs = {"0": x, **{name: want[before] for before, name in zip(want, list(want)[1:])}}
    for name, layer in LAYERS.items():
        value = got[name]
        expect(is_tensor(value), f"expected a tensor for {name!r} ({layer}), but got a {type(value).__name__}: "
                                 f"`{RECORD}`")
        if same(value, inputs[name]) and not same(want[name], inputs[name]):
            raise Mistake(f"expected the output of {name!r} ({layer}), but got its input: a forward hook is called "
                          f"as hook(module, args, output), so keep its third argument, `{RECORD}`")
        expect(shape(value) == shape(want[name]), f"expected the output of {name!r} ({layer}) of shape "
                                                  f"{shape(want[name])}, but got shape {shape(value)}: `{RECORD}`")
        if name == "0" and same(value, F.relu(want[name])):
            continue  # the in-place ReLU's doing: keeps_each_output_as_the_layer_made_it names it
        expect(same(value, want[name]), f"expected the output of {name!r} ({layer}) on x, but got other values: "
                                        f"`{RECORD}` in a hook on each submodule, then one call model(x)")


@bank.check(task=1)
def keeps_each_output_as_the_layer_made_it(record_activations, make_net):
    """the record of the Linear before the in-place ReLU keeps its negative values, with or without autograd"""
    model, local = networks(make_net)
    x = numtorch.randn(5, 4)
    want = reference_records(local, x)
    # Under no_grad the in-place ReLU overwrites the very memory a detach() shares; with autograd on, numtorch gives
    # the tensor itself its new values and keeps the old ones for backward, as a detach() taken before still sees.
    for no_grad in (False, True):
        got = connection_of(record_activations).call(record_activations, (model, x), {}, no_grad=no_grad)
        expect(isinstance(got, dict), f"record_activations returned a {type(got).__name__}, but a dict from each "
                                      f"submodule's name to its output is expected: `{RECORD}` in the hook")
        first = got.get("0")
        expect(is_tensor(first), f"expected a tensor for '0' (Linear), but got {type(first).__name__}: `{RECORD}`")
        when = " (under torch.no_grad())" if no_grad else ""
        if shape(first) == shape(want["0"]) and same(first, F.relu(want["0"])):
            raise Mistake(f"expected the output of '0' (Linear){when} as it left the layer, negatives included, but "
                          "got it with its negatives zeroed: the in-place ReLU after it overwrote the very tensor you "
                          f"kept. Keep a copy, `{RECORD}`")
        expect(same(first, want["0"]), f"expected the output of '0' (Linear) on x{when}, but got other values: "
                                       f"`{RECORD}`")


@bank.check(task=1)
def records_are_cut_from_the_graph(record_activations, make_net):
    """no record requires grad, so none keeps the forward's graph alive"""
    model, _ = networks(make_net)
    got = recorded(record_activations, model, numtorch.randn(5, 4))
    attached = [name for name, t in got.items() if is_tensor(t) and t.requires_grad]
    expect(not attached, f"expected records that do not require grad, but got {attached} still attached to autograd's "
                         "graph (each keeps every tensor of that forward alive, batch after batch): "
                         f"`{RECORD}`")


@bank.check(task=1, points=2)
def removes_every_hook_it_registers(record_activations, make_net):
    """after record_activations returns, no hook is left on the model"""
    model, _ = networks(make_net)
    x = numtorch.randn(5, 4)
    for _ in range(2):
        recorded(record_activations, model, x)
    left = hooks_left(model)
    expect(not left, f"expected no hook left on the model after two calls of record_activations, but got "
                     f"{described(left)}: they run on every later call of the model and the activations pile up. "
                     "Keep the handle each register_forward_hook returns and call handle.remove() on each before "
                     "returning")


@bank.check(task=1)
def removes_the_hooks_even_when_the_forward_raises(record_activations, make_net):
    """when model(x) raises, the error comes through and the hooks are gone all the same"""
    model, _ = networks(make_net)
    try:
        record_activations(model, numtorch.randn(5, 7))  # 7 features: the first Linear takes 4 and refuses them
    except LearnerRaised as error:
        if isinstance(error, NotImplementedError):
            raise
    else:
        raise Mistake("expected record_activations to let the error of model(x) through for an input of 7 features "
                      "(the first Linear takes 4), but it returned: do not catch it, remove the hooks in `finally:`")
    left = hooks_left(model)
    expect(not left, f"expected no hook left after model(x) raised inside record_activations, but got "
                     f"{described(left)}: remove them whatever happens, `try: model(x)` then `finally:` "
                     "handle.remove() for each handle")


# ---- task 2 ----------------------------------------------------------------------------------------------------

@bank.check(task=2, points=2)
def clamps_the_input_of_the_layer(clamp_input, make_net):
    """with clamp_input on a layer, the model computes as if that layer's input were clamped"""
    model, local = networks(make_net)
    x = numtorch.randn(6, 4) * 3
    clamp_input(getattr(model, "2"), LOW, HIGH)
    got, want = model(x), with_clamped_input(local, "2", x)
    expect(is_tensor(got) and shape(got) == shape(want),
           f"with clamp_input on layer '2', expected the model to give a tensor of shape {shape(want)}, but got "
           f"{shape(got) if is_tensor(got) else type(got).__name__}: `{PRE_HOOK}`")
    if same(got, local(x)):
        raise Mistake(f"expected the model's output with the input of layer '2' clamped to [{LOW}, {HIGH}], but got "
                      "its output without any clamping: a pre-hook changes the input by returning the new "
                      f"arguments, `{PRE_HOOK}`")
    expect(same(got, want), f"expected the model's output with the input of layer '2' clamped to [{LOW}, {HIGH}], "
                            f"but got other values: clamp the first argument to [low, high], `{PRE_HOOK}`")


@bank.check(task=2)
def returns_a_handle_that_takes_the_hook_out(clamp_input, make_net):
    """clamp_input returns the hook's handle, and handle.remove() gives the layer back unchanged"""
    model, local = networks(make_net)
    x = numtorch.randn(6, 4) * 3
    handle = clamp_input(getattr(model, "2"), LOW, HIGH)
    fix = "`return layer.register_forward_pre_hook(hook)`, so that the caller can take the hook out"
    expect(isinstance(handle, Remote), f"expected clamp_input to return the handle of its hook, but got "
                                       f"{'None' if handle is None else type(handle).__name__}: {fix}")
    try:
        handle.remove()
    except LearnerRaised as error:
        if not isinstance(error, (AttributeError, TypeError)):
            raise
        raise Mistake(f"expected clamp_input to return the handle of its hook, but handle.remove() failed "
                      f"({error.name}: {error}): {fix}") from None
    left = hooks_left(model)
    expect(not left, f"expected no hook left after handle.remove(), but got {described(left)}: register one pre-hook "
                     "and return its handle")
    expect(same(model(x), local(x)), "expected the model's own output after handle.remove(), but got other values: "
                                     "a pre-hook must not change the layer itself")


@bank.check(task=2)
def leaves_the_callers_tensor_alone(clamp_input, make_net):
    """the pre-hook makes a new tensor: the caller's input and the layer before keep theirs, gradients are clamp's"""
    for layer, owner in (("0", "the caller's x"), ("4", "the output of the Tanh before it")):
        model, local = networks(make_net)
        clamp_input(getattr(model, layer), LOW, HIGH)
        x = numtorch.randn(6, 4) * 3
        weights = np.random.default_rng(1).standard_normal((6, 3))
        try:
            _, grads = backward(model, x, weights)
        except LearnerRaised as error:
            said = str(error)
            if isinstance(error, RuntimeError) and ("in-place" in said or "inplace" in said):
                raise Mistake(f"expected the pre-hook on layer {layer!r} to leave its input alone, but it changed "
                              f"{owner} in place, and autograd refused ({said}): make a new tensor, "
                              f"`{PRE_HOOK}`, not `clamp_`") from None
            raise
        mine = x.detach().requires_grad_(True)
        (with_clamped_input(local, layer, mine) * numtorch.tensor(weights, dtype=numtorch.float32)).sum().backward()
        got = (grads or {}).get("arg0")
        expect(got is not None and same(got, mine.grad),
               f"with clamp_input on layer {layer!r}, expected the gradient that reaches the input to be clamp's (zero "
               "where the input was clamped), but got " + ("none" if got is None else "other values")
               + f": compute the new input through autograd, `{PRE_HOOK}`, not through `.data`")


# ---- task 3 ----------------------------------------------------------------------------------------------------

@bank.check(task=3, points=2)
def ensemble_stacks_one_output_per_weight_set(ensemble_predict, make_net):
    """ensemble_predict gives the model's output under each weight set, stacked"""
    model, local = networks(make_net)
    sets = [random_weights(local, seed) for seed in (1, 2, 3)]
    x = numtorch.randn(5, 4)
    got = ensemble_predict(model, sets, x)
    want = numtorch.stack([functional_call(local, weights, (x,)) for weights in sets])
    expect(is_tensor(got) and shape(got) == shape(want),
           f"expected a tensor of shape {shape(want)} for 3 weight sets and 5 inputs, but got "
           f"{shape(got) if is_tensor(got) else type(got).__name__}: `torch.stack([{STATELESS} for weights in "
           "weight_sets])`")
    if all(same(got[i], local(x)) for i in range(3)):
        raise Mistake("expected one output per weight set, but got the model's own output each time: run the model "
                      f"with each set, `{STATELESS}`")
    expect(same(got, want), f"expected the model's output under each weight set, but got other values: `{STATELESS}` "
                            "for each dict, in order, stacked on a new first dimension")


@bank.check(task=3)
def ensemble_refuses_a_weight_set_with_a_missing_name(ensemble_predict, make_net):
    """a weight set without one of the model's names raises, rather than running with the model's own tensor"""
    model, local = networks(make_net)
    x = numtorch.randn(5, 4)
    complete = random_weights(local, 1)
    got = ensemble_predict(model, [complete], x)
    expect(is_tensor(got) and same(got[0], functional_call(local, complete, (x,))),
           f"expected the model's output under a complete weight set first, but got other values: `{STATELESS}`")
    lacking = {name: t for name, t in complete.items() if name != "4.bias"}
    try:
        ensemble_predict(model, [complete, lacking], x)
    except LearnerRaised as error:
        if isinstance(error, NotImplementedError):
            raise
        return
    raise Mistake("expected ensemble_predict to refuse a weight set without '4.bias' (functional_call(..., "
                  "strict=True) raises `Missing key(s): '4.bias'`), but it returned outputs computed with the model's "
                  f"own '4.bias' for that set: pass strict=True, `{STATELESS}`")


def expect_parameters_unchanged(model, before: dict, function: str) -> None:
    after = model.state_dict()
    changed = [name for name in before if name not in after or not same(before[name], after[name], atol=0)]
    expect(not changed, f"expected the model's own parameters unchanged by {function}, but got new values in "
                        f"{changed}: call the model statelessly, `{STATELESS}`, instead of loading the weights into it "
                        "(load_state_dict, .data, copy_)")
    kinds = {name: type(p).__name__ for name, p in model.named_parameters()}
    expect(list(kinds) == list(before) and set(kinds.values()) == {"Parameter"},
           f"expected the model's parameters {list(before)} to stay Parameters after {function}, but got {kinds}: "
           f"`{STATELESS}` puts the model's own back")


@bank.check(task=3)
def ensemble_leaves_the_models_parameters_alone(ensemble_predict, make_net):
    """after ensemble_predict the model keeps its own parameters"""
    model, local = networks(make_net)
    before = model.state_dict()
    ensemble_predict(model, [random_weights(local, seed) for seed in (1, 2)], numtorch.randn(5, 4))
    expect_parameters_unchanged(model, before, "ensemble_predict")


@bank.check(task=3, points=2)
def per_sample_grads_are_one_backward_per_sample(per_sample_grads, make_net):
    """per_sample_grads gives, for each sample, the gradient of its own loss at the given weights"""
    model, local = networks(make_net)
    weights = random_weights(local, 4)
    x, y = numtorch.randn(4, 4), numtorch.tensor([0, 2, 1, 2])
    got = per_sample_grads(model, weights, x, y)
    want = reference_per_sample_grads(local, weights, x, y)
    expect(isinstance(got, dict) and list(got) == list(want),
           f"expected a dict with the keys of weights, {list(want)}, but got "
           + (f"the keys {list(got)}" if isinstance(got, dict) else f"a {type(got).__name__}"))
    for name, g in got.items():
        expect(is_tensor(g) and shape(g) == want[name].shape,
               f"expected the gradients of {name!r} for 4 samples stacked, shape {want[name].shape}, but got "
               f"{shape(g) if is_tensor(g) else type(g).__name__}: `torch.stack` the gradient of each sample")
    if all(same(got[n], want[n]) for n in want):
        return
    own = reference_per_sample_grads(local, {n: t.detach() for n, t in local.state_dict().items()}, x, y)
    if all(same(got[n], own[n]) for n in want):
        raise Mistake("expected the gradients at the given weights, but got those at the model's own parameters: "
                      "make the leaves from `weights`, `w.detach().requires_grad_(True)`, and call "
                      "functional_call(model, leaves, (x[i:i+1],), strict=True)")
    for reduce, how in ((np.mean, "the batch's mean gradient"), (np.sum, "the batch's summed gradient")):
        if all(same(got[n], np.broadcast_to(reduce(want[n], axis=0), want[n].shape)) for n in want):
            raise Mistake(f"expected a different gradient for each sample, but got {how} for every one: loop over the "
                          "samples, one functional_call and one backward on x[i:i+1] and y[i:i+1] each")
    if all(same(got[n], np.cumsum(want[n], axis=0)) for n in want):
        raise Mistake("expected each sample's own gradient, but got running sums (sample 2's includes samples 0 and "
                      "1's): .grad adds up across backward calls, so make fresh leaves for each sample, "
                      "`w.detach().requires_grad_(True)`")
    worst = next(n for n in want if not same(got[n], want[n]))
    raise Mistake(f"expected each sample's gradient of F.cross_entropy(output, y[i:i+1]) with respect to "
                  f"weights[{worst!r}], but got other values: per sample, fresh leaves, "
                  "functional_call(model, leaves, (x[i:i+1],), strict=True), backward(), then the leaves' .grad")


@bank.check(task=3)
def per_sample_grads_leave_the_models_parameters_alone(per_sample_grads, make_net):
    """after per_sample_grads the model keeps its own parameters"""
    model, local = networks(make_net)
    before = model.state_dict()
    per_sample_grads(model, random_weights(local, 4), numtorch.randn(3, 4), numtorch.tensor([0, 1, 2]))
    expect_parameters_unchanged(model, before, "per_sample_grads")
