"""numtorch: a small pure-NumPy engine with PyTorch's API, for learning how nn.Module and nn.functional relate.

Code written against it runs on PyTorch by changing the imports::

    import numtorch as torch
    from numtorch import nn
    import numtorch.nn.functional as F
"""
from . import autograd, random
from .autograd import enable_grad, is_grad_enabled, no_grad
from .random import initial_seed, manual_seed
from .serialization import load, save
from .tensor import (Size, Tensor, allclose, arange, as_tensor, bool, cat, concat, double, empty, equal, flatten,
                     float, float16, float32, float64, from_numpy, full, full_like, half, int, int32, int64,
                     is_tensor, linspace, long, ones, ones_like, rand, rand_like, randint, randn, randn_like,
                     randperm, stack, tensor, uint8, where, zeros, zeros_like)

# torch.exp(x), torch.sum(x, dim=1), torch.max(x, 1) ...: the function forms of Tensor's methods.
for _name in ("exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "clamp", "sum", "mean", "var", "std",
              "max", "min", "argmax", "reshape", "permute", "transpose", "unsqueeze", "squeeze", "matmul",
              "numel", "detach", "clone"):
    globals()[_name] = getattr(Tensor, _name)
del _name

from . import nn, optim  # noqa: E402  (nn needs the names above)
from . import func  # noqa: E402  (func needs nn)

__version__ = "0.1.0"
