"""Utilities over modules: ``parametrize`` (tensors a module computes from others) and the parametrizations built on it."""
from ... import coverage
from . import parametrizations, parametrize

__all__ = ["parametrizations", "parametrize"]
__getattr__ = coverage.module_getattr(__name__)  # torch's names that numtorch lacks say so
