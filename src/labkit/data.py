"""Data for the book and the labs, with no scikit-learn: the digits, their fixed split, two moons.

The digit images travel with labkit as ``digits.npz`` (45 kB, made once from
``sklearn.datasets.load_digits()`` as uint8 pixel values 0..16 and labels; tests/labs check it
still equals scikit-learn's), and the two moons are drawn here as scikit-learn draws them, so
that neither the labs nor the book's pages need scikit-learn: the browser lab has none (it would
add 25 MB to its download), and the same code serves the learner's browser and the grader.
"""

from pathlib import Path

import numpy as np

import numtorch

_FILE = Path(__file__).with_name("digits.npz")


def load_digits():
    """Return the 1,797 digit images (N, 8, 8) as uint8 values 0..16 and their labels (N,) as uint8."""
    with np.load(_FILE) as data:
        return data["images"], data["labels"]


def stratified_split(X, y, test_size: float = 0.3, seed: int = 0):
    """Return X_train, X_test, y_train, y_test (NumPy arrays): each class of `y` keeps its share in both parts.

    Every class gives round(test_size × its count) of its members, drawn with `seed`, to the test part.
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction between 0 and 1, but got {test_size}")
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"expected as many labels as samples, but got {len(y)} labels for {len(X)} samples")
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        test[members[:round(test_size * len(members))]] = True
    return X[~test], X[test], y[~test], y[test]


def digits(test_size: float = 0.3, seed: int = 0):
    """Return X_train, X_test, y_train, y_test: images (N, 1, 8, 8) in [0, 1] and labels (N,) as numtorch tensors.

    The split is stratified (each digit keeps its share in both parts) and fixed by `seed`, so
    the grader measures every learner on the same test images.
    """
    images, labels = load_digits()
    X = (images / 16.0).astype(np.float32)[:, None]
    parts = stratified_split(X, labels.astype(np.int64), test_size, seed)
    return tuple(numtorch.tensor(part) for part in parts)


def make_moons(n_samples: int = 100, noise: float | None = None, seed: int | None = None):
    """Return points (n_samples, 2) and their classes 0 or 1 (int64): two interleaved half-circles.

    The points are those of ``sklearn.datasets.make_moons(n_samples, noise=noise,
    random_state=seed)``: the same arcs, shuffled and jittered by the same (legacy) generator.
    """
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    outer, inner = np.linspace(0, np.pi, n_outer), np.linspace(0, np.pi, n_inner)
    points = np.stack([np.append(np.cos(outer), 1 - np.cos(inner)),
                       np.append(np.sin(outer), 1 - np.sin(inner) - 0.5)], axis=1)
    classes = np.append(np.zeros(n_outer, dtype=np.int64), np.ones(n_inner, dtype=np.int64))
    rng = np.random.RandomState(seed)
    order = np.arange(n_samples)
    rng.shuffle(order)
    points, classes = points[order], classes[order]
    if noise is not None:
        points += rng.normal(scale=noise, size=points.shape)
    return points, classes
