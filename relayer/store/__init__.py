"""The relayer's durable state: SQLAlchemy models, migrations, group commit and the input journal.

Start-up: `upgrade(url)`, then `engine = connect(url)`; every input is written through a
`GroupCommitter` (journal entry + order/event rows in one shared transaction) and acknowledged
when its commit returns; `journal.rebuild(session, clock)` restores the matching engine.
"""

from relayer.store import journal
from relayer.store.columns import UINT256_MAX, Uint256
from relayer.store.database import SQLITE_PRAGMAS, connect, sqlite_url
from relayer.store.errors import CommitFailed, StoreClosed, StoreError
from relayer.store.group_commit import GroupCommitter
from relayer.store.migrate import current_revision, upgrade
from relayer.store.models import (
    BatchRow,
    BatchStatus,
    CancelRow,
    CursorRow,
    DeadManRow,
    FillRow,
    FillStatus,
    JournalRow,
    OrderRow,
    OrderStatus,
    SnapshotRow,
)
from relayer.store.records import (
    SignedOrder,
    get_cursor,
    insert_cancel,
    insert_order,
    open_orders,
    record_events,
    set_cursor,
)

__all__ = [
    "SQLITE_PRAGMAS",
    "UINT256_MAX",
    "BatchRow",
    "BatchStatus",
    "CancelRow",
    "CommitFailed",
    "CursorRow",
    "DeadManRow",
    "FillRow",
    "FillStatus",
    "GroupCommitter",
    "JournalRow",
    "OrderRow",
    "OrderStatus",
    "SignedOrder",
    "SnapshotRow",
    "StoreClosed",
    "StoreError",
    "Uint256",
    "connect",
    "current_revision",
    "get_cursor",
    "insert_cancel",
    "insert_order",
    "journal",
    "open_orders",
    "record_events",
    "set_cursor",
    "sqlite_url",
    "upgrade",
]
