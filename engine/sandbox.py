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

Left as it is: the command's database transaction is open while its script runs, so on SQLite the write lock
is held for at most the wall-clock limit (TAKTFLOW_SCRIPT_WALL_SECONDS, default 10 s); readers (pages, API
reads) are not blocked (WAL).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import resource
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from taktflow.engine.errors import ScriptError
from taktflow.engine.handlers import BpmnError

CPU_SECONDS = float(os.environ.get("TAKTFLOW_SCRIPT_CPU_SECONDS", "5"))
WALL_SECONDS = float(os.environ.get("TAKTFLOW_SCRIPT_WALL_SECONDS", "10"))
MEMORY_MB = int(os.environ.get("TAKTFLOW_SCRIPT_MEMORY_MB", "512"))
WORKERS = int(os.environ.get("TAKTFLOW_SCRIPT_WORKERS", "4"))


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
            conn.send_bytes(pickle.dumps((recycle, answer)))
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
        """Run `script` on `context` (the task data) in a worker; `context` is updated in place."""
        try:
            request = pickle.dumps((script, context, external, self.cpu_seconds))
        except Exception:  # noqa: BLE001 - name the variable that cannot travel
            _picklable({**external, **context})
            raise
        worker = self._acquire()
        try:
            worker.conn.send_bytes(request)
            if not worker.conn.poll(self.wall_seconds):
                raise ScriptError(f"the script ran longer than {self.wall_seconds:g} s and was stopped")
            recycle, answer = pickle.loads(worker.conn.recv_bytes())
        except (EOFError, OSError, ConnectionError):
            self._discard(worker)
            raise ScriptError(f"the script was stopped: it used more than {self.cpu_seconds:g} s of CPU time or "
                              f"{self.memory_bytes // 2**20} MB of memory") from None
        except BaseException:
            self._discard(worker)
            raise
        if recycle or not worker.process.is_alive():
            self._discard(worker)
        else:
            self._idle.put(worker)
        kind, *rest = answer
        if kind == "ok":
            context.clear()
            context.update(rest[0])
        elif kind == "bpmn_error":
            raise BpmnError(rest[0], rest[1], rest[2])
        elif kind == "raised":
            raise ScriptError(f"the script failed: {rest[0]}")
        else:
            raise ScriptError(rest[0])

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                return


SANDBOX = ScriptSandbox()
