"""The dropout explorer computes and shows what each dropout variant does in each mode."""

import numpy as np
import pytest

from labkit.widgets import DropoutExplorer
from labkit.widgets.dropout import VARIANTS

MODULE, BARE, FLAGGED = VARIANTS


@pytest.fixture(scope="module", params=["numtorch", "torch"])
def engine(request):
    return pytest.importorskip(request.param)


@pytest.fixture(scope="module")
def explorer(engine):
    # Live (static=False): only the frame on screen is computed, which keeps the tests fast.
    made = DropoutExplorer(static=False, engine=engine)
    yield made
    made.close()


def set_controls(explorer, mode, p):
    explorer.controls["mode"].value = f"model.{mode}()"
    explorer.controls["p"].value = str(p)
    return explorer.result


def test_train_mode_all_three_variants_drop_the_same_pixels_and_rescale_the_rest(explorer):
    frame = set_controls(explorer, "train", 0.5)
    assert frame.training and [frame.received[v] for v in VARIANTS] == [True, True, True]
    first = frame.outputs[MODULE]
    for variant in VARIANTS:
        np.testing.assert_array_equal(frame.outputs[variant], first)  # one seed, one mask
    kept = first != 0
    assert 0.35 < 1 - kept.mean() < 0.65
    np.testing.assert_allclose(first[kept], frame.input[kept] / (1 - 0.5), rtol=1e-6)


def test_eval_mode_silences_nn_dropout_and_flagged_functional_but_not_bare_functional(explorer):
    frame = set_controls(explorer, "eval", 0.5)
    assert [frame.received[v] for v in VARIANTS] == [False, True, False]
    assert frame.unchanged(MODULE) and frame.unchanged(FLAGGED)
    assert not frame.unchanged(BARE) and frame.zeroed(BARE) > 0.3


def test_p_slider_sets_the_fraction_dropped_and_the_scale_of_survivors(explorer):
    frame = set_controls(explorer, "train", 0.75)
    out = frame.outputs[MODULE]
    kept = out != 0
    assert 0.6 < frame.zeroed(MODULE) < 0.9
    np.testing.assert_allclose(out[kept], frame.input[kept] * 4, rtol=1e-6)


def test_p_zero_leaves_the_input_alone_in_both_modes(explorer):
    for mode in ("train", "eval"):
        frame = set_controls(explorer, mode, 0.0)
        assert all(frame.unchanged(v) for v in VARIANTS)


def test_plotted_images_and_means_are_the_computed_outputs(explorer):
    frame = set_controls(explorer, "eval", 0.5)
    input_ax, module_ax, bare_ax, flagged_ax, bar_ax = explorer.figure.axes
    np.testing.assert_array_equal(bare_ax.images[0].get_array(), frame.outputs[BARE])
    np.testing.assert_array_equal(flagged_ax.images[0].get_array(), frame.input)
    heights = [bar.get_height() for bar in bar_ax.patches]
    np.testing.assert_allclose(heights, [frame.input.mean()] + [frame.mean(v) for v in VARIANTS], rtol=1e-6)
    assert "returns x" in module_ax.get_xlabel() and "zeroed" in bare_ax.get_xlabel()


def test_flipping_the_mode_changes_the_picture_on_screen(explorer):
    set_controls(explorer, "train", 0.5)
    train_png = explorer.frames[explorer._current_key()][0].value
    set_controls(explorer, "eval", 0.5)
    eval_png = explorer.frames[explorer._current_key()][0].value
    assert train_png and eval_png and train_png != eval_png


def test_static_explorer_precomputes_every_frame_and_links_each_control_to_its_stacks():
    explorer = DropoutExplorer(p_values=(0.0, 0.5), static=True)
    try:
        assert all(picture.value for picture, _ in explorer.frames.values()) and len(explorer.frames) == 4
        links = [(link.source[0], link.target[0]) for link in explorer._links]
        mode, p = explorer.controls["mode"], explorer.controls["p"]
        # One Stack for the mode, one per mode for p: the browser can switch with no kernel.
        assert [source for source, _ in links].count(mode) == 1
        assert [source for source, _ in links].count(p) == 2 and len(links) == 3
        for source, stack in links:
            assert stack.selected_index == source.index
        p.value = "0.0"
        assert all(stack.selected_index == 0 for source, stack in links if source is p)
    finally:
        explorer.close()


def test_explorer_leaves_the_engines_random_stream_untouched(engine):
    engine.manual_seed(5)
    expected = engine.rand(3).numpy()
    engine.manual_seed(5)
    DropoutExplorer(p_values=(0.5,), static=False, engine=engine).close()
    np.testing.assert_array_equal(engine.rand(3).numpy(), expected)
