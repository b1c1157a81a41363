"""Checks of lab 6: state that survives (a model with buffers of both kinds, a complete checkpoint, resuming,
loading a checkpoint saved under other names).

The resumed run is judged against the learner's own uninterrupted run, bit for bit, and that run against the
grader's reference, trained here from the learner's initial weights on the same random draws: a training loop
that does nothing, or draws nothing, cannot pass for one that resumes."""

import math

import numpy as np

import numtorch
import numtorch.nn.functional as F
from numtorch import nn, optim
from numtorch.utils.data import DataLoader, TensorDataset
from labkit.checks import Bank, Mistake, expect
from labkit.checks.proxies import (LearnerRaised, LocalConnection, Remote, call_kept, is_module, kept_there, seed,
                                  value_of)
from labkit.checks._common import shape, values

bank = Bank("Lab 6 · State that survives", {1: "Classifier: parameters and buffers",
                                            2: "save_checkpoint and resume",
                                            3: "load_renamed: a checkpoint saved under other names"})
KEYS = ["seen", "hidden.weight", "hidden.bias", "out.weight", "out.bias"]
PARTS = ("model", "optimizer", "epoch", "rng")
EPOCHS, STOP = 4, 2  # the run, and where it is interrupted: after epoch STOP - 1 (counted from 0)
TRAINING_SEED, NEW_PROCESS_SEED = 1, 999
SAVE = ('`{"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch, '
        '"rng": torch.get_rng_state()}`')


def check_task1(Classifier):
    """Print how your Classifier does."""
    bank.report(1, Classifier=Classifier)


def check_task2(Classifier, make_optimizer, train_epoch, save_checkpoint, resume):
    """Print how your save_checkpoint and resume do."""
    bank.report(2, Classifier=Classifier, make_optimizer=make_optimizer, train_epoch=train_epoch,
                save_checkpoint=save_checkpoint, resume=resume, torch=numtorch)


def check_task3(Classifier, load_renamed):
    """Print how your load_renamed does."""
    bank.report(3, Classifier=Classifier, load_renamed=load_renamed)


def summary(Classifier, make_optimizer, train_epoch, save_checkpoint, resume, load_renamed):
    """Print your points on all the public checks."""
    bank.summary(Classifier=Classifier, make_optimizer=make_optimizer, train_epoch=train_epoch,
                 save_checkpoint=save_checkpoint, resume=resume, load_renamed=load_renamed, torch=numtorch)


# ---- the grader's side of the run -------------------------------------------------------------------

class Reference(nn.Module):
    """The Classifier of the answer key, trained here to tell a learner's honest run from one that is not."""

    def __init__(self, in_features=8, classes=3, hidden=16):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.dropout = nn.Dropout(0.2)
        self.out = nn.Linear(hidden, classes)
        self.register_buffer("seen", numtorch.zeros((), dtype=numtorch.int64))
        self.register_buffer("scale", numtorch.tensor(in_features ** -0.5), persistent=False)

    def forward(self, x):
        if self.training:
            self.seen += x.shape[0]
        return self.out(self.dropout(F.relu(self.hidden(x * self.scale))))


def data(seed=7, n=48):
    """Inputs (n, 8) and class labels in 0..2 that a small network learns: not the notebook's, so that a resume that
    trains again from scratch on those instead of loading the checkpoint goes astray."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype(np.float32)
    return numtorch.tensor(x), numtorch.tensor(np.argmax(x @ rng.standard_normal((8, 3)), axis=1))


def reference_epoch(model, optimizer, inputs, targets):
    """The notebook's train_epoch."""
    model.train()
    total = 0.0
    for x, y in DataLoader(TensorDataset(inputs, targets), batch_size=16, shuffle=True):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total


def reference_run(initial: dict, epochs: int) -> dict:
    """The answer key's run from the learner's initial weights, on the draws the learner's run gets."""
    model = Reference()
    model.load_state_dict(initial, strict=False)
    optimizer = optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.05)
    inputs, targets = data()
    numtorch.manual_seed(TRAINING_SEED)
    for _ in range(epochs):
        reference_epoch(model, optimizer, inputs, targets)
    return model.state_dict()


# ---- the learner's run, through the proxies ----------------------------------------------------------

