"""Master data for demos and tests: chart of accounts, a warehouse, partners, items, opening stock.

Idempotent: every record is looked up by its code first, opening stock is booked under fixed keys.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from taktflow.handlers.erp.items.models import Item
from taktflow.handlers.erp.items.service import create_item
from taktflow.handlers.erp.ledger.service import seed_chart
from taktflow.handlers.erp.partners.models import Partner
from taktflow.handlers.erp.partners.service import create_partner
from taktflow.handlers.erp.stock import service as stock
from taktflow.handlers.erp.stock.models import Warehouse

WAREHOUSE = "WH1"
STOCK = f"{WAREHOUSE}/STOCK"

CUSTOMERS = [
    # code, name, credit limit, payment terms (days)
    ("C-ACME", "Acme Industrial Supply", "50000", 30),
    ("C-NORD", "Nordwerk Maschinenbau", "20000", 14),
    ("C-TINY", "Tiny Garage Ltd", "500", 14),
]
SUPPLIERS = [
    ("S-STEEL", "Ruhr Steel Trading", 30),
    ("S-PARTS", "Fastener Parts Co.", 30),
]
ITEMS = [
    # code, name, kind, procurement, uom, standard cost, sale price, lot tracked, supplier
    ("RM-STEEL", "Steel sheet 2 mm", "raw_material", "buy", "kg", "2.50", "0", True, "S-STEEL"),
    ("RM-BOLT", "Hex bolt M8", "raw_material", "buy", "pcs", "0.10", "0", False, "S-PARTS"),
    ("FG-BRACKET", "Mounting bracket", "finished_good", "make", "pcs", "12.00", "25.00", True, None),
    ("FG-FRAME", "Machine frame", "finished_good", "make", "pcs", "40.00", "90.00", False, None),
    ("MR-GLOVES", "Work gloves (pair)", "merchandise", "buy", "pcs", "3.00", "6.50", False, "S-PARTS"),
]
OPENING_STOCK = [
    # item, quantity, lot
    ("RM-STEEL", "1000", "OPEN-STEEL-1"),
    ("RM-BOLT", "5000", None),
    ("FG-BRACKET", "200", "OPEN-BRK-1"),
    ("FG-FRAME", "50", None),
    ("MR-GLOVES", "500", None),
]


def seed_master_data(session: Session, now: datetime) -> None:
    """Create what is missing; book opening stock once (Dr inventory accounts / Cr Opening balance)."""
    seed_chart(session)
    if session.scalar(select(Warehouse.id).where(Warehouse.code == WAREHOUSE)) is None:
        stock.create_warehouse(session, code=WAREHOUSE, name="Main warehouse")
    stock.ensure_virtual_locations(session)
    partners = set(session.scalars(select(Partner.code)))
    for code, name, limit, terms in CUSTOMERS:
        if code not in partners:
            create_partner(session, code=code, name=name, is_customer=True, credit_limit=Decimal(limit),
                           payment_terms_days=terms)
    for code, name, terms in SUPPLIERS:
        if code not in partners:
            create_partner(session, code=code, name=name, is_supplier=True, payment_terms_days=terms)
    suppliers = {p.code: p.id for p in session.scalars(select(Partner))}
    items = set(session.scalars(select(Item.code)))
    for code, name, kind, procurement, uom, cost, price, lot_tracked, supplier in ITEMS:
        if code not in items:
            create_item(session, code=code, name=name, kind=kind, procurement=procurement, uom=uom,
                        standard_cost=Decimal(cost), sale_price=Decimal(price), lot_tracked=lot_tracked,
                        default_supplier_id=suppliers.get(supplier) if supplier else None)
    by_code = {i.code: i for i in session.scalars(select(Item))}
    for code, quantity, lot_code in OPENING_STOCK:
        item = by_code[code]
        lot = stock.create_lot(session, item_id=item.id, code=lot_code, now=now, origin="opening") if lot_code else None
        stock.post_move(session, f"seed:opening:{code}", item_id=item.id, quantity=Decimal(quantity),
                        from_location=stock.OPENING, to_location=STOCK, moved_at=now, lot_id=lot.id if lot else None,
                        document_type="opening", document_number="OPENING", memo=f"Opening stock {code}")
    session.flush()
