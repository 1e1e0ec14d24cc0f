"""What the engine reports instead of calling out: one list of events per input.

Each event names its book (`series`) and carries `seq`, the book's sequence number after the
event. Events that change the book (`Rested`, `Fill`, `Expired`, and `Cancelled` with
`resting=True`) increment `seq` by one each, so the API can stream them as numbered deltas;
the others (`Accepted`, `Rejected`, `Cancelled` of an incoming remainder) leave it as is.

Events are slotted dataclasses for speed (a frozen dataclass costs 4x to build); treat them
as immutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from relayer.engine.orders import TimeInForce


class CancelReason(StrEnum):
    """Why (part of) an order left or never reached the book; stable strings for the API."""

    REQUESTED = "requested"
    IOC_REMAINDER = "ioc_remainder"
    FOK_UNFILLABLE = "fok_unfillable"
    #: an IOC order made `EngineConfig.max_fills_per_order` fills while the book still crossed it:
    #: matching stopped there and the rest is cancelled (without crossing orders left: ioc_remainder).
    FILL_LIMIT = "fill_limit"
    SELF_TRADE = "self_trade"
    DEAD_MAN_SWITCH = "dead_man_switch"
    SETTLEMENT_FAILED = "settlement_failed"
    SERIES_CLOSED = "series_closed"
    OPERATOR = "operator"
    #: the maker cancelled the order on-chain (by hash or below a nonce), or a one-shot order was spent.
    ONCHAIN_CANCEL = "onchain_cancel"
    #: the maker's collateral no longer covers the order (a fill was skipped for lack of funds).
    INSUFFICIENT_COLLATERAL = "insufficient_collateral"
    #: the delegate key that signed the order was revoked on-chain (`DelegateRevoked`).
    DELEGATE_REVOKED = "delegate_revoked"
    #: the delegate key that signed the order reached its `delegateExpiry` (the venue's clock, with
    #: the engine's expiry margin, as for the order's own expiry).
    DELEGATE_EXPIRED = "delegate_expired"


class RejectCode(StrEnum):
    """Why the engine refused an input; the input changed nothing."""

    INVALID_PRICE = "invalid_price"
    INVALID_AMOUNT = "invalid_amount"
    DUPLICATE_ORDER = "duplicate_order"
    ORDER_EXPIRED = "order_expired"
    UNKNOWN_ORDER = "unknown_order"
    POST_ONLY_WOULD_CROSS = "post_only_would_cross"


@dataclass(slots=True)
class Accepted:
    """An incoming order passed the engine's checks; fills and an outcome follow."""

    series: bytes
    seq: int
    order_id: bytes
    is_buy: bool
    price: int
    amount: int
    tif: TimeInForce


@dataclass(slots=True)
class Rested:
    """The order's `remaining` amount now rests in the book at `price`."""

    series: bytes
    seq: int
    order_id: bytes
    is_buy: bool
    price: int
    remaining: int


@dataclass(slots=True)
class Fill:
    """`amount` options traded at the resting order's `price`.

    `taker_is_buy` is the incoming order's side; `*_remaining` are what each order has
    left after this fill (0 = fully filled; a maker at 0 has left the book).
    """

    series: bytes
    seq: int
    maker_id: bytes
    taker_id: bytes
    maker: bytes
    taker: bytes
    taker_is_buy: bool
    price: int
    amount: int
    maker_remaining: int
    taker_remaining: int


@dataclass(slots=True)
class Cancelled:
    """`remaining` of the order will never trade; `resting` says it was taken off the book."""

    series: bytes
    seq: int
    order_id: bytes
    remaining: int
    reason: CancelReason
    resting: bool


@dataclass(slots=True)
class Expired:
    """A resting order reached its expiry and left the book with `remaining` unfilled."""

    series: bytes
    seq: int
    order_id: bytes
    remaining: int


@dataclass(slots=True)
class Rejected:
    """The input was refused with a stable `code` and changed nothing.

    `series` is empty for a cancel of an order the engine does not hold.
    """

    series: bytes
    seq: int
    order_id: bytes
    code: RejectCode


Event = Accepted | Rested | Fill | Cancelled | Expired | Rejected
