"""The lab kernel: Python with the environment the grader gives a submission.

The labs' notebooks ask for this kernel by name, so a learner who opens them in any JupyterLab
of this environment (``make lab`` or a plain ``jupyter lab``) runs them as they are graded.
"""

from __future__ import annotations

import sys

KERNEL_NAME = "labkit"
DISPLAY_NAME = "Python 3 (labkit)"
# One BLAS/OpenMP thread: labs and grading run many small kernels side by side, where more threads
# only stall on each other; and a learner's timings then match the grader's time limits.
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def kernelspec() -> dict:
    """The kernel.json of the lab kernel: this Python, with KERNEL_ENV."""
    return {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "env": KERNEL_ENV,
        "metadata": {"debugger": True},
    }

