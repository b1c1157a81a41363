"""Datasets and the ``DataLoader`` that batches them, as ``torch.utils.data`` does in one process.

A ``Dataset`` answers ``len(ds)`` and ``ds[i]``; a ``DataLoader`` chooses the order of the indices
(in turn, or a fresh random permutation on every pass when ``shuffle=True``), groups them into
batches of ``batch_size`` and stacks each batch's samples with :func:`default_collate`.
"""
import collections.abc
import math

import numpy as np

from .. import coverage, random
from ..dtypes import float64, int64
from ..factories import as_tensor, tensor
from ..functions import stack
from ..tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "DataLoader", "default_collate"]
__getattr__ = coverage.module_getattr(__name__)  # torch's names that numtorch lacks say so


class Dataset:
    """A map from indices ``0 .. len(ds) - 1`` to samples; subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")


class TensorDataset(Dataset):
    """Sample ``i`` is ``(t[i] for t in tensors)``: inputs and targets that share their first dimension.

    Examples::

        >>> ds = TensorDataset(numtorch.randn(100, 784), numtorch.randint(0, 10, (100,)))
        >>> x, y = ds[0]
    """

    def __init__(self, *tensors):
        sizes = [t.size(0) for t in tensors]
        if any(size != sizes[0] for size in sizes):
            raise AssertionError(f"Size mismatch between tensors: TensorDataset expects tensors of the same first "
                                 f"dimension, but got sizes {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].size(0)


def default_collate(batch):
    """Stack a list of samples into one batch, keeping the samples' structure.

    Tensors and NumPy arrays are stacked along a new first dimension; Python floats become a
    float64 tensor and ints an int64 one (as in torch); strings stay as they are; a dict gives a dict
    of batches, and a tuple or list of fields gives a list with one batch per field.
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, np.ndarray):
        return stack([as_tensor(b) for b in batch], 0)
    if isinstance(elem, (bool, np.bool_)):
        return tensor(batch)
    if isinstance(elem, (int, np.integer)):
        return tensor(batch, dtype=int64)
    if isinstance(elem, (float, np.floating)):
        return tensor(batch, dtype=float64)
    if isinstance(elem, str):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple keeps its type
        return type(elem)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(field) for field in zip(*batch)]
    raise TypeError("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                    f"found {type(elem)}")


class DataLoader:
    """Iterates over ``dataset`` in batches of ``batch_size`` samples, each collated by ``collate_fn``.

    Every ``for`` over the loader is a new pass over the whole dataset. With ``shuffle=True``
    each pass draws a new permutation from ``generator`` if given, else from numtorch's global
    generator, so :func:`numtorch.manual_seed` makes the order reproducible (the orders are
    not torch's: the generators differ). Loading happens in the calling process, as torch does
    with ``num_workers=0``.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__`` (a :class:`Dataset`).
        batch_size (int): samples per batch. Default: 1.
        shuffle (bool): visit the samples in a new random order on every pass. Default: ``False``.
        sampler (iterable): the indices to visit, in order, instead of ``shuffle``. Default: ``None``.
        num_workers (int): only 0 is supported. Default: 0.
        collate_fn (callable): turns a list of samples into a batch. Default: :func:`default_collate`.
        drop_last (bool): leave out the last batch if it is smaller than ``batch_size``. Default: ``False``.
        generator (numtorch.Generator): the source of the permutations. Default: ``None``.

    Examples::

        >>> train_dl = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
        >>> for xb, yb in train_dl:
        ...     loss = loss_func(model(xb), yb)
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if num_workers > 0:
            raise NotImplementedError(f"numtorch's DataLoader loads in the calling process: num_workers must be 0, "
                                      f"but got num_workers={num_workers}")
        if batch_sampler is not None:
            raise NotImplementedError("numtorch's DataLoader does not take a batch_sampler; "
                                      "use batch_size, shuffle, sampler and drop_last")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.sampler = sampler
        self.num_workers = num_workers
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.drop_last = drop_last
        self.generator = generator

    def _indices(self):
        """The order of this pass: the sampler's, a fresh permutation, or 0 .. len - 1."""
        if self.sampler is not None:
            return iter(self.sampler)
        if self.shuffle:
            return iter(random.numpy_generator(self.generator).permutation(len(self.dataset)).tolist())
        return iter(range(len(self.dataset)))

    def __iter__(self):
        fetch = self._fetcher()
        batch = []
        for index in self._indices():
            batch.append(index)
            if len(batch) == self.batch_size:
                yield fetch(batch)
                batch = []
        if batch and not self.drop_last:
            yield fetch(batch)

    def _fetcher(self):
        """What turns a batch's indices into the batch: each sample read and collated; or, for a TensorDataset
        collated by default, that needs no gradient, one index into each tensor, which gives the same tensors
        without a tensor per sample."""
        dataset = self.dataset
        if (type(dataset) is TensorDataset and self.collate_fn is default_collate
                and not any(t.requires_grad for t in dataset.tensors)):
            return lambda indices: [t[indices] for t in dataset.tensors]
        return lambda indices: self.collate_fn([dataset[index] for index in indices])

    def __len__(self):
        """The number of batches in one pass."""
        samples = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return samples // self.batch_size if self.drop_last else math.ceil(samples / self.batch_size)
