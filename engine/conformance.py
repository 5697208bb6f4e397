"""The betsy BPMN conformance harness: run the suite's models through the real engine and score them.

Layout of a suite directory (see ../shared/conformance/README.md):
- `cases.json`: one entry per model (group, name, model path, cases with start variables and the sorted
  markers the run must log, betsy `extra` options per case);
- `bpmn_constraints/<RULE>/*.bpmn`: models that break a BPMN rule and must be refused at deploy.

Every model goes through `definitions.service.deploy` with the `strict` validation profile (so every
specification rule refuses) into a throwaway SQLite
database, instances start through `instances.start`, timers fire through the job functions a worker uses.
The models are engine-neutral: script bodies are placeholders and conditions are written in betsy's Java
style. The harness maps both in memory before deploy, as every betsy engine adapter does (its XSLTs);
the files on disk are never changed and nothing else of the XML is touched.

Semantics follow betsy's own tester (uniba-dsg/betsy GenericBPMNTester / BPMNEnginesUtil):
- `optionDelay(ms)` is a wait before the log is gathered (timers due within it fire), not a message;
  the signals and messages of these models are all thrown by the models themselves;
- `CREATE_MARKER_FILE` creates one file: `MARKER_EXISTS` is logged once, and only for cases that expect it;
- `THROW_ERROR` throws the BPMN error `ERR_CODE` (a boundary event may catch it);
- `ERROR_GENERIC` expected: a deployment or runtime failure is logged as `ERROR_GENERIC`;
- `assertExecutionParallel()` / `assertDataCorrect()` are checks on the timestamp and data logs.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from lxml import etree
from sqlalchemy import delete, func, select

from taktflow.engine import instances, jobs
from taktflow.engine.clock import FakeClock
from taktflow.engine.core import Engine
from taktflow.engine.definitions.constraints import STRICT
from taktflow.engine.definitions.service import ModelFile, deploy
from taktflow.engine.errors import InvalidModel
from taktflow.engine.handlers import BpmnError, HandlerRegistry
from taktflow.engine.store.db import Database

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
WORKER_ID = "betsy-harness"
START_TIME = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
MAX_DRIVE_STEPS = 200  # passes of "run what is due, move the clock to the next due job"
JOB_LATENCY = timedelta(milliseconds=1)  # how long after its due time the harness runs a job
TASK_WAIT = timedelta(seconds=10)  # what betsy's CREATE_TIMESTAMP_LOG_n and WAIT_TEN_SECONDS scripts wait

ERROR_DEPLOYMENT = "ERROR_DEPLOYMENT"
ERROR_RUNTIME = "ERROR_RUNTIME"
ERROR_THROWN_ERROR_EVENT = "ERROR_THROWN_ERROR_EVENT"
ERROR_GENERIC = "ERROR_GENERIC"
MARKER_EXISTS = "MARKER_EXISTS"

# Tables an instance writes; emptied between cases so signals and messages cannot leak across cases.
RUNTIME_TABLES = ("task_candidate", "user_task", "subscription", "job", "external_task", "incident",
                  "history_event", "instance_state", "process_instance")
ALL_TABLES = RUNTIME_TABLES + ("process_definition", "decision_definition", "deployment_resource", "deployment")

_DELAY = re.compile(r"^optionDelay\((\d+)\)$")
_SCRIPT_MARKER = re.compile(r"^[A-Z][A-Za-z0-9_]*$")  # SCRIPT_task1, CREATE_..., any token
_CONTAINS = re.compile(r"""([A-Za-z_]\w*)\.contains\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)""")
_EXPRESSION_TAGS = ("conditionExpression", "condition", "loopCondition", "completionCondition",
                    "activationCondition")


# --- what the mapped scripts call ----------------------------------------------------------------------


@dataclass
class ScriptLog:
    """What the mapped script bodies of one case wrote: betsy's log file, marker file and side logs."""

    markers: list[str] = field(default_factory=list)
    marker_file: bool = False
    data: list[str] = field(default_factory=list)
    timestamps: dict[int, tuple[datetime, datetime]] = field(default_factory=dict)

    def reset(self) -> None:
        self.markers, self.marker_file, self.data, self.timestamps = [], False, [], {}


