"""Start-up recovery: the engine from the journal (newest snapshot + tail), and what the venue keeps in memory.

`load` runs on a worker thread before the venue accepts input. It returns the rebuilt engine
(whose book hash equals a replay of the stored journal by construction), the orders the venue
needs to know (open ones and those with unsettled fills, with the delegate key that signed
each), the unsettled fills (their reservations), cancels the store recorded (soft and
dead-delegate ones by (maker, hash), on-chain by hash, and the orders with unsettled fills that
their maker pulled by cancel-all, dead-man's switch or operator drain, by hash with the reason),
armed dead-man's switches, and the batches still in flight, which the batcher resubmits first:
the submitter resumes a journaled transaction or sends the batch once, so each `seq` applies once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from relayer.engine import CancelReason, Clock, EngineConfig, MatchingEngine, TimeInForce
from relayer.store import journal
from relayer.store.models import (
    BatchRow,
    BatchStatus,
    CancelRow,
    DeadManRow,
    FillRow,
    FillStatus,
    OrderRow,
    OrderStatus,
    SnapshotRow,
)

#: cancel kinds by which a maker (or the operator, for it) pulls all of its orders: cancel-all,
#: the dead-man's switch and an operator drain. Their rows carry no signature (the order row
#: names the maker); an order they cover that still has unsettled fills is never restored.
PULL_KINDS = frozenset({"cancel_all", "dead_man", "operator"})


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """The fields of a signed order the venue needs after intake (reservations, batching, cancels)."""

    order_id: bytes
    maker: bytes
    series: bytes
    is_buy: bool
    price: int
    amount: int
    max_fee: int
    nonce: int
    expiry: int
    tif: TimeInForce
    received_ms: int
    #: the delegate key that signed the order (None: the maker's own key or its ERC-1271 wallet).
    delegate: bytes | None = None


@dataclass(frozen=True, slots=True)
class PendingFill:
    """An engine fill not yet final on-chain: its reservation key and both orders."""

    series: bytes
    book_seq: int
    maker_order_id: bytes
    taker_order_id: bytes
    amount: int


@dataclass
class Recovered:
    engine: MatchingEngine
    journal_seq: int
    snapshot_seq: int
    orders: dict[bytes, OrderInfo] = field(default_factory=dict)
    pending_fills: list[PendingFill] = field(default_factory=list)
    #: armed dead-man's switches: maker -> deadline (unix ms).
    dead_man: dict[bytes, int] = field(default_factory=dict)
    soft_cancelled: set[tuple[bytes, bytes]] = field(default_factory=set)
    #: orders with unsettled fills that a cancel of a `PULL_KINDS` kind covered: id -> its reason.
    pulled: dict[bytes, CancelReason] = field(default_factory=dict)
    onchain_cancelled: set[bytes] = field(default_factory=set)
    inflight_batches: list[int] = field(default_factory=list)
    last_batch_seq: int = 0


def order_info(row: OrderRow, received_ms: int = 0) -> OrderInfo:
    return OrderInfo(
        row.order_id,
        row.maker,
        row.series,
        row.is_buy,
        row.price,
        row.amount,
        row.max_fee,
        row.nonce,
        row.expiry,
        TimeInForce(row.tif),
        received_ms,
        row.delegate_key,
    )


def load(db: Engine, clock: Clock, config: EngineConfig) -> Recovered:
    """Everything the venue needs to resume, read in one session."""
    with Session(db) as session:
        engine, last = journal.rebuild(session, clock, config)
        snapshot_seq = session.scalar(select(func.coalesce(func.max(SnapshotRow.journal_seq), 0))) or 0
        out = Recovered(engine, last, snapshot_seq)
        fills = session.scalars(
            select(FillRow).where(FillRow.status.in_((FillStatus.PENDING.value, FillStatus.BATCHED.value)))
        ).all()
        out.pending_fills = [
            PendingFill(f.series, f.book_seq, f.maker_order_id, f.taker_order_id, f.amount) for f in fills
        ]
        needed = {f.maker_order_id for f in fills} | {f.taker_order_id for f in fills}
        rows = session.scalars(
            select(OrderRow).where(or_(OrderRow.status == OrderStatus.OPEN.value, OrderRow.order_id.in_(needed)))
        ).all()
        out.orders = {r.order_id: order_info(r) for r in rows}
        out.dead_man = {m: d for m, d in session.execute(select(DeadManRow.maker, DeadManRow.deadline_ms)).all()}
        for c in session.scalars(select(CancelRow)).all():
            if c.kind == "onchain":
                out.onchain_cancelled.add(c.order_id)
            elif c.signature is not None and len(c.signature) >= 20:
                # soft cancels store the maker in front of the signature bytes (see Venue.cancel);
                # cancels for a dead delegate (kind "delegate") store maker + key: both are never
                # restored after a skipped fill, and the order's id stays refused
                out.soft_cancelled.add((c.signature[:20], c.order_id))
            elif c.kind in PULL_KINDS and c.order_id in needed:
                # only orders that were the maker's when pulled get these rows (Venue._cancel_ids):
                # the id alone names the order; once its fills are final nothing can restore it
                out.pulled[c.order_id] = CancelReason(c.reason)
        out.inflight_batches = list(
            session.scalars(
                select(BatchRow.seq)
                .where(BatchRow.status.in_((BatchStatus.OPEN.value, BatchStatus.SUBMITTED.value)))
                .order_by(BatchRow.seq)
            ).all()
        )
        out.last_batch_seq = session.scalar(select(func.coalesce(func.max(BatchRow.seq), 0))) or 0
    return out
