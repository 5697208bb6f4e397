"""Model scripts run in worker processes with a CPU-time, memory and wall-clock limit.

RestrictedPython decides what a script may touch; it cannot stop `while True: pass` or a string of 10 GB. A
script task's code therefore runs in a worker process (forked from a forkserver that has the restricted
evaluator loaded): the worker's address space is capped (RLIMIT_AS), each script gets a CPU budget
(RLIMIT_CPU: SIGXCPU stops a Python loop with a clear error), and the engine waits at most a wall-clock limit
before it kills the worker (a computation inside one C call never returns to the interpreter to see the
signal). A refused script raises ScriptError, which the engine turns into an incident on the task like any
other script failure; the server thread only waited.

The task data goes to the worker pickled and comes back pickled; a value that cannot (a generator, say) is
refused naming the variable. Expressions (conditions, input mappings) stay in the server process: they are
one expression without statements, and the evaluator bounds what an expression can blow up (see
scripting.py: powers, repetitions, shifts, ranges and iteration).

A script never runs inside a command's transaction, so it holds no database lock (SQLite's one write lock,
PostgreSQL's row locks on what the command booked before it). A command that reaches a script it has no
result for raises ScriptOutsideTransaction: the transaction rolls back, the script runs in a worker with no
transaction open, and Engine.command runs the command again, which takes the result at that script. Only the
variables a script names travel to the worker (a restricted script cannot reach any other: no globals(),
vars() or getattr), and its result is used again only while those inputs are the same, so a command that
another writer changed meanwhile runs the script again on what it now sees. Two cases run a script inside
the transaction, as before, and count it in `ScriptSandbox.in_transaction`: a script whose inputs differ on
every run of its command (it reads an id a PostgreSQL sequence hands out anew), and scripts past
TAKTFLOW_SCRIPT_ROUNDS (default 100) in one command, which would otherwise re-run the command once each.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import multiprocessing
import os
import pickle
import queue
import resource
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from taktflow.engine.errors import ScriptError
from taktflow.engine.handlers import BpmnError

CPU_SECONDS = float(os.environ.get("TAKTFLOW_SCRIPT_CPU_SECONDS", "5"))
WALL_SECONDS = float(os.environ.get("TAKTFLOW_SCRIPT_WALL_SECONDS", "10"))
MEMORY_MB = int(os.environ.get("TAKTFLOW_SCRIPT_MEMORY_MB", "512"))
WORKERS = int(os.environ.get("TAKTFLOW_SCRIPT_WORKERS", "4"))
ROUNDS = int(os.environ.get("TAKTFLOW_SCRIPT_ROUNDS", "100"))  # scripts one command runs outside its transaction
RERUNS = 2  # a script whose inputs changed this often between runs of its command runs inside the transaction


class _CpuLimit(Exception):  # noqa: N818 - raised by SIGXCPU inside the worker
    pass


def _on_cpu_limit(_signum: int, _frame: Any) -> None:
    raise _CpuLimit


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _worker(conn: Connection, memory_bytes: int) -> None:
    """Run scripts sent over `conn` until it closes; one at a time, each within its CPU budget."""
    from taktflow.engine.scripting import RestrictedEnvironment

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    signal.signal(signal.SIGXCPU, _on_cpu_limit)
    environment = RestrictedEnvironment()
    while True:
        try:
            script, context, external, cpu_seconds = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        # Only the soft limit moves (a hard limit cannot be raised again): SIGXCPU at the soft limit stops a
        # Python loop; a C-level computation that never returns to the interpreter meets the wall clock.
        resource.setrlimit(resource.RLIMIT_CPU, (int(_cpu_used() + cpu_seconds) + 1, resource.RLIM_INFINITY))
        recycle = False
        try:
            environment.execute_here(script, context, external)
            answer: tuple[Any, ...] = ("ok", _picklable(context))
        except _CpuLimit:
            answer = ("error", f"the script used more than {cpu_seconds:g} s of CPU time and was stopped")
        except MemoryError:
            answer, recycle = ("error", f"the script needed more than {memory_bytes // 2**20} MB and was stopped"), True
        except BpmnError as err:
            answer = ("bpmn_error", err.code, err.message, _picklable(err.variables))
        except ScriptError as err:
            answer = ("error", str(err))
        except Exception as err:  # noqa: BLE001 - the model's own error, reported on its task
            answer = ("raised", f"{type(err).__name__}: {err}")
        finally:
            resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        try:
            conn.send_bytes(pickle.dumps((recycle, pickle.dumps(answer))))
        except MemoryError:
            return
        if recycle:  # after a MemoryError the worker's heap is not to be trusted: a fresh one takes over
            return


def _picklable(values: dict[str, Any]) -> dict[str, Any]:
    for name, value in values.items():
        try:
            pickle.dumps(value)
        except Exception:  # noqa: BLE001 - whatever pickle refuses
            raise ScriptError(f"variable {name!r} holds a {type(value).__name__}, which cannot be stored "
                              "as process data") from None
    return values


@dataclass
class _Process:
    process: Any
    conn: Connection

    def stop(self) -> None:
        self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class ScriptSandbox:
    """A small pool of script workers, started on first use; a worker that misbehaved is replaced."""

    def __init__(self, workers: int = WORKERS, cpu_seconds: float = CPU_SECONDS, wall_seconds: float = WALL_SECONDS,
                 memory_mb: int = MEMORY_MB) -> None:
        self.size, self.cpu_seconds, self.wall_seconds = workers, cpu_seconds, wall_seconds
        self.memory_bytes = memory_mb * 2**20
        self._idle: queue.LifoQueue[_Process] = queue.LifoQueue()
        self._started = 0
        self._lock = threading.Lock()
        self._context: Any = None
        self.in_transaction = 0  # scripts that ran inside a command's transaction (see the module docstring)

    def start(self) -> None:
        """Start every worker now rather than on first use (a spawn imports the server's main module)."""
        started = [self._acquire() for _ in range(self.size)]
        for worker in started:
            self._idle.put(worker)

    def _acquire(self) -> _Process:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._started < self.size:
                self._started += 1
                try:
                    return self._spawn()
                except BaseException:
                    self._started -= 1
                    raise
        return self._idle.get(timeout=self.wall_seconds * 3)

    def _spawn(self) -> _Process:
        if self._context is None:
            # forkserver: a clean, single-threaded parent for the workers (forking the threaded server
            # would copy its locks), with the restricted evaluator imported once.
            self._context = multiprocessing.get_context("forkserver")
            self._context.set_forkserver_preload(["taktflow.engine.scripting"])
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker, args=(child, self.memory_bytes), daemon=True,
                                        name="taktflow-script")
        process.start()
        child.close()
        return _Process(process, parent)

    def _discard(self, worker: _Process) -> None:
        worker.stop()
        with self._lock:
            self._started -= 1

    def execute(self, script: str, context: dict[str, Any], external: dict[str, Any]) -> None:
        """Run `script` on `context` (the task data) in a worker; `context` is updated in place.

        Inside a command (Engine.command) the script's result comes from an earlier run outside the
        transaction, or the command is stopped to get one (ScriptOutsideTransaction)."""
        inputs = {name: context[name] for name in names_in(script) if name in context}
        try:
            request = pickle.dumps((script, inputs, external, self.cpu_seconds))
        except Exception:  # noqa: BLE001 - name the variable that cannot travel
            _picklable({**external, **inputs})
            raise
        scripts = _SCRIPTS_OF_COMMAND.get()
        answer = self.run(request) if scripts is None else scripts.answer(self, script, request)
        kind, *rest = pickle.loads(answer)
        if kind == "ok":
            for name in inputs.keys() - rest[0].keys():  # what the script deleted
                del context[name]
            context.update(rest[0])
        elif kind == "bpmn_error":
            raise BpmnError(rest[0], rest[1], rest[2])
        elif kind == "raised":
            raise ScriptError(f"the script failed: {rest[0]}")
        else:
            raise ScriptError(rest[0])

    def run(self, request: bytes) -> bytes:
        """Run one pickled script request in a worker: the pickled answer."""
        worker = self._acquire()
        try:
            worker.conn.send_bytes(request)
            if not worker.conn.poll(self.wall_seconds):
                self._discard(worker)
                return pickle.dumps(("error", f"the script ran longer than {self.wall_seconds:g} s and was stopped"))
            recycle, answer = pickle.loads(worker.conn.recv_bytes())
        except (EOFError, OSError, ConnectionError):
            self._discard(worker)
            return pickle.dumps(("error", f"the script was stopped: it used more than {self.cpu_seconds:g} s "
                                 f"of CPU time or {self.memory_bytes // 2**20} MB of memory"))
        except BaseException:
            self._discard(worker)
            raise
        if recycle or not worker.process.is_alive():
            self._discard(worker)
        else:
            self._idle.put(worker)
        return answer

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                return