def script_globals(log: ScriptLog, clock: FakeClock) -> dict[str, Any]:
    """Functions the rewritten script bodies call (handed to the engine as `script_globals`)."""

    def betsy_log(marker: str) -> None:
        log.markers.append(str(marker))

    def betsy_marker_file() -> None:
        log.marker_file = True

    def betsy_log_data(value: Any) -> None:
        log.data.append(str(value))

    def betsy_throw_error() -> None:
        # betsy's engines throw BpmnError("ERR_CODE") here; the engine decides whether a boundary catches it.
        raise BpmnError("ERR_CODE", "THROW_ERROR")

    def betsy_wait() -> None:
        # A script that blocks is simulated by moving the engine's clock: the engine runs scripts inline.
        clock.advance(TASK_WAIT)

    def betsy_timestamp(branch: int) -> None:
        started = clock.now()
        clock.advance(TASK_WAIT)
        log.timestamps[int(branch)] = (started, clock.now())

    return {
        "betsy_log": betsy_log, "betsy_marker_file": betsy_marker_file, "betsy_log_data": betsy_log_data,
        "betsy_throw_error": betsy_throw_error, "betsy_wait": betsy_wait, "betsy_timestamp": betsy_timestamp,
    }


# --- mapping the engine-neutral model ----------------------------------------------------------------


def map_script(body: str) -> str:
    """Python for one betsy script placeholder; real code (not a placeholder) is left alone."""
    text = body.strip()
    fixed = {
        "CREATE_LOG_FILE": "pass",
        "CREATE_MARKER_FILE": "betsy_marker_file()",
        "INCREMENT_INTEGER_VARIABLE": "integerVariable += 1",
        "INCREMENT_INTEGER_VARIABLE_AND_LOG": 'integerVariable += 1\nbetsy_log("INCREMENT")',
        "THROW_ERROR": "betsy_throw_error()",
        "SET_STRING_DATA": 'data = "String"',
        "LOG_DATA": "betsy_log_data(data)",
        "WAIT_TEN_SECONDS": "betsy_wait()",
        "CREATE_TIMESTAMP_LOG_1": "betsy_timestamp(1)",
        "CREATE_TIMESTAMP_LOG_2": "betsy_timestamp(2)",
    }
    if text in fixed:
        return fixed[text]
    if _SCRIPT_MARKER.match(text):  # SCRIPT_task1 ... and any other token: betsy logs the token itself
        return f"betsy_log({text!r})"
    return body


def map_expression(expression: str) -> str:
    """betsy's Java-style condition as Python: `test.contains("a")` -> `("a" in test)`, `!` -> `not`."""
    text = _CONTAINS.sub(r"(\2 in \1)", expression.strip())
    text = text.replace("&&", " and ").replace("||", " or ")
    text = re.sub(r"!(?!=)", " not ", text)  # leave `!=` alone
    for java, python in (("true", "True"), ("false", "False"), ("null", "None")):
        text = re.sub(rf"\b{java}\b", python, text)
    return text.strip()


def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=False)


def map_model(content: bytes) -> bytes:
    """The model with script bodies and condition expressions mapped; unreadable XML is passed on as is."""
    try:
        root = etree.fromstring(content, _xml_parser())
    except etree.XMLSyntaxError:
        return content  # the engine's deploy reports it
    changed = False
    for node in root.iter(f"{{{BPMN_NS}}}script"):
        mapped = map_script(node.text or "")
        if mapped != (node.text or ""):
            node.text, changed = mapped, True
    for tag in _EXPRESSION_TAGS:
        for node in root.iter(f"{{{BPMN_NS}}}{tag}"):
            if node.text and node.text.strip():
                mapped = map_expression(node.text)
                if mapped != node.text:
                    node.text, changed = mapped, True
    if not changed:
        return content
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def _process_ids(content: bytes) -> tuple[list[str], set[str]]:
    """Executable process ids in document order, and those whose start is event-triggered only."""
    try:
        root = etree.fromstring(content, _xml_parser())
    except etree.XMLSyntaxError:
        return [], set()
    ids, triggered = [], set()
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        if process.get("isExecutable") == "false" or not process.get("id"):
            continue
        ids.append(process.get("id"))
        starts = [n for n in process if n.tag == f"{{{BPMN_NS}}}startEvent"]
        if not starts or all(any(c.tag.endswith("EventDefinition") for c in s if isinstance(c.tag, str))
                             for s in starts):
            triggered.add(process.get("id"))
    return ids, triggered


