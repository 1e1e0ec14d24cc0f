"""Initial store: journal, snapshots, orders, batches, fills, cancels, cursors.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

The journal is append-only: triggers refuse UPDATE and DELETE on both backends.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from relayer.store.columns import Uint256

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "journal",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("now_ms", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "snapshots",
        sa.Column("journal_seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("state_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.LargeBinary(32), primary_key=True),
        sa.Column("maker", sa.LargeBinary(20), nullable=False),
        sa.Column("series", sa.LargeBinary(32), nullable=False),
        sa.Column("is_buy", sa.Boolean(), nullable=False),
        sa.Column("price", Uint256(), nullable=False),
        sa.Column("amount", Uint256(), nullable=False),
        sa.Column("max_fee", Uint256(), nullable=False),
        sa.Column("nonce", Uint256(), nullable=False),
        sa.Column("expiry", Uint256(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("tif", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("remaining", Uint256(), nullable=False),
        sa.Column("cancel_reason", sa.String(32), nullable=True),
        sa.Column("created_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("created_seq"),
    )
    op.create_index("ix_orders_maker", "orders", ["maker"])
    op.create_index("ix_orders_series", "orders", ["series"])
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_table(
        "batches",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tx_hash", sa.LargeBinary(32), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("submitted_ms", sa.BigInteger(), nullable=True),
        sa.Column("settled_block", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_batches_status", "batches", ["status"])
    op.create_table(
        "fills",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.Column("series", sa.LargeBinary(32), nullable=False),
        sa.Column("book_seq", sa.BigInteger(), nullable=False),
        sa.Column("maker_order_id", sa.LargeBinary(32), sa.ForeignKey("orders.order_id"), nullable=False),
        sa.Column("taker_order_id", sa.LargeBinary(32), sa.ForeignKey("orders.order_id"), nullable=False),
        sa.Column("taker_is_buy", sa.Boolean(), nullable=False),
        sa.Column("price", Uint256(), nullable=False),
        sa.Column("amount", Uint256(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("batch_seq", sa.BigInteger(), sa.ForeignKey("batches.seq"), nullable=True),
        sa.Column("skip_reason", sa.String(64), nullable=True),
    )
    op.create_index("ix_fills_journal_seq", "fills", ["journal_seq"])
    op.create_index("ix_fills_maker_order_id", "fills", ["maker_order_id"])
    op.create_index("ix_fills_taker_order_id", "fills", ["taker_order_id"])
    op.create_index("ix_fills_status", "fills", ["status"])
    op.create_index("ix_fills_batch_seq", "fills", ["batch_seq"])
    op.create_index("ix_fills_series_book_seq", "fills", ["series", "book_seq"], unique=True)
    op.create_table(
        "cancels",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.LargeBinary(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("journal_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_cancels_order_id", "cancels", ["order_id"])
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    _journal_append_only()


def _journal_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION journal_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'journal is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal "
            "FOR EACH ROW EXECUTE FUNCTION journal_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER journal_no_{action.lower()} BEFORE {action} ON journal "
                "BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS journal_append_only ON journal")
        op.execute("DROP FUNCTION IF EXISTS journal_append_only()")
    for table in ("cursors", "cancels", "fills", "batches", "orders", "snapshots", "journal"):
        op.drop_table(table)
