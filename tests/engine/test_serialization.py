"""numtorch.save / numtorch.load: state_dicts round-trip, and loading never runs code."""
import io
import os
import pickle

import numpy as np
import pytest

import numtorch
from numtorch import nn


def model():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 3))


def test_a_state_dict_round_trips_with_its_keys_order_dtypes_and_values(tmp_path):
    src = model()
    src(numtorch.randn(4, 1, 4, 4))  # move the running statistics and num_batches_tracked
    path = tmp_path / "model.pt"
    numtorch.save(src.state_dict(), path)
    assert path.exists() and not (tmp_path / "model.pt.npz").exists()
    loaded = numtorch.load(path)
    assert list(loaded) == list(src.state_dict())
    for (key, a), b in zip(src.state_dict().items(), loaded.values()):
        assert a.dtype == b.dtype and numtorch.equal(a, b), key
    assert loaded["1.num_batches_tracked"].dtype == numtorch.int64 and loaded["1.num_batches_tracked"].item() == 1
    dst = model()
    assert repr(dst.load_state_dict(numtorch.load(str(path)))) == "<All keys matched successfully>"
    x = numtorch.randn(2, 1, 4, 4)
    assert numtorch.equal(dst.eval()(x), src.eval()(x))


def test_save_and_load_work_with_open_binary_files():
    buffer = io.BytesIO()
    numtorch.save({"w": numtorch.arange(6).reshape(2, 3)}, buffer)
    buffer.seek(0)
    assert numtorch.load(buffer)["w"].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_save_refuses_anything_but_names_mapped_to_tensors(tmp_path):
    with pytest.raises(TypeError, match="state_dict"):
        numtorch.save(model(), tmp_path / "m.pt")
    with pytest.raises(TypeError, match="str -> Tensor"):
        numtorch.save({"w": [1.0, 2.0]}, tmp_path / "m.pt")


class Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_an_archive_holding_pickled_objects_is_refused_without_running_them(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        np.savez(f, weight=np.array([Payload(str(marker))], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle=False"):
        numtorch.load(path)
    assert not marker.exists()


def test_a_plain_pickle_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as f:
        pickle.dump({"weight": Payload(str(marker))}, f)
    with pytest.raises(ValueError, match="pickled"):
        numtorch.load(path)
    assert not marker.exists() and not os.path.exists("pwned")
