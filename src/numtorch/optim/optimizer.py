"""Optimizer: holds parameter groups and per-parameter state; subclasses define ``step``."""
import copy
from itertools import chain

from ..tensor import Tensor


class Optimizer:
    """Base class. ``params`` is an iterable of tensors or of dicts (parameter groups with their own options)."""

    # Options of torch's optimizer that change its arithmetic and that numtorch implements at this value only. A
    # group may carry any other key (schedulers add ``initial_lr``), as in torch; one of these set otherwise, in a
    # group given here or in a state dict saved by torch, would silently be ignored, so it is refused instead.
    _implemented_only = {}

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got a Tensor")
        self.defaults = defaults
        self.state = {}
        self.param_groups = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for param in group["params"]:
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._refuse_unimplemented(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def state_dict(self):
        """The optimizer's state as plain data: ``{"state": {index: {...}}, "param_groups": [{...}]}``, each group
        with its options and ``"params": [index, ...]``.

        A parameter object does not outlive its process, so each one is replaced by its position
        in the groups, counted across them: ``load_state_dict`` matches by position, not by name.
        As in torch, the per-parameter state holds the optimizer's own tensors, not copies: copy
        the result (``copy.deepcopy``) to keep it as it is now while training goes on.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": [index[id(p)] for p in group["params"]]})
        return {"state": {index[id(p)]: state for p, state in self.state.items()}, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Take the options of each group and the per-parameter state from ``state_dict`` (what :meth:`state_dict`
        gave, here or in torch), matching parameters by position.

        The groups must be as many, and as large, as this optimizer's. As in torch, the optimizer
        takes the given state tensors themselves where they already have their parameter's dtype (and
        ``step`` always), and copies only those it must cast: training on then changes ``state_dict``'s
        tensors, so load a copy (``copy.deepcopy``) of a checkpoint you will load again.
        """
        groups, saved_groups = self.param_groups, copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        for saved in saved_groups:
            self._refuse_unimplemented(saved)
        by_index = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                            chain.from_iterable(g["params"] for g in groups)))
        state = {}
        for index, saved in state_dict["state"].items():
            if index in by_index:
                param = by_index[index]
                state[param] = {key: _cast(value, param, key) for key, value in saved.items()}
        self.state = state
        self.param_groups = [{**saved, "params": group["params"]} for group, saved in zip(groups, saved_groups)]

    def _refuse_unimplemented(self, group):
        for key, value in self._implemented_only.items():
            if key in group and group[key] != value:
                raise NotImplementedError(f"numtorch's {type(self).__name__} implements {key}={value!r} only, "
                                          f"but got a parameter group with {key}={group[key]!r}")

    @staticmethod
    def _gradients(group, l2=True):
        """Each parameter of ``group`` that has a gradient, with that gradient plus ``weight_decay * p``
        (unless ``l2=False``).

        The L2 penalty enters every update rule here the same way, before the rule's own arithmetic.
        """
        for p in group["params"]:
            if p.grad is not None:
                g = p.grad.array
                yield p, (g + group["weight_decay"] * p.array if l2 and group["weight_decay"] else g)

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    if set_to_none:
                        param.grad = None
                    else:
                        param.grad.zero_()

    def step(self):
        raise NotImplementedError

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"


def _cast(value, param, key):
    """A loaded state entry as the optimizer keeps it: a tensor in its parameter's dtype where the parameter is
    floating-point (``step`` keeps its own), a copy only where the dtype changes; anything else as it came."""
    if not isinstance(value, Tensor) or key == "step" or param.array.dtype.kind != "f" \
            or value.array.dtype == param.array.dtype:
        return value
    return Tensor._make(value.array.astype(param.array.dtype))
