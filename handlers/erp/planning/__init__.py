"""MRP: what to make and buy, and when, from demand, stock and open supply (ERP planning, ISA-95 level 4)."""
