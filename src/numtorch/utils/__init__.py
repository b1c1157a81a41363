"""Utilities outside the engine proper: ``numtorch.utils.data`` feeds a model its batches."""
from . import data

__all__ = ["data"]
