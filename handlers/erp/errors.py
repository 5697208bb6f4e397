"""ERP errors. They subclass the engine's errors, so the web layer answers them with a 4xx and a message."""

from __future__ import annotations

from taktflow.engine.errors import Conflict, EngineError, NotFound

__all__ = ["ErpError", "InvalidTransition", "NotFound", "Unbalanced"]


class ErpError(EngineError):
    """Bad input for a business document (unknown item, negative quantity, ...): nothing was booked."""

    status_code = 422


class Unbalanced(ErpError):
    """A journal entry whose debits and credits differ is refused."""


class InvalidTransition(Conflict):
    """The document's state does not allow this action (409)."""
