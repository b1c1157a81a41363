"""save/load for state_dicts, as a NumPy ``.npz`` archive that loads without running code.

torch.save pickles, and unpickling a file can run arbitrary code. A state_dict
is only names and arrays, so numtorch stores exactly that and loads it with
``allow_pickle=False``.
"""
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from .tensor import Tensor


def save(obj, f):
    """Write a mapping of names to tensors (a ``state_dict``) to the path or binary file ``f``."""
    if not isinstance(obj, Mapping):
        raise TypeError(f"numtorch.save stores a state_dict (a mapping of names to tensors), "
                        f"but got {type(obj).__name__}")
    arrays = OrderedDict()
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, Tensor):
            raise TypeError(f"numtorch.save stores str -> Tensor entries, but got {type(key).__name__} -> "
                            f"{type(value).__name__} for key {key!r}")
        arrays[key] = value.array
    if isinstance(f, (str, bytes)) or hasattr(f, "__fspath__"):
        with open(f, "wb") as handle:  # an open file, so NumPy does not append ".npz" to the name
            np.savez(handle, **arrays)
    else:
        np.savez(f, **arrays)


def load(f):
    """Read what :func:`save` wrote: an ``OrderedDict`` of names to tensors, in the saved order."""
    with np.load(f, allow_pickle=False) as archive:
        return OrderedDict((key, Tensor._make(archive[key])) for key in archive.files)
