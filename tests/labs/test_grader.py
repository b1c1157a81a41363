"""The grader survives whatever a submission does, and never touches the submission.

These tests grade submissions to a toy lab (tests/labs/toylabs/toy), so they pin the
grader's behaviour without depending on any real lab's content.
"""

import json
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from labtools import by_name, dump, notebook, sha256, write
from labkit.grader.grade import grade
from labkit.grader.kernel_client import MAX_MESSAGE_BYTES, MAX_OUTPUT_CHARS, _Client
from labkit.labs import identify

SOLUTION = "def double(x):\n    return 2 * x"


def test_a_correct_submission_scores_full_marks(tmp_path, toy_labs):
    result = grade(write(tmp_path / "toy.ipynb", notebook(SOLUTION)), toy_labs)
    assert (result["score"], result["max_score"]) == (3, 3), dump(result)
    assert all(t["passed"] and t["message"] == "" for t in result["tests"])


def test_a_wrong_answer_loses_the_points_of_the_test_it_fails(tmp_path, toy_labs):
    result = grade(write(tmp_path / "toy.ipynb", notebook("def double(x):\n    return x + x if isinstance(x, int) else x")), toy_labs)
    tests = by_name(result)
    assert tests["doubles_two"]["passed"] and not tests["doubles_a_string"]["passed"]
    assert tests["doubles_a_string"]["message"] == "double('ab') should be 'abab'"
    assert result["score"] == 2


def test_an_infinite_loop_in_a_cell_costs_that_cell_not_the_run(tmp_path, toy_labs):
    path = write(tmp_path / "toy.ipynb", notebook("while True:\n    pass", SOLUTION))
    result = grade(path, toy_labs, cell_timeout=2)
    assert result["score"] == 3, dump(result)
    assert any("code cell 1 was stopped after 2 s" in note for note in result["notes"])


def test_an_infinite_loop_inside_a_test_costs_that_test(tmp_path, toy_labs):
    looping = "def double(x):\n    if isinstance(x, str):\n        while True:\n            pass\n    return 2 * x"
    result = grade(write(tmp_path / "toy.ipynb", notebook(looping)), toy_labs)
    tests = by_name(result)
    assert tests["doubles_two"]["passed"]
    assert "took longer than 2 s" in tests["doubles_a_string"]["message"], dump(result)


def test_a_loop_that_swallows_every_interrupt_is_stopped_by_the_notebook_limit(tmp_path, toy_labs):
    # Asleep rather than spinning, which would only keep a core busy for the whole limit: the interrupts are swallowed
    # either way (test_an_infinite_loop_in_a_cell_costs_that_cell_not_the_run spins).
    stubborn = ("def double(x):\n    import time\n    while True:\n        try:\n            time.sleep(1)\n"
                "        except BaseException:\n            pass")
    result = grade(write(tmp_path / "toy.ipynb", notebook(stubborn)), toy_labs, timeout=15)
    assert result["score"] == 0 and all(t["message"] for t in result["tests"]), dump(result)


def test_an_exception_in_a_cell_is_a_note_and_the_tests_still_run(tmp_path, toy_labs):
    result = grade(write(tmp_path / "toy.ipynb", notebook("1 / 0", SOLUTION)), toy_labs, lab="toy")
    assert result["score"] == 3
    assert result["notes"] == ["code cell 1 raised ZeroDivisionError: division by zero"]


def test_an_exception_in_the_learners_function_names_the_line(tmp_path, toy_labs):
    result = grade(write(tmp_path / "toy.ipynb", notebook("def double(x):\n    return x * undefined_name")), toy_labs)
    message = by_name(result)["doubles_two"]["message"]
    assert message.startswith("your code raised NameError: name 'undefined_name' is not defined"), message
    assert "`return x * undefined_name`" in message


def test_a_huge_print_does_not_flood_the_grader(tmp_path, toy_labs):
    noisy = "for i in range(200_000):\n    print('spam' * 20)\n" + SOLUTION + "\nprint('x' * 10_000_000)"
    result = grade(write(tmp_path / "toy.ipynb", notebook(noisy, "def f():\n    print('y' * 10**6)\nf()")), toy_labs)
    assert result["score"] == 3, dump(result)


