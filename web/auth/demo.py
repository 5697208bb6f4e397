"""Demo people for `taktflow serve --demo`: one per department and per work center (see README)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.engine.core import Engine
from taktflow.web.auth.models import UserAccount
from taktflow.web.auth.service import create_user

DEMO_PASSWORD = "taktflow-demo"  # noqa: S105 - documented in README, only seeded by `serve --demo`
# The MES demo plant's work centers (mes-api.md); their operator group is operator_<work center>.
WORK_CENTERS = {"cut": "WC-CUT", "assy": "WC-ASSY", "pack": "WC-PACK"}
DEPARTMENTS = ("sales", "warehouse", "purchasing", "accounts_payable", "credit_control", "planner", "quality",
               "maintenance")

# name, role, groups, display name
DEMO_USERS: list[tuple[str, str, list[str], str]] = [
    ("admin", "admin", ["admin", *DEPARTMENTS, "production", *(f"operator_{wc}" for wc in WORK_CENTERS.values())],
     "Ada Admin"),
    ("designer", "designer", ["designer"], "Dana Designer"),
    ("ops", "operator", ["operations"], "Otto Operations"),
    ("sales", "worker", ["sales"], "Sam Sales"),
    ("warehouse", "worker", ["warehouse"], "Wanda Warehouse"),
    ("purchasing", "worker", ["purchasing"], "Paul Purchasing"),
    ("ap", "accountant", ["accounts_payable"], "Alex Payables"),
    ("credit", "worker", ["credit_control"], "Chris Credit"),
    ("planner", "worker", ["planner"], "Pat Planner"),
    ("quality", "worker", ["quality"], "Quinn Quality"),
    ("maintenance", "worker", ["maintenance", "production"], "Max Maintenance"),
    *((f"operator-{short}", "worker", [f"operator_{wc}", "production"], f"{wc} operator")
      for short, wc in WORK_CENTERS.items()),
]


def seed_users(engine: Engine) -> None:
    """Create the demo users that do not exist yet (running it again adds nothing)."""

    def work(session: Session) -> None:
        existing = set(session.scalars(select(UserAccount.name)))
        for name, role, groups, display in DEMO_USERS:
            if name not in existing:
                create_user(session, name, DEMO_PASSWORD, groups, role, engine.clock.now(), display_name=display)

    engine.command(work)