def fresh(Classifier, make_optimizer):
    """A new Classifier() and make_optimizer(model) on the learner's side, from the same seed each time, its generator
    then seeded for training."""
    seed(Classifier, 0)
    model = Classifier()
    expect(is_module(model), "your Classifier is not an nn.Module: `class Classifier(nn.Module):`")
    optimizer = make_optimizer(model)
    seed(model, TRAINING_SEED)
    return model, optimizer


def train(model, optimizer, train_epoch, epochs) -> None:
    inputs, targets = data()
    for _ in range(epochs):
        train_epoch(model, optimizer, inputs, targets)


def uninterrupted(Classifier, make_optimizer, train_epoch, epochs=EPOCHS) -> dict:
    """The learner's run without a stop, checked against the reference: its final state_dict."""
    model, optimizer = fresh(Classifier, make_optimizer)
    initial = model.state_dict()
    expect(all(k in initial for k in KEYS[1:]),
           f"your Classifier's state_dict has keys {list(initial)}, but it needs {KEYS[1:]} for a run this check can "
           "follow: task 1 first")
    train(model, optimizer, train_epoch, epochs)
    final = model.state_dict()
    want = reference_run(initial, epochs)
    for key in KEYS:
        expect(key in final and shape(final[key]) == shape(want[key])
               and np.allclose(values(final[key]), values(want[key]), atol=1e-5),
               f"your uninterrupted run of {epochs} epochs ends with another `{key}` than the answer key's run from "
               "the same start: keep `train_epoch` and `make_optimizer` as given, and Classifier's forward as task 1 "
               "says (dropout after the ReLU, `seen` counted in training mode only)")
    return final


def live_objects(value, where="checkpoint"):
    """Where in `value` an object that is not plain data sits (it would not outlive the process)."""
    if isinstance(value, Remote):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from live_objects(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from live_objects(item, f"{where}[{i}]")


def expect_plain_data(checkpoint) -> None:
    for where, obj in live_objects(checkpoint):
        raise Mistake(f"your checkpoint holds a live {obj!r} at {where}, which does not outlive the process: save "
                      f"state_dicts, {SAVE}")


def same_exactly(a, b) -> bool:
    return isinstance(a, numtorch.Tensor) and isinstance(b, numtorch.Tensor) and shape(a) == shape(b) \
        and a.dtype == b.dtype and np.array_equal(values(a), values(b))


def first_difference(got: dict, want: dict):
    """The first key whose tensor differs between two state_dicts, or None."""
    return next((k for k in want if k not in got or not same_exactly(got[k], want[k])), None)


def same_optimizer_state(got, want) -> bool:
    if not (isinstance(got, dict) and isinstance(got.get("state"), dict) and isinstance(got.get("param_groups"), list)):
        return False
    if sorted(got["state"]) != sorted(want["state"]) or len(got["param_groups"]) != len(want["param_groups"]):
        return False
    for index, state in want["state"].items():
        if sorted(got["state"][index]) != sorted(state) or not all(
                same_exactly(got["state"][index][k], v) for k, v in state.items()):
            return False
    return all(g.get("lr") == w["lr"] and g.get("params") == w["params"]
               for g, w in zip(got["param_groups"], want["param_groups"]))


def what_changed(now, then: dict) -> str | None:
    """What differs between a checkpoint as read now and as it was (then): a model tensor, named, or the optimizer's
    state, or its keys; None if nothing does."""
    if not isinstance(now, dict) or sorted(now) != sorted(then):
        return "keys"
    wrong = first_difference(now["model"], then["model"]) if isinstance(now["model"], dict) else "model"
    if wrong:
        return f"`{wrong}`"
    return None if same_optimizer_state(now["optimizer"], then["optimizer"]) else "optimizer state"


def interrupted(Classifier, make_optimizer, train_epoch, torch, stop=STOP) -> dict:
    """Train `stop` epochs, then the checkpoint the answer key would write (plain data), so that the checks of
    resume do not depend on the learner's save_checkpoint."""
    model, optimizer = fresh(Classifier, make_optimizer)
    train(model, optimizer, train_epoch, stop)
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": stop - 1,
            "rng": torch.get_rng_state()}


