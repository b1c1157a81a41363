"""The learner's workspace: the released notebooks, opened in JupyterLab with the lab kernel.

``labkit lab`` (what ``make lab`` runs) releases the notebooks, installs the lab kernel and
JupyterLab's settings into this Python's environment, then starts JupyterLab in the workspace:
as root too (where JupyterLab refuses to start without --allow-root), and without a display
(where opening a browser would start a text browser, or fail): then it prints the URL to open.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import NoReturn

from labkit.kernel import KERNEL_NAME, kernelspec

# Defaults for JupyterLab in this environment (the learner can still change them): no "get notified
# about official Jupyter news?" prompt and no update check, both of which fetch from the internet.
LAB_SETTINGS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def install(prefix: str | os.PathLike = sys.prefix) -> list[Path]:
    """Write the lab kernel's spec and JupyterLab's settings under PREFIX/share/jupyter; return the files.

    With the default prefix (this environment, e.g. .venv) any JupyterLab started from it, even a plain
    `jupyter lab`, finds both: kernels in share/jupyter/kernels, and settings overrides in its app folder,
    share/jupyter/lab/settings/overrides.d (never the user's home).
    """
    share = Path(prefix) / "share" / "jupyter"
    files = {share / "kernels" / KERNEL_NAME / "kernel.json": kernelspec(),
             share / "lab" / "settings" / "overrides.d" / "labkit.json": LAB_SETTINGS}
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")
    return list(files)


def jupyterlab_command(folder: str | os.PathLike, extra: list[str] = ()) -> list[str]:
    """The command that opens JupyterLab in `folder`, with the flags this machine needs."""
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    if not has_display():
        command.append("--no-browser")
    return command + list(extra)


def has_display() -> bool:
    """Whether a browser could open a window here (Linux and BSDs need an X or Wayland display)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_lab(folder: str | os.PathLike, extra: list[str] = ()) -> NoReturn:
    """Install the lab kernel and settings, then become JupyterLab in `folder` (Ctrl-C then reaches it alone)."""
    try:
        install()
    except OSError as error:  # an environment the learner cannot write to: JupyterLab still opens
        print(f"labkit: could not install the lab kernel ({error}): the notebooks will ask which kernel to use")
    if not has_display():
        print("labkit: no display here, so no browser opens: open the http://127.0.0.1:... URL "
              "that JupyterLab prints below in a browser")
    command = jupyterlab_command(folder, extra)
    sys.stdout.flush()
    os.execv(command[0], command)
