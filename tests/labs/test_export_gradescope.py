"""`labkit export gradescope`, tested as Gradescope runs the autograder.

The zip is unpacked into a folder laid out as Gradescope's /autograder (source/, submission/, results/;
run_autograder copied to the root), `setup.sh` runs as on Gradescope (as root, against this machine's package
mirror; `apt-get` is a stub that records what it was asked for, since the image's packages are the platform's),
and `run_autograder` grades each submission. Every results.json is checked against Gradescope's documented
fields.
"""
import json
import os
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

from labtools import labkit_export
from labkit.export.environment import GRADING
from labkit.export.gradescope import CONFIG, VISIBILITIES, results
from labkit.labs import load_labs

REPO = Path(__file__).resolve().parents[2]
LAB = "2_dropout"
FORMATS = ("text", "html", "simple_format", "md", "ansi")  # Gradescope's output_format values
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs the autograder as root")


def validate(report: dict) -> None:
    """Gradescope's results.json fields (its autograder specification), with the ones labkit always writes."""
    allowed = {"score", "execution_time", "output", "visibility", "stdout_visibility", "extra_data", "tests",
               "leaderboard", "output_format"}
    assert set(report) <= allowed, set(report) - allowed
    assert isinstance(report["score"], (int, float)) and report["score"] >= 0
    assert isinstance(report["tests"], list)
    assert report.get("stdout_visibility", "hidden") in VISIBILITIES
    assert report.get("output_format", "text") in FORMATS
    assert isinstance(report.get("output", ""), str)
    test_fields = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
                   "tags", "visibility", "extra_data"}
    for test in report["tests"]:
        assert set(test) <= test_fields, set(test) - test_fields
        assert {"name", "score", "max_score", "output", "visibility"} <= set(test)
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["visibility"] in VISIBILITIES
        assert test["status"] in ("passed", "failed")
        assert test.get("output_format", "text") in FORMATS
    if report["tests"] and "review" not in report.get("output", ""):
        assert report["score"] == pytest.approx(sum(t["score"] for t in report["tests"]))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "autograder.zip"
    done = labkit_export("gradescope", LAB, out)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def autograder(exported, tmp_path_factory):
    """An /autograder tree after Gradescope's image build: the zip in source/, setup.sh run, run_autograder copied."""
    root = tmp_path_factory.mktemp("autograder")
    (root / "source").mkdir()
    with zipfile.ZipFile(exported) as archive:
        archive.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):  # zipfile does not restore modes; Gradescope's unzip does
        (root / "source" / script).chmod(0o755)
    stub = root.parent / f"{root.name}-stub"
    stub.mkdir()
    (stub / "apt-get").write_text(f'#!/bin/sh\necho "apt-get $*" >> {stub}/apt.log\n')
    (stub / "apt-get").chmod(0o755)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PATH=f"{stub}:{os.environ['PATH']}")
    done = subprocess.run(["bash", str(root / "source" / "setup.sh")], cwd=root / "source", env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    return root, (stub / "apt.log").read_text()


def run_autograder(root: Path, *files: tuple[str, bytes]) -> dict:
    """Hand in `files` (name, content) as one submission and return the results.json run_autograder writes."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    (root / "submission").mkdir()
    for name, data in files:
        (root / "submission" / name).write_bytes(data)
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env=dict(os.environ, AUTOGRADER_ROOT=str(root)),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    report = json.loads((root / "results" / "results.json").read_text())
    validate(report)
    return report


def test_zip_holds_the_two_scripts_at_its_root_executable_with_the_lab_and_its_pins(exported):
    with zipfile.ZipFile(exported) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        config = json.loads(archive.read(CONFIG))
    assert {"setup.sh", "run_autograder", "requirements.txt", CONFIG, f"labs/{LAB}/lab.md"} <= set(names)
    assert [n for n in names if n.endswith(".whl")] == ["numtorch-0.1.0-py3-none-any.whl"]
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR, f"{script} is not executable in the zip"
    lab = {l.name: l for l in load_labs()}[LAB]
    assert config == {"lab": LAB, "hidden_tests": [t.name for t in lab.hidden_tests()],
                      "hidden_visibility": "after_published"}


def test_setup_installs_exactly_the_pins_without_torch_and_they_meet_requirements_txt(exported, autograder):
    root, apt = autograder
    with zipfile.ZipFile(exported) as archive:
        pins = archive.read("requirements.txt").decode().split()
        setup = archive.read("setup.sh").decode()
    assert all("==" in pin for pin in pins)
    names = {Requirement(pin).name.lower() for pin in pins}
    assert set(GRADING) <= names and "torch" not in names
    # The pins are the versions this checkout's requirements.txt allows.
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            wanted = Requirement(line)
            for pin in pins:
                if Requirement(pin).name.lower() == wanted.name.lower():
                    assert wanted.specifier.contains(pin.split("==")[1]), (pin, line)
    assert 'pip install --no-deps -r "$SOURCE/requirements.txt"' in setup
    assert 'pip install --no-deps "$SOURCE"/numtorch-*.whl' in setup
    listed = subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "pip", "list", "--format", "json",
                             "--exclude", "pip", "--exclude", "setuptools"],
                            capture_output=True, text=True, check=True).stdout
    # pip and setuptools are what `python3 -m venv` seeds, not what setup.sh installs.
    installed = {f"{p['name'].lower().replace('_', '-')}=={p['version']}" for p in json.loads(listed)}
    assert installed == {pin.lower() for pin in pins} | {"numtorch==0.1.0"}
    assert "python3-venv" in apt and "util-linux" in apt


def test_answer_key_scores_full_marks_with_hidden_tests_after_published(autograder, released):
    root, _ = autograder
    report = run_autograder(root, (f"{LAB}.ipynb", (released / "solution" / f"{LAB}.ipynb").read_bytes()))
    maximum = sum(t["max_score"] for t in report["tests"])
    assert maximum > 0 and report["score"] == maximum
    assert all(t["status"] == "passed" for t in report["tests"])
    hidden = {t.name for t in {l.name: l for l in load_labs()}[LAB].hidden_tests()}
    assert hidden and {t["name"] for t in report["tests"] if t["visibility"] == "after_published"} == hidden
    assert all(t["visibility"] == "visible" for t in report["tests"] if t["name"] not in hidden)
    assert report["stdout_visibility"] == "hidden"


def test_blank_notebook_scores_zero_with_a_message_per_failed_test(autograder, released):
    root, _ = autograder
    report = run_autograder(root, (f"{LAB}.ipynb", (released / "student" / f"{LAB}.ipynb").read_bytes()))
    assert report["score"] == 0 and report["tests"]
    assert all(t["status"] == "failed" and t["output"] for t in report["tests"])


def test_anything_but_one_notebook_gets_a_results_json_that_says_so(autograder):
    root, _ = autograder
    report = run_autograder(root, ("dropout.py", b"class Dropout: pass\n"))
    assert report["score"] == 0 and report["tests"] == []
    assert "expected one .ipynb notebook" in report["output"] and "dropout.py" in report["output"]
    report = run_autograder(root, ("a.ipynb", b"{}"), ("b.ipynb", b"{}"))
    assert report["score"] == 0 and "a.ipynb, b.ipynb" in report["output"]
    report = run_autograder(root, (f"{LAB}.ipynb", b"%PDF-1.4 not a notebook"))
    assert report["score"] == 0 and "could not be graded: not a readable notebook" in report["output"]


def test_a_hostile_notebook_cannot_read_the_lab_or_write_the_results(autograder, released):
    root, _ = autograder
    nb = nbformat.reads((released / "student" / f"{LAB}.ipynb").read_text(), as_version=4)
    forged = json.dumps({"score": 999, "tests": []})
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json, pathlib\n"
        f"root = pathlib.Path({str(root)!r})\n"
        "for path in [root / 'results' / 'results.json', root / 'results' / 'forged.json']:\n"
        "    try:\n"
        f"        path.write_text({forged!r})\n"
        "    except OSError:\n"
        "        pass\n"
        f"secret = (root / 'source' / 'labs' / '{LAB}' / 'lab.md').read_text()\n"))
    report = run_autograder(root, (f"{LAB}.ipynb", nbformat.writes(nb).encode()))
    assert report["score"] == 0
    assert not (root / "results" / "forged.json").exists()
    assert "raised FileNotFoundError" in report["output"]  # the lab's source is not in the kernel's file system


def test_run_autograder_writes_results_even_without_an_environment(exported, tmp_path):
    (tmp_path / "source").mkdir()
    with zipfile.ZipFile(exported) as archive:
        archive.extract("run_autograder", tmp_path)
    (tmp_path / "run_autograder").chmod(0o755)
    (tmp_path / "submission").mkdir()
    done = subprocess.run([str(tmp_path / "run_autograder")], cwd=tmp_path,
                          env=dict(os.environ, AUTOGRADER_ROOT=str(tmp_path)), capture_output=True, text=True)
    assert done.returncode == 0
    report = json.loads((tmp_path / "results" / "results.json").read_text())
    validate(report)
    assert report["score"] == 0 and "could not run" in report["output"]


GRADED = {"lab": LAB, "score": 3.0, "max_score": 5.0, "notes": ["code cell 2 raised ValueError: no"], "review": [],
          "fence": "root", "tests": [
              {"name": "public_check", "score": 3.0, "max_score": 3.0, "passed": True, "message": ""},
              {"name": "hidden_one", "score": 0.0, "max_score": 2.0, "passed": False, "message": "hidden failed"}]}


@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_hidden_tests_take_the_visibility_asked_for_and_public_ones_stay_visible(visibility):
    report = results(GRADED, {"hidden_one"}, visibility, 4.2)
    validate(report)
    assert [t["visibility"] for t in report["tests"]] == ["visible", visibility]
    assert report["score"] == 3.0 and "code cell 2 raised ValueError" in report["output"]


def test_a_result_held_for_review_scores_zero_and_says_why():
    report = results(dict(GRADED, review=["no answer to a request (it was stopped)"]), {"hidden_one"},
                     "after_published", 1)
    validate(report)
    assert report["score"] == 0
    assert "review" in report["output"] and "no answer to a request" in report["output"]


def test_export_refuses_an_unknown_visibility(tmp_path):
    done = labkit_export("gradescope", LAB, tmp_path / "a.zip", "--hidden-visibility", "sometimes")
    assert done.returncode == 2 and "invalid choice" in done.stderr
