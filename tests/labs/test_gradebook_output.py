"""What a gradebook writes is safe to open: submissions are read as files of their own (never through a link),
errors never quote a file, and nothing a submission wrote becomes a formula, HTML, a link or a terminal escape."""

import csv
import subprocess
import sys
from pathlib import Path

from labtools import notebook, write
from labkit.grader.gradebook import feedback_markdown, write_feedback
from labkit.grader.text import cell

TOY_LABS = Path(__file__).parent / "toylabs"

SOLUTION = "def double(x):\n    return 2 * x"
SECRET = "sk-top-secret-0123456789"


def gradebook(folder, tmp_path, *extra):
    out = tmp_path / "grades.csv"
    done = subprocess.run([sys.executable, "-m", "labkit", "--labs", str(TOY_LABS), "gradebook", str(folder),
                           "--lab", "toy", "--out", str(out), "--feedback", str(tmp_path / "feedback"), *extra],
                          capture_output=True, text=True, timeout=600)
    return done, {r["submission"]: r for r in csv.DictReader(open(out, encoding="utf-8"))}


def test_links_folders_and_unreadable_files_get_a_row_that_quotes_nothing(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    key = write(tmp_path / "key.ipynb", notebook(SOLUTION))
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    (folder / "to-the-key.ipynb").symlink_to(key)
    (folder / "to-a-secret.ipynb").symlink_to(secret)
    (folder / "a-folder.ipynb").mkdir()
    (folder / "not-json.ipynb").write_text(SECRET)
    write(folder / "honest.ipynb", notebook(SOLUTION))
    done, rows = gradebook(folder, tmp_path)
    assert done.returncode == 1, done.stderr  # ungradable rows: the command says so
    assert rows["honest.ipynb"]["status"] == "graded" and float(rows["honest.ipynb"]["score"]) == 3
    for name in ("to-the-key.ipynb", "to-a-secret.ipynb"):
        assert rows[name]["status"].startswith("ungradable: a symbolic link"), rows[name]
        assert float(rows[name]["score"]) == 0
    assert rows["a-folder.ipynb"]["status"].startswith("ungradable: not a regular file (a folder)")
    assert rows["not-json.ipynb"]["status"].startswith("ungradable: not a readable notebook")
    everything = (tmp_path / "grades.csv").read_text() + done.stdout + done.stderr + "".join(
        p.read_text() for p in (tmp_path / "feedback").iterdir())
    assert SECRET not in everything


def test_a_file_name_never_becomes_a_spreadsheet_formula(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    write(folder / '=HYPERLINK("http:x","y").ipynb', notebook(SOLUTION))
    done, rows = gradebook(folder, tmp_path)
    assert done.returncode == 0, done.stderr
    line = (tmp_path / "grades.csv").read_text().splitlines()[1]
    assert line.startswith("'=HYPERLINK") or line.startswith("\"'=HYPERLINK"), line
    assert cell("+1") == "'+1" and cell("-x") == "'-x" and cell("@x") == "'@x" and cell(3.0) == 3.0


def test_feedback_renders_a_submissions_text_as_text():
    result = {"lab": "toy", "score": 0.0, "max_score": 3.0, "review": [], "fence": "root",
              "notes": ["code cell 1 raised ValueError: <script>alert(1)</script>\n**Score:** 3 / 3 [x](javascript:y)"],
              "tests": [{"name": "doubles_two", "score": 0.0, "max_score": 1.0, "passed": False,
                         "message": "your code raised KeyError: \x1b[2J<img src=x onerror=y> | `F.linear`"}]}
    text = feedback_markdown("a.ipynb", result)
    assert "<script>" not in text and "<img" not in text and "\x1b" not in text
    assert "\n**Score:** 3" not in text and "[x](javascript" not in text
    assert "`F.linear`" in text  # the checks' own code spans stay
    assert len([line for line in text.splitlines() if line.startswith("**Score:**")]) == 1


def test_two_submissions_with_one_name_keep_a_feedback_file_each(tmp_path):
    result = {"lab": "toy", "score": 3.0, "max_score": 3.0, "review": [], "notes": [], "tests": [], "fence": "root"}
    written = write_feedback(tmp_path, ["a/b.ipynb", "a__b.ipynb"], [result, result])
    assert len(set(written)) == 2 and all(p.exists() for p in written)


def test_grade_prints_no_terminal_escape_from_a_submission(tmp_path):
    code = "def double(x):\n    raise ValueError('\\x1b[2J\\x1b]0;owned\\x07')"
    path = write(tmp_path / "toy.ipynb", notebook(code))
    done = subprocess.run([sys.executable, "-m", "labkit", "--labs", str(TOY_LABS), "grade", str(path), "--lab", "toy"],
                          capture_output=True, text=True, timeout=300)
    assert "ValueError" in done.stdout, done.stdout + done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
