"""Where a submission's code runs while it is graded: a kernel fenced off from the grader.

What holds, and where (the threat model is in labs/README.md):

- **Every fenced mode** ("root", and "userns" for a normal user with unprivileged user namespaces): the
  kernel runs in its own PID, network, IPC and mount namespaces, under a new root filesystem (pivot_root)
  that holds only the system folders, this Python and its environment (read-only), the work folder, a few
  devices, ``/proc`` and size-limited tmpfs folders (``/tmp``, ``/dev/shm``, its home and ``TMPDIR``): no
  answer key, labkit source, git folder, other checkout or submission is there to be read. Limits count the
  whole submission, not one process: at most ``PROCESSES`` processes and threads (``RLIMIT_NPROC`` for a uid
  that only this grading uses), and the grader's watchdog (Watchdog, run by labkit.grader.kernel_client) ends the kernel when all its
  processes together hold more than ``MEMORY`` bytes or its work folder more than ``DISK``.
- **As root**: each grading runs as a uid of its own (``uid_for_grading``), so neither the process limit nor
  a signal reaches another submission's kernel.
- **As a normal user**: the kernel runs one user namespace further down, where the mounts are locked.
- **"none"** (no namespaces to be had): the kernel runs as the grader's user and sees what the user sees;
  grading refuses to run so unless the instructor asks for it (``labkit grade --no-fence``), and every row
  then says ``unfenced``.

Always: a private work folder (mode 0700, in a run folder nobody can list), per-process limits on memory,
CPU time and file size, and a grader that is a child subreaper and kills every process the submission
left behind, ``setsid`` or not. Nothing outlives a grader that is killed: the fence's first process (PID 1 of
its namespaces) never changes its credentials, so the death signal that ties it to the launcher holds, and it
reads a pipe that only the grader holds open, whose end it sees however late it looks.
"""

from __future__ import annotations

import ast
import ctypes
import functools
import itertools
import os
import resource
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MEMORY = 3 * 1024**3  # bytes, all the kernel's processes together (and each one's address space)
FILE_SIZE = 64 * 1024**2  # bytes, per file written
DISK = 256 * 1024**2  # bytes in the work folder, on the machine's disk
# RAM-backed folders of the new root, each capped: /tmp, /dev/shm, and the kernel's TMPDIR and home (its
# working folder) inside the work folder.
TMPFS = {"tmp": "256m", "dev/shm": "64m", "work/tmp": "256m", "work/home": "256m"}
PROCESSES = 256  # processes and threads of one submission
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
SOURCE = Path(__file__).resolve().parents[2]  # the folder holding labkit and numtorch
# As root, grading number n of process p runs as UID_BASE + 8 p + n % 8: a uid no account and no other
# grading on the machine has (pids are at most 2**22).
UID_BASE = 1 << 30
_gradings = itertools.count()


def uid_for_grading() -> int:
    return UID_BASE + 8 * os.getpid() + next(_gradings) % 8


@functools.lru_cache(maxsize=None)
def fence_mode() -> tuple[str, str]:
    """How this machine fences a kernel, and why not better: ("root" | "userns" | "none", reason).

    The probe starts the real launcher (namespaces, new root, limits) with `true` as the kernel, so a mode is
    only chosen where it runs end to end."""
    how = "root" if os.geteuid() == 0 else "userns"
    if not os.path.isabs(tool("unshare")):
        return "none", "unshare (util-linux) is not installed"
    run = run_folder()
    try:
        work = work_folder(run, how, uid_for_grading() if how == "root" else None)
        argv = launcher(work, how, cpu=20, uid=work.stat().st_uid) + [shutil.which("true") or "/bin/true"]
        fence_reads, grader_holds = os.pipe()
        try:
            done = subprocess.run(argv, stdin=fence_reads, capture_output=True, text=True, timeout=30,
                                  env=labkit_env())
        except (OSError, subprocess.TimeoutExpired) as error:
            return "none", f"the {how} fence could not start: {error}"
        finally:
            os.close(fence_reads)
            os.close(grader_holds)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            return "none", f"the {how} fence could not start: {last}"
        return how, ""
    finally:
        shutil.rmtree(run, ignore_errors=True)


def mode() -> str:
    return fence_mode()[0]


