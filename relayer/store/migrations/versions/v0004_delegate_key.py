"""Delegate-signed orders: which delegate key signed each order.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

- `orders.delegate_key`: the delegate key (`Exchange.setDelegate`) whose signature intake accepted
  for the order, NULL when the maker's own key or its ERC-1271 wallet signed. Written in the same
  row insert as the order, so it is as durable as the order itself; the venue reloads it for open
  orders at start-up and cancels them when the key is revoked (`delegate_revoked`) or expires
  (`delegate_expired`).

Orders stored before this revision keep NULL (no backfill: telling a delegate's signature from an
ERC-1271 wallet owner's needs the chain); a delegate-signed order still resting across the upgrade
is therefore not cancelled by the venue when its key dies (the exchange still skips its fills).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("delegate_key", sa.LargeBinary(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("delegate_key")
