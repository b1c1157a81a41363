"""Optimizers: ``SGD`` and ``Adam`` with torch's update rules."""
from .adam import Adam
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam"]