def labkit_env(**extra: str) -> dict:
    """os.environ plus `extra`, with this labkit first on PYTHONPATH: a process started with it (the fence's
    launcher, a kernel, `labkit grade`) imports the labkit that started it, installed or not."""
    src = str(SOURCE)
    return dict(os.environ, **extra, PYTHONPATH=os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p))


# ---- the kernel's own numtorch and labkit -----------------------------------------------------------

def build_site(site: Path, withheld: tuple[str, ...]) -> None:
    """Copy numtorch and labkit into `site` for the kernel: numtorch with the classes in `withheld` (and their
    family) taken out, labkit without its grader, which the learner's code has no business reading or running."""
    for package in ("numtorch", "labkit"):
        shutil.copytree(SOURCE / package, site / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", *(["grader"] if package == "labkit" else [])))
    if withheld:
        # The layers live in nn/modules (F's autograd Functions elsewhere may share a name, e.g. _BatchNorm).
        paths = sorted((site / "numtorch" / "nn" / "modules").rglob("*.py"))
        trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in paths}
        gone = family(trees.values(), set(withheld))
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


def work_folder(run: Path, how: str, uid: int | None) -> Path:
    """A submission's private work folder, under a name no other submission can guess, owned by the kernel's
    user (`uid`, as root)."""
    work = run / secrets.token_hex(16)
    work.mkdir(mode=0o700)
    for sub in ("tmp", "home"):
        (work / sub).mkdir(mode=0o700)
    if how == "root" and uid is not None:
        for path in (work, work / "tmp", work / "home"):
            os.chown(path, uid, uid)
    return work


def launcher(work: Path, how: str, cpu: float, uid: int) -> list[str]:
    """The command that fences a kernel: it ends with "--", after which the kernel's own command goes. Its standard
    input must be the read end of a pipe whose write end the grader alone holds, for as long as it wants the
    kernel: once the grader closes it or is gone, the fence ends the kernel. It also dies with the grader
    (--pdeathsig), and the kernel with it (--kill-child)."""
    inner = [sys.executable, "-m", "labkit.grader.fence", "--mode", how, "--work", str(work), "--cpu", str(int(cpu)),
             "--uid", str(uid), "--"]
    namespaces = ["--pid", "--fork", "--kill-child", "--mount-proc", "--net", "--mount", "--ipc"]
    with_grader = [tool("setpriv"), "--pdeathsig", "KILL"]
    if how == "root":
        return [*with_grader, tool("unshare"), *namespaces, *inner]
    if how == "userns":
        return [*with_grader, tool("unshare"), "--user", "--map-root-user", *namespaces, *inner]
    return [*with_grader, *inner]


# ---- inside the namespaces: PID 1 runs as root (or the user namespace's root); the kernel is its child ----

def _inner(argv: list[str]) -> None:
    """The fence's first process: it builds the new root, starts the kernel as its child, then waits. It keeps
    the credentials it started with, and so the death signal that --kill-child gave it (a change of credentials
    would clear it); in the namespaced modes, its end ends every process in them."""
    args, kernel = argv[: argv.index("--")], argv[argv.index("--") + 1:]
    work = Path(args[args.index("--work") + 1])
    cpu = int(args[args.index("--cpu") + 1])
    uid = int(args[args.index("--uid") + 1])
    how = args[args.index("--mode") + 1]
    try:
        given = os.fstat(0).st_mode
    except OSError:
        given = None
    if given is None or not stat.S_ISFIFO(given):
        sys.exit("the fence expected a pipe from the grader on its standard input, but got "
                 + ("none" if given is None else f"a file of mode {stat.filemode(given)}"))
    # unshare --kill-child sets the death signal in this process a moment after forking it, which a busy machine can
    # stretch: set it again, then look at the pipe. Had the launcher died before, the grader went first, and the
    # pipe has reached its end already.
    _set_death_signal(signal.SIGKILL)
    if select.select([0], [], [], 0)[0] and not os.read(0, 4096):
        sys.exit("the fence did not start the kernel: the grader closed its pipe, or is gone")
    if how == "root" and "-f" in kernel:  # the connection file jupyter_client wrote, for the kernel to read
        os.chown(kernel[kernel.index("-f") + 1], uid, uid)
    if how != "none":
        _enter_new_root(work, uid if how == "root" else 0)
    env = _kernel_env(work)
    # Ignored from before the fork, so that no interrupt finds this process between fork and the line below;
    # the kernel's default comes back in the child, before its exec.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    first = os.getpid()
    child = os.fork()
    if child == 0:
        try:
            _become_kernel(kernel, env, work, how, cpu, uid, parent=first)
        except BaseException as error:
            os.write(2, f"the fence could not start the kernel: {type(error).__name__}: {error}\n".encode())
        finally:
            os._exit(127)
    _stand_by(child)


