"""labkit.data: the digits file shipped with labkit, the capstone's fixed split, and the two moons."""
import numpy as np
import pytest

from labkit.data import digits, load_digits, make_moons, stratified_split


def test_shipped_digits_are_scikit_learns():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    reference = sklearn_datasets.load_digits()
    images, labels = load_digits()
    np.testing.assert_array_equal(images, reference.images)
    np.testing.assert_array_equal(labels, reference.target)


def test_digits_split_is_stratified_disjoint_and_the_same_every_time():
    X_train, X_test, y_train, y_test = digits()
    images, labels = load_digits()
    assert X_train.shape == (1258, 1, 8, 8) and X_test.shape == (539, 1, 8, 8)
    assert y_train.shape == (1258,) and y_test.shape == (539,)
    assert 0.0 <= float(X_train.min()) and float(X_train.max()) <= 1.0
    # Every digit keeps its share (to one image) in the test part.
    for digit in range(10):
        assert abs(int((y_test.numpy() == digit).sum()) - 0.3 * int((labels == digit).sum())) <= 0.5
    # Each image lands in exactly one part: together they are the whole data set.
    together = np.concatenate([X_train.numpy(), X_test.numpy()]).reshape(len(labels), -1)
    original = (images / 16.0).astype(np.float32).reshape(len(labels), -1)
    assert sorted(map(bytes, together)) == sorted(map(bytes, original))
    again = digits()
    np.testing.assert_array_equal(again[1].numpy(), X_test.numpy())
    assert not np.array_equal(digits(seed=1)[3].numpy(), y_test.numpy())


def test_digits_refuses_a_test_size_outside_0_to_1():
    with pytest.raises(ValueError, match="but got 30"):
        digits(test_size=30)


def test_stratified_split_refuses_labels_that_do_not_match_the_samples():
    with pytest.raises(ValueError, match="expected as many labels as samples, but got 3 labels for 4 samples"):
        stratified_split(np.zeros((4, 2)), np.arange(3))


@pytest.mark.parametrize("n_samples, noise, seed", [(200, 0.2, 0), (101, None, 3), (7, 0.5, 1)])
def test_make_moons_draws_scikit_learns_points_for_the_same_seed(n_samples, noise, seed):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    expected_points, expected_classes = sklearn_datasets.make_moons(n_samples, noise=noise, random_state=seed)
    points, classes = make_moons(n_samples, noise=noise, seed=seed)
    np.testing.assert_array_equal(points, expected_points)
    np.testing.assert_array_equal(classes, expected_classes)
    assert classes.dtype == np.int64