def resumed(resume, checkpoint):
    """resume(checkpoint) in a 'new process': its generator first moved elsewhere. (model, optimizer, epoch)."""
    seed(resume, NEW_PROCESS_SEED)
    result = resume(checkpoint)
    expect(isinstance(result, (tuple, list)) and len(result) == 3,
           f"resume should return `model, optimizer, epoch`, but got {type(result).__name__}"
           + (f" of {len(result)} items" if isinstance(result, (tuple, list)) else ""))
    model, optimizer, epoch = result
    expect(is_module(model), f"resume returned {model!r} where the model should be: "
                             "`return model, optimizer, epoch`")
    return model, optimizer, epoch


def resume_run_matches(Classifier, make_optimizer, train_epoch, save_checkpoint, resume, stops=(STOP,),
                       epochs=EPOCHS) -> None:
    """Stop after each epoch in `stops` (its number + 1 epochs done), save, resume and go on: the final state must be
    that of the uninterrupted run, bit for bit. Raises Mistake naming what went astray.

    The hidden tests call it with proxies; the answer key's notebook, which runs them too, with its own objects."""
    if not isinstance(Classifier, Remote):  # the same requests, answered in this process
        connection = LocalConnection({"Classifier": Classifier, "make_optimizer": make_optimizer,
                                      "train_epoch": train_epoch, "save_checkpoint": save_checkpoint, "resume": resume})
        Classifier, make_optimizer, train_epoch, save_checkpoint, resume = (connection.name(n) for n in (
            "Classifier", "make_optimizer", "train_epoch", "save_checkpoint", "resume"))
    want = uninterrupted(Classifier, make_optimizer, train_epoch, epochs)
    model, optimizer = fresh(Classifier, make_optimizer)
    epoch = 0
    for stop in list(stops) + [None]:
        inputs, targets = data()
        before = model.state_dict()
        for _ in range(epoch, epochs if stop is None else stop):
            train_epoch(model, optimizer, inputs, targets)
        if epoch < (epochs if stop is None else stop):
            after = model.state_dict()
            expect(first_difference(after, {k: before[k] for k in KEYS[1:]}) is not None,
                   "after resuming, training changed none of your model's weights: the optimizer updates tensors the "
                   "model no longer has. Create the model, load its state, then create the optimizer over "
                   "`model.parameters()` (a `load_state_dict(..., assign=True)` replaces the parameters)")
        if stop is None:
            break
        saved = save_checkpoint(model, optimizer, stop - 1)
        expect_plain_data(saved)
        model, optimizer, epoch = resumed(resume, saved)
    got = model.state_dict()
    wrong = first_difference(got, {k: want[k] for k in KEYS})
    expect(wrong is None, f"resumed after epoch{'s' if len(stops) > 1 else ''} {', '.join(map(str, stops))} of "
                          f"{epochs}, your run ends with another `{wrong}` than the uninterrupted run: every part of "
                          "the state must come back (the checks of save_checkpoint and resume say which)")


# ---- task 1 -------------------------------------------------------------------------------------------

@bank.check(task=1)
def registers_layers_and_buffers(Classifier):
    """Classifier() has hidden (8 -> 16) and out (16 -> 3) Linear layers, a `seen` counter and a `scale` buffer"""
    model = Classifier()
    expect(is_module(model), "your Classifier is not an nn.Module: `class Classifier(nn.Module):`")
    params = {name: shape(p) for name, p in model.named_parameters()}
    want = {"hidden.weight": (16, 8), "hidden.bias": (16,), "out.weight": (3, 16), "out.bias": (3,)}
    expect(params == want, f"your Classifier's parameters are {params}, but they should be {want}: "
                           "`self.hidden = nn.Linear(in_features, hidden)`, `self.out = nn.Linear(hidden, classes)`")
    buffers = dict(model.named_buffers())
    for name, rule in (("seen", "`self.register_buffer('seen', torch.zeros((), dtype=torch.int64))`"),
                       ("scale", "`self.register_buffer('scale', torch.tensor(in_features ** -0.5), "
                                 "persistent=False)`")):
        expect(name in buffers, f"your Classifier has no `{name}` buffer (its buffers: {sorted(buffers)}): {rule}")
    seen, scale = buffers["seen"], buffers["scale"]
    expect(shape(seen) == () and seen.dtype == numtorch.int64 and int(seen.item()) == 0,
           f"`seen` should start as a 0-dimensional int64 zero, but got dtype {seen.dtype}, shape {shape(seen)}")
    expect(shape(scale) == () and math.isclose(float(scale.item()), 8 ** -0.5, rel_tol=1e-6),
           f"for in_features=8, `scale` should be 8 ** -0.5 = {8 ** -0.5:.4f}, but got "
           f"{values(scale).round(4).tolist()}")