def _become_kernel(kernel: list[str], env: dict, work: Path, how: str, cpu: int, uid: int, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDONLY)  # the grader's pipe is the fence's to read, not the kernel's
    os.dup2(null, 0)
    os.close(null)
    _limit(cpu, processes=PROCESSES if how != "none" else PROCESSES + len(_processes_of(os.getuid())))
    os.chdir(work / "home")
    if how == "root":
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    _no_new_privileges()
    if how == "none":  # no namespace ends with the fence's first process: the kernel dies with it instead
        end_with_parent(parent, signal.SIGKILL)
    if how == "userns":  # one user namespace down: the mounts above are locked for the kernel
        kernel = [tool("unshare"), "--user", "--mount", *kernel]
    os.execvpe(kernel[0], kernel, env)


def _stand_by(kernel: int) -> None:
    """Exit with the kernel's status once it ends; end it at once when the grader's pipe reaches its end (the
    grader closed it, or is gone). Reaps, as PID 1 must, whatever else ends in the namespace."""
    watch = select.poll()
    watch.register(0, select.POLLIN)
    try:
        watch.register(os.pidfd_open(kernel), select.POLLIN)
        period = 1000  # ms: the kernel's end wakes this process; the period only reaps the namespace's orphans
    except OSError:  # a container whose system-call filter predates pidfds: look for the kernel's end often
        period = 100
    while True:
        for fd, _ in watch.poll(period):
            if fd == 0 and not os.read(0, 4096):
                os.kill(kernel, signal.SIGKILL)
                os.write(2, b"the fence ended the kernel: the grader closed its pipe, or is gone\n")
                os._exit(1)
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                os._exit(1)  # the kernel was reaped without being seen: cannot happen, but must not spin
            if pid == 0:
                break
            if pid == kernel:
                code = os.waitstatus_to_exitcode(status)
                os._exit(code if code >= 0 else 128 - code)


SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")


def _enter_new_root(work: Path, owner: int) -> None:
    """Make a new filesystem the root (pivot_root, so that a user namespace can still be made below it): the
    system folders, this Python and its environment, the kernel's numtorch (read-only), the work folder, a
    few devices, /proc, and capped tmpfs folders. No answer key, source, other checkout or submission is
    there to be read, wherever it lies on the machine."""
    root = work.parent / (work.name + "-root")
    root.mkdir(mode=0o755)
    _run("mount", "--make-rprivate", "/")
    _run("mount", "-t", "tmpfs", "-o", "mode=0755,size=1m", "labkit-root", str(root))
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
        _tmpfs(root / folder, "1777", TMPFS[folder], owner=0)
    # After /tmp, which would hide a checkout (and its venv) that lies under it.
    for prefix in sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix}):
        if not any(prefix == t or prefix.startswith(t + "/") for t in SYSTEM):
            _bind(prefix, root, writable=False)
    (root / "proc").mkdir()
    _run("mount", "-t", "proc", "proc", str(root / "proc"))
    _bind(str(work), root, writable=True)  # after /tmp: the work folder usually lies under it
    inside = root / str(work).lstrip("/")
    _bind(str(work / "site"), root, writable=False)
    for sub in ("tmp", "home"):
        _tmpfs(inside / sub, "0700", TMPFS["work/" + sub], owner=owner)
    old = root / ".old"
    old.mkdir()
    _run("pivot_root", str(root), str(old))
    os.chdir("/")
    _run("umount", "--lazy", "/.old")
    os.rmdir("/.old")


def _tmpfs(target: Path, mode: str, size: str, owner: int) -> None:
    _run("mount", "-t", "tmpfs", "-o", f"mode={mode},size={size},uid={owner},gid={owner},nosuid,nodev",
         "labkit-" + target.name, str(target))


def _bind(path: str, root: Path, writable: bool) -> None:
    target = root / path.lstrip("/")
    target.mkdir(parents=True, exist_ok=True)
    _run("mount", "--rbind", path, str(target))
    if not writable:
        _run("mount", "-o", "remount,bind,ro", str(target))


