import math

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from .optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with torch's update rule and bias corrections.

    For each parameter ``p`` with gradient ``g``, at step ``t``::

        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Args:
        params: parameters or parameter groups.
        lr (float): Default: 1e-3.
        betas (tuple): ``(beta1, beta2)``. Default: ``(0.9, 0.999)``.
        eps (float): Default: 1e-8.
        weight_decay (float): L2 penalty added to the gradient. Default: 0.
        decoupled_weight_decay (bool): instead, shrink ``p`` by ``lr * weight_decay`` before the step
            (which is :class:`AdamW`). Default: ``False``.
    """

    _implemented_only = {"amsgrad": False, "maximize": False}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, *,
                 decoupled_weight_decay=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay))

    @no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            decoupled = group["decoupled_weight_decay"]
            for p, g in self._gradients(group, l2=not decoupled):
                if decoupled and group["weight_decay"]:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                state = self.state.setdefault(p, {})
                if not state:  # torch's layout: the step count is a float32 tensor too
                    state.update(step=Tensor._make(np.zeros((), np.float32)),
                                 exp_avg=Tensor._make(np.zeros_like(p.array)),
                                 exp_avg_sq=Tensor._make(np.zeros_like(p.array)))
                state["step"].array += 1
                m, v, t = state["exp_avg"].array, state["exp_avg_sq"].array, float(state["step"].array)
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * g * g
                step_size = group["lr"] / (1 - beta1 ** t)
                denom = np.sqrt(v) / math.sqrt(1 - beta2 ** t) + group["eps"]
                p.sub_(Tensor._make((step_size * m / denom).astype(p.array.dtype)))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as torch's ``AdamW``.

    Each step first shrinks every parameter, ``p = p * (1 - lr * weight_decay)``, then takes
    Adam's step with the plain gradient: the decay is not rescaled by Adam's per-parameter
    step sizes, as an L2 penalty added to the gradient would be.

    Args:
        params: parameters or parameter groups.
        lr (float): Default: 1e-3.
        betas (tuple): ``(beta1, beta2)``. Default: ``(0.9, 0.999)``.
        eps (float): Default: 1e-8.
        weight_decay (float): Default: 1e-2.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay, decoupled_weight_decay=True)
