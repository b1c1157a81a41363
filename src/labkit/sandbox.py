"""Where a submission's code runs while it is graded: a kernel fenced off from the grader.

What holds, and where (the threat model is in labs/README.md):

- **Always**: a private work folder (mode 0700, in a run folder nobody can list) that is the
  kernel's home, working folder and ``TMPDIR``; limits on memory, CPU time, file size (and, as
  root, processes); the kernel's numtorch is a copy from which the layers the lab asks the
  learner to write are removed, and its labkit a copy; the grader process is a child subreaper
  and kills every process the submission left behind, ``setsid`` or not.
- **As root** (CI): the kernel runs as ``nobody`` in its own PID, network and mount namespaces,
  with a new root filesystem that holds only the system folders, this Python and its
  environment (read-only), the work folder, a few devices, ``/proc`` and an empty ``/tmp``: no
  answer key, labkit source, git folder, other checkout or submission is there to be read.
- **As a normal user with unprivileged user namespaces**: the same, the kernel one more user
  namespace down so that it cannot undo the mounts.
- **Otherwise**: no namespaces; the machine's files stay as readable to the learner's code as to
  the user (the grader's verdicts still come from the grader's process: see labkit.probe).
"""

from __future__ import annotations

import ast
import ctypes
import functools
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOBODY = 65534
MEMORY = 3 * 1024**3  # bytes of address space: numpy and a kernel need about 1 GiB
FILE_SIZE = 256 * 1024**2  # bytes, per file written
PROCESSES = 256  # as nobody, who owns nothing else: counted per user, threads included
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
SOURCE = Path(__file__).resolve().parents[1]  # the folder holding labkit and numtorch


@functools.lru_cache(maxsize=None)
def mode() -> str:
    """How this machine fences a kernel: "root", "userns" or "none"."""
    if not shutil.which("unshare"):
        return "none"
    if os.geteuid() == 0:
        probe = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--net", "--mount", "true"]
        return "root" if _runs(probe) else "none"
    probe = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--kill-child", "--mount-proc", "--net",
             "--mount", "unshare", "--user", "--mount", "true"]
    return "userns" if _runs(probe) else "none"


def _runs(command) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# ---- the kernel's own numtorch and labkit -----------------------------------------------------------

def build_site(site: Path, own: tuple[str, ...]) -> None:
    """Copy numtorch and labkit into `site`, with the classes in `own` (and their family) taken out of numtorch."""
    for package in ("numtorch", "labkit"):
        shutil.copytree(SOURCE / package, site / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if own:
        # The layers live in nn/modules (F's autograd Functions elsewhere may share a name, e.g. _BatchNorm).
        paths = sorted((site / "numtorch" / "nn" / "modules").rglob("*.py"))
        trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in paths}
        gone = family(trees.values(), set(own))
        for path, tree in trees.items():
            if without_names(tree, gone):
                path.write_text(ast.unparse(tree) + "\n", encoding="utf-8")


def family(trees, names: set[str]) -> set[str]:
    """The named classes, the private bases they extend, and every class extending any of these."""
    bases = {node.name: {b.id for b in node.bases if isinstance(b, ast.Name)}
             for tree in trees for node in tree.body if isinstance(node, ast.ClassDef)}
    gone = set(names)
    while True:
        more = {b for n in gone & set(bases) for b in bases[n] if b.startswith("_") and b in bases}
        more |= {n for n, bs in bases.items() if bs & gone}
        if more <= gone:
            return gone
        gone |= more


def without_names(tree: ast.Module, gone: set[str]) -> bool:
    """Take the classes in `gone` out of a module, and their names out of its imports and `__all__`; True if
    anything changed."""
    touched = False
    body = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in gone:
            touched = True
            continue
        if isinstance(node, ast.ImportFrom) and any(a.name in gone for a in node.names):
            touched = True
            node.names = [a for a in node.names if a.name not in gone]
            if not node.names:
                continue
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
                and isinstance(node.value, (ast.List, ast.Tuple))):
            kept = [e for e in node.value.elts if not (isinstance(e, ast.Constant) and e.value in gone)]
            touched |= len(kept) != len(node.value.elts)
            node.value.elts = kept
        body.append(node)
    tree.body = body
    return touched


# ---- folders ------------------------------------------------------------------------------------------

def run_folder() -> Path:
    """A folder for one grading run's work folders: traversable by the kernel's user, listable by nobody."""
    folder = Path(tempfile.mkdtemp(prefix="labkit-run-"))
    folder.chmod(0o711)
    return folder


def work_folder(run: Path) -> Path:
    """A submission's private work folder, under a name no other submission can guess."""
    work = run / secrets.token_hex(16)
    work.mkdir(mode=0o700)
    for sub in ("tmp", "home"):
        (work / sub).mkdir(mode=0o700)
    if mode() == "root":
        for path in (work, work / "tmp", work / "home"):
            os.chown(path, NOBODY, NOBODY)
    return work


