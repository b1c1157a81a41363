"""numtorch.utils.data against torch.utils.data: datasets, batching, collation, shuffling."""
import collections

import numpy as np
import pytest

import numtorch

from .parity import assert_close, rand


def batches(lib, dataset, **options):
    return list(lib.utils.data.DataLoader(dataset, **options))


def test_tensor_dataset_gives_one_row_of_each_tensor(lib):
    x, y = lib.arange(12.0).reshape(6, 2), lib.arange(6)
    ds = lib.utils.data.TensorDataset(x, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    assert xi.tolist() == [8.0, 9.0] and yi.item() == 4
    assert [t.tolist() for t in ds[1:3]] == [[[2.0, 3.0], [4.0, 5.0]], [1, 2]]


@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (4, False), (4, True), (10, False), (10, True), (16, False)])
def test_data_loader_batches_in_order_and_counts_its_batches_like_torch(torch, batch_size, drop_last):
    x, y = rand(10, 3), np.arange(10)
    ours, theirs = (batches(lib, lib.utils.data.TensorDataset(lib.tensor(x), lib.tensor(y)), batch_size=batch_size,
                            drop_last=drop_last) for lib in (numtorch, torch))
    assert len(ours) == len(theirs) == len(numtorch.utils.data.DataLoader(range(10), batch_size=batch_size,
                                                                          drop_last=drop_last))
    for (xb, yb), (xt, yt) in zip(ours, theirs):
        assert isinstance(xb, numtorch.Tensor) and xb.dtype == numtorch.float32 and yb.dtype == numtorch.int64
        assert_close(xb, xt)
        assert yb.tolist() == yt.tolist()


def test_a_loader_can_be_iterated_again_from_the_start(lib):
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.arange(5)), batch_size=2)
    first = [b[0].tolist() for b in loader]
    assert first == [[0, 1], [2, 3], [4]] and [b[0].tolist() for b in loader] == first


SAMPLES = {
    "numbers": [1.5, 2.5, 3.5],
    "ints and bools": [(1, True), (2, False), (3, True)],
    "strings": [("a", 1), ("b", 2), ("c", 3)],
    "dicts": [{"x": [1.0, 2.0], "label": 3}, {"x": [3.0, 4.0], "label": 1}, {"x": [5.0, 6.0], "label": 0}],
    "lists": [[1, 2], [3, 4], [5, 6]],
    "arrays": [np.ones((2, 2), np.float32) * i for i in range(3)],
}


def plain(batch):
    """A batch of either library as plain Python values (tensors become (dtype, values))."""
    if isinstance(batch, (numtorch.Tensor,)) or type(batch).__name__ == "Tensor":
        return str(batch.dtype).replace("torch.", ""), batch.tolist()
    if isinstance(batch, dict):
        return {k: plain(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch).__name__, [plain(b) for b in batch]
    return batch


@pytest.mark.parametrize("case", sorted(SAMPLES))
def test_default_collate_keeps_the_structure_and_dtypes_of_torchs(torch, case):
    ours, theirs = (batches(lib, SAMPLES[case], batch_size=2) for lib in (numtorch, torch))
    assert [plain(b) for b in ours] == [plain(b) for b in theirs]


def test_default_collate_keeps_a_named_tuple(lib):
    Pair = collections.namedtuple("Pair", "x y")
    (batch,) = batches(lib, [Pair(lib.ones(2), 0), Pair(lib.zeros(2), 1)], batch_size=2)
    assert isinstance(batch, Pair) and batch.x.shape == (2, 2) and batch.y.tolist() == [0, 1]


def test_shuffle_visits_every_sample_once_in_a_new_order_each_pass(lib):
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.arange(100)), batch_size=7, shuffle=True)
    orders = [lib.cat([b[0] for b in loader]).tolist() for _ in range(2)]
    assert sorted(orders[0]) == sorted(orders[1]) == list(range(100))
    assert orders[0] != orders[1] and orders[0] != list(range(100))


def test_shuffle_draws_from_the_global_generator_so_manual_seed_repeats_the_order(lib):
    def order():
        lib.manual_seed(7)
        return [b.tolist() for b in lib.utils.data.DataLoader(range(20), batch_size=5, shuffle=True)]
    assert order() == order()


def test_shuffle_with_a_generator_repeats_its_order_and_leaves_the_global_one_alone(lib):
    def order(seed):
        g = lib.Generator().manual_seed(seed)
        return [b.tolist() for b in lib.utils.data.DataLoader(range(20), batch_size=5, shuffle=True, generator=g)]
    lib.manual_seed(0)
    expected = lib.rand(3).tolist()
    lib.manual_seed(0)
    first = order(1)
    assert lib.rand(3).tolist() == expected  # the loader's generator is its own
    assert order(1) == first and order(2) != first


def test_a_sampler_chooses_the_order(lib):
    (batch,) = batches(lib, list(range(10)), batch_size=3, sampler=[9, 0, 4])
    assert batch.tolist() == [9, 0, 4]
    assert len(lib.utils.data.DataLoader(range(10), batch_size=2, sampler=[9, 0, 4])) == 2


def test_a_dataset_subclass_and_a_collate_fn(lib):
    class Squares(lib.utils.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return lib.tensor([float(i)]), i * i

    loader = lib.utils.data.DataLoader(Squares(), batch_size=2, collate_fn=lambda samples: [s[1] for s in samples])
    assert list(loader) == [[0, 1], [4, 9], [16]]
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement __getitem__."):
        lib.utils.data.Dataset()[0]


@pytest.mark.parametrize("requires_grad", [False, True])
def test_a_tensor_datasets_batches_are_one_index_into_each_tensor_or_else_the_samples_stacked(
        torch, monkeypatch, requires_grad):
    """Without gradients, numtorch's loader reads a TensorDataset's batch as one index into each tensor, not as a
    tensor per sample; the batches are torch's all the same (shuffled by one sampler, so in the same order)."""
    x, y, order = rand(7, 2, 3), np.arange(7), [5, 0, 6, 2, 3, 1, 4]
    samples = []
    read = numtorch.utils.data.TensorDataset.__getitem__
    monkeypatch.setattr(numtorch.utils.data.TensorDataset, "__getitem__",
                        lambda ds, i: samples.append(i) or read(ds, i))
    ours, theirs = (batches(lib, lib.utils.data.TensorDataset(lib.tensor(x, requires_grad=requires_grad),
                                                              lib.tensor(y)), batch_size=3, sampler=order)
                    for lib in (numtorch, torch))
    assert samples == (order if requires_grad else [])
    assert len(ours) == len(theirs) == 3
    for (xb, yb), (xt, yt) in zip(ours, theirs):
        assert_close(xb, xt)
        assert yb.tolist() == yt.tolist() and yb.dtype == numtorch.int64
        assert xb.requires_grad == xt.requires_grad == requires_grad
