"""The BatchNorm explorer's statistics follow BatchNorm's rules for each control setting."""
import numpy as np
import pytest

from labkit.widgets import BatchNormExplorer


@pytest.fixture(scope="module", params=["numtorch", "torch"])
def explorer(request):
    made = BatchNormExplorer(static=False, engine=pytest.importorskip(request.param))
    yield made
    made.close()


def set_controls(explorer, mode="train()", momentum="0.1", batch_size="32", steps="200"):
    explorer.controls["mode"].value = mode
    explorer.controls["momentum"].value = momentum
    explorer.controls["batch_size"].value = batch_size
    explorer.controls["steps"].value = steps
    return explorer.result


def test_steps_in_eval_mode_leave_the_running_statistics_at_their_initial_values(explorer):
    frame = set_controls(explorer, mode="eval()")
    assert set(frame.running_mean) == {0.0} and set(frame.running_var) == {1.0}
    assert frame.num_batches_tracked == 0 and frame.steps_done == 200


def test_running_mean_follows_the_momentum_update_and_reaches_the_settled_data_mean(explorer):
    frame = set_controls(explorer, momentum="0.1")
    means = np.array(frame.running_mean)
    expected = 0.9 * means[:-1] + 0.1 * np.array(frame.batch_mean)
    np.testing.assert_allclose(means[1:], expected, rtol=1e-5, atol=1e-6)
    assert abs(means[-1] - explorer.true_mean[200]) < 0.3


def test_momentum_none_makes_the_running_mean_the_cumulative_average_of_batch_means(explorer):
    frame = set_controls(explorer, momentum="None")
    cumulative = np.cumsum(frame.batch_mean) / np.arange(1, 201)
    np.testing.assert_allclose(frame.running_mean[1:], cumulative, rtol=1e-5)
    # Averaging the whole drift, it lags the data far more than momentum 0.1 does.
    lag_none = explorer.true_mean[200] - frame.running_mean[-1]
    lag_tenth = explorer.true_mean[200] - set_controls(explorer, momentum="0.1").running_mean[-1]
    assert lag_none > 3 * abs(lag_tenth)


def test_running_var_moves_towards_the_unbiased_batch_variance(explorer):
    frame = set_controls(explorer, momentum="0.5", batch_size="4", steps="1")
    np.testing.assert_allclose(frame.running_var[1], 0.5 * 1.0 + 0.5 * frame.batch_var[0], rtol=1e-5)


def test_batch_of_one_in_train_mode_stops_with_the_error_message(explorer):
    frame = set_controls(explorer, batch_size="1")
    assert frame.error.startswith("ValueError: Expected more than 1 value per channel when training")
    assert frame.steps_done == 0 and frame.train_output is None
    assert "Expected more than 1 value per channel" in explorer.frames[explorer._current_key()][1].value
    assert explorer.figure.axes[0].texts[0].get_visible() and frame.train_error.startswith("ValueError")


def test_batch_of_one_in_eval_mode_works_with_the_running_statistics(explorer):
    frame = set_controls(explorer, mode="eval()", batch_size="1")
    assert frame.error is None and frame.steps_done == 200
    np.testing.assert_allclose(frame.eval_output, frame.probe / np.sqrt(1 + 1e-5), rtol=1e-5)


def test_train_output_uses_the_batch_statistics_and_eval_output_the_running_ones(explorer):
    frame = set_controls(explorer, steps="10")
    assert abs(frame.train_output.mean()) < 1e-5 and abs(frame.train_output.std() - 1) < 1e-3
    expected = (frame.probe - frame.running_mean[-1]) / np.sqrt(frame.running_var[-1] + 1e-5)
    np.testing.assert_allclose(frame.eval_output, expected, rtol=1e-4, atol=1e-5)
    assert frame.eval_output.mean() > 1  # after 10 steps the running mean still lags the data


def test_plotted_curves_are_the_recorded_statistics(explorer):
    frame = set_controls(explorer, steps="50")
    mean_ax, var_ax, out_ax = explorer.figure.axes
    running_mean_line = mean_ax.lines[2]
    np.testing.assert_allclose(running_mean_line.get_ydata(), frame.running_mean)
    np.testing.assert_allclose(var_ax.lines[2].get_ydata(), frame.running_var)
    np.testing.assert_allclose(out_ax.lines[1].get_ydata(), frame.eval_output)  # lines[0] is the zero line


@pytest.mark.parametrize("controls", [dict(steps="1"), dict(mode="eval()", momentum="None", steps="50"),
                                      dict(batch_size="1", steps="10"), dict(momentum="0.5", batch_size="4")])
def test_a_redraw_of_the_changing_artists_alone_is_the_picture_a_full_draw_makes(explorer, controls):
    # The explorer draws axes, ticks and labels once and then only what update() changes: a
    # changed artist missing from `changing` would keep its first picture.
    set_controls(explorer, **controls)
    canvas = explorer.figure.canvas
    redrawn = np.asarray(canvas.buffer_rgba()).copy()
    for artist in explorer.changing:
        artist.set_animated(False)
    try:
        canvas.draw()
        full = np.asarray(canvas.buffer_rgba()).copy()
    finally:
        for artist in explorer.changing:
            artist.set_animated(True)
    assert np.array_equal(redrawn, full)
