"""nbval runs every lab's answer key and every student notebook to the end.

A blank student notebook must execute cleanly: its NotImplementedErrors surface only inside
the check cells, which report them.
"""

import subprocess
import sys

from labkit.grader.fence import labkit_env


def test_nbval_runs_every_answer_key_and_every_student_notebook(tmp_path):
    # The notebooks ask for the lab kernel: installed here, not into the environment running the tests.
    subprocess.run([sys.executable, "-m", "labkit", "install", "--prefix", str(tmp_path / "env")], check=True,
                   capture_output=True)
    env = labkit_env(JUPYTER_PATH=str(tmp_path / "env" / "share" / "jupyter"))
    for kind in ("student", "solution"):
        args = ["release", "--out", str(tmp_path / kind)] + (["--solutions"] if kind == "solution" else [])
        subprocess.run([sys.executable, "-m", "labkit", *args], check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-cell-timeout=180", "-q",
                           "-p", "no:cacheprovider", "student", "solution"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
