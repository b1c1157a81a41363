"""Lab 7 (hooks and stateless calls): its answer key gives on torch 2.13 what it gives on numtorch, the lab's claims
about torch hold, and honest answers other than the key's pass every check of their task."""

import numpy as np
import pytest

from catalogue import HOOKS_STATELESS
from labkit.labs import CHECK_TAG, HIDDEN_TAG, load_labs
from test_mistakes import bank_of, solution_namespace

LAB = "7_hooks_stateless"
TORCH_IMPORTS = {"import numtorch as torch": "import torch", "from numtorch import nn": "from torch import nn",
                 "import numtorch.nn.functional as F": "import torch.nn.functional as F",
                 "from numtorch.func import functional_call": "from torch.func import functional_call",
                 "from labkit.checks import hooks_stateless": ""}


def answer_key_on_torch() -> dict:
    """The answer key's code cells run with torch's imports instead of numtorch's, and nothing else changed."""
    torch = pytest.importorskip("torch")
    namespace = {"__name__": "__main__"}
    for cell in next(lab for lab in load_labs() if lab.name == LAB).solution_notebook().cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and CHECK_TAG not in tags and HIDDEN_TAG not in tags:
            source = cell.source
            for ours, theirs in TORCH_IMPORTS.items():
                source = source.replace(ours, theirs)
            assert "numtorch" not in source, source
            exec(compile(source, f"<{LAB} on torch>", "exec"), namespace)
    assert namespace["torch"] is torch
    return namespace


def twins(seed=0):
    """The lab's network on numtorch and on torch, with the same weights, and an input for both."""
    ours, theirs = solution_namespace(LAB), answer_key_on_torch()
    a, b = ours["make_net"](), theirs["make_net"]()
    rng = np.random.default_rng(seed)
    state = {name: rng.standard_normal(tuple(t.shape)).astype(np.float32) for name, t in a.state_dict().items()}
    a.load_state_dict({n: ours["torch"].tensor(v) for n, v in state.items()})
    b.load_state_dict({n: theirs["torch"].tensor(v) for n, v in state.items()})
    x = rng.standard_normal((5, 4)).astype(np.float32)
    return (ours, a, ours["torch"].tensor(x)), (theirs, b, theirs["torch"].tensor(x)), state


def close(a, b):
    return np.allclose(np.asarray(a.detach().numpy()), np.asarray(b.detach().numpy()), atol=1e-5)


def test_record_activations_gives_torchs_records_and_leaves_no_hook_on_either_engine():
    (ours, a, xa), (theirs, b, xb), _ = twins()
    got, want = ours["record_activations"](a, xa), theirs["record_activations"](b, xb)
    assert list(got) == list(want) == ["0", "1", "2", "3", "4"]
    assert all(close(got[n], want[n]) for n in want)
    assert (got["0"].numpy() < 0).any()  # the in-place ReLU did not reach the record
    for model in (a, b):
        assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_a_record_without_clone_is_overwritten_by_the_in_place_relu_in_torch_and_under_no_grad_in_numtorch():
    """What keeps_each_output_as_the_layer_made_it relies on: torch's detach() shares memory with the output, which
    ReLU(inplace=True) overwrites; numtorch does the same under no_grad, where the check calls record_activations."""
    (ours, a, xa), (theirs, b, xb), _ = twins()
    leaky = next(m for m in HOOKS_STATELESS if "without a copy" in m.name)
    for namespace, model, x in ((dict(ours), a, xa), (dict(theirs), b, xb)):
        exec(leaky.code, namespace)
        with namespace["torch"].no_grad():
            first = namespace["record_activations"](model, x)["0"]
        assert (first.numpy() >= 0).all()
    theirs_with_grad = dict(theirs)
    exec(leaky.code, theirs_with_grad)
    assert (theirs_with_grad["record_activations"](b, xb)["0"].numpy() >= 0).all()


def test_clamp_input_changes_torchs_model_as_it_changes_numtorchs_and_its_handle_takes_it_out():
    (ours, a, xa), (theirs, b, xb), _ = twins()
    handles = [ours["clamp_input"](a[2], -0.25, 0.25), theirs["clamp_input"](b[2], -0.25, 0.25)]
    clamped_a, clamped_b = a(xa * 3), b(xb * 3)
    assert close(clamped_a, clamped_b)
    for handle in handles:
        handle.remove()
    assert close(a(xa * 3), b(xb * 3)) and not close(a(xa * 3), clamped_a)


def test_a_pre_hook_that_clamps_in_place_is_refused_by_torchs_autograd_as_by_numtorchs():
    (ours, a, xa), (theirs, b, xb), _ = twins()
    for namespace, model, x in ((dict(ours), a, xa), (dict(theirs), b, xb)):
        exec(next(m for m in HOOKS_STATELESS if m.name == "a pre-hook that clamps in place").code, namespace)
        namespace["clamp_input"](model[0], -0.25, 0.25)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            model(x.clone().requires_grad_(True))