# --- results ----------------------------------------------------------------------------------------------


@dataclass
class InstanceInfo:
    key: str
    id: str | None
    state: str
    active_elements: list[str] = field(default_factory=list)
    incidents: list[dict[str, str | None]] = field(default_factory=list)
    pending_timers: list[str] = field(default_factory=list)  # elements whose timer has not fired yet
    started_by_harness: bool = False


@dataclass
class CaseResult:
    group: str
    name: str
    model: str
    index: int
    test: str | None
    integer_variable: int | None
    extra: list[str]
    expected: list[str]
    got: list[str]
    passed: bool
    reason: str = ""
    note: str = ""  # a pass betsy would grant though the instance did not finish as the standard says
    instances: list[InstanceInfo] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.group}/{self.name}"


@dataclass
class ConstraintResult:
    rule: str
    file: str
    refused: bool  # InvalidModel raised
    names_rule: bool  # the refusal mentions the rule id (EXT002, ...)
    outcome: str  # refused | accepted | crashed
    message: str = ""


@dataclass
class BetsyResult:
    cases: list[CaseResult] = field(default_factory=list)
    constraints: list[ConstraintResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cases if c.passed)

    @property
    def invalid_refused(self) -> int:
        """Invalid models refused with an error that names the broken rule (a refusal for another reason
        does not count: the model would be refused for the wrong reason)."""
        return sum(1 for c in self.constraints if c.refused and c.names_rule)

    def summary(self) -> dict[str, int]:
        return {"cases": len(self.cases), "passed": self.passed, "invalid_models": len(self.constraints),
                "invalid_refused": self.invalid_refused}

    def pass_rate(self) -> float:
        return self.passed / len(self.cases) if self.cases else 1.0

    def refused_rate(self) -> float:
        return self.invalid_refused / len(self.constraints) if self.constraints else 1.0

    def by_group(self) -> dict[str, tuple[int, int]]:
        """Per group: (passed, total)."""
        groups: dict[str, list[int]] = {}
        for case in self.cases:
            counts = groups.setdefault(case.group, [0, 0])
            counts[0] += int(case.passed)
            counts[1] += 1
        return {g: (p, t) for g, (p, t) in sorted(groups.items())}

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(), "seconds": round(self.seconds, 2),
            "groups": {g: {"passed": p, "cases": t} for g, (p, t) in self.by_group().items()},
            "cases": [dict(asdict(c), label=c.label) for c in self.cases],
            "constraints": [asdict(c) for c in self.constraints],
        }


# --- running ----------------------------------------------------------------------------------------------


class _Sandbox:
    """One SQLite database for a run; emptied between models (all tables) and cases (runtime tables)."""

    def __init__(self, directory: str) -> None:
        from taktflow.schema import metadata, migrate

        self.database = Database(f"sqlite:///{Path(directory) / 'betsy.db'}")
        migrate(self.database)
        self._tables = {t.name: t for t in metadata.sorted_tables}
        self.log = ScriptLog()
        self.clock = FakeClock(START_TIME)
        self.engine = self.fresh_engine()

    def fresh_engine(self) -> Engine:
        # A new Engine per model: its spec cache is keyed by definition id, which SQLite reuses after a wipe.
        self.engine = Engine(self.database, registry=HandlerRegistry(), clock=self.clock,
                             script_globals=script_globals(self.log, self.clock))
        return self.engine

    def wipe(self, tables: tuple[str, ...]) -> None:
        with self.database.engine.begin() as conn:
            for name in tables:
                if name in self._tables:
                    conn.execute(delete(self._tables[name]))

    def close(self) -> None:
        self.database.dispose()


