"""The fenced kernel's parts: numtorch without the lab's layers, and no process left behind."""

import os
import subprocess
import sys
import time

from labkit import sandbox


def test_the_kernels_numtorch_has_no_layer_of_the_lab_nor_its_family(tmp_path):
    sandbox.build_site(tmp_path, ("Conv2d", "BatchNorm2d"))
    code = ("import numtorch.nn as nn, numtorch.nn.functional as F, numtorch.nn.modules.conv as conv;"
            "print(sorted(n for n in ('Conv2d', 'Conv1d', 'BatchNorm2d', 'BatchNorm1d', 'Linear', 'Dropout')"
            " if hasattr(nn, n)), hasattr(conv, '_ConvNd'), callable(F.batch_norm), callable(F.conv2d))")
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(tmp_path)),
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.split() == ["['Dropout',", "'Linear']", "False", "True", "True"], done.stderr


def test_without_names_leaves_a_module_without_them_untouched():
    import ast

    tree = ast.parse("class Other:\n    pass\n__all__ = ['Other']\n")
    assert sandbox.without_names(tree, {"Dropout"}) is False


def test_a_detached_grandchild_is_found_and_ended(tmp_path):
    assert sandbox.become_subreaper()
    marker = tmp_path / "alive"
    script = (f"import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
              f"        open({str(marker)!r}, 'w').close()\n        time.sleep(600)\n    os._exit(0)\n")
    subprocess.run([sys.executable, "-c", script], check=True)
    for _ in range(100):
        if marker.exists():
            break
        time.sleep(0.05)
    orphans = sandbox.descendants()
    assert orphans, "the detached grandchild should have become our child"
    sandbox.end_descendants()
    assert not [p for p in orphans if os.path.exists(f"/proc/{p}") and "Z" not in open(f"/proc/{p}/stat").read().split()[2]]
