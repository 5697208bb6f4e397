"""ERP screens read the ERP slice's books: stock by item/location/lot, trial balance, orders."""

from __future__ import annotations

import re

from taktflow.handlers.erp.seed import seed_master_data


def test_stock_and_trial_balance_show_the_opening_bookings(pages, engine):
    engine.command(lambda s: seed_master_data(s, engine.clock.now()))
    sally = pages.login("sally")
    stock = sally.get("/erp/stock?item=steel").text
    rows = re.findall(r'<tr><td data-label="Item">([^<]+)</td><td data-label="Location">([^<]+)</td>'
                      r'<td data-label="Lot">([^<]+)</td>\s*<td data-label="On hand" class="num">([^<]+)<', stock)
    assert rows == [("RM-STEEL", "WH1/STOCK", "OPEN-STEEL-1", "1000")]
    assert sally.get("/erp/ledger").status_code == 403  # the books are for finance
    assert "/erp/ledger" not in sally.get("/erp/sales").text
    fiona = pages.login("fiona")
    ledger = fiona.get("/erp/ledger").text
    debit = re.search(r'id="total-debit">([^<]+)<', ledger).group(1)
    assert debit == re.search(r'id="total-credit">([^<]+)<', ledger).group(1)
    assert debit.endswith(" EUR") and float(debit.removesuffix(" EUR").replace(",", "")) > 0  # money with currency
    assert "balanced" in ledger and "NOT BALANCED" not in ledger
    steel = fiona.get("/erp/ledger?account=1210").text
    assert "Journal of account 1210" in steel and "Dr 1210" in steel
    for path in ("/erp/sales", "/erp/purchasing"):
        assert sally.get(path).status_code == 200