def _deploy(engine: Engine, name: str, content: bytes) -> Any:
    files = [ModelFile(name, content)]
    return engine.command(lambda s: deploy(s, files, clock=engine.clock, serializer=engine.serializer,
                                           source="betsy", profile=STRICT))


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _case_options(extra: list[str]) -> tuple[int, bool, set[str], list[str]]:
    delay, parallel, asserts, unknown = 0, False, set(), []
    for item in extra:
        match = _DELAY.match(item)
        if match:
            delay = max(delay, int(match.group(1)))
        elif item == "useParallelProcess()":
            parallel = True
        elif item in ("assertExecutionParallel()", "assertDataCorrect()"):
            asserts.add(item)
        else:
            unknown.append(item)
    return delay, parallel, asserts, unknown


def _run_due(engine: Engine, errors: list[str]) -> int:
    """Run every job due now, as a worker pass would; a job that blows up is recorded, not retried."""
    ran = 0
    for job_id in jobs.claim_due_jobs(engine, WORKER_ID, limit=50):
        try:
            if jobs.run_job(engine, job_id, WORKER_ID):
                ran += 1
        except Exception as exc:  # noqa: BLE001 - a crashing job is a runtime failure of the case
            errors.append(f"job {job_id} failed: {type(exc).__name__}: {_short(str(exc), 200)}")
    return ran


def _next_due(engine: Engine) -> datetime | None:
    from taktflow.engine.store.models import Job

    with engine.db.read() as session:
        due = session.scalar(select(func.min(Job.due_at)).where(Job.due_at.is_not(None), Job.locked_by.is_(None)))
    if due is not None and due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return due


def drive(engine: Engine, clock: FakeClock, delay_ms: int, errors: list[str]) -> None:
    """Let `delay_ms` of engine time pass: fire every job that falls due within it, in due order."""
    deadline = clock.now() + timedelta(milliseconds=delay_ms)
    _run_due(engine, errors)
    for _ in range(MAX_DRIVE_STEPS):
        due = _next_due(engine)
        if due is None or due > deadline:
            break
        # A worker runs a job a moment after it falls due; SpiffWorkflow fires a timer only once now > due.
        clock.set(max(due, clock.now()) + JOB_LATENCY)
        _run_due(engine, errors)
    if clock.now() < deadline:
        clock.set(deadline)


def _instances(engine: Engine) -> list[InstanceInfo]:
    from taktflow.engine.store.models import Incident, Job, ProcessInstance

    found = []
    with engine.db.read() as session:
        for row in session.scalars(select(ProcessInstance).order_by(ProcessInstance.started_at, ProcessInstance.id)):
            incidents = [
                {"kind": i.kind, "element": i.element_id, "message": _short(i.message, 300)}
                for i in session.scalars(select(Incident).where(Incident.instance_id == row.id,
                                                                Incident.resolved_at.is_(None)))
            ]
            timers = sorted(session.scalars(select(Job.element_id).where(
                Job.instance_id == row.id, Job.kind == "timer", Job.due_at.is_not(None))))
            found.append(InstanceInfo(row.process_key, row.id, row.state, list(row.active_elements or []),
                                      incidents, timers))
    return found


def _outcome_marker(main: InstanceInfo | None) -> str | None:
    """betsy's outcome check of the instance it started: error event thrown, or a runtime failure."""
    if main is None or not main.incidents:
        return None
    if any(i["kind"] == "uncaught_bpmn_error" for i in main.incidents):
        return ERROR_THROWN_ERROR_EVENT
    return ERROR_RUNTIME


def _check_asserts(asserts: set[str], log: ScriptLog) -> list[str]:
    problems = []
    if "assertExecutionParallel()" in asserts:
        spans = [log.timestamps.get(1), log.timestamps.get(2)]
        if None in spans:
            problems.append("assertExecutionParallel: a timestamp task did not run")
        else:
            (s1, e1), (s2, e2) = spans  # type: ignore[misc]
            if not (s1 < e2 and s2 < e1):
                problems.append("assertExecutionParallel: the parallel branches ran one after the other")
    if "assertDataCorrect()" in asserts and "String" not in log.data:
        problems.append(f"assertDataCorrect: logged data {log.data!r}, expected 'String'")
    return problems


