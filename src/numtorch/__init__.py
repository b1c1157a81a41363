"""numtorch: a small pure-NumPy engine with PyTorch's API, for learning how nn.Module and nn.functional relate.

Code written against it runs on PyTorch by changing the imports::

    import numtorch as torch
    from numtorch import nn
    import numtorch.nn.functional as F
"""
import warnings

from . import autograd, coverage, dtypes, func, nn, optim, random, utils
from .dtypes import double, float16, float32, float64, half, int32, int64, long, uint8
from .factories import (arange, as_tensor, empty, from_numpy, full, full_like, linspace, ones, ones_like, rand,
                        rand_like, randint, randn, randn_like, randperm, tensor, zeros, zeros_like)
from .functions import allclose, cat, concat, equal, is_tensor, stack, where
from .func import vmap
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad
from .random import Generator, get_rng_state, initial_seed, manual_seed, set_rng_state
from .serialization import load, save
from .shapes import Size
from .tensor import Tensor

# NumPy warns when a float operation gives inf or nan (log(0), x / 0, exp of a large number); torch does not. So
# NumPy's warnings are silenced where numtorch's own code computes, and only there: a learner's NumPy code still warns.
warnings.filterwarnings("ignore", r"(divide by zero|invalid value|overflow|underflow) encountered in", RuntimeWarning,
                        r"numtorch(\.|$)")

# torch's dtype names that are Python builtins too: numtorch.float etc., as in torch; the engine's modules say
# float32, int32 and bool_, so that no module hides Python's float, int and bool.
float = float32
int = int32
bool = dtypes.bool_

# torch.exp(x), torch.sum(x, dim=1), torch.max(x, 1) ...: the function forms of Tensor's methods.
exp = Tensor.exp
log = Tensor.log
sqrt = Tensor.sqrt
abs = Tensor.abs
tanh = Tensor.tanh
sigmoid = Tensor.sigmoid
relu = Tensor.relu
clamp = Tensor.clamp
sum = Tensor.sum
mean = Tensor.mean
var = Tensor.var
std = Tensor.std
max = Tensor.max
min = Tensor.min
argmax = Tensor.argmax
flatten = Tensor.flatten
unflatten = Tensor.unflatten
floor_divide = Tensor.floor_divide
remainder = Tensor.remainder
reshape = Tensor.reshape
permute = Tensor.permute
transpose = Tensor.transpose
unsqueeze = Tensor.unsqueeze
squeeze = Tensor.squeeze
matmul = Tensor.matmul
numel = Tensor.numel
detach = Tensor.detach
clone = Tensor.clone

__version__ = "0.1.0"

__getattr__ = coverage.module_getattr(__name__)  # torch's names that numtorch lacks say so
