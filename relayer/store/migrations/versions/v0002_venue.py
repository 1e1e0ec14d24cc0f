"""Venue columns: client order ids, per-fill fees, the indexer's reorg window.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

- `orders.client_id`: the client's own tag, echoed back (nullable).
- `fills.maker_fee`, `fills.taker_fee`: fee rates (quote base units per option) the batcher
  charges; stored when the fill is batched so a resubmitted batch has the same content.
- `indexer_window`: the chain events of the indexer's reorg window (the relayer's
  `IndexerStore`; the cursor itself lives in `cursors`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from relayer.store.columns import Uint256

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("client_id", sa.String(64), nullable=True))
    with op.batch_alter_table("fills") as batch:
        batch.add_column(sa.Column("maker_fee", Uint256(), nullable=True))
        batch.add_column(sa.Column("taker_fee", Uint256(), nullable=True))
    op.create_table(
        "indexer_window",
        sa.Column("block_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("log_index", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
    )
    op.create_index("ix_indexer_window_block_number", "indexer_window", ["block_number"])


def downgrade() -> None:
    op.drop_index("ix_indexer_window_block_number", "indexer_window")
    op.drop_table("indexer_window")
    with op.batch_alter_table("fills") as batch:
        batch.drop_column("taker_fee")
        batch.drop_column("maker_fee")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("client_id")