@bank.check(task=1, points=2)
def state_dict_keeps_seen_but_not_scale(Classifier):
    """state_dict() holds the parameters and `seen`, not the non-persistent `scale`"""
    keys = list(Classifier().state_dict())
    expect("scale" not in keys,
           f"`scale` is in your state_dict ({keys}), but it is computed from in_features in __init__, so a "
           "checkpoint need not hold it, and an older one without it would not load strictly: "
           "`self.register_buffer('scale', ..., persistent=False)`")
    expect("seen" in keys, f"`seen` is not in your state_dict ({keys}): a plain attribute is not saved; "
                           "register it, `self.register_buffer('seen', torch.zeros((), dtype=torch.int64))`")
    expect(keys == KEYS, f"your state_dict keys are {keys}, but torch's order for this model is {KEYS}: "
                         "the module's own buffers, then each child's entries in the order they were assigned")


@bank.check(task=1)
def forward_counts_training_examples(Classifier):
    """forward counts the examples of training mode only, and computes out(dropout(relu(hidden(x * scale))))"""
    model = Classifier()
    x = numtorch.randn(5, 8)
    model.train()
    model(x)
    seen = int(model.seen.item())
    expect(seen == 5, f"after one training-mode forward of 5 examples `seen` should be 5, but got {seen}: "
                      "`if self.training: self.seen += x.shape[0]`")
    model.eval()
    out = model(x)
    after = int(model.seen.item())
    expect(after == 5, f"an eval-mode forward changed `seen` from 5 to {after}: count only `if self.training`")
    p = dict(model.named_parameters())
    hidden = F.relu(F.linear(x * 8 ** -0.5, p["hidden.weight"], p["hidden.bias"]))
    want = F.linear(hidden, p["out.weight"], p["out.bias"])
    expect(isinstance(out, numtorch.Tensor) and shape(out) == (5, 3) and np.allclose(values(out), values(want),
                                                                                       atol=1e-5),
           "in eval mode your Classifier's output differs from out(relu(hidden(x * scale))): "
           "`return self.out(self.dropout(F.relu(self.hidden(x * self.scale))))`")


# ---- task 2 -------------------------------------------------------------------------------------------

@bank.check(task=2, points=2)
def checkpoint_holds_every_part(Classifier, make_optimizer, train_epoch, save_checkpoint, torch):
    """save_checkpoint returns plain data: both state_dicts, the epoch and the generator's state"""
    model, optimizer = fresh(Classifier, make_optimizer)
    train(model, optimizer, train_epoch, STOP)
    saved = save_checkpoint(model, optimizer, STOP - 1)
    rng = torch.get_rng_state()
    expect_plain_data(saved)
    expect(isinstance(saved, dict), f"save_checkpoint should return a dict, {SAVE}, but got {type(saved).__name__}")
    expect("optimizer" in saved,
           f"your checkpoint has no 'optimizer' (its keys: {list(saved)}): without AdamW's moments and step counts "
           "the resumed run starts Adam over; add `\"optimizer\": optimizer.state_dict()`")
    expect("rng" in saved,
           f"your checkpoint has no 'rng' (its keys: {list(saved)}): without the generator's state the resumed run "
           "shuffles and drops out differently; add `\"rng\": torch.get_rng_state()`")
    expect(sorted(saved) == sorted(PARTS), f"expected the checkpoint's keys {list(PARTS)}, but got {list(saved)}")
    state = saved["model"]
    expect(isinstance(state, dict), f"checkpoint['model'] should be `model.state_dict()`, but got "
                                    f"{type(state).__name__}")
    expect("scale" not in state or "scale" in model.state_dict(),
           "your checkpoint saves `scale`, a buffer registered with persistent=False, which __init__ rebuilds: "
           "save `model.state_dict()`, which leaves it out, not every named buffer")
    wrong = first_difference(state, model.state_dict())
    expect(wrong is None and sorted(state) == sorted(model.state_dict()),
           f"checkpoint['model'] should be `model.state_dict()`, but its `{wrong}` differs"
           if wrong else f"checkpoint['model'] has keys {list(state)}, but model.state_dict() has "
                         f"{list(model.state_dict())}")
    expect(same_optimizer_state(saved["optimizer"], optimizer.state_dict()),
           "checkpoint['optimizer'] is not what `optimizer.state_dict()` holds after the epochs trained: save "
           "exactly that (per-parameter state and parameter groups)")
    expect(saved["epoch"] == STOP - 1 and type(saved["epoch"]) is int,
           f"expected checkpoint['epoch'] {STOP - 1} (the epoch just finished, as save_checkpoint got it), but got "
           f"{saved['epoch']!r}: keep the number as given, resume adds one")
    expect(same_exactly(saved["rng"], rng), "checkpoint['rng'] is not the generator's state at the time of saving: "
                                            "`torch.get_rng_state()`, called in save_checkpoint")


