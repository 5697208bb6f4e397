"""Ledger and stock: balanced entries only, on hand is the sum of moves, valued moves post at once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from taktflow.handlers.erp.errors import ErpError, Unbalanced
from taktflow.handlers.erp.items.service import item_by_code
from taktflow.handlers.erp.ledger import service as ledger
from taktflow.handlers.erp.ledger.service import cr, dr
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.erp.stock.models import StockMove


def test_unbalanced_entry_is_refused_and_nothing_is_booked(erp):
    now = erp.engine.clock.now()
    with pytest.raises(Unbalanced, match="not balanced: debit 10.00 != credit 9.99"):
        erp.command(lambda s: ledger.post_entry(s, "t1", [dr(ledger.BANK, Decimal("10")),
                                                          cr(ledger.REVENUE, Decimal("9.99"))],
                                                memo="bad", posted_at=now))
    with pytest.raises(ErpError, match="unknown account"):
        erp.command(lambda s: ledger.post_entry(s, "t2", [dr("9999", Decimal(1)), cr(ledger.BANK, Decimal(1))],
                                                memo="bad", posted_at=now))
    with erp.read() as s:
        assert ledger.list_journal_entries(s, document_type=None) == [] or all(
            e.booking_key.startswith("move:seed:") for e in ledger.list_journal_entries(s, limit=1000))


def test_entry_posts_once_per_booking_key(erp):
    now = erp.engine.clock.now()
    lines = [dr(ledger.BANK, Decimal("100")), cr(ledger.OPENING_BALANCE, Decimal("100"))]
    first = erp.command(lambda s: ledger.post_entry(s, "capital", lines, memo="capital", posted_at=now).id)
    again = erp.command(lambda s: ledger.post_entry(s, "capital", lines, memo="capital", posted_at=now).id)
    assert first == again
    with erp.read() as s:
        assert ledger.account_balance(s, ledger.BANK) == Decimal("100.00")
        rows = {r.account: r for r in ledger.trial_balance(s)}
    assert rows[ledger.OPENING_BALANCE].credit > Decimal("100")  # opening stock + capital


def test_material_issue_and_finished_goods_receipt_post_wip_entries(erp):
    now = erp.engine.clock.now()

    def produce(s):
        steel, bracket = item_by_code(s, "RM-STEEL"), item_by_code(s, "FG-BRACKET")
        [(lot, _)] = stock.lots_on_hand(s, item_id=steel.id, location_id=stock.location_by_code(s, "WH1/STOCK").id)
        issue = stock.post_move(s, "wo1:issue", item_id=steel.id, quantity=Decimal("4"), lot_id=lot.id,
                                from_location="WH1/STOCK", to_location="WH1/WIP", moved_at=now,
                                document_type="work_order", document_number="WO-1")
        consume = stock.post_move(s, "wo1:consume", item_id=steel.id, quantity=Decimal("4"), lot_id=lot.id,
                                  from_location="WH1/WIP", to_location=stock.PRODUCTION, moved_at=now)
        fg_lot = stock.create_lot(s, item_id=bracket.id, code="BRK-0001", now=now, origin="WO-1")
        receipt = stock.post_move(s, "wo1:receipt", item_id=bracket.id, quantity=Decimal("1"), lot_id=fg_lot.id,
                                  from_location=stock.PRODUCTION, to_location="WH1/STOCK", moved_at=now,
                                  unit_cost=Decimal("10.00"))
        return issue.journal_entry_id, consume.journal_entry_id, receipt.journal_entry_id, fg_lot.id, bracket.id

    issue_entry, consume_entry, receipt_entry, fg_lot, bracket = erp.command(produce)
    assert consume_entry is None  # WIP location to production: one account, nothing to post
    with erp.read() as s:
        entries = {e.id: e for e in ledger.list_journal_entries(s, limit=1000)}
        assert [(ln.account_code, ln.debit, ln.credit) for ln in entries[issue_entry].lines] == [
            (ledger.WIP, Decimal("10.00"), 0), (ledger.RAW_MATERIALS, 0, Decimal("10.00"))]
        assert [(ln.account_code, ln.debit, ln.credit) for ln in entries[receipt_entry].lines] == [
            (ledger.FINISHED_GOODS, Decimal("10.00"), 0), (ledger.WIP, 0, Decimal("10.00"))]
        assert stock.on_hand(s, item_id=bracket, lot_id=fg_lot) == Decimal("1")


def test_moves_refuse_bad_input_and_book_nothing(erp):
    now = erp.engine.clock.now()

    def count(s):
        return s.query(StockMove).count()

    with erp.read() as s:
        before = count(s)
        steel, bolt = item_by_code(s, "RM-STEEL").id, item_by_code(s, "RM-BOLT").id
    cases = [
        (dict(item_id=bolt, quantity="-1", from_location="WH1/STOCK", to_location="WH1/QC"), "greater than zero"),
        (dict(item_id=bolt, quantity="1", from_location="WH1/STOCK", to_location="WH1/STOCK"), "two different"),
        (dict(item_id=steel, quantity="1", from_location="WH1/STOCK", to_location="WH1/WIP"), "lot-tracked"),
        (dict(item_id=bolt, quantity="5001", from_location="WH1/STOCK", to_location="WH1/WIP"), "only 5000"),
        (dict(item_id=bolt, quantity="abc", from_location="WH1/STOCK", to_location="WH1/WIP"), "must be a number"),
    ]
    for i, (kwargs, message) in enumerate(cases):
        with pytest.raises(ErpError, match=message):
            erp.command(lambda s, kwargs=kwargs, i=i: stock.post_move(s, f"bad{i}", moved_at=now, **kwargs))
    with erp.read() as s:
        assert count(s) == before


def test_reservations_hold_stock_and_on_hand_is_the_sum_of_moves(erp):
    now = erp.engine.clock.now()

    def work(s):
        bolt = item_by_code(s, "RM-BOLT")
        loc = stock.location_by_code(s, "WH1/STOCK")
        stock.reserve(s, "r1", item_id=bolt.id, location_id=loc.id, quantity=Decimal("4000"), now=now)
        partial = stock.reserve(s, "r2", item_id=bolt.id, location_id=loc.id, quantity=Decimal("2000"), now=now,
                                partial=True)
        with pytest.raises(ErpError, match="only 0 available"):
            stock.reserve(s, "r3", item_id=bolt.id, location_id=loc.id, quantity=Decimal("1"), now=now)
        stock.post_move(s, "qc", item_id=bolt.id, quantity=Decimal("100"), from_location=loc, to_location="WH1/QC",
                        moved_at=now)
        return bolt.id, loc.id, partial.quantity

    bolt, loc, partial = erp.command(work)
    assert partial == Decimal("1000")
    with erp.read() as s:
        assert stock.on_hand(s, item_id=bolt) == Decimal("5000")  # QC is still on hand
        assert stock.on_hand(s, item_id=bolt, location_id=loc) == Decimal("4900")
        assert stock.available(s, item_id=bolt, location_id=loc) == Decimal("-100")
        levels = {(lv.location_code, lv.lot_code): (lv.quantity, lv.reserved)
                  for lv in stock.stock_levels(s, item_id=bolt)}
    assert levels == {("WH1/QC", None): (Decimal("100"), Decimal("0")),
                      ("WH1/STOCK", None): (Decimal("4900"), Decimal("5000"))}


def test_seeding_twice_adds_nothing(erp):
    from taktflow.handlers.erp.seed import seed_master_data

    with erp.read() as s:
        before = (len(ledger.list_journal_entries(s, limit=1000)), s.query(StockMove).count())
    erp.command(lambda s: seed_master_data(s, erp.engine.clock.now()))
    with erp.read() as s:
        assert (len(ledger.list_journal_entries(s, limit=1000)), s.query(StockMove).count()) == before
