"""Dead-man's switches: each maker's armed cancel-after deadline survives a restart.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

- `dead_man_switches`: one row per maker with an armed switch (`deadline_ms`, unix ms); written
  in the commit that acknowledges `cancel_after`, deleted on disarm and when the switch fires.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_man_switches",
        sa.Column("maker", sa.LargeBinary(20), primary_key=True),
        sa.Column("deadline_ms", sa.BigInteger(), nullable=False),
        sa.Column("armed_ms", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dead_man_switches")
