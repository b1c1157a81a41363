"""The grader's side of a learner's kernel: start it inside the fence, run the learner's cells, and carry the
checks' requests to the probe in it (labkit.in_kernel.probe), one cell and one nonce per request.

No answer, two answers, an answer to another request, a malformed answer or a dead kernel: the request
raises NoAnswer, which the checks turn into a row to review, never into a failed check.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from labkit import wire
from labkit.checks import LONGEST_CELL, TEST_TIMEOUT, WALL_FACTOR, TimeLimit, limit_message
from labkit.checks.proxies import Connection, NoAnswer
from labkit.grader import fence
from labkit.grader.fence import labkit_env
from labkit.grader.text import plain

# One of the learner's cells: the longest a lab lets a cell run (the capstone's training), plus a margin for
# what the cell does around it, so that the lab's own limit, with its clearer message, goes first.
CELL_TIMEOUT = LONGEST_CELL + 15
MAX_OUTPUT_CHARS = 20_000  # per cell: a huge print must not flood the grader's memory
# Any one message from the kernel: room for the largest answer, whose every character JSON may escape, and
# its envelope. The output cap above applies only once a message has arrived whole; a larger message is
# never received: ZeroMQ drops the connection instead, for good, so a learner's print of gigabytes costs the
# grader nothing, and ends the grading of that notebook with the reason.
MAX_MESSAGE_BYTES = 2 * wire.MAX_ANSWER_CHARS + 1024**2
TOO_LARGE = (f"sent the grader a message of more than {MAX_MESSAGE_BYTES // 1024**2} MiB (one huge print or "
             "error message?), which it does not read: the grader stopped listening to this notebook")
GIVE_UP_AFTER = 3  # requests in a row without a usable answer: the kernel is taken as gone


class KernelFailed(RuntimeError):
    """The fenced kernel could not start; the message carries what it printed."""


class _Client(NotebookClient):
    """nbclient, with each cell's output capped, and the probe's answers set apart from the learner's prints."""

    answers: list | None = None  # the answers of the request being sent, or None while the learner's cells run

    def output(self, outs, msg, display_id, cell_index):
        data = msg.get("content", {}).get("data")
        if isinstance(data, dict) and wire.MIME in data:
            if self.answers is not None:  # two answers are as bad as ten: keep no more than that, nor a huge one
                text = data[wire.MIME]
                fits = isinstance(text, str) and len(text) <= wire.MAX_ANSWER_CHARS and len(self.answers) < 2
                self.answers.append(text if fits else None)
            return None
        if sum(len(json.dumps(o)) for o in outs) > MAX_OUTPUT_CHARS:
            return None
        return super().output(outs, msg, display_id, cell_index)


class _KernelClient(AsyncKernelClient):
    """A kernel client that counts a kernel as gone once ZeroMQ has dropped one of its channels: nbclient, which
    asks every second while it waits for a cell, then stops waiting at once rather than at the cell's limit."""

    dropped = staticmethod(lambda: False)  # set by Session once the channels are watched

    async def is_alive(self) -> bool:
        return not self.dropped() and await super().is_alive()


class _Manager(AsyncKernelManager):
    """A kernel manager whose clients share its ZeroMQ context, and so its cap on a message's size."""

    def client(self, **kwargs):
        return super().client(context=self.context, **kwargs)


class KernelConnection(Connection):
    """The checks' requests, sent to the probe in the learner's kernel: one cell per request, one answer each."""

    def __init__(self, client: _Client, withheld: tuple[str, ...], run_cell, deadline: float):
        self.client, self.withheld, self.run_cell, self.deadline = client, withheld, run_cell, deadline
        self.dead = None  # why the kernel can no longer answer
        self.failures = 0  # requests in a row without a usable answer
        self.seconds, self.used = None, 0.0

    @contextlib.contextmanager
    def limit(self, seconds):
        """A check's time limit counts the processor seconds its requests use in the kernel (as the notebook
        would), not the round trips; each request also has a wall-clock limit, and the notebook its own."""
        self.seconds, self.used = seconds or TEST_TIMEOUT, 0.0
        yield

    def send(self, request: dict) -> dict:
        if self.dead:
            raise NoAnswer(self.dead)
        try:
            answer = self._send(request)
        except NoAnswer:
            self.failures += 1
            if self.failures >= GIVE_UP_AFTER and not self.dead:
                self.dead = f"the kernel stopped answering ({GIVE_UP_AFTER} requests in a row)"
            raise
        self.failures = 0
        return answer

    def _send(self, request: dict) -> dict:
        wall = self.deadline - time.monotonic()
        if wall <= 0:
            raise NoAnswer("not run: grading this notebook hit its time limit")
        left = min((self.seconds or TEST_TIMEOUT) - self.used, wall)
        if left <= 0:
            raise TimeLimit(f"took longer than {self.seconds:g} s: is there an infinite loop?")
        nonce = secrets.token_hex(16)
        request = dict(request, timeout=round(left, 3))
        code = (f"__import__('labkit.in_kernel.probe', fromlist=['serve']).serve({nonce!r}, "
                f"{json.dumps(request)!r}, {tuple(self.withheld)!r})")
        self.client.answers = answers = []
        try:
            # The kernel's own limit (processor time, or WALL_FACTOR times as long by the clock) goes first.
            error = self.run_cell(code, min(WALL_FACTOR * left + 15, wall))
        finally:
            self.client.answers = None
        if error == "dead":
            self.dead = "the kernel died (a crash, exit() or out of memory)"
            raise NoAnswer(self.dead)
        if error == "dropped":
            self.dead = f"the kernel {TOO_LARGE}"
            raise NoAnswer(self.dead)
        if not answers:
            why = "it was stopped" if error == "timeout" else "the probe was replaced or silenced"
            raise NoAnswer(f"no answer to a request ({why})")
        if len(answers) > 1:
            raise NoAnswer("more than one answer to one request")
        try:
            answer = wire.read_answer(answers[0], nonce)
        except wire.Malformed as malformed:
            raise NoAnswer(str(malformed)) from None
        elapsed = answer.get("elapsed")
        finite = isinstance(elapsed, (int, float)) and math.isfinite(elapsed)
        self.used += min(max(float(elapsed), 0.0), left) if finite else left
        return answer