@functools.lru_cache(maxsize=1024)
def names_in(script: str) -> frozenset[str]:
    """Every name a script mentions: a superset of the variables it can read, write or delete."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)  # bound, and `except ... as name` deletes it again
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
    return frozenset(names)


@dataclass
class ScriptsOfCommand:
    """What the scripts of one command answered, kept across the runs of that command.

    A script is known by its position: the n-th run of that script text in one run of the command, which is
    the same position each time the command runs again from the start."""

    rounds: int = 0  # times the command stopped to run a script outside its transaction
    _answers: dict[tuple[str, int], tuple[bytes, bytes]] = field(default_factory=dict)  # position: request, answer
    _reruns: Counter[tuple[str, int]] = field(default_factory=Counter)
    _runs: Counter[str] = field(default_factory=Counter)

    def next_run(self) -> None:
        self._runs.clear()

    def answer(self, sandbox: ScriptSandbox, script: str, request: bytes) -> bytes:
        position = (script, self._runs[script])
        self._runs[script] += 1
        known = self._answers.get(position)
        if known is not None and known[0] == request:
            return known[1]
        if known is not None:
            self._reruns[position] += 1
        if self._reruns[position] > RERUNS or self.rounds >= ROUNDS:
            sandbox.in_transaction += 1
            return sandbox.run(request)
        raise ScriptOutsideTransaction(self, sandbox, position, request)

    def learn(self, position: tuple[str, int], request: bytes, answer: bytes) -> None:
        self._answers[position] = (request, answer)
        self.rounds += 1


class ScriptOutsideTransaction(BaseException):  # noqa: N818 - not an error: a BaseException so no handler keeps it
    """A command reached a script it has no answer for: its transaction must end before the script runs."""

    def __init__(self, scripts: ScriptsOfCommand, sandbox: ScriptSandbox, position: tuple[str, int],
                 request: bytes) -> None:
        super().__init__(f"script {position[1] + 1} of its text waits for its answer")
        self.scripts, self.sandbox, self.position, self.request = scripts, sandbox, position, request

    def run(self) -> None:
        """Run the script (call with no transaction open); the command's next run takes the answer."""
        self.scripts.learn(self.position, self.request, self.sandbox.run(self.request))


_SCRIPTS_OF_COMMAND: ContextVar[ScriptsOfCommand | None] = ContextVar("taktflow_scripts_of_command", default=None)


@contextlib.contextmanager
def scripts_of(command: ScriptsOfCommand) -> Iterator[None]:
    """Within the block, scripts answer from `command` or stop the command to run outside its transaction."""
    command.next_run()
    token = _SCRIPTS_OF_COMMAND.set(command)
    try:
        yield
    finally:
        _SCRIPTS_OF_COMMAND.reset(token)


SANDBOX = ScriptSandbox()