def kernel_argv(work: Path, limits: dict) -> list[str]:
    """The kernelspec argv that starts a fenced kernel ({connection_file} is filled in by jupyter_client)."""
    how = mode()
    inner = [sys.executable, "-m", "labkit.sandbox", "--mode", how, "--work", str(work), "--cpu", str(int(limits["cpu"])),
             "--", sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    if how == "root":
        return ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--net", "--mount", *inner]
    if how == "userns":
        return ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--kill-child", "--mount-proc", "--net",
                "--mount", *inner]
    return inner


# ---- inside the namespaces: runs as root (or the user namespace's root) until it becomes the kernel ----

def _inner(argv: list[str]) -> None:
    args, kernel = argv[: argv.index("--")], argv[argv.index("--") + 1:]
    work = Path(args[args.index("--work") + 1])
    cpu = int(args[args.index("--cpu") + 1])
    how = args[args.index("--mode") + 1]
    if how == "root" and "-f" in kernel:  # the connection file jupyter_client wrote, for the kernel to read
        os.chown(kernel[kernel.index("-f") + 1], NOBODY, NOBODY)
    if how != "none":
        _enter_new_root(work)
    _limit(cpu, processes=how == "root")
    env = _kernel_env(work)
    os.chdir(work)
    if how == "root":
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    _no_new_privileges()
    if how == "userns":  # one user namespace down: the mounts above are locked for the kernel
        kernel = ["unshare", "--user", "--mount", *kernel]
    os.execvpe(kernel[0], kernel, env)


SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")


def _enter_new_root(work: Path) -> None:
    """Change root to a new filesystem that holds only the system folders, this Python and its environment
    (read-only), the work folder, a few devices, /proc and an empty /tmp: no answer key, source, other
    checkout or submission is there to be read, wherever it lies on the machine."""
    root = work.parent / (work.name + "-root")
    root.mkdir(mode=0o755)
    _run("mount", "--make-rprivate", "/")
    _run("mount", "-t", "tmpfs", "-o", "mode=0755", "labkit-root", str(root))
    for top in SYSTEM:
        if os.path.islink(top):
            os.symlink(os.readlink(top), root / top[1:])
        elif os.path.isdir(top):
            _bind(top, root, writable=False)
    (root / "dev").mkdir()
    for device in ("null", "zero", "full", "random", "urandom"):
        (root / "dev" / device).touch()
        _run("mount", "--bind", f"/dev/{device}", str(root / "dev" / device))
    for folder in ("dev/shm", "tmp"):
        (root / folder).mkdir()
        _run("mount", "-t", "tmpfs", "-o", "mode=1777", "labkit-" + folder.replace("/", "-"), str(root / folder))
    # After /tmp, which would hide a checkout (and its venv) that lies under it.
    for prefix in sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix}):
        if not any(prefix == t or prefix.startswith(t + "/") for t in SYSTEM):
            _bind(prefix, root, writable=False)
    (root / "proc").mkdir()
    _run("mount", "-t", "proc", "proc", str(root / "proc"))
    _bind(str(work), root, writable=True)  # after /tmp: the work folder usually lies under it
    os.chroot(root)


def _bind(path: str, root: Path, writable: bool) -> None:
    target = root / path.lstrip("/")
    target.mkdir(parents=True, exist_ok=True)
    _run("mount", "--rbind", path, str(target))
    if not writable:
        _run("mount", "-o", "remount,bind,ro", str(target))


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


def _limit(cpu: int, processes: bool) -> None:
    limits = [(resource.RLIMIT_AS, MEMORY), (resource.RLIMIT_CPU, cpu), (resource.RLIMIT_FSIZE, FILE_SIZE),
              (resource.RLIMIT_CORE, 0)]
    if processes:
        limits.append((resource.RLIMIT_NPROC, PROCESSES))
    for which, value in limits:
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def _kernel_env(work: Path) -> dict:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TERM")}
    return dict(keep, HOME=str(work / "home"), TMPDIR=str(work / "tmp"), PYTHONPATH=str(work / "site"),
                IPYTHONDIR=str(work / "home" / ".ipython"), MPLBACKEND="Agg", MPLCONFIGDIR=str(work / "tmp"),
                JUPYTER_RUNTIME_DIR=str(work / "tmp"), PYTHONDONTWRITEBYTECODE="1", **THREADS)


# The kernel's thread settings, the same as the lab kernelspec's: one BLAS/OpenMP thread, so that training is
# as deterministic, and as fast, in the grader as in the learner's JupyterLab.
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _no_new_privileges() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


# ---- the grader's side: nothing a submission starts outlives its grading --------------------------------

def become_subreaper() -> bool:
    """Orphans of this process's descendants (setsid or not) become its children, so they can be found and ended."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def descendants(pid: int | None = None) -> list[int]:
    """Every process below `pid` (this process by default), from /proc."""
    pid = pid or os.getpid()
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def end_descendants(spare: set[int] = frozenset()) -> None:
    """SIGKILL every descendant of this process except `spare`, until none is left (or 5 s have passed)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = [p for p in descendants() if p not in spare]
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in left:
            try:
                os.waitpid(pid, os.WNOHANG)
            except OSError:
                pass
        time.sleep(0.05)


if __name__ == "__main__":
    _inner(sys.argv[1:])