def test_grading_leaves_no_thread_of_the_kernel_client_behind(tmp_path, toy_labs):
    before = set(threading.enumerate())
    for name in ("a", "b"):
        grade(write(tmp_path / f"{name}.ipynb", notebook(SOLUTION)), toy_labs)
    assert [t.name for t in set(threading.enumerate()) - before if t.is_alive()] == []


def peak_memory_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) * 1024


def test_a_message_too_large_to_keep_never_reaches_the_grader_and_ends_the_grading(tmp_path, toy_labs):
    size = MAX_MESSAGE_BYTES + 50 * 1024**2
    Path("/proc/self/clear_refs").write_text("5")  # the peak so far becomes the memory in use now
    before = peak_memory_bytes()
    result = grade(write(tmp_path / "toy.ipynb", notebook(SOLUTION, f"print('x' * {size})")), toy_labs)
    assert result["score"] == 0, dump(result)
    assert any("code cell 2 sent the grader a message of more than" in note for note in result["notes"]), dump(result)
    assert all("not run: your code cell 2 sent" in t["message"] for t in result["tests"]), dump(result)
    assert peak_memory_bytes() - before < size // 4, f"the grader's peak grew by {peak_memory_bytes() - before} bytes"


def test_a_reply_too_large_to_keep_ends_the_wait_for_it_at_once(tmp_path, toy_labs):
    # The error goes out twice, as output and in the cell's reply: both are dropped, so no reply will ever come.
    limit = 300
    started = time.monotonic()
    result = grade(write(tmp_path / "toy.ipynb", notebook(SOLUTION, f"raise ValueError('x' * {MAX_MESSAGE_BYTES})")),
                   toy_labs, timeout=3 * limit, cell_timeout=limit)
    waited = time.monotonic() - started
    assert any("code cell 2 sent the grader a message of more than" in note for note in result["notes"]), dump(result)
    assert waited < limit / 2, f"the grader waited {waited:.0f} s for a reply it had dropped (the cell's limit: {limit} s)"