class Session:
    """One learner's kernel, fenced, for the length of a `with` block: `run_cells()` runs the learner's code,
    then `connection` carries the checks' requests; `notes` and `review` say what happened."""

    def __init__(self, work: Path, withheld: tuple[str, ...], timeout: float, cell_timeout: float, how: str,
                 uid: int):
        self.work, self.withheld, self.timeout, self.cell_timeout = work, withheld, timeout, cell_timeout
        self.deadline = time.monotonic() + timeout
        self.notes: list[str] = []
        self.review: list[str] = []
        self.dead: str | None = None
        self.nb = nbformat.v4.new_notebook()
        self._limit = cell_timeout
        specs = work.parent / (work.name + "-kernels")  # the grader's, outside the kernel's reach
        specs.mkdir(mode=0o700)
        (specs / "labkit-sandbox").mkdir()
        (specs / "labkit-sandbox" / "kernel.json").write_text(json.dumps({
            "argv": fence.launcher(work, "none" if how == "unfenced" else how, cpu=timeout + 60, uid=uid)
            + [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "labkit sandbox", "language": "python", "interrupt_mode": "message"}))
        self.log = specs / "kernel-stderr.txt"  # what the fence and the kernel print at their start
        self._context = zmq.asyncio.Context()
        self._context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)  # for every socket made from it
        # IPC sockets inside the work folder: local only, no network needed, and no warning about unencrypted TCP.
        self.km = _Manager(kernel_name="labkit-sandbox", client_factory=_KernelClient, transport="ipc",
                           ip=str(work / "kernel-ipc"),
                           connection_file=str(work / "kernel.json"), context=self._context,
                           kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))
        self.client = _Client(self.nb, km=self.km, kernel_name="labkit-sandbox", allow_errors=True,
                              interrupt_on_timeout=True,
                              error_on_timeout={"ename": "Timeout", "evalue": "cell timed out", "traceback": []},
                              timeout_func=lambda cell: self._limit, shutdown_kernel="immediate",
                              resources={"metadata": {"path": str(work)}})
        self._replies: dict = {}
        self.client.on_cell_executed = lambda cell_index, execute_reply, **_: self._replies.__setitem__(
            cell_index, execute_reply)
        self._stack = contextlib.ExitStack()
        self._stack.callback(self._context.destroy, linger=0)  # last, once the client has closed its sockets

    def __enter__(self):
        stderr = self._stack.enter_context(open(self.log, "wb"))
        # The fence's standard input: a pipe whose other end only this process holds, closed once the kernel is
        # shut down (or by the system, should this process be killed), which ends the kernel.
        fence_reads, grader_holds = os.pipe()
        self._stack.callback(os.close, grader_holds)
        try:
            # cleanup_kc: on leaving, shut the kernel down and stop the client's threads, which nbclient
            # otherwise leaves running (pinging a dead kernel) when it was given the kernel manager.
            self._stack.enter_context(self.client.setup_kernel(
                cleanup_kc=True, env=labkit_env(**fence.THREADS), cwd=str(self.work), stdin=fence_reads,
                stdout=subprocess.DEVNULL, stderr=stderr))
        except Exception as error:
            self._stack.close()
            raise KernelFailed(f"the kernel could not start ({type(error).__name__}: {limit_message(error)}); "
                               f"it printed: {_printed(self.log)}") from None
        finally:
            os.close(fence_reads)
        self.watchdog = self._stack.enter_context(fence.Watchdog(self.km.provisioner.pid, self.work))
        self._watch_for_drops()
        self.connection = KernelConnection(self.client, self.withheld, self._run_request, self.deadline)
        return self

    def __exit__(self, *exc):
        if self.watchdog.breach and not any(self.watchdog.breach in note for note in self.notes):
            self.notes.append(f"the grader ended the kernel: {self.watchdog.breach}")
        self._stack.close()

    def _watch_for_drops(self) -> None:
        """Tell the client when ZeroMQ drops the shell or output channel (a message too large): a socket that
        monitors each receives an event then."""
        events = zmq.Context.shadow(self._context)  # a synchronous view of the same context, to poll without await
        monitors = []
        for name in ("shell", "iopub"):
            address = f"inproc://labkit-{name}-{id(self)}"
            getattr(self.client.kc, f"{name}_channel").socket.monitor(address, zmq.EVENT_DISCONNECTED)
            monitor = events.socket(zmq.PAIR)
            monitor.connect(address)
            self._stack.callback(monitor.close, linger=0)
            monitors.append(monitor)
        self.client.kc.dropped = lambda: any(not monitor.closed and monitor.poll(0) for monitor in monitors)

    def _execute(self, index: int, limit: float) -> str | None:
        """Execute cell `index` of the notebook; "dead", "dropped", "timeout", "error" or None."""
        self._limit = max(1, limit)
        try:
            self.client.execute_cell(self.nb.cells[index], index)
        except DeadKernelError:
            return "dropped" if self.client.kc.dropped() and self._still_running() else "dead"
        if self.client.kc.dropped():
            return "dropped"
        self._last = reply = (self._replies.pop(index, None) or {}).get("content", {})
        if reply.get("status") == "error":
            return "timeout" if reply.get("ename") == "Timeout" else "error"
        return None

    def _still_running(self, grace: float = 2.0) -> bool:
        """Whether the kernel's process (the fence's, which ends with the kernel) is still there after `grace`
        seconds: a kernel that dies closes its channels too, and that must read as a death, not a drop."""
        end = time.monotonic() + grace
        while self.km.provisioner.process.poll() is None:
            if time.monotonic() > end:
                return True
            time.sleep(0.1)
        return False

    def _run_request(self, code: str, limit: float) -> str | None:
        self.nb.cells.append(nbformat.v4.new_code_cell(code))
        return self._execute(len(self.nb.cells) - 1, limit)

    def run_cells(self, learner: dict[int, str]) -> None:
        """The learner's cells (numbered as in their notebook), in order, within two thirds of the time, so
        that a loop in them leaves time for the tests."""
        cells_deadline = time.monotonic() + self.timeout * 2 / 3
        for number, source in learner.items():
            self.nb.cells.append(nbformat.v4.new_code_cell(source))
            left = cells_deadline - time.monotonic()
            if self.dead or left <= 1:
                if not self.dead:
                    self.notes.append(f"code cell {number} not run: the notebook's cells used up their "
                                      f"{self.timeout * 2 / 3:g} s")
                continue
            limit = min(self.cell_timeout, left)
            started, waited = time.monotonic(), self.watchdog.waited_seconds()
            outcome = self._execute(len(self.nb.cells) - 1, limit)
            if outcome == "dead":
                self.dead = f"the kernel died while running your code cell {number}"
                self.notes.append(f"{self.dead} ({_death(self.watchdog)})")
                self.connection.dead = f"not run: {self.dead}"
            elif outcome == "dropped":
                self.dead = f"your code cell {number} {TOO_LARGE}"
                self.notes.append(self.dead)
                self.connection.dead = f"not run: {self.dead}"
            elif outcome == "timeout":
                self.notes.append(f"code cell {number} was stopped after {max(1, limit):.0f} s")
                wall, waited = time.monotonic() - started, self.watchdog.waited_seconds() - waited
                if waited > wall / 3:  # its time went to other work on the machine, not to its own code
                    self.review.append(f"code cell {number} was stopped after {wall:.0f} s, {waited:.0f} s of "
                                       "them spent waiting for a processor: the machine was too busy; grade it again")
            elif outcome == "error":
                self.notes.append(f"code cell {number} raised {self._last.get('ename')}: "
                                  f"{limit_message(_explained(self._last.get('evalue', ''), self.withheld))}")


def _death(watchdog) -> str:
    return f"the grader ended it: {watchdog.breach}" if watchdog.breach else "a crash, exit() or out of memory"


def _printed(log: Path, limit: int = 1500) -> str:
    """The end of what a process printed, as plain text on one line."""
    try:
        text = log.read_bytes()[-limit:].decode("utf-8", "replace")
    except OSError:
        return "nothing"
    text = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return plain(text) or "nothing"



def _explained(message: str, withheld) -> str:
    """A cell's error, with the reason when it reached for a layer that is absent while grading."""
    for name in withheld:
        if f"has no attribute '{name}'" in message:
            # What numtorch adds to a missing name (the list of what it covers) is beside the point here.
            plain_error = message.split(": numtorch does not implement")[0]
            return (f"{plain_error} (numtorch's own nn.{name} is not there while grading: write {name} yourself, "
                    "on top of nn.Module and F)")
    return message