@bank.check(task=2)
def checkpoint_is_a_copy_that_training_leaves_alone(Classifier, make_optimizer, train_epoch, save_checkpoint):
    """the checkpoint is a copy: training on after save_checkpoint changes nothing in it"""
    model, optimizer = fresh(Classifier, make_optimizer)
    train(model, optimizer, train_epoch, STOP)
    kept = call_kept(save_checkpoint, model, optimizer, STOP - 1)  # left in the learner's process, as a run keeps it
    saved = value_of(kept)
    expect(isinstance(saved, dict) and all(isinstance(saved.get(part), dict) for part in ("model", "optimizer")),
           "save_checkpoint should return a dict holding the 'model' and 'optimizer' state_dicts (the check of what "
           "a checkpoint holds says what is missing)")
    train(model, optimizer, train_epoch, 1)
    changed = what_changed(value_of(kept), saved)
    expect(changed is None,
           f"one more epoch of training changed the checkpoint you returned (its {changed}): state_dict() holds the "
           "live tensors, which training overwrites in place, so a checkpoint kept in memory follows the run instead "
           "of keeping its moment: return `copy.deepcopy(...)` of the whole")


@bank.check(task=2, points=2)
def resume_restores_model_optimizer_and_generator(Classifier, make_optimizer, train_epoch, resume, torch):
    """resume(checkpoint) gives a model and an optimizer in the saved state, and puts the generator back"""
    saved = interrupted(Classifier, make_optimizer, train_epoch, torch)
    model, optimizer, _ = resumed(resume, saved)
    rng = torch.get_rng_state()
    state = model.state_dict()
    wrong = first_difference(state, saved["model"])
    expect(wrong is None, f"the resumed model's `{wrong}` is not the checkpoint's: "
                          "`model.load_state_dict(checkpoint['model'])`")
    got = optimizer.state_dict()
    expect(got.get("state"), "the resumed optimizer has no state (no moments, no step counts): "
                             "`optimizer.load_state_dict(checkpoint['optimizer'])`")
    expect(same_optimizer_state(got, saved["optimizer"]),
           "the resumed optimizer's state_dict() is not the checkpoint's: "
           "`optimizer.load_state_dict(checkpoint['optimizer'])`, after creating it over the model's parameters")
    expect(same_exactly(rng, saved["rng"]),
           "after resume the random generator is not in the saved state, so the resumed run shuffles and drops out "
           "differently: `torch.set_rng_state(checkpoint['rng'])`")


@bank.check(task=2)
def resume_leaves_the_checkpoint_as_it_was(Classifier, make_optimizer, train_epoch, resume, torch):
    """resume leaves the checkpoint as it was: training the resumed model changes nothing in it"""
    saved = interrupted(Classifier, make_optimizer, train_epoch, torch)
    kept = kept_there(resume, saved)  # the checkpoint as the learner's process holds it
    model, optimizer, _ = resumed(resume, kept)
    train(model, optimizer, train_epoch, 1)
    changed = what_changed(value_of(kept), saved)
    expect(changed is None,
           f"training the model resume returned changed the checkpoint it was given (its {changed}), so the run "
           "cannot be resumed from it again: load_state_dict keeps the checkpoint's own tensors (the optimizer's "
           "moments, or the parameters with assign=True), so load from `copy.deepcopy(checkpoint)`")


