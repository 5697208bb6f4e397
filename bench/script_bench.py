"""What the script sandbox costs: a script task's code run in a worker process (engine/sandbox.py) against
the same code run in the server process, per script; the worker pool is warm (started before timing). And
what running scripts outside the command's transaction buys (other writers' latency while a script runs) and
costs (a command runs again after each script)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from xml.sax.saxutils import escape

from bench.common import engine_for, summary_ms, timed
from taktflow.engine import instances, sandbox
from taktflow.engine.definitions.service import ModelFile
from taktflow.engine.scripting import RestrictedEnvironment

SCRIPT = "total = price * qty\nlines = [{'n': i, 'amount': price} for i in range(qty)]"


def overhead(runs: int) -> dict[str, Any]:
    sandboxed = RestrictedEnvironment()
    in_process = RestrictedEnvironment()
    in_process.sandboxed = False
    sandboxed.execute(SCRIPT, {"price": 1, "qty": 1}, {})  # start the worker outside the timing
    timings = {}
    for name, env in (("sandbox", sandboxed), ("in_process", in_process)):
        began = time.perf_counter()
        for n in range(runs):
            env.execute(SCRIPT, {"price": n, "qty": 10, "customer": "ACME", "lines": []}, {})
        timings[name] = round((time.perf_counter() - began) / runs * 1000, 3)
    return {"runs": runs, "sandbox_ms": timings["sandbox"], "in_process_ms": timings["in_process"],
            "overhead_ms": round(timings["sandbox"] - timings["in_process"], 3)}


def _chain_model(key: str, scripts: list[str]) -> ModelFile:
    """A process of script tasks in a row, one command from start to end."""
    tasks = "".join(f'<bpmn:scriptTask id="s{i}" name="Step {i}" scriptFormat="python">'
                    f'<bpmn:incoming>f{i}</bpmn:incoming><bpmn:outgoing>f{i + 1}</bpmn:outgoing>'
                    f'<bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>'
                    for i, script in enumerate(scripts))
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{"StartEvent_1" if i == 0 else f"s{i - 1}"}" '
                    f'targetRef="{"EndEvent_1" if i == len(scripts) else f"s{i}"}"/>'
                    for i in range(len(scripts) + 1))
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
           f'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs" targetNamespace="bench">'
           f'<bpmn:process id="{key}" name="{key}" isExecutable="true">'
           f'<bpmn:startEvent id="StartEvent_1" name="Start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>'
           f'{tasks}<bpmn:endEvent id="EndEvent_1" name="End"><bpmn:incoming>f{len(scripts)}</bpmn:incoming>'
           f'</bpmn:endEvent>{flows}</bpmn:process></bpmn:definitions>')
    return ModelFile(f"{key}.bpmn", xml.encode())


@contextmanager
def _scripts_in_transaction(yes: bool) -> Iterator[None]:
    """yes: every script runs inside its command's transaction, as before scripts ran outside it."""
    rounds = sandbox.ROUNDS
    sandbox.ROUNDS = 0 if yes else rounds
    try:
        yield
    finally:
        sandbox.ROUNDS = rounds


def writers_during_a_script(url: str, spin: float = 1.0) -> dict[str, Any]:
    """Latency of other writers (an instance with one script, start to end) while a script spins `spin`
    seconds: outside the transaction (now) and inside it (before), on the same database."""
    engine = engine_for(url, _chain_model("slow", [f"until = datetime.now() + timedelta(seconds={spin})\n"
                                                  "while datetime.now() < until:\n    pass\ndel until"]),
                        _chain_model("quick", ["total = price * qty"]))
    sandbox.SANDBOX.start()  # every worker spawned before timing: the numbers are waits, not spawns
    instances.start(engine, "quick", variables={"price": 1, "qty": 1})  # warm the caches
    out: dict[str, Any] = {"spin_s": spin}
    for name, inside in (("outside_transaction", False), ("inside_transaction", True)):
        with _scripts_in_transaction(inside):
            slow = threading.Thread(target=lambda: instances.start(engine, "slow", variables={}))
            slow.start()
            time.sleep(0.05)
            samples = []
            while slow.is_alive():
                samples.append(timed(lambda: instances.start(engine, "quick", variables={"price": 2, "qty": 3})))
            slow.join()
        out[name] = {**summary_ms(samples), "max": round(max(samples) * 1000, 2)}
    engine.db.dispose()
    return out


def scripts_in_one_command(url: str, counts: tuple[int, ...], repeats: int) -> dict[str, Any]:
    """What a command with k script tasks costs (ms per instance, start to end): each script stops the command
    and runs it again, so k scripts run the command k + 1 times; against all k inside the transaction."""
    files = [_chain_model(f"chain{k}", [f"v{i} = price * qty + {i}" for i in range(k)]) for k in counts]
    engine = engine_for(url, *files)
    out: dict[str, Any] = {}
    for k in counts:
        row: dict[str, float] = {}
        for name, inside in (("outside_transaction", False), ("inside_transaction", True)):
            with _scripts_in_transaction(inside):
                instances.start(engine, f"chain{k}", variables={"price": 1, "qty": 1})  # warm
                began = time.perf_counter()
                for n in range(repeats):
                    instances.start(engine, f"chain{k}", variables={"price": n, "qty": 2})
                row[f"{name}_ms"] = round((time.perf_counter() - began) / repeats * 1000, 2)
        row["ratio"] = round(row["outside_transaction_ms"] / row["inside_transaction_ms"], 2)
        out[str(k)] = row
    engine.db.dispose()
    return out


if __name__ == "__main__":
    print(overhead(2000))
