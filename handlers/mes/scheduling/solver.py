"""The scheduling problem in minutes, solved by OR-Tools CP-SAT, and a greedy forward planner beside it.

Pure: no database. `service.py` turns released work orders into a `Problem` and stores what comes back.

Calendars are modelled as fixed break intervals on every machine's no-overlap constraint: an operation runs
within one stretch of working time and is never split across a break or a holiday (a machine run with its
setup is not paused half-way). Adjacent shifts merge into one stretch, so an operation may run across a shift
change. The greedy planner's schedule is feasible by construction, so its makespan bounds the horizon and it is
the solver's first hint.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

OBJECTIVES = ("makespan", "weighted_tardiness")
WORKERS = 2  # the plant server's cores; more workers than cores only share them


class Infeasible(ValueError):
    """No operation plan fits the calendars: the message names the work center and the operation."""


@dataclass
class Task:
    """One operation to place: its alternative machines, and, once started, where and when it runs."""

    key: int
    label: str  # WO-00001/10, for messages
    work_center: str
    duration: int
    machines: Sequence[str]
    fixed_start: int | None = None
    fixed_machine: str | None = None
    fixed_end: int | None = None


@dataclass
class Job:
    """A work order: its operations in routing order, due (minutes from the start) and weight (priority)."""

    key: int
    tasks: list[Task]
    due: int | None = None
    weight: int = 1
    release: int = 0


@dataclass
class Problem:
    jobs: list[Job]
    # Working stretches per machine, sorted [start, end) in minutes from the schedule start.
    windows: dict[str, list[tuple[int, int]]]


@dataclass
class Placement:
    machine: str
    start: int
    end: int


@dataclass
class Solution:
    status: str  # OPTIMAL | FEASIBLE (CP-SAT), GREEDY (the forward planner alone)
    placements: dict[int, Placement]
    makespan: int
    weighted_tardiness: int
    seconds: float
    greedy_makespan: int = 0
    extra: dict[str, float] = field(default_factory=dict)


# --- greedy forward planning (earliest start first, then the heavier order, then the shortest operation) ------


def _fit(windows: list[tuple[int, int]], busy: list[tuple[int, int]], ready: int, duration: int) -> int | None:
    """The earliest start ≥ `ready` where `duration` fits in one working stretch and no busy interval."""
    start = ready
    while True:
        fitted = None
        for w_start, w_end in windows:
            if w_end <= start:
                continue
            s = max(start, w_start)
            if s + duration <= w_end:
                fitted = s
                break
        if fitted is None:
            return None
        clash = next((end for b_start, end in busy if b_start < fitted + duration and fitted < end), None)
        if clash is None:
            return fitted
        start = clash


def greedy(problem: Problem) -> dict[int, Placement]:
    busy: dict[str, list[tuple[int, int]]] = {m: [] for m in problem.windows}
    placements: dict[int, Placement] = {}
    ready: dict[int, int] = {}
    todo: dict[int, list[Task]] = {}
    for job in problem.jobs:
        ready[job.key] = job.release
        todo[job.key] = list(job.tasks)
        while todo[job.key] and todo[job.key][0].fixed_start is not None:
            task = todo[job.key].pop(0)
            placements[task.key] = Placement(task.fixed_machine, task.fixed_start, task.fixed_end)
            busy[task.fixed_machine].append((task.fixed_start, task.fixed_end))
            ready[job.key] = max(ready[job.key], task.fixed_end)
    weights = {job.key: job.weight for job in problem.jobs}
    for tasks in todo.values():
        for task in tasks:
            if not any(_fit(problem.windows[m], [], 0, task.duration) is not None for m in task.machines):
                raise Infeasible(f"operation {task.label} needs {task.duration} minutes at work center "
                                 f"{task.work_center}: no stretch of its calendar's working time within the horizon "
                                 "is that long (operations are not split across breaks)")
    while any(todo.values()):
        best: tuple[tuple[int, int, int], int, Task, str] | None = None
        for job_key, tasks in todo.items():
            if not tasks:
                continue
            task = tasks[0]
            for machine in task.machines:
                start = _fit(problem.windows[machine], busy[machine], ready[job_key], task.duration)
                if start is None:
                    continue
                rank = (start, -weights[job_key], task.duration)
                if best is None or rank < best[0]:
                    best = (rank, job_key, task, machine)
        if best is None:
            task = next(tasks[0] for tasks in todo.values() if tasks)
            raise Infeasible(f"work center {task.work_center} has no calendar capacity within the horizon for "
                             f"operation {task.label} ({task.duration} minutes)")
        (start, _, _), job_key, task, machine = best
        todo[job_key].pop(0)
        placements[task.key] = Placement(machine, start, start + task.duration)
        busy[machine].append((start, start + task.duration))
        busy[machine].sort()
        ready[job_key] = start + task.duration
    return placements


def measure(problem: Problem, placements: dict[int, Placement]) -> tuple[int, int]:
    """Makespan (from the start, minutes) and weighted tardiness of a plan."""
    makespan = max((p.end for p in placements.values()), default=0)
    tardiness = 0
    for job in problem.jobs:
        if job.due is not None and job.tasks:
            tardiness += job.weight * max(0, placements[job.tasks[-1].key].end - job.due)
    return max(makespan, 0), tardiness


# --- CP-SAT ---------------------------------------------------------------------------------------------------


def _breaks(windows: list[tuple[int, int]], low: int, high: int,
            fixed: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Non-working time within [low, high), less the time started operations already hold."""
    gaps: list[tuple[int, int]] = []
    at = low
    for w_start, w_end in windows:
        if w_end <= low:
            continue
        if w_start > at:
            gaps.append((at, min(w_start, high)))
        at = max(at, w_end)
        if at >= high:
            break
    if at < high:
        gaps.append((at, high))
    for f_start, f_end in fixed:
        cut: list[tuple[int, int]] = []
        for g_start, g_end in gaps:
            if f_end <= g_start or g_end <= f_start:
                cut.append((g_start, g_end))
                continue
            if g_start < f_start:
                cut.append((g_start, f_start))
            if f_end < g_end:
                cut.append((f_end, g_end))
        gaps = cut
    return [(s, e) for s, e in gaps if e > s]