def test_ensemble_and_per_sample_gradients_agree_with_torch_and_leave_both_models_alone():
    (ours, a, xa), (theirs, b, xb), _ = twins()
    rng = np.random.default_rng(7)
    sets = [{n: rng.standard_normal(tuple(t.shape)).astype(np.float32) for n, t in a.state_dict().items()}
            for _ in range(3)]
    y = [0, 2, 1, 1, 0]
    results = []
    for namespace, model, x in ((ours, a, xa), (theirs, b, xb)):
        tensor = namespace["torch"].tensor
        before = {n: t.clone() for n, t in model.state_dict().items()}
        weights = [{n: tensor(v) for n, v in s.items()} for s in sets]
        results.append((namespace["ensemble_predict"](model, weights, x),
                        namespace["per_sample_grads"](model, weights[0], x, tensor(y))))
        assert all(close(before[n], t) for n, t in model.state_dict().items())
        assert all(type(p).__name__ == "Parameter" for p in model.parameters())
    (ensemble_a, grads_a), (ensemble_b, grads_b) = results
    assert tuple(ensemble_a.shape) == tuple(ensemble_b.shape) == (3, 5, 3) and close(ensemble_a, ensemble_b)
    assert list(grads_a) == list(grads_b) and all(close(grads_a[n], grads_b[n]) for n in grads_b)
    assert tuple(grads_b["0.weight"].shape) == (5, 8, 4)


def test_torchs_functional_call_runs_a_weight_set_without_a_name_on_the_modules_own_unless_strict():
    """The lab's reason for strict=True, on torch."""
    (theirs, b, xb) = twins()[1]
    torch = theirs["torch"]
    weights = {n: torch.zeros_like(t) for n, t in b.state_dict().items() if n != "4.bias"}
    assert torch.allclose(theirs["functional_call"](b, weights, (xb,)), b[4].bias.expand(5, 3))
    with pytest.raises(RuntimeError, match=r"Missing key\(s\): '4.bias'"):
        theirs["functional_call"](b, weights, (xb,), strict=True)


HONEST = {
    "a pre-hook that returns a bare tensor": ("""
def clamp_input(layer, low, high):
    return layer.register_forward_pre_hook(lambda module, args: args[0].clamp(low, high))
""", 2),
    "a pre-hook with kwargs": ("""
def clamp_input(layer, low, high):
    def hook(module, args, kwargs):
        return (args[0].clamp(low, high), *args[1:]), kwargs
    return layer.register_forward_pre_hook(hook, with_kwargs=True)
""", 2),
    "records under no_grad, through named_children, with the handles as context managers": ("""
import contextlib
def record_activations(model, x):
    activations = {}
    with contextlib.ExitStack() as stack, torch.no_grad():
        for name, module in model.named_children():
            stack.enter_context(module.register_forward_hook(
                lambda m, args, output, name=name: activations.__setitem__(name, output.clone())))
        model(x)
    return activations
""", 1),
    "per-sample gradients with a sum loss on x[i].unsqueeze(0)": ("""
def per_sample_grads(model, weights, x, y):
    grads = {name: [] for name in weights}
    for i in range(len(x)):
        leaves = {name: w.clone().requires_grad_(True) for name, w in weights.items()}
        out = functional_call(model, leaves, x[i].unsqueeze(0), strict=True)
        F.cross_entropy(out, y[i].unsqueeze(0), reduction="sum").backward()
        for name in weights:
            grads[name].append(leaves[name].grad)
    return {name: torch.stack(g) for name, g in grads.items()}
""", 3),
}


@pytest.mark.parametrize("name", sorted(HONEST))
def test_an_honest_answer_other_than_the_keys_passes_every_check_of_its_task(name):
    code, task = HONEST[name]
    namespace = dict(solution_namespace(LAB))
    exec(compile(code, f"<{name}>", "exec"), namespace)
    bank = bank_of(LAB)
    for check in (c for c in bank.checks if c.task == task):
        outcome = bank.run(check, namespace)
        assert outcome.passed, f"{check.name}: {outcome.message}"


def test_a_make_net_of_the_notebooks_own_container_class_is_refused_before_any_check_reads_its_hooks():
    """A class of the notebook could report no hooks where numtorch's would show the leaked ones."""
    namespace = dict(solution_namespace(LAB))
    exec(compile("class Quiet(nn.Sequential):\n    pass\n\n\ndef make_net():\n    return Quiet(nn.Linear(4, 8), "
                 "nn.ReLU(inplace=True), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))\n", "<Quiet>", "exec"), namespace)
    bank = bank_of(LAB)
    outcome = bank.run(bank["removes_every_hook_it_registers"], namespace)
    assert not outcome.passed and "restore the cell that defines make_net" in outcome.message
