"""Posting balanced journal entries, and reading balances: the trial balance and account ledgers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from taktflow.handlers.erp.documents import money
from taktflow.handlers.erp.errors import ErpError, NotFound, Unbalanced
from taktflow.handlers.erp.ledger.models import Account, JournalEntry, JournalLine

# Account codes the ERP and MES slices book to. One name per account, used everywhere.
BANK = "1000"
RECEIVABLE = "1100"
INVENTORY = "1200"  # merchandise bought for resale
RAW_MATERIALS = "1210"
WIP = "1220"
FINISHED_GOODS = "1230"
DELIVERED_NOT_INVOICED = "1250"  # Odoo's "stock interim (delivered)": anglo-saxon COGS at invoice
PAYABLE = "2000"
GRIR = "2100"  # goods received, not invoiced
TAX = "2300"
OPENING_BALANCE = "3000"
REVENUE = "4000"
COGS = "5000"
PRICE_VARIANCE = "5100"
SCRAP = "5200"
APPLIED_CONVERSION = "5300"  # production: work-center hours charged to WIP (credit side of conversion cost)
USAGE_VARIANCE = "5400"  # production: material consumed above (debit) or below (credit) the BOM standard

CHART: list[tuple[str, str, str]] = [
    (BANK, "Bank", "asset"),
    (RECEIVABLE, "Accounts receivable", "asset"),
    (INVENTORY, "Inventory (merchandise)", "asset"),
    (RAW_MATERIALS, "Raw materials", "asset"),
    (WIP, "Work in progress", "asset"),
    (FINISHED_GOODS, "Finished goods", "asset"),
    (DELIVERED_NOT_INVOICED, "Delivered, not invoiced", "asset"),
    (PAYABLE, "Accounts payable", "liability"),
    (GRIR, "Goods received, not invoiced (GR/IR)", "liability"),
    (TAX, "Sales tax payable", "liability"),
    (OPENING_BALANCE, "Opening balance equity", "equity"),
    (REVENUE, "Revenue", "income"),
    (COGS, "Cost of goods sold", "expense"),
    (PRICE_VARIANCE, "Purchase price variance", "expense"),
    (SCRAP, "Scrap and inventory loss", "expense"),
    (APPLIED_CONVERSION, "Applied conversion cost", "expense"),
    (USAGE_VARIANCE, "Material usage variance", "expense"),
]


@dataclass(frozen=True)
class Line:
    """One line to post: a positive `debit` or a positive `credit` on an account."""

    account: str
    debit: Decimal = Decimal("0")
    credit: Decimal = Decimal("0")
    partner_id: int | None = None
    item_id: int | None = None
    label: str | None = None


def dr(account: str, amount: Decimal, **kw: object) -> Line:
    """A debit of `amount` (a negative amount becomes a credit)."""
    amount = money(amount)
    return Line(account, debit=amount, **kw) if amount >= 0 else Line(account, credit=-amount, **kw)  # type: ignore[arg-type]


def cr(account: str, amount: Decimal, **kw: object) -> Line:
    """A credit of `amount` (a negative amount becomes a debit)."""
    return dr(account, -money(amount), **kw)


def seed_chart(session: Session) -> None:
    """Create the chart of accounts (idempotent)."""
    existing = set(session.scalars(select(Account.code)))
    for code, name, kind in CHART:
        if code not in existing:
            session.add(Account(code=code, name=name, kind=kind))
    session.flush()


def post_entry(
    session: Session, booking_key: str, lines: list[Line], *, memo: str, posted_at: datetime,
    document_type: str | None = None, document_id: int | None = None, document_number: str | None = None,
    instance_id: str | None = None,
) -> JournalEntry:
    """Post a balanced entry once per `booking_key`: a second call with the key returns the first entry.

    Refused (Unbalanced) when debits and credits differ or nothing is posted; refused (ErpError) for an
    unknown account. Zero lines are dropped.
    """
    existing = session.scalar(select(JournalEntry).where(JournalEntry.booking_key == booking_key))
    if existing is not None:
        return existing
    lines = [ln for ln in lines if money(ln.debit) != 0 or money(ln.credit) != 0]
    if not lines:
        raise Unbalanced(f"journal entry {memo!r} has no amounts")
    for ln in lines:
        if money(ln.debit) < 0 or money(ln.credit) < 0:
            raise Unbalanced(f"journal entry {memo!r}: debit and credit amounts must not be negative")
    debit = sum((money(ln.debit) for ln in lines), Decimal("0"))
    credit = sum((money(ln.credit) for ln in lines), Decimal("0"))
    if debit != credit:
        raise Unbalanced(f"journal entry {memo!r} is not balanced: debit {debit} != credit {credit}")
    known = set(session.scalars(select(Account.code).where(Account.code.in_({ln.account for ln in lines}))))
    unknown = sorted({ln.account for ln in lines} - known)
    if unknown:
        raise ErpError(f"unknown account(s) {', '.join(unknown)}: seed the chart of accounts first")
    entry = JournalEntry(
        booking_key=booking_key, posted_at=posted_at, memo=memo[:400], document_type=document_type,
        document_id=document_id, document_number=document_number, instance_id=instance_id,
        lines=[JournalLine(account_code=ln.account, debit=money(ln.debit), credit=money(ln.credit),
                           partner_id=ln.partner_id, item_id=ln.item_id, label=ln.label) for ln in lines],
    )
    session.add(entry)
    session.flush()
    return entry


# --- reading -------------------------------------------------------------------------------------------


def list_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.code)))


def get_account(session: Session, code: str) -> Account:
    account = session.get(Account, code)
    if account is None:
        raise NotFound(f"account {code} does not exist")
    return account


def journal_query(
    *, document_type: str | None = None, document_id: int | None = None, instance_id: str | None = None,
    account: str | None = None,
) -> Select[tuple[JournalEntry]]:
    stmt = select(JournalEntry).options(selectinload(JournalEntry.lines))
    if document_type:
        stmt = stmt.where(JournalEntry.document_type == document_type)
    if document_id is not None:
        stmt = stmt.where(JournalEntry.document_id == document_id)
    if instance_id:
        stmt = stmt.where(JournalEntry.instance_id == instance_id)
    if account:
        stmt = stmt.where(JournalEntry.id.in_(select(JournalLine.entry_id).where(JournalLine.account_code == account)))
    return stmt.order_by(JournalEntry.id)


def list_journal_entries(
    session: Session, *, limit: int = 100, offset: int = 0, **filters: object,
) -> list[JournalEntry]:
    return list(session.scalars(journal_query(**filters).limit(limit).offset(offset)))  # type: ignore[arg-type]


@dataclass(frozen=True)
class BalanceRow:
    account: str
    name: str
    kind: str
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        """Debit minus credit."""
        return self.debit - self.credit


def trial_balance(session: Session) -> list[BalanceRow]:
    """Sum of debits and credits per account (every account of the chart, zero rows included)."""
    sums = {
        code: (debit or Decimal("0"), credit or Decimal("0"))
        for code, debit, credit in session.execute(
            select(JournalLine.account_code, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
            .group_by(JournalLine.account_code)
        )
    }
    return [
        BalanceRow(a.code, a.name, a.kind, money(sums.get(a.code, (0, 0))[0]), money(sums.get(a.code, (0, 0))[1]))
        for a in list_accounts(session)
    ]


def account_balance(session: Session, code: str, *, partner_id: int | None = None) -> Decimal:
    """Debit minus credit of one account (optionally of one partner's lines)."""
    stmt = select(func.coalesce(func.sum(JournalLine.debit), 0) - func.coalesce(func.sum(JournalLine.credit), 0)).where(
        JournalLine.account_code == code
    )
    if partner_id is not None:
        stmt = stmt.where(JournalLine.partner_id == partner_id)
    return money(session.scalar(stmt) or 0)


def account_ledger(
    session: Session, code: str, *, limit: int = 500, offset: int = 0,
) -> list[tuple[JournalLine, JournalEntry]]:
    """The lines of one account in posting order, with their entries."""
    get_account(session, code)
    stmt = (select(JournalLine, JournalEntry).join(JournalEntry, JournalLine.entry_id == JournalEntry.id)
            .where(JournalLine.account_code == code).order_by(JournalEntry.id, JournalLine.id)
            .limit(limit).offset(offset))
    return [(line, entry) for line, entry in session.execute(stmt)]
