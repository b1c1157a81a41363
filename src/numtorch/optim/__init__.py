"""Optimizers (``SGD``, ``Adam``, ``AdamW``) with torch's update rules; learning-rate schedules in ``lr_scheduler``."""
from .. import coverage
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
__getattr__ = coverage.module_getattr(__name__)  # torch's names that numtorch lacks say so
