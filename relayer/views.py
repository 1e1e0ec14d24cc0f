"""What the venue façade returns: immutable views of orders, books, fills, batches and health.

Units as everywhere in Strikebook: `price`/`max_fee` quote base units per whole option,
`amount`/`remaining` options in underlying base units, `expiry` unix seconds, `*_ms` unix
milliseconds. Ids and addresses are raw bytes (32-byte order ids and series ids, 20-byte
addresses); the API renders them as 0x-hex.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from relayer.engine import TimeInForce

T = TypeVar("T")


class OrderState(StrEnum):
    """Where an order stands (the store's `OrderStatus` values)."""

    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class OrderResult:
    """The outcome of one submitted order, returned only after the commit that holds it.

    `status` is the order's state right after intake (an IOC order that traded fully is
    `filled`; one whose rest was cancelled is `cancelled` with `remaining` > 0). A rejected
    order has status `rejected` and `error_code` (see `relayer.intake.RejectCode`); nothing
    was stored for it unless the engine refused it after journaling (post-only that would
    cross). `duplicate` is True when the order id was already known: the existing order is
    returned unchanged. `order_id` is None only when the order could not even be parsed.
    """

    order_id: bytes | None
    status: OrderState
    remaining: int
    error_code: str | None = None
    message: str | None = None
    duplicate: bool = False
    client_id: str | None = None

    @property
    def accepted(self) -> bool:
        """True if the order is (or was) in the venue: anything but a rejection."""
        return self.status is not OrderState.REJECTED


@dataclass(frozen=True, slots=True)
class OrderView:
    """A stored order: every signed field, its signature, and its current state."""

    order_id: bytes
    maker: bytes
    series: bytes
    is_buy: bool
    price: int
    amount: int
    max_fee: int
    nonce: int
    expiry: int
    signature: bytes
    tif: TimeInForce
    status: OrderState
    remaining: int
    cancel_reason: str | None
    client_id: str | None
    #: journal seq that placed the order (its time priority) and of its last change.
    created_seq: int
    updated_seq: int


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; pass `next_cursor` back to get the next page (None: the last page)."""

    items: tuple[T, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Level:
    """One aggregated price level: total `amount` resting at `price`."""

    price: int
    amount: int


@dataclass(frozen=True, slots=True)
class BookView:
    """The top of one series' book; `seq` is the book sequence number the stream's deltas continue from."""

    series: bytes
    seq: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class SeriesView:
    """A listed option series (from chain state). `strike` quote base units per whole underlying."""

    series: bytes
    underlying: bytes
    quote: bytes
    strike: int
    expiry: int
    is_call: bool
    underlying_unit: int


class FillState(StrEnum):
    """A fill's life: pending (matched) → batched → settled (final) or skipped."""

    PENDING = "pending"
    BATCHED = "batched"
    SETTLED = "settled"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class FillView:
    """One engine fill at the maker order's price; `id` is the store's fill id (monotonic)."""

    id: int
    series: bytes
    book_seq: int
    maker_order_id: bytes
    taker_order_id: bytes
    maker: bytes
    taker: bytes
    taker_is_buy: bool
    price: int
    amount: int
    maker_fee: int
    taker_fee: int
    status: FillState
    batch_seq: int | None
    skip_reason: str | None


class BatchState(StrEnum):
    """open (cut, not yet sent) → submitted → settled, or failed (nothing applied; fills re-batched)."""

    OPEN = "open"
    SUBMITTED = "submitted"
    SETTLED = "settled"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class BatchView:
    """One `settleBatch(seq, fills)`."""

    seq: int
    status: BatchState
    tx_hash: bytes | None
    created_ms: int
    submitted_ms: int | None
    settled_block: int | None
    fill_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Health:
    """Liveness figures for `/health` and operators."""

    ok: bool
    intake_paused: bool
    pause_reason: str | None
    journal_seq: int
    open_orders: int
    pending_fills: int
    last_batch_seq: int
    chain_head: int
    indexed_block: int
    subscribers: int
    detail: str = ""
