"""Writing the venue's state: signed orders, the outcome of engine events, cancels, cursors.

All functions add to the caller's session and never commit: the caller (normally a
`GroupCommitter` write) puts the journal entry, the order and the events of one input in the
same transaction, so they become durable, and are acknowledged, together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from relayer.engine import Cancelled, Event, Expired, Fill, Rejected, Rested, TimeInForce
from relayer.store.models import CancelRow, CursorRow, FillRow, FillStatus, OrderRow, OrderStatus


@dataclass(frozen=True, slots=True)
class SignedOrder:
    """Every signed field of an order, its signature and the time in force it was sent with.

    Units as signed: `price` and `max_fee` in quote base units per option, `amount` in
    underlying base units, `expiry` unix seconds.
    """

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
    #: the delegate key that signed it (None: the maker's own key or its ERC-1271 wallet).
    delegate_key: bytes | None = None


def insert_order(session: Session, order: SignedOrder, created_seq: int, client_id: str | None = None) -> None:
    """Add `order` as open with its full amount remaining, placed by journal entry `created_seq`."""
    session.add(
        OrderRow(
            order_id=order.order_id,
            maker=order.maker,
            series=order.series,
            is_buy=order.is_buy,
            price=order.price,
            amount=order.amount,
            max_fee=order.max_fee,
            nonce=order.nonce,
            expiry=order.expiry,
            signature=order.signature,
            tif=order.tif.value,
            status=OrderStatus.OPEN.value,
            remaining=order.amount,
            cancel_reason=None,
            client_id=client_id,
            delegate_key=order.delegate_key,
            created_seq=created_seq,
            updated_seq=created_seq,
        )
    )


def _update(session: Session, order_id: bytes, journal_seq: int, remaining: int, status: OrderStatus) -> OrderRow:
    row = session.get(OrderRow, order_id)
    if row is None:
        raise LookupError(f"order {order_id.hex()} is not in the store")
    row.remaining = remaining
    row.status = status.value
    row.updated_seq = journal_seq
    return row


def _open_or_filled(remaining: int) -> OrderStatus:
    return OrderStatus.OPEN if remaining else OrderStatus.FILLED


def record_events(session: Session, journal_seq: int, events: Iterable[Event]) -> None:
    """Apply the engine's `events` for journal entry `journal_seq` to orders and fills."""
    for e in events:
        if isinstance(e, Fill):
            session.add(
                FillRow(
                    journal_seq=journal_seq,
                    series=e.series,
                    book_seq=e.seq,
                    maker_order_id=e.maker_id,
                    taker_order_id=e.taker_id,
                    taker_is_buy=e.taker_is_buy,
                    price=e.price,
                    amount=e.amount,
                    status=FillStatus.PENDING.value,
                    batch_seq=None,
                    skip_reason=None,
                )
            )
            filled = OrderStatus.FILLED
            _update(
                session,
                e.maker_id,
                journal_seq,
                e.maker_remaining,
                filled if not e.maker_remaining else OrderStatus.OPEN,
            )
            _update(
                session,
                e.taker_id,
                journal_seq,
                e.taker_remaining,
                filled if not e.taker_remaining else OrderStatus.OPEN,
            )
        elif isinstance(e, Rested):
            _update(session, e.order_id, journal_seq, e.remaining, OrderStatus.OPEN)
        elif isinstance(e, Cancelled):
            _update(session, e.order_id, journal_seq, e.remaining, OrderStatus.CANCELLED).cancel_reason = e.reason.value
        elif isinstance(e, Expired):
            _update(session, e.order_id, journal_seq, e.remaining, OrderStatus.EXPIRED)
        elif isinstance(e, Rejected):
            row = session.get(OrderRow, e.order_id)
            if row is not None and row.created_seq == journal_seq:
                row.status = OrderStatus.REJECTED.value
                row.cancel_reason = e.code.value


def insert_cancel(
    session: Session,
    order_id: bytes,
    *,
    kind: str,
    reason: str,
    journal_seq: int,
    created_ms: int,
    signature: bytes | None = None,
) -> None:
    """Record a cancel request (`kind`: signed, cancel_all, dead_man, onchain, operator, delegate)."""
    session.add(
        CancelRow(
            order_id=order_id,
            kind=kind,
            reason=reason,
            signature=signature,
            journal_seq=journal_seq,
            created_ms=created_ms,
        )
    )


def set_cursor(session: Session, name: str, block_number: int, block_hash: bytes, now_ms: int) -> None:
    """Move the chain cursor `name` to (block_number, block_hash)."""
    row = session.get(CursorRow, name)
    if row is None:
        session.add(CursorRow(name=name, block_number=block_number, block_hash=block_hash, updated_ms=now_ms))
    else:
        row.block_number, row.block_hash, row.updated_ms = block_number, block_hash, now_ms


def get_cursor(session: Session, name: str) -> tuple[int, bytes] | None:
    """(block number, block hash) of cursor `name`, or None if it was never set."""
    row = session.get(CursorRow, name)
    return None if row is None else (row.block_number, row.block_hash)


def open_orders(session: Session) -> list[OrderRow]:
    """Every open order, in time priority (the journal seq that placed it)."""
    return list(
        session.scalars(
            select(OrderRow).where(OrderRow.status == OrderStatus.OPEN.value).order_by(OrderRow.created_seq)
        )
    )
