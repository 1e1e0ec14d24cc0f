"""SQLAlchemy 2 models of the relayer's durable state.

The relayer's database is the source of truth for open orders (the chain is for money):
- `journal`: every accepted engine input, in order, before it is acknowledged (append-only;
  the migration installs triggers that refuse UPDATE and DELETE);
- `snapshots`: engine snapshots taken at a journal seq, so a rebuild replays only the tail;
- `orders`: each signed order with all its EIP-712 fields, its status and remaining amount;
- `fills`: each engine fill, its batch and its on-chain outcome;
- `batches`: `settleBatch(seq, fills)` submissions and their transaction;
- `cancels`: cancel requests (signed, cancel-all, dead-man's switch, on-chain, dead delegate key,
  operator drain); a cancel-all, dead-man's switch or drain also writes a row for each of the
  maker's orders off the book with fills not final yet, so a skipped fill never restores them;
- `cursors`: how far the chain indexer has read, per name;
- `dead_man_switches`: each maker's armed cancel-after deadline.

Money and order fields are `Uint256` (exact). Ids and addresses are raw bytes. Times are unix
milliseconds unless the name says otherwise.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from relayer.store.columns import Uint256

#: BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class OrderStatus(StrEnum):
    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    #: journaled, then refused by the engine (e.g. a post-only order that would cross).
    REJECTED = "rejected"


class FillStatus(StrEnum):
    PENDING = "pending"
    BATCHED = "batched"
    SETTLED = "settled"
    SKIPPED = "skipped"


class BatchStatus(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"
    SETTLED = "settled"
    FAILED = "failed"


class Base(DeclarativeBase):
    """Declarative base of every relayer table."""


class JournalRow(Base):
    """One engine command (`relayer.engine.encode_command` bytes), journaled before its ack."""

    __tablename__ = "journal"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    now_ms: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class SnapshotRow(Base):
    """An engine snapshot (`encode_snapshot` bytes) of the state after journal entry `journal_seq`."""

    __tablename__ = "snapshots"

    journal_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class OrderRow(Base):
    """A signed order as received, and where it stands."""

    __tablename__ = "orders"

    order_id: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    maker: Mapped[bytes] = mapped_column(LargeBinary(20), index=True)
    series: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    is_buy: Mapped[bool] = mapped_column(Boolean)
    price: Mapped[int] = mapped_column(Uint256())
    amount: Mapped[int] = mapped_column(Uint256())
    max_fee: Mapped[int] = mapped_column(Uint256())
    nonce: Mapped[int] = mapped_column(Uint256())
    expiry: Mapped[int] = mapped_column(Uint256())
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    tif: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    remaining: Mapped[int] = mapped_column(Uint256())
    cancel_reason: Mapped[str | None] = mapped_column(String(32))
    #: the client's own tag for the order (echoed back), if it sent one.
    client_id: Mapped[str | None] = mapped_column(String(64))
    #: the delegate key intake accepted the signature of (`Exchange.setDelegate`); NULL when the
    #: maker's own key (or its ERC-1271 wallet) signed. The venue cancels the order when that key
    #: is revoked or expires.
    delegate_key: Mapped[bytes | None] = mapped_column(LargeBinary(20))
    #: journal seq of the command that placed it (its time priority) and of its last change.
    created_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    updated_seq: Mapped[int] = mapped_column(BigInteger)


class BatchRow(Base):
    """One `settleBatch(seq, fills)`; `seq` is the exact on-chain batch number."""

    __tablename__ = "batches"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    tx_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    submitted_ms: Mapped[int | None] = mapped_column(BigInteger)
    settled_block: Mapped[int | None] = mapped_column(BigInteger)


class FillRow(Base):
    """One engine fill at the maker's price; `batch_seq` once it is batched."""

    __tablename__ = "fills"
    __table_args__ = (Index("ix_fills_series_book_seq", "series", "book_seq", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    journal_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    series: Mapped[bytes] = mapped_column(LargeBinary(32))
    book_seq: Mapped[int] = mapped_column(BigInteger)
    maker_order_id: Mapped[bytes] = mapped_column(ForeignKey("orders.order_id"), index=True)
    taker_order_id: Mapped[bytes] = mapped_column(ForeignKey("orders.order_id"), index=True)
    taker_is_buy: Mapped[bool] = mapped_column(Boolean)
    price: Mapped[int] = mapped_column(Uint256())
    amount: Mapped[int] = mapped_column(Uint256())
    status: Mapped[str] = mapped_column(String(16), index=True)
    batch_seq: Mapped[int | None] = mapped_column(ForeignKey("batches.seq"), index=True)
    skip_reason: Mapped[str | None] = mapped_column(String(64))
    #: fee rates charged (quote base units per option), set when the fill is batched.
    maker_fee: Mapped[int | None] = mapped_column(Uint256())
    taker_fee: Mapped[int | None] = mapped_column(Uint256())


class CancelRow(Base):
    """A cancel request as received (the order's own row records the outcome)."""

    __tablename__ = "cancels"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    journal_seq: Mapped[int] = mapped_column(BigInteger)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class IndexerWindowRow(Base):
    """One chain event of the indexer's reorg window (JSON of `settlement.indexer.Event`)."""

    __tablename__ = "indexer_window"

    block_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    log_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    event: Mapped[str] = mapped_column(Text)


class CursorRow(Base):
    """How far a chain reader (the indexer) has consumed the chain: block number and hash."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class DeadManRow(Base):
    """A maker's armed dead-man's switch: cancel all its open orders at `deadline_ms` (unix ms)."""

    __tablename__ = "dead_man_switches"

    maker: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    deadline_ms: Mapped[int] = mapped_column(BigInteger)
    armed_ms: Mapped[int] = mapped_column(BigInteger)
