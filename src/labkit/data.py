"""The capstone's data: scikit-learn's bundled 8×8 digits, split once and for all.

The images travel with labkit as ``digits.npz`` (45 kB, made once from
``sklearn.datasets.load_digits()`` as uint8 pixel values 0..16 and labels; tests/labs check it
still equals scikit-learn's), so that the labs need no scikit-learn: in the browser lab that
saves 25 MB of download, and the same file serves the learner's browser and the grader.
"""

from pathlib import Path

import numpy as np

import numtorch

_FILE = Path(__file__).with_name("digits.npz")


def load_digits():
    """Return the 1,797 digit images (N, 8, 8) as uint8 values 0..16 and their labels (N,) as uint8."""
    with np.load(_FILE) as data:
        return data["images"], data["labels"]


def digits(test_size: float = 0.3, seed: int = 0):
    """Return X_train, X_test, y_train, y_test: images (N, 1, 8, 8) in [0, 1] and labels (N,) as numtorch tensors.

    The split is stratified (each digit keeps its share in both parts) and fixed by `seed`, so
    the grader measures every learner on the same test images.
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction between 0 and 1, but got {test_size}")
    images, labels = load_digits()
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test[members[:round(test_size * len(members))]] = True
    X = (images / 16.0).astype(np.float32)[:, None]
    y = labels.astype(np.int64)
    return tuple(numtorch.tensor(part) for part in (X[~test], X[test], y[~test], y[test]))
