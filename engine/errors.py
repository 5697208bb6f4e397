"""Errors the engine raises to its callers; the web layer maps each to one HTTP status."""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base class: a command was refused and nothing of it was committed."""

    status_code = 400


class NotFound(EngineError):
    status_code = 404


class Conflict(EngineError):
    """Another command changed the same instance first, or the target is no longer in that state."""

    status_code = 409


class CommitInDoubt(EngineError):
    """The database connection was lost during COMMIT: whether the command took effect is unknown, so unlike a
    failure before the commit it is not retried."""

    status_code = 503


@dataclass(frozen=True)
class ModelProblem:
    """One finding about a BPMN/DMN model: which element breaks which rule."""

    element: str | None
    rule: str
    message: str
    severity: str = "error"  # "error" blocks a deploy, "warning" is reported with it
    file: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"element": self.element, "rule": self.rule, "message": self.message,
                "severity": self.severity, "file": self.file}


class InvalidModel(EngineError):
    status_code = 422

    def __init__(self, problems: list[ModelProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(
            f"{p.file + ': ' if p.file else ''}{p.element or '-'}: [{p.rule}] {p.message}" for p in problems
        ))


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class IdempotencyKeyReused(EngineError):
    """An Idempotency-Key came back with a different request than the one it was first used with."""

    status_code = 422


class InvalidVariables(EngineError):
    """Submitted variables do not satisfy the task's form fields."""

    status_code = 422

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class ScriptError(EngineError):
    """A script or expression from a model was refused by the restricted evaluator."""

    status_code = 422