def tool(name: str) -> str:
    """The path of a util-linux tool: also in sbin, which an ordinary user's PATH often lacks."""
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), *TOOL_PATH])) or name


TOOL_PATH = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")


def _run(*command: str) -> None:
    command = (tool(command[0]), *command[1:])
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise OSError(f"the fence could not be built: {' '.join(command)}: {done.stderr.strip()}")


def _limit(cpu: int, processes: int) -> None:
    """Per-process limits, and the number of processes: counted for the kernel's uid, which only this grading
    uses (or in its own user namespace); unfenced, for the user, beyond those the user already runs."""
    limits = [(resource.RLIMIT_AS, MEMORY), (resource.RLIMIT_CPU, cpu), (resource.RLIMIT_FSIZE, FILE_SIZE),
              (resource.RLIMIT_CORE, 0), (resource.RLIMIT_NPROC, processes)]
    for which, value in limits:
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def _processes_of(uid: int) -> list[int]:
    """The tasks (threads included, as RLIMIT_NPROC counts them) that `uid` runs."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                found += [int(t.name) for t in (entry / "task").iterdir()]
        except OSError:
            continue
    return found


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

def end_with_parent(parent: int, signal_number: int = signal.SIGTERM) -> None:
    """This process gets `signal_number` when its parent, `parent`, ends, however it ends (SIGKILL included); or
    at once, if that parent is already gone."""
    if _set_death_signal(signal_number) and os.getppid() != parent:
        os.kill(os.getpid(), signal_number)


def _set_death_signal(signal_number: int) -> bool:
    """Have this process get `signal_number` when its parent ends; False where the system cannot."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal_number, 0, 0, 0)
    except (OSError, AttributeError):
        return False
    return True


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


class Watchdog:
    """Ends a kernel whose processes together hold more than MEMORY, or whose work folder on disk holds more than
    DISK: limits for the whole submission, which per-process limits are not. Polled from the grader's process;
    `breach` says why it ended the kernel."""

    PERIOD = 0.25  # seconds between two looks
    MAX_FILES = 10_000  # a work folder with more entries than this counts as full

    def __init__(self, launcher_pid: int, work: Path):
        self.pid, self.work, self.breach = launcher_pid, work, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="labkit-watchdog", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _watch(self):
        while not self._stop.wait(self.PERIOD):
            tree = [self.pid, *descendants(self.pid)]
            memory = sum(map(_memory_of, tree))
            if memory > MEMORY:
                self._end(tree, f"its processes together held {memory / 1024**3:.1f} GiB of memory, over the "
                                f"{MEMORY / 1024**3:g} GiB a notebook may use")
                return
            disk = _disk_use(self.work, self.MAX_FILES)
            if disk is None or disk > DISK:
                held = f"more than {self.MAX_FILES} files" if disk is None else f"{disk / 1024**2:.0f} MiB"
                self._end(tree, f"it wrote {held} into its work folder, over the {DISK // 1024**2} MiB a notebook "
                                f"may write")
                return

    def waited_seconds(self) -> float:
        """Seconds the kernel's live threads have spent ready to run but waiting for a processor: what a busy
        machine takes from it (from the scheduler's statistics; 0 where the kernel keeps none)."""
        waited = 0
        for pid in [self.pid, *descendants(self.pid)]:
            try:
                for task in os.scandir(f"/proc/{pid}/task"):
                    waited += int(open(f"{task.path}/schedstat", encoding="ascii").read().split()[1])
            except (OSError, ValueError, IndexError):
                continue
        return waited / 1e9

    def _end(self, tree, why):
        self.breach = why
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _memory_of(pid: int) -> int:
    """Bytes of memory a process holds, shared pages split among their sharers (PSS), else its RSS."""
    try:
        for line in open(f"/proc/{pid}/smaps_rollup", encoding="ascii"):
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return int(open(f"/proc/{pid}/statm", encoding="ascii").read().split()[1]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _disk_use(folder: Path, max_files: int) -> int | None:
    """Bytes allocated under `folder` (not following links), or None past `max_files` entries."""
    total, seen, todo = 0, 0, [str(folder)]
    while todo:
        try:
            entries = list(os.scandir(todo.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > max_files:
                return None
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            total += info.st_blocks * 512
            if stat.S_ISDIR(info.st_mode):
                todo.append(entry.path)
    return total


if __name__ == "__main__":
    _inner(sys.argv[1:])
