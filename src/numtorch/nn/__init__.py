"""Layers (Modules), their functional forms (``numtorch.nn.functional``) and initialisers (``numtorch.nn.init``)."""
from .. import coverage
from . import functional, init, utils
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .parameter import Buffer, Parameter, UninitializedParameter

__all__ = ["Buffer", "Parameter", "UninitializedParameter", "functional", "init", "utils"] + _modules_all
__getattr__ = coverage.module_getattr(__name__)  # torch's names that numtorch lacks say so
