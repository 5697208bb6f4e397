"""The PackML (ISA-TR88.00.02) state model: standard state numbers, commands and the one transitions table.

Machines report their *current* state (`Status.StateCurrent`), not commands. A reported change is allowed
when one command edge of the graph leads there, optionally followed by state-complete (SC) edges through
acting ("-ing") states that end by themselves: a fast machine may pass Holding between two samples, so
Execute → Held is fine, while Execute → Idle (needs Stop and Reset) is not.
"""

from __future__ import annotations

from enum import IntEnum


class State(IntEnum):
    UNDEFINED = 0
    CLEARING = 1
    STOPPED = 2
    STARTING = 3
    IDLE = 4
    SUSPENDED = 5
    EXECUTE = 6
    STOPPING = 7
    ABORTING = 8
    ABORTED = 9
    HOLDING = 10
    HELD = 11
    UNHOLDING = 12
    SUSPENDING = 13
    UNSUSPENDING = 14
    RESETTING = 15
    COMPLETING = 16
    COMPLETE = 17

    @property
    def label(self) -> str:
        return self.name.capitalize()


S = State
STOPPABLE = (S.RESETTING, S.IDLE, S.STARTING, S.EXECUTE, S.COMPLETING, S.COMPLETE, S.HOLDING, S.HELD,
             S.UNHOLDING, S.SUSPENDING, S.SUSPENDED, S.UNSUSPENDING)
ABORTABLE = tuple(s for s in State if s not in (S.UNDEFINED, S.ABORTING, S.ABORTED))

# Command edges: (command, from state) → to state.
COMMANDS: dict[tuple[str, State], State] = {
    **{("reset", s): S.RESETTING for s in (S.STOPPED, S.COMPLETE)},
    ("start", S.IDLE): S.STARTING,
    **{("stop", s): S.STOPPING for s in STOPPABLE},
    ("hold", S.EXECUTE): S.HOLDING,
    ("hold", S.SUSPENDED): S.HOLDING,
    ("unhold", S.HELD): S.UNHOLDING,
    ("suspend", S.EXECUTE): S.SUSPENDING,
    ("unsuspend", S.SUSPENDED): S.UNSUSPENDING,
    **{("abort", s): S.ABORTING for s in ABORTABLE},
    ("clear", S.ABORTED): S.CLEARING,
}
# State-complete edges: an acting state ends by itself (Execute's SC is "job done" → Completing).
STATE_COMPLETE: dict[State, State] = {
    S.CLEARING: S.STOPPED, S.STOPPING: S.STOPPED, S.ABORTING: S.ABORTED, S.RESETTING: S.IDLE,
    S.STARTING: S.EXECUTE, S.HOLDING: S.HELD, S.UNHOLDING: S.EXECUTE, S.SUSPENDING: S.SUSPENDED,
    S.UNSUSPENDING: S.EXECUTE, S.COMPLETING: S.COMPLETE, S.EXECUTE: S.COMPLETING,
}
ACTING = frozenset(s for s in STATE_COMPLETE if s is not S.EXECUTE)


def _sc_closure(state: State) -> set[State]:
    """Every state reachable from `state` by state-complete edges out of acting states (itself included)."""
    seen = {state}
    while state in ACTING:
        state = STATE_COMPLETE[state]
        seen.add(state)
    return seen


def _reachable(source: State) -> frozenset[State]:
    direct: set[State] = set()
    if source in STATE_COMPLETE:
        direct.add(STATE_COMPLETE[source])
    direct |= {to for (_, frm), to in COMMANDS.items() if frm == source}
    reach: set[State] = set()
    for nxt in direct:
        reach |= _sc_closure(nxt)
    # An acting state may also complete by itself before the next sample.
    if source in ACTING:
        reach |= _sc_closure(STATE_COMPLETE[source])
    reach.discard(source)
    return frozenset(reach)


ALLOWED: dict[State, frozenset[State]] = {s: _reachable(s) for s in State}

HELD_OR_STOPPED = frozenset({S.HELD, S.STOPPED, S.ABORTED})


def parse_state(value: object) -> State:
    """A state from its number or name ("Execute", "EXECUTE", 6, "6"); ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a PackML state")
    if isinstance(value, int | float) and float(value).is_integer():
        return State(int(value))
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():  # int() takes '١٢' but not '²'
            return State(int(text))
        try:
            return State[text.upper()]
        except KeyError:
            pass
    raise ValueError(f"{value!r} is not a PackML state (a number 0-17 or a name such as Execute)")


def transition_allowed(current: State, new: State, *, resync: bool = False) -> bool:
    """May the machine have gone from `current` to `new`? After Undefined or offline any state is a resync."""
    if current is S.UNDEFINED or resync:
        return True
    return new in ALLOWED[current]
