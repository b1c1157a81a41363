import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, with torch's update rule.

    For each parameter ``p`` with gradient ``g``::

        g = g + weight_decay * p
        buf = g                                     (first step)
        buf = momentum * buf + (1 - dampening) * g  (later steps)
        g = g + momentum * buf if nesterov else buf (when momentum != 0)
        p = p - lr * g

    Args:
        params: parameters or parameter groups.
        lr (float): learning rate. Default: 1e-3.
        momentum (float): Default: 0.
        dampening (float): Default: 0.
        weight_decay (float): L2 penalty. Default: 0.
        nesterov (bool): Default: ``False``.
    """

    _implemented_only = {"maximize": False}

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    @no_grad()
    def step(self):
        for group in self.param_groups:
            momentum = group["momentum"]
            for p, g in self._gradients(group):
                if momentum:
                    state = self.state.setdefault(p, {})
                    if state.get("momentum_buffer") is None:
                        buf = np.array(g, copy=True)
                        state["momentum_buffer"] = Tensor._make(buf)
                    else:
                        buf = state["momentum_buffer"].array
                        buf *= momentum
                        buf += (1 - group["dampening"]) * g
                    g = g + momentum * buf if group["nesterov"] else buf
                p.sub_(Tensor._make(group["lr"] * g))