def _run_case(
    sandbox: _Sandbox, entry: dict[str, Any], index: int, case: dict[str, Any], main_key: str,
    parallel_keys: list[str], deploy_error: str | None,
) -> CaseResult:
    extra = list(entry.get("extra") or []) + list(case.get("extra") or [])
    expected = sorted(case.get("expected") or [])
    result = CaseResult(
        group=entry.get("group", "?"), name=entry.get("name", "?"), model=entry.get("model", "?"), index=index,
        test=case.get("test"), integer_variable=case.get("integerVariable"), extra=extra, expected=expected,
        got=[], passed=False,
    )
    started = time.monotonic()
    if deploy_error is not None:
        got = [ERROR_DEPLOYMENT]
        reasons = [deploy_error]
    else:
        got, reasons = _execute(sandbox, case, extra, main_key, parallel_keys, result)
    if ERROR_GENERIC in expected:  # betsy: a specific failure counts as the generic one asked for
        got = [ERROR_GENERIC if m in (ERROR_DEPLOYMENT, ERROR_RUNTIME) else m for m in got]
    result.got = sorted(got)
    result.passed = result.got == expected and not any(r.startswith("assert") for r in reasons)
    main = next((i for i in result.instances if i.key == main_key and i.started_by_harness), None)
    if not result.passed and not reasons:
        if main is None:
            reasons.append("no instance of the process was started")
        elif main.state == "active":
            reasons.append(f"instance still active, waiting at {main.active_elements}")
        else:
            reasons.append(f"instance {main.state}, but the logged markers differ")
    if result.passed and main is not None and main.pending_timers:
        # betsy reads the log after the delay only; a timer still pending would log more later.
        result.note = f"passed on its log, but timers at {main.pending_timers} are still pending"
    result.reason = "; ".join(reasons)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _execute(
    sandbox: _Sandbox, case: dict[str, Any], extra: list[str], main_key: str, parallel_keys: list[str],
    result: CaseResult,
) -> tuple[list[str], list[str]]:
    engine, clock, log = sandbox.engine, sandbox.clock, sandbox.log
    sandbox.wipe(RUNTIME_TABLES)
    log.reset()
    clock.set(START_TIME)
    delay, parallel, asserts, unknown = _case_options(extra)
    reasons = [f"unsupported betsy option {u}" for u in unknown]
    got: list[str] = []
    started_ids: dict[str, str] = {}
    variables = {"test": case.get("test"), "integerVariable": case.get("integerVariable")}
    # betsy starts the collaborating process first, so it already waits when the main one sends.
    keys = (list(parallel_keys) if parallel else []) + [main_key]
    for key in keys:
        try:
            row = instances.start(engine, key, variables=dict(variables)).instance
            started_ids[key] = row.id
        except Exception as exc:  # noqa: BLE001 - betsy logs a failed start as a runtime error
            reasons.append(f"start of {key} failed: {type(exc).__name__}: {_short(str(exc))}")
            if key == main_key:
                got.append(ERROR_RUNTIME)
    job_errors: list[str] = []
    try:
        drive(engine, clock, delay, job_errors)
    except Exception as exc:  # noqa: BLE001 - the harness must go on with the next case
        job_errors.append(f"driving timers failed: {type(exc).__name__}: {_short(str(exc))}")
    reasons.extend(job_errors)
    result.instances = _instances(engine)
    main = None
    for info in result.instances:
        if started_ids.get(info.key) == info.id:
            info.started_by_harness = True
            if info.key == main_key:
                main = info
    outcome = _outcome_marker(main)
    if outcome is not None and ERROR_RUNTIME not in got:
        got.append(outcome)
        first = main.incidents[0] if main is not None else {}
        reasons.append(f"incident {first.get('kind')} at {first.get('element')}: {first.get('message')}")
    elif job_errors and ERROR_RUNTIME not in got:
        got.append(ERROR_RUNTIME)
    for info in result.instances:  # failures in other instances are worth seeing, though betsy ignores them
        if info is not main and info.incidents:
            first = info.incidents[0]
            reasons.append(f"{info.key}: incident {first['kind']} at {first['element']}: {first['message']}")
    got.extend(log.markers)
    if log.marker_file and MARKER_EXISTS in case.get("expected", []):  # betsy looks for it only when asked
        got.append(MARKER_EXISTS)
    reasons.extend(_check_asserts(asserts, log))
    return got, reasons