def test_past_the_output_cap_a_cell_keeps_no_more_output():
    client = _Client(nbformat.v4.new_notebook())
    client.clear_before_next_output = False  # what nbclient sets as each cell starts
    outs = []
    chunk = "z" * 1000
    for _ in range(MAX_OUTPUT_CHARS // 100):  # ten times the cap
        client.output(outs, {"msg_type": "stream", "header": {"msg_type": "stream"}, "parent_header": {},
                             "content": {"name": "stdout", "text": chunk}}, None, 0)
    kept = sum(len(json.dumps(o)) for o in outs)
    # The cap is checked before each output, so at most one output lands past it.
    assert MAX_OUTPUT_CHARS < kept <= MAX_OUTPUT_CHARS + len(json.dumps(outs[-1]))


@pytest.mark.parametrize("labkit", [{"lab": ["toy"]}, {"lab": 3}, {"lab": {"toy": 1}}, "toy", ["toy"], 3])
def test_malformed_labkit_metadata_is_ignored_not_a_crash(tmp_path, toy_labs, labkit):
    nb = notebook(SOLUTION, lab=None, labkit=labkit)
    assert identify(nb, "toy-alice.ipynb", toy_labs).name == "toy"  # the file name still tells
    assert identify(nb, "other.ipynb", toy_labs) is None
    result = grade(write(tmp_path / "other.ipynb", nb), toy_labs)
    assert result["ungradable"].startswith("cannot tell which lab"), dump(result)


def test_prints_inside_the_tested_code_do_not_disturb_the_results(tmp_path, toy_labs):
    chatty = "def double(x):\n    print('{\"name\": \"doubles_two\"}' * 1000)\n    return 2 * x"
    assert grade(write(tmp_path / "toy.ipynb", notebook(chatty)), toy_labs)["score"] == 3


def test_a_deleted_cell_fails_the_tests_with_a_message_that_says_so(tmp_path, toy_labs):
    result = grade(write(tmp_path / "toy.ipynb", notebook("x = 1")), toy_labs)
    assert result["score"] == 0
    assert by_name(result)["doubles_two"]["message"].startswith("your code raised NameError: name 'double'")


def test_a_duplicated_cell_is_harmless(tmp_path, toy_labs):
    assert grade(write(tmp_path / "toy.ipynb", notebook(SOLUTION, SOLUTION)), toy_labs)["score"] == 3


def test_a_renamed_notebook_is_recognised_by_its_metadata(tmp_path, toy_labs):
    assert grade(write(tmp_path / "my homework (1).ipynb", notebook(SOLUTION)), toy_labs)["lab"] == "toy"


def test_a_notebook_without_metadata_is_recognised_by_its_file_name(tmp_path, toy_labs):
    assert grade(write(tmp_path / "toy-alice.ipynb", notebook(SOLUTION, lab=None)), toy_labs)["score"] == 3


def test_a_notebook_of_no_known_lab_is_ungradable(tmp_path, toy_labs):
    result = grade(write(tmp_path / "other.ipynb", notebook(SOLUTION, lab=None)), toy_labs)
    assert result["ungradable"].startswith("cannot tell which lab")


def test_a_malformed_file_is_ungradable_with_the_reason(tmp_path, toy_labs):
    for name, content in [("toy.ipynb", b"{not json"), ("toy2.ipynb", b"\xff\xfe\x00"), ("toy3.ipynb", b'{"cells": 3}')]:
        (tmp_path / name).write_bytes(content)
        result = grade(tmp_path / name, toy_labs)
        assert result["ungradable"].startswith("not a readable notebook"), dump(result)


def test_a_kernel_that_dies_fails_the_remaining_tests_with_a_message(tmp_path, toy_labs):
    dying = "import os\ndef double(x):\n    os._exit(1)"
    result = grade(write(tmp_path / "toy.ipynb", notebook(dying)), toy_labs)
    assert result["score"] == 0
    assert all("kernel died" in t["message"] for t in result["tests"]), dump(result)


def test_grading_never_modifies_the_submission(tmp_path, toy_labs):
    path = write(tmp_path / "toy.ipynb", notebook("print('hi')", SOLUTION, "open('scratch.txt', 'w').write('x')"))
    before = sha256(path)
    listing = sorted(p.name for p in tmp_path.iterdir())
    grade(path, toy_labs)
    assert sha256(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing


def test_a_time_limit_counts_processor_time_so_a_busy_machine_cannot_run_it_out():
    from labkit.checks import TimeLimit, time_limit

    with time_limit(0.5):
        time.sleep(0.8)  # waiting (as for a processor another submission holds) is not the code's own time
    with pytest.raises(TimeLimit):
        with time_limit(0.5):
            while True:
                pass


def test_a_time_limit_still_ends_code_that_sleeps_by_the_clock():
    from labkit.checks import WALL_FACTOR, TimeLimit, time_limit

    started = time.monotonic()
    with pytest.raises(TimeLimit):
        with time_limit(0.2):
            time.sleep(60)
    assert time.monotonic() - started < WALL_FACTOR * 0.2 + 11


def test_a_kernel_that_cannot_start_makes_the_row_ungradable_with_what_it_printed(tmp_path, toy_labs, monkeypatch):
    from labkit.grader import fence

    broken = [sys.executable, "-c", "import sys; sys.stderr.write('the fence broke: no way in\\n'); sys.exit(3)", "--"]
    fence.fence_mode()  # probed with the real launcher first: it is the kernel's start that fails here
    monkeypatch.setattr(fence, "launcher", lambda *args, **kwargs: list(broken))
    result = grade(write(tmp_path / "toy.ipynb", notebook(SOLUTION)), toy_labs)
    assert result["score"] == 0 and result["ungradable"].startswith("the kernel could not start"), dump(result)
    assert "the fence broke: no way in" in result["ungradable"], dump(result)