def solve(problem: Problem, *, objective: str = "makespan", time_limit: float = 10.0,
          workers: int = WORKERS) -> Solution:
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}: one of {', '.join(OBJECTIVES)}")
    began = time.perf_counter()
    hint = greedy(problem)
    greedy_makespan, greedy_tardiness = measure(problem, hint)
    tasks = [t for job in problem.jobs for t in job.tasks]
    if not tasks:
        return Solution("OPTIMAL", {}, 0, 0, time.perf_counter() - began)
    low = min(0, min(t.fixed_start for t in tasks if t.fixed_start is not None) if any(
        t.fixed_start is not None for t in tasks) else 0)
    horizon = max(greedy_makespan, 1)

    model = cp_model.CpModel()
    starts: dict[int, cp_model.IntVar] = {}
    ends: dict[int, cp_model.IntVar] = {}
    chosen: dict[int, dict[str, cp_model.IntVar]] = {}
    per_machine: dict[str, list[cp_model.IntervalVar]] = {m: [] for m in problem.windows}
    fixed_busy: dict[str, list[tuple[int, int]]] = {m: [] for m in problem.windows}
    for job in problem.jobs:
        for task in job.tasks:
            if task.fixed_start is not None:
                s = model.new_constant(task.fixed_start)
                e = model.new_constant(task.fixed_end)
                per_machine[task.fixed_machine].append(model.new_interval_var(
                    s, task.fixed_end - task.fixed_start, e, f"fixed{task.key}"))
                fixed_busy[task.fixed_machine].append((task.fixed_start, task.fixed_end))
                starts[task.key], ends[task.key] = s, e
                continue
            s = model.new_int_var(job.release, horizon - task.duration, f"s{task.key}")
            e = model.new_int_var(job.release + task.duration, horizon, f"e{task.key}")
            starts[task.key], ends[task.key] = s, e
            if len(task.machines) == 1:
                per_machine[task.machines[0]].append(model.new_interval_var(s, task.duration, e, f"i{task.key}"))
                continue
            options = {}
            for machine in task.machines:
                on = model.new_bool_var(f"on{task.key}_{machine}")
                per_machine[machine].append(model.new_optional_interval_var(s, task.duration, e, on,
                                                                            f"i{task.key}_{machine}"))
                options[machine] = on
            model.add_exactly_one(options.values())
            chosen[task.key] = options
        for before, after in zip(job.tasks, job.tasks[1:], strict=False):
            model.add(starts[after.key] >= ends[before.key])
    for machine, intervals in per_machine.items():
        for b_start, b_end in _breaks(problem.windows[machine], low, horizon, fixed_busy[machine]):
            intervals.append(model.new_fixed_size_interval_var(b_start, b_end - b_start, f"break_{machine}_{b_start}"))
        if len(intervals) > 1:
            model.add_no_overlap(intervals)

    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, [ends[job.tasks[-1].key] for job in problem.jobs if job.tasks])
    if objective == "makespan":
        model.minimize(makespan)
    else:
        lateness = []
        for job in problem.jobs:
            if job.due is None or not job.tasks:
                continue
            late = model.new_int_var(0, max(horizon - job.due, 0), f"late{job.key}")
            model.add(late >= ends[job.tasks[-1].key] - job.due)
            lateness.append(job.weight * late)
        # Tardiness first; among equally late plans the shorter one.
        model.minimize(sum(lateness) * (horizon + 1) + makespan)

    for task in tasks:
        if task.fixed_start is None:
            placed = hint[task.key]
            model.add_hint(starts[task.key], placed.start)
            for machine, on in chosen.get(task.key, {}).items():
                model.add_hint(on, machine == placed.machine)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit - (time.perf_counter() - began), 0.1)
    solver.parameters.num_workers = workers
    code = solver.solve(model)
    status = solver.status_name(code)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Solution("GREEDY", hint, greedy_makespan, greedy_tardiness, time.perf_counter() - began,
                        greedy_makespan)
    placements: dict[int, Placement] = {}
    for task in tasks:
        if task.fixed_start is not None:
            placements[task.key] = Placement(task.fixed_machine, task.fixed_start, task.fixed_end)
            continue
        machine = task.machines[0] if len(task.machines) == 1 else next(
            m for m, on in chosen[task.key].items() if solver.boolean_value(on))
        start = solver.value(starts[task.key])
        placements[task.key] = Placement(machine, start, start + task.duration)
    found_makespan, tardiness = measure(problem, placements)
    return Solution(status, placements, found_makespan, tardiness, time.perf_counter() - began, greedy_makespan,
                    {"bound": solver.best_objective_bound, "greedyTardiness": greedy_tardiness})