def _load_cases(directory: Path) -> list[dict[str, Any]]:
    data = json.loads((directory / "cases.json").read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("models") or data.get("cases") or []
    return list(data)


def _matches(only: str | None, *texts: str) -> bool:
    return only is None or any(only.lower() in t.lower() for t in texts)


def _run_model(sandbox: _Sandbox, directory: Path, entry: dict[str, Any]) -> list[CaseResult]:
    model_path = directory / entry["model"]
    content = model_path.read_bytes()
    ids, triggered = _process_ids(content)
    name = entry.get("name", model_path.stem)
    main_key = name if name in ids else (ids[0] if ids else name)
    parallel_keys = [k for k in ids if k != main_key and k not in triggered]
    sandbox.wipe(ALL_TABLES)
    engine = sandbox.fresh_engine()
    sandbox.clock.set(START_TIME)
    deploy_error = None
    try:
        _deploy(engine, model_path.name, map_model(content))
    except InvalidModel as exc:
        deploy_error = f"deployment refused: {_short(str(exc), 300)}"
    except Exception as exc:  # noqa: BLE001 - any parse failure is a refused deployment (betsy: undeployed)
        deploy_error = f"deploy crashed: {type(exc).__name__}: {_short(str(exc), 300)}"
    return [
        _run_case(sandbox, entry, index, case, main_key, parallel_keys, deploy_error)
        for index, case in enumerate(entry.get("cases") or [])
    ]


def _harness_failure(entry: dict[str, Any], exc: BaseException) -> list[CaseResult]:
    """A model the harness itself could not run: each of its cases counts as failed."""
    reason = f"harness error: {type(exc).__name__}: {_short(str(exc), 300)}"
    return [
        CaseResult(group=entry.get("group", "?"), name=entry.get("name", "?"), model=entry.get("model", "?"),
                   index=i, test=c.get("test"), integer_variable=c.get("integerVariable"),
                   extra=list(c.get("extra") or []), expected=sorted(c.get("expected") or []), got=[],
                   passed=False, reason=reason)
        for i, c in enumerate(entry.get("cases") or [{}])
    ]


def _constraint_files(directory: Path) -> Iterator[tuple[str, Path]]:
    root = directory / "bpmn_constraints"
    if not root.is_dir():
        return
    for rule_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(rule_dir.glob("*.bpmn")):
            yield rule_dir.name, path


def _run_constraint(sandbox: _Sandbox, directory: Path, rule: str, path: Path) -> ConstraintResult:
    relative = str(path.relative_to(directory))
    sandbox.wipe(ALL_TABLES)
    engine = sandbox.fresh_engine()
    try:
        _deploy(engine, path.name, map_model(path.read_bytes()))
    except InvalidModel as exc:
        # Only a problem's rule counts: the file name (EXT002_1_...bpmn) names the rule by itself.
        named = any(rule in p.rule for p in exc.problems)
        return ConstraintResult(rule, relative, refused=True, names_rule=named, outcome="refused",
                                message=_short(str(exc), 300))
    except Exception as exc:  # noqa: BLE001 - a crash is not a refusal with a message
        return ConstraintResult(rule, relative, refused=False, names_rule=False, outcome="crashed",
                                message=f"{type(exc).__name__}: {_short(str(exc), 300)}")
    return ConstraintResult(rule, relative, refused=False, names_rule=False, outcome="accepted",
                            message="deployed without error")


def run_betsy(
    directory: str | Path, *, only: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> BetsyResult:
    """Run the suite in `directory`; `only` keeps models whose group/name or path contains the substring."""
    directory = Path(directory)
    result = BetsyResult()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="taktflow-betsy-") as workdir:
        sandbox = _Sandbox(workdir)
        try:
            for entry in _load_cases(directory):
                label = f"{entry.get('group', '?')}/{entry.get('name', '?')}"
                if not _matches(only, label, str(entry.get("model", ""))):
                    continue
                if progress is not None:
                    progress(label)
                try:
                    result.cases.extend(_run_model(sandbox, directory, entry))
                except Exception as exc:  # noqa: BLE001 - one broken model must not end the run
                    traceback.print_exc(file=sys.stderr)
                    result.cases.extend(_harness_failure(entry, exc))
            for rule, path in _constraint_files(directory):
                if not _matches(only, str(path.relative_to(directory))):
                    continue
                try:
                    result.constraints.append(_run_constraint(sandbox, directory, rule, path))
                except Exception as exc:  # noqa: BLE001 - ditto
                    result.constraints.append(ConstraintResult(
                        rule, str(path.relative_to(directory)), refused=False, names_rule=False,
                        outcome="crashed", message=f"harness error: {type(exc).__name__}: {_short(str(exc))}",
                    ))
        finally:
            sandbox.close()
    result.seconds = time.monotonic() - started
    return result


# --- reporting ----------------------------------------------------------------------------------------


def report(result: BetsyResult, out: TextIO) -> None:
    """Failing cases, per-group counts, constraint findings, then the summary JSON as the last line."""
    for case in result.cases:
        if not case.passed:
            print(f"FAIL {case.label} #{case.index}: expected {case.expected} got {case.got}"
                  f"{' - ' + _short(case.reason, 300) if case.reason else ''}", file=out)
    for case in result.cases:
        if case.note:
            print(f"NOTE {case.label} #{case.index}: {case.note}", file=out)
    for constraint in result.constraints:
        if not constraint.refused or not constraint.names_rule:
            label = "NOT REFUSED" if not constraint.refused else "REFUSED WITHOUT NAMING THE RULE"
            print(f"{label} {constraint.file}: {constraint.outcome}: {constraint.message}", file=out)
    for group, (passed, total) in result.by_group().items():
        print(f"group {group}: {passed}/{total} passed", file=out)
    if result.constraints:
        by_rule: dict[str, Counter[str]] = {}
        for c in result.constraints:
            counts = by_rule.setdefault(c.rule, Counter())
            counts["total"] += 1
            counts["refused"] += int(c.refused and c.names_rule)
            counts["named"] += int(c.names_rule)
        named = sum(1 for c in result.constraints if c.names_rule)
        print(f"bpmn_constraints: {result.invalid_refused}/{len(result.constraints)} refused, "
              f"{named} naming the rule id; per rule: "
              + ", ".join(f"{r} {c['refused']}/{c['total']}" for r, c in sorted(by_rule.items())), file=out)
    print(f"took {result.seconds:.1f}s", file=out)
    print(json.dumps(result.summary()), file=out)


def betsy_command(
    directory: str, *, json_path: str | None = None, only: str | None = None,
    min_pass_rate: float | None = None, min_refused_rate: float | None = None, out: TextIO | None = None,
) -> int:
    """`taktflow conformance betsy DIR`: 0, or 1 when a required rate is not reached."""
    out = out or sys.stdout
    result = run_betsy(directory, only=only)
    if json_path:
        Path(json_path).write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    failed = []
    if min_pass_rate is not None and result.pass_rate() < min_pass_rate:
        failed.append(f"pass rate {result.pass_rate():.3f} is below {min_pass_rate}")
    if min_refused_rate is not None and result.refused_rate() < min_refused_rate:
        failed.append(f"refused rate {result.refused_rate():.3f} is below {min_refused_rate}")
    for message in failed:
        print(f"taktflow conformance: {message}", file=sys.stderr)
    report(result, out)  # the summary JSON stays the last line of stdout
    return 1 if failed else 0
