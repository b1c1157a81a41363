"""Chapter 4's explorers respond to clicks on the static site, with no kernel behind the page.

Every frame was computed at build time; the browser switches between them through
jsdlinks from the controls to nested Stacks (see labkit.widgets._frames). Here
Chromium clicks the controls and checks that a different picture is shown.
"""

# The bytes of every visible explorer picture, hashed. (Their blob: URLs will not do: a
# Stack re-creates the view of a child each time it is shown, with a new URL.)
SHOWN = """async () => {
  const pictures = [...document.querySelectorAll('img.widget-image')].filter(i => i.offsetParent !== null);
  const digests = [];
  for (const picture of pictures) {
    const bytes = await (await fetch(picture.src)).arrayBuffer();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    digests.push(Array.from(digest.slice(0, 8), b => b.toString(16).padStart(2, '0')).join(''));
  }
  return digests;
}"""


def shown(page):
    return page.evaluate(SHOWN)


def wait_for_change(page, before):
    page.wait_for_function(f"async before => JSON.stringify(await ({SHOWN})()) !== JSON.stringify(before)",
                           arg=before, polling=100)
    return shown(page)


def click(page, button_text):
    """Click a toggle button of an explorer and return (pictures before, pictures after)."""
    before = shown(page)
    page.locator(".widget-toggle-button", has_text=button_text).first.click()
    return before, wait_for_change(page, before)


def open_explorer_page(site_page, path):
    visit = site_page(path)
    visit.page.locator("img.widget-image").first.wait_for(state="visible")
    return visit


def visible_rows(page):
    """The visible caption tables' rows, each as a list of cell texts."""
    return page.evaluate("""() => [...document.querySelectorAll('.widget-html table tr')]
        .filter(r => r.offsetParent !== null)
        .map(r => [...r.cells].map(c => c.innerText.trim()))""")


def test_dropout_explorer_shows_the_eval_frame_when_eval_is_clicked_and_back(site_page):
    visit = open_explorer_page(site_page, "book/04_train_eval/dropout.html")
    page = visit.page
    assert len(shown(page)) == 1  # one explorer, one of its 12 frames on screen
    train, eval_ = click(page, "eval()")
    assert len(eval_) == 1 and eval_ != train
    received = {row[0]: row[1] for row in visible_rows(page)[1:]}
    assert received == {"nn.Dropout(p)": "False", "F.dropout(x, p)": "True",
                        "F.dropout(x, p, training=self.training)": "False"}
    assert click(page, "train()")[1] == train
    assert visit.problems == []


def test_dropout_explorer_p_slider_moves_with_the_keyboard_and_changes_the_frame(site_page):
    visit = open_explorer_page(site_page, "book/04_train_eval/dropout.html")
    page = visit.page
    before = shown(page)
    page.locator(".widget-slider .noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    assert wait_for_change(page, before) != before
    assert visit.problems == []


def test_batchnorm_explorer_switches_frames_for_momentum_and_mode(site_page):
    visit = open_explorer_page(site_page, "book/04_train_eval/batchnorm.html")
    page = visit.page
    first, momentum_none = click(page, "None")
    _, steps_in_eval = click(page, "eval()")
    assert len({tuple(first), tuple(momentum_none), tuple(steps_in_eval)}) == 3
    assert visit.problems == []


def test_mode_tracer_shows_the_eval_trace_when_eval_is_clicked(site_page):
    visit = open_explorer_page(site_page, "book/04_train_eval/index.html")
    page = visit.page
    click(page, "eval()")
    # In eval mode exactly one call is flagged: the hand-written F.dropout in Net.forward.
    dropout_rows = [row for row in visible_rows(page) if row[3] == "F.dropout"]
    assert [(row[1], row[2], row[4]) for row in dropout_rows] == [
        ("features.3.1: Dropout", "False", "False"), ("(model): Net", "False", "True")]
    assert visit.problems == []
