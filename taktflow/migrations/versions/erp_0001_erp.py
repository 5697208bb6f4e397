"""ERP: chart of accounts, journal, partners, items, stock, sales, invoicing, purchasing

Revision ID: erp_0001
Revises: 0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = 'erp_0001'
down_revision = '0001'
branch_labels = ('erp',)
depends_on = None


def upgrade() -> None:
    op.create_table('erp_account',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_erp_account'))
    )
    op.create_table('erp_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('uom', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('procurement', sa.String(length=10), nullable=False),
    sa.Column('standard_cost', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('sale_price', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('lot_tracked', sa.Boolean(), nullable=False),
    sa.Column('default_supplier_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_item')),
    sa.UniqueConstraint('code', name=op.f('uq_erp_item_code'))
    )
    op.create_table('erp_journal_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_key', sa.String(length=200), nullable=False),
    sa.Column('posted_at', sa.DateTime(), nullable=False),
    sa.Column('memo', sa.String(length=400), nullable=False),
    sa.Column('document_type', sa.String(length=40), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('document_number', sa.String(length=40), nullable=True),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_journal_entry')),
    sa.UniqueConstraint('booking_key', name=op.f('uq_erp_journal_entry_booking_key'))
    )
    with op.batch_alter_table('erp_journal_entry', schema=None) as batch_op:
        batch_op.create_index('ix_erp_journal_entry_document', ['document_type', 'document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_journal_entry_instance_id'), ['instance_id'], unique=False)

    op.create_table('erp_partner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('is_customer', sa.Boolean(), nullable=False),
    sa.Column('is_supplier', sa.Boolean(), nullable=False),
    sa.Column('credit_limit', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('payment_terms_days', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_partner')),
    sa.UniqueConstraint('code', name=op.f('uq_erp_partner_code'))
    )
    op.create_table('erp_warehouse',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_warehouse')),
    sa.UniqueConstraint('code', name=op.f('uq_erp_warehouse_code'))
    )
    op.create_table('erp_journal_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('account_code', sa.String(length=20), nullable=False),
    sa.Column('debit', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('credit', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['account_code'], ['erp_account.code'], name=op.f('fk_erp_journal_line_account_code_erp_account')),
    sa.ForeignKeyConstraint(['entry_id'], ['erp_journal_entry.id'], name=op.f('fk_erp_journal_line_entry_id_erp_journal_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_journal_line'))
    )
    with op.batch_alter_table('erp_journal_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_journal_line_account_code'), ['account_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_journal_line_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_journal_line_partner_id'), ['partner_id'], unique=False)

    op.create_table('erp_location',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('usage', sa.String(length=20), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['warehouse_id'], ['erp_warehouse.id'], name=op.f('fk_erp_location_warehouse_id_erp_warehouse')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_location')),
    sa.UniqueConstraint('code', name=op.f('uq_erp_location_code'))
    )
    op.create_table('erp_lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('origin', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['erp_item.id'], name=op.f('fk_erp_lot_item_id_erp_item')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_lot'))
    )
    with op.batch_alter_table('erp_lot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_lot_item_id'), ['item_id'], unique=False)
        batch_op.create_index('uq_erp_lot_item_code', ['item_id', 'code'], unique=True)

    op.create_table('erp_reservation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_key', sa.String(length=200), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('document_type', sa.String(length=40), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('document_line_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['erp_item.id'], name=op.f('fk_erp_reservation_item_id_erp_item')),
    sa.ForeignKeyConstraint(['location_id'], ['erp_location.id'], name=op.f('fk_erp_reservation_location_id_erp_location')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_reservation')),
    sa.UniqueConstraint('booking_key', name=op.f('uq_erp_reservation_booking_key'))
    )
    with op.batch_alter_table('erp_reservation', schema=None) as batch_op:
        batch_op.create_index('ix_erp_reservation_document', ['document_type', 'document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_reservation_item_id'), ['item_id'], unique=False)

    op.create_table('erp_sales_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('ordered_at', sa.DateTime(), nullable=False),
    sa.Column('source_location_id', sa.Integer(), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=6, scale=4), nullable=False),
    sa.Column('net_total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('tax_total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('customer_reference', sa.String(length=100), nullable=True),
    sa.Column('credit_note', sa.String(length=400), nullable=True),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['erp_partner.id'], name=op.f('fk_erp_sales_order_customer_id_erp_partner')),
    sa.ForeignKeyConstraint(['source_location_id'], ['erp_location.id'], name=op.f('fk_erp_sales_order_source_location_id_erp_location')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_sales_order')),
    sa.UniqueConstraint('number', name=op.f('uq_erp_sales_order_number'))
    )
    with op.batch_alter_table('erp_sales_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_sales_order_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_sales_order_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_sales_order_state'), ['state'], unique=False)

    op.create_table('erp_stock_move',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_key', sa.String(length=200), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('from_location_id', sa.Integer(), nullable=False),
    sa.Column('to_location_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('value', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('moved_at', sa.DateTime(), nullable=False),
    sa.Column('document_type', sa.String(length=40), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('document_number', sa.String(length=40), nullable=True),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.Column('journal_entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['from_location_id'], ['erp_location.id'], name=op.f('fk_erp_stock_move_from_location_id_erp_location')),
    sa.ForeignKeyConstraint(['item_id'], ['erp_item.id'], name=op.f('fk_erp_stock_move_item_id_erp_item')),
    sa.ForeignKeyConstraint(['journal_entry_id'], ['erp_journal_entry.id'], name=op.f('fk_erp_stock_move_journal_entry_id_erp_journal_entry')),
    sa.ForeignKeyConstraint(['lot_id'], ['erp_lot.id'], name=op.f('fk_erp_stock_move_lot_id_erp_lot')),
    sa.ForeignKeyConstraint(['to_location_id'], ['erp_location.id'], name=op.f('fk_erp_stock_move_to_location_id_erp_location')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_stock_move')),
    sa.UniqueConstraint('booking_key', name=op.f('uq_erp_stock_move_booking_key'))
    )
    with op.batch_alter_table('erp_stock_move', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_stock_move_from_location_id'), ['from_location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_stock_move_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_stock_move_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_stock_move_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_stock_move_to_location_id'), ['to_location_id'], unique=False)

    op.create_table('erp_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('booking_key', sa.String(length=200), nullable=False),
    sa.Column('is_backorder', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('shipped_at', sa.DateTime(), nullable=True),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['erp_sales_order.id'], name=op.f('fk_erp_delivery_order_id_erp_sales_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_delivery')),
    sa.UniqueConstraint('booking_key', name=op.f('uq_erp_delivery_booking_key')),
    sa.UniqueConstraint('number', name=op.f('uq_erp_delivery_number'))
    )
    with op.batch_alter_table('erp_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_delivery_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_delivery_order_id'), ['order_id'], unique=False)

    op.create_table('erp_requisition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('sales_order_id', sa.Integer(), nullable=True),
    sa.Column('destination_location_id', sa.Integer(), nullable=False),
    sa.Column('estimated_total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('approval_level', sa.String(length=20), nullable=True),
    sa.Column('decision_note', sa.String(length=400), nullable=True),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['destination_location_id'], ['erp_location.id'], name=op.f('fk_erp_requisition_destination_location_id_erp_location')),
    sa.ForeignKeyConstraint(['sales_order_id'], ['erp_sales_order.id'], name=op.f('fk_erp_requisition_sales_order_id_erp_sales_order')),
    sa.ForeignKeyConstraint(['supplier_id'], ['erp_partner.id'], name=op.f('fk_erp_requisition_supplier_id_erp_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_requisition')),
    sa.UniqueConstraint('number', name=op.f('uq_erp_requisition_number'))
    )
    with op.batch_alter_table('erp_requisition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_requisition_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_requisition_state'), ['state'], unique=False)

    op.create_table('erp_sales_order_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('delivered_qty', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('replenishment_qty', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['erp_item.id'], name=op.f('fk_erp_sales_order_line_item_id_erp_item')),
    sa.ForeignKeyConstraint(['order_id'], ['erp_sales_order.id'], name=op.f('fk_erp_sales_order_line_order_id_erp_sales_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_sales_order_line'))
    )
    with op.batch_alter_table('erp_sales_order_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_sales_order_line_order_id'), ['order_id'], unique=False)

    op.create_table('erp_customer_invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('booking_key', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('invoice_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('net_total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('tax_total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('paid_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('dunning_level', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['erp_partner.id'], name=op.f('fk_erp_customer_invoice_customer_id_erp_partner')),
    sa.ForeignKeyConstraint(['delivery_id'], ['erp_delivery.id'], name=op.f('fk_erp_customer_invoice_delivery_id_erp_delivery')),
    sa.ForeignKeyConstraint(['order_id'], ['erp_sales_order.id'], name=op.f('fk_erp_customer_invoice_order_id_erp_sales_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_customer_invoice')),
    sa.UniqueConstraint('booking_key', name=op.f('uq_erp_customer_invoice_booking_key')),
    sa.UniqueConstraint('number', name=op.f('uq_erp_customer_invoice_number'))
    )
    with op.batch_alter_table('erp_customer_invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_customer_invoice_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_customer_invoice_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_customer_invoice_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_customer_invoice_state'), ['state'], unique=False)

    op.create_table('erp_delivery_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('shipped_qty', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('cost_value', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['erp_delivery.id'], name=op.f('fk_erp_delivery_line_delivery_id_erp_delivery')),
    sa.ForeignKeyConstraint(['item_id'], ['erp_item.id'], name=op.f('fk_erp_delivery_line_item_id_erp_item')),
    sa.ForeignKeyConstraint(['order_line_id'], ['erp_sales_order_line.id'], name=op.f('fk_erp_delivery_line_order_line_id_erp_sales_order_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_delivery_line'))
    )
    with op.batch_alter_table('erp_delivery_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_delivery_line_delivery_id'), ['delivery_id'], unique=False)

    op.create_table('erp_purchase_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('booking_key', sa.String(length=200), nullable=False),
    sa.Column('requisition_id', sa.Integer(), nullable=True),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('ordered_at', sa.DateTime(), nullable=False),
    sa.Column('destination_location_id', sa.Integer(), nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['destination_location_id'], ['erp_location.id'], name=op.f('fk_erp_purchase_order_destination_location_id_erp_location')),
    sa.ForeignKeyConstraint(['requisition_id'], ['erp_requisition.id'], name=op.f('fk_erp_purchase_order_requisition_id_erp_requisition')),
    sa.ForeignKeyConstraint(['supplier_id'], ['erp_partner.id'], name=op.f('fk_erp_purchase_order_supplier_id_erp_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_purchase_order')),
    sa.UniqueConstraint('booking_key', name=op.f('uq_erp_purchase_order_booking_key')),
    sa.UniqueConstraint('number', name=op.f('uq_erp_purchase_order_number'))
    )
    with op.batch_alter_table('erp_purchase_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_purchase_order_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_purchase_order_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_purchase_order_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('erp_requisition_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requisition_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('sales_order_line_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['erp_item.id'], name=op.f('fk_erp_requisition_line_item_id_erp_item')),
    sa.ForeignKeyConstraint(['requisition_id'], ['erp_requisition.id'], name=op.f('fk_erp_requisition_line_requisition_id_erp_requisition')),
    sa.ForeignKeyConstraint(['sales_order_line_id'], ['erp_sales_order_line.id'], name=op.f('fk_erp_requisition_line_sales_order_line_id_erp_sales_order_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_requisition_line'))
    )
    with op.batch_alter_table('erp_requisition_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_requisition_line_requisition_id'), ['requisition_id'], unique=False)

    op.create_table('erp_purchase_order_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('received_qty', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('billed_qty', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['erp_item.id'], name=op.f('fk_erp_purchase_order_line_item_id_erp_item')),
    sa.ForeignKeyConstraint(['order_id'], ['erp_purchase_order.id'], name=op.f('fk_erp_purchase_order_line_order_id_erp_purchase_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_purchase_order_line'))
    )
    with op.batch_alter_table('erp_purchase_order_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_purchase_order_line_order_id'), ['order_id'], unique=False)

    op.create_table('erp_receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('booking_key', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['erp_purchase_order.id'], name=op.f('fk_erp_receipt_order_id_erp_purchase_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_receipt')),
    sa.UniqueConstraint('booking_key', name=op.f('uq_erp_receipt_booking_key')),
    sa.UniqueConstraint('number', name=op.f('uq_erp_receipt_number'))
    )
    with op.batch_alter_table('erp_receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_receipt_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_receipt_order_id'), ['order_id'], unique=False)

    op.create_table('erp_vendor_bill',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('booking_key', sa.String(length=200), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('purchase_order_id', sa.Integer(), nullable=False),
    sa.Column('supplier_reference', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('bill_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('match_status', sa.String(length=20), nullable=True),
    sa.Column('match_issues', sa.JSON(), nullable=False),
    sa.Column('resolution_note', sa.String(length=400), nullable=True),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['purchase_order_id'], ['erp_purchase_order.id'], name=op.f('fk_erp_vendor_bill_purchase_order_id_erp_purchase_order')),
    sa.ForeignKeyConstraint(['supplier_id'], ['erp_partner.id'], name=op.f('fk_erp_vendor_bill_supplier_id_erp_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_vendor_bill')),
    sa.UniqueConstraint('booking_key', name=op.f('uq_erp_vendor_bill_booking_key')),
    sa.UniqueConstraint('number', name=op.f('uq_erp_vendor_bill_number'))
    )
    with op.batch_alter_table('erp_vendor_bill', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_vendor_bill_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_vendor_bill_purchase_order_id'), ['purchase_order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_vendor_bill_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_vendor_bill_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('erp_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('booking_key', sa.String(length=200), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('paid_at', sa.DateTime(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('vendor_bill_id', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['erp_customer_invoice.id'], name=op.f('fk_erp_payment_invoice_id_erp_customer_invoice')),
    sa.ForeignKeyConstraint(['partner_id'], ['erp_partner.id'], name=op.f('fk_erp_payment_partner_id_erp_partner')),
    sa.ForeignKeyConstraint(['vendor_bill_id'], ['erp_vendor_bill.id'], name=op.f('fk_erp_payment_vendor_bill_id_erp_vendor_bill')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_payment')),
    sa.UniqueConstraint('booking_key', name=op.f('uq_erp_payment_booking_key')),
    sa.UniqueConstraint('number', name=op.f('uq_erp_payment_number'))
    )
    with op.batch_alter_table('erp_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_payment_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_erp_payment_partner_id'), ['partner_id'], unique=False)

    op.create_table('erp_receipt_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('po_line_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['erp_item.id'], name=op.f('fk_erp_receipt_line_item_id_erp_item')),
    sa.ForeignKeyConstraint(['lot_id'], ['erp_lot.id'], name=op.f('fk_erp_receipt_line_lot_id_erp_lot')),
    sa.ForeignKeyConstraint(['po_line_id'], ['erp_purchase_order_line.id'], name=op.f('fk_erp_receipt_line_po_line_id_erp_purchase_order_line')),
    sa.ForeignKeyConstraint(['receipt_id'], ['erp_receipt.id'], name=op.f('fk_erp_receipt_line_receipt_id_erp_receipt')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_receipt_line'))
    )
    with op.batch_alter_table('erp_receipt_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_receipt_line_receipt_id'), ['receipt_id'], unique=False)

    op.create_table('erp_vendor_bill_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('po_line_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['bill_id'], ['erp_vendor_bill.id'], name=op.f('fk_erp_vendor_bill_line_bill_id_erp_vendor_bill')),
    sa.ForeignKeyConstraint(['item_id'], ['erp_item.id'], name=op.f('fk_erp_vendor_bill_line_item_id_erp_item')),
    sa.ForeignKeyConstraint(['po_line_id'], ['erp_purchase_order_line.id'], name=op.f('fk_erp_vendor_bill_line_po_line_id_erp_purchase_order_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erp_vendor_bill_line'))
    )
    with op.batch_alter_table('erp_vendor_bill_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erp_vendor_bill_line_bill_id'), ['bill_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('erp_vendor_bill_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_vendor_bill_line_bill_id'))

    op.drop_table('erp_vendor_bill_line')
    with op.batch_alter_table('erp_receipt_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_receipt_line_receipt_id'))

    op.drop_table('erp_receipt_line')
    with op.batch_alter_table('erp_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_payment_partner_id'))
        batch_op.drop_index(batch_op.f('ix_erp_payment_instance_id'))

    op.drop_table('erp_payment')
    with op.batch_alter_table('erp_vendor_bill', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_vendor_bill_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_erp_vendor_bill_state'))
        batch_op.drop_index(batch_op.f('ix_erp_vendor_bill_purchase_order_id'))
        batch_op.drop_index(batch_op.f('ix_erp_vendor_bill_instance_id'))

    op.drop_table('erp_vendor_bill')
    with op.batch_alter_table('erp_receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_receipt_order_id'))
        batch_op.drop_index(batch_op.f('ix_erp_receipt_instance_id'))

    op.drop_table('erp_receipt')
    with op.batch_alter_table('erp_purchase_order_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_purchase_order_line_order_id'))

    op.drop_table('erp_purchase_order_line')
    with op.batch_alter_table('erp_requisition_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_requisition_line_requisition_id'))

    op.drop_table('erp_requisition_line')
    with op.batch_alter_table('erp_purchase_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_purchase_order_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_erp_purchase_order_state'))
        batch_op.drop_index(batch_op.f('ix_erp_purchase_order_instance_id'))

    op.drop_table('erp_purchase_order')
    with op.batch_alter_table('erp_delivery_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_delivery_line_delivery_id'))

    op.drop_table('erp_delivery_line')
    with op.batch_alter_table('erp_customer_invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_customer_invoice_state'))
        batch_op.drop_index(batch_op.f('ix_erp_customer_invoice_order_id'))
        batch_op.drop_index(batch_op.f('ix_erp_customer_invoice_instance_id'))
        batch_op.drop_index(batch_op.f('ix_erp_customer_invoice_customer_id'))

    op.drop_table('erp_customer_invoice')
    with op.batch_alter_table('erp_sales_order_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_sales_order_line_order_id'))

    op.drop_table('erp_sales_order_line')
    with op.batch_alter_table('erp_requisition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_requisition_state'))
        batch_op.drop_index(batch_op.f('ix_erp_requisition_instance_id'))

    op.drop_table('erp_requisition')
    with op.batch_alter_table('erp_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_delivery_order_id'))
        batch_op.drop_index(batch_op.f('ix_erp_delivery_instance_id'))

    op.drop_table('erp_delivery')
    with op.batch_alter_table('erp_stock_move', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_stock_move_to_location_id'))
        batch_op.drop_index(batch_op.f('ix_erp_stock_move_lot_id'))
        batch_op.drop_index(batch_op.f('ix_erp_stock_move_item_id'))
        batch_op.drop_index(batch_op.f('ix_erp_stock_move_instance_id'))
        batch_op.drop_index(batch_op.f('ix_erp_stock_move_from_location_id'))

    op.drop_table('erp_stock_move')
    with op.batch_alter_table('erp_sales_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_sales_order_state'))
        batch_op.drop_index(batch_op.f('ix_erp_sales_order_instance_id'))
        batch_op.drop_index(batch_op.f('ix_erp_sales_order_customer_id'))

    op.drop_table('erp_sales_order')
    with op.batch_alter_table('erp_reservation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_reservation_item_id'))
        batch_op.drop_index('ix_erp_reservation_document')

    op.drop_table('erp_reservation')
    with op.batch_alter_table('erp_lot', schema=None) as batch_op:
        batch_op.drop_index('uq_erp_lot_item_code')
        batch_op.drop_index(batch_op.f('ix_erp_lot_item_id'))

    op.drop_table('erp_lot')
    op.drop_table('erp_location')
    with op.batch_alter_table('erp_journal_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_journal_line_partner_id'))
        batch_op.drop_index(batch_op.f('ix_erp_journal_line_entry_id'))
        batch_op.drop_index(batch_op.f('ix_erp_journal_line_account_code'))

    op.drop_table('erp_journal_line')
    op.drop_table('erp_warehouse')
    op.drop_table('erp_partner')
    with op.batch_alter_table('erp_journal_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erp_journal_entry_instance_id'))
        batch_op.drop_index('ix_erp_journal_entry_document')

    op.drop_table('erp_journal_entry')
    op.drop_table('erp_item')
    op.drop_table('erp_account')