@bank.check(task=2)
def resume_returns_the_next_epoch(Classifier, make_optimizer, train_epoch, resume, torch):
    """resume returns the number of the next epoch to run: the saved epoch + 1"""
    saved = interrupted(Classifier, make_optimizer, train_epoch, torch)
    _, _, epoch = resumed(resume, saved)
    expect(epoch != STOP - 1, f"resume returned epoch {epoch}, the epoch the checkpoint was saved after, so the "
                              "resumed run trains it twice: return `checkpoint['epoch'] + 1`")
    expect(epoch == STOP, f"expected resume to return epoch {STOP} (the checkpoint's epoch {STOP - 1} + 1) but got "
                          f"{epoch!r}: return `checkpoint['epoch'] + 1`")


@bank.check(task=2, points=3)
def resumed_run_matches_the_uninterrupted_run(Classifier, make_optimizer, train_epoch, save_checkpoint, resume):
    """stopped after epoch 1 of 4, saved and resumed by your functions, the run ends bit for bit as the uninterrupted one"""
    resume_run_matches(Classifier, make_optimizer, train_epoch, save_checkpoint, resume)


# ---- task 3 -------------------------------------------------------------------------------------------

def old_checkpoint(seed=3) -> dict:
    """A state_dict of the model's earlier version, saved through nn.DataParallel: every key starts with `module.`,
    the last layer was called `head`, `scale` was saved and `seen` did not exist."""
    rng = np.random.default_rng(seed)
    shapes = {"hidden.weight": (16, 8), "hidden.bias": (16,), "head.weight": (3, 16), "head.bias": (3,), "scale": ()}
    return {f"module.{key}": numtorch.tensor(rng.standard_normal(s).astype(np.float32))
            for key, s in shapes.items()}


def load_old(Classifier, load_renamed):
    model = Classifier()
    old = old_checkpoint()
    try:
        report = load_renamed(model, old)
    except LearnerRaised as error:
        if isinstance(error, RuntimeError) and "key(s) in state_dict" in str(error):
            raise Mistake(f"your load raised RuntimeError ({str(error).splitlines()[-1].strip()[:120]}...): a strict "
                          "load refuses a checkpoint whose keys do not all match; rename the keys, then "
                          "`return model.load_state_dict(renamed, strict=False)`") from None
        raise
    return model, old, report


@bank.check(task=3, points=2)
def load_renamed_loads_every_weight(Classifier, load_renamed):
    """the old checkpoint's `module.hidden.*` and `module.head.*` weights end up in hidden and out"""
    model, old, _ = load_old(Classifier, load_renamed)
    state = model.state_dict()
    for key in ("hidden.weight", "hidden.bias"):
        expect(same_exactly(state.get(key), old[f"module.{key}"]),
               f"`{key}` did not get the checkpoint's `module.{key}`: strip the `module.` prefix nn.DataParallel "
               "adds, `key.removeprefix('module.')`")
    for key in ("weight", "bias"):
        expect(same_exactly(state.get(f"out.{key}"), old[f"module.head.{key}"]),
               f"`out.{key}` did not get the checkpoint's `module.head.{key}`: the old model called that layer "
               "`head`, rename the prefix `head.` to `out.`")


@bank.check(task=3)
def load_renamed_reports_missing_and_unexpected_keys(Classifier, load_renamed):
    """load_renamed returns load_state_dict's report: `seen` missing, `scale` unexpected"""
    _, _, report = load_old(Classifier, load_renamed)
    expect(report is not None and hasattr(report, "missing_keys"),
           f"load_renamed returned {type(report).__name__}: return what load_state_dict returns, whose missing_keys "
           "and unexpected_keys say what did not fit")
    missing, unexpected = list(report.missing_keys), list(report.unexpected_keys)
    expect(missing == ["seen"], f"expected missing_keys ['seen'] (the old model had no counter), but got {missing}")
    expect(unexpected == ["scale"],
           f"expected unexpected_keys ['scale'] (the old model saved it), but got {unexpected}: pass every renamed "
           "key to load_state_dict, so that its report names what the model does not have")
