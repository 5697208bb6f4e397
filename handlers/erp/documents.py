"""What every ERP document shares: its state machine, numbers, and decimal arithmetic.

Each document class declares one `TRANSITIONS` table {(state, action): new state}; `transition()` is the
one place that enforces it (Tryton's Workflow.transition), so a booking happens only on an allowed move.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from taktflow.config import get_settings
from taktflow.handlers.erp.errors import ErpError, InvalidTransition

CENT = Decimal("0.01")
QTY = Decimal("0.0001")
# Quantity columns are Numeric(18, 4): 14 digits before the point. A larger number is a typo or an attack, and
# would fail as a database overflow (PostgreSQL) or a decimal precision error (quantize) instead of a message.
LIMIT = Decimal(10) ** 14


def dec(value: Any, what: str = "value") -> Decimal:
    """A Decimal from user or variable input; a clear error for anything that is not a number."""
    if isinstance(value, bool):
        raise ErpError(f"{what} must be a number")
    try:
        result = Decimal(str(value))
    except Exception:  # noqa: BLE001 - decimal raises several kinds
        raise ErpError(f"{what} must be a number, not {value!r}") from None
    if not result.is_finite():
        raise ErpError(f"{what} must be a finite number")
    if abs(result) >= LIMIT:
        raise ErpError(f"{what} is too large: at most 14 digits before the decimal point, not {fmt_short(result)}")
    return result


def fmt_short(value: Decimal) -> str:
    """A number of any size for a message: 1.5E+400 stays short, 2.5 stays 2.5."""
    return f"{value.normalize():E}" if abs(value.adjusted()) > 20 else fmt(value)


def money(value: Any) -> Decimal:
    return dec(value).quantize(CENT, rounding=ROUND_HALF_UP)


def qty(value: Any, what: str = "quantity") -> Decimal:
    return dec(value, what).quantize(QTY, rounding=ROUND_HALF_UP)


def positive_qty(value: Any, what: str = "quantity") -> Decimal:
    result = qty(value, what)
    if result <= 0:
        raise ErpError(f"{what} must be greater than zero")
    return result


@dataclass(frozen=True)
class NextStep:
    """What a person can do with a document now: post an action to a service, or open the task that does it.

    Offered only for moves the document's transitions table allows in its current state (or, for a payment,
    its invoices' table), so a button never invites a refusal the page could have foreseen.
    """

    action: str  # the transition (cancel, pay) or the user task's element id
    label: str
    href: str  # where the button posts, or the task page a link opens
    task: bool = False  # True: a link to the user task of the process that makes this move
    amount: Decimal | None = None  # a payment's proposed amount (what is open)
    permission: str = "work"  # what the person needs to take the step (a payment: finance)


class Stateful:
    """Mixin for document models with a `state` column and a transitions table."""

    TRANSITIONS: ClassVar[dict[tuple[str, str], str]] = {}
    LABEL: ClassVar[str] = "document"
    state: Any
    number: Any

    @classmethod
    def actions_from(cls, state: str) -> list[str]:
        return sorted(action for (source, action) in cls.TRANSITIONS if source == state)


def transition(doc: Stateful, action: str) -> str:
    """Move `doc` by `action` or refuse with the states and actions that are allowed."""
    target = type(doc).TRANSITIONS.get((doc.state, action))
    if target is None:
        allowed = type(doc).actions_from(doc.state)
        raise InvalidTransition(
            f"{doc.LABEL} {doc.number or ''} is {doc.state}: cannot {action}"
            + (f" (allowed: {', '.join(allowed)})" if allowed else " (no action is allowed in this state)")
        )
    doc.state = target
    return target


def fmt(value: Decimal) -> str:
    """A quantity or amount for a message: 5000, 2.5 (never 5E+3)."""
    text = format(value.normalize(), "f")
    return text

def as_float(value: Decimal | None) -> float | None:
    """Decimals as process variables (JSON numbers)."""
    return None if value is None else float(value)


def company_currency() -> str:
    """The currency the books are kept in (TAKTFLOW_CURRENCY, default EUR); refuses what is not ISO 4217-shaped."""
    code = get_settings().currency
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError(f"TAKTFLOW_CURRENCY must be a three-letter currency code such as EUR, not {code!r}")
    return code


def money_text(value: Any, currency: str | None = None) -> str:
    """An amount as accountants read it: 1,071.00 EUR (two decimals, thousands grouped, the currency code)."""
    if value is None or value == "":
        return ""
    return f"{money(value):,.2f} {currency or company_currency()}"
