"""Orders keep every signed field; engine events move statuses; cursors and batches persist."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from relayer.engine import CancelReason, MatchingEngine, OrderSpec, TimeInForce
from relayer.store import (
    UINT256_MAX,
    BatchRow,
    BatchStatus,
    FillRow,
    FillStatus,
    OrderRow,
    OrderStatus,
    get_cursor,
    insert_order,
    record_events,
    set_cursor,
)
from tests.relayer.store.builders import SERIES, T0_MS, signed

ALICE, BOB = b"\xa1" * 20, b"\xb0" * 20


def _spec(n: int, maker: bytes, buy: bool, price: int, amount: int) -> OrderSpec:
    return OrderSpec(n.to_bytes(32, "big"), maker, SERIES, buy, price, amount, T0_MS // 1000 + 3600)


def test_engine_events_move_order_statuses_and_record_fills(db: Engine) -> None:
    engine = MatchingEngine(lambda: T0_MS)
    ask, cancelled, bid = _spec(1, ALICE, False, 100, 5), _spec(2, ALICE, False, 101, 5), _spec(3, BOB, True, 101, 8)
    with Session(db) as session, session.begin():
        for seq, (spec, tif) in enumerate(((ask, TimeInForce.GTC), (cancelled, TimeInForce.GTC)), start=1):
            insert_order(session, signed(spec, tif), created_seq=seq)
            session.flush()
            record_events(session, seq, engine.place(spec, tif))
        record_events(session, 3, engine.cancel(cancelled.order_id, CancelReason.REQUESTED))
        insert_order(session, signed(bid, TimeInForce.IOC), created_seq=4)
        session.flush()
        record_events(session, 4, engine.place(bid, TimeInForce.IOC))

    with Session(db) as session:
        rows = {r.order_id: r for r in session.scalars(select(OrderRow))}
        [fill] = session.scalars(select(FillRow)).all()

    assert (rows[ask.order_id].status, rows[ask.order_id].remaining) == (OrderStatus.FILLED, 0)
    assert (rows[cancelled.order_id].status, rows[cancelled.order_id].cancel_reason) == ("cancelled", "requested")
    assert (rows[bid.order_id].status, rows[bid.order_id].remaining) == (OrderStatus.CANCELLED, 3)
    assert rows[bid.order_id].cancel_reason == "ioc_remainder"
    assert (fill.maker_order_id, fill.taker_order_id, fill.price, fill.amount) == (ask.order_id, bid.order_id, 100, 5)
    assert fill.status == FillStatus.PENDING and fill.batch_seq is None


def test_an_order_keeps_every_signed_field_exactly(db: Engine) -> None:
    spec = OrderSpec(b"\x09" * 32, ALICE, SERIES, True, UINT256_MAX, UINT256_MAX - 1, UINT256_MAX - 2)
    record = signed(spec, TimeInForce.POST_ONLY, nonce=2**200 + 1)
    with Session(db) as session, session.begin():
        insert_order(session, record, created_seq=7)

    with Session(db) as session:
        row = session.get(OrderRow, spec.order_id)
        assert row is not None
        stored = (row.maker, row.series, row.is_buy, row.price, row.amount, row.max_fee, row.nonce, row.expiry)
        assert stored == (
            ALICE,
            SERIES,
            True,
            UINT256_MAX,
            UINT256_MAX - 1,
            record.max_fee,
            2**200 + 1,
            UINT256_MAX - 2,
        )
        assert (row.signature, row.tif, row.status, row.remaining) == (
            b"\x1b" * 65,
            "post_only",
            "open",
            UINT256_MAX - 1,
        )


def test_cursors_move_and_batches_link_their_fills(db: Engine) -> None:
    engine = MatchingEngine(lambda: T0_MS)
    maker, taker = _spec(1, ALICE, False, 100, 5), _spec(2, BOB, True, 100, 5)
    with Session(db) as session, session.begin():
        set_cursor(session, "indexer", 10, b"\x01" * 32, T0_MS)
        for seq, spec in enumerate((maker, taker), start=1):
            insert_order(session, signed(spec), created_seq=seq)
            session.flush()
            record_events(session, seq, engine.place(spec))
    with Session(db) as session, session.begin():
        set_cursor(session, "indexer", 11, b"\x02" * 32, T0_MS + 1)
        session.add(BatchRow(seq=1, status=BatchStatus.SUBMITTED.value, tx_hash=b"\x0f" * 32, created_ms=T0_MS))
        session.flush()
        for fill in session.scalars(select(FillRow)):
            fill.batch_seq, fill.status = 1, FillStatus.BATCHED.value

    with Session(db) as session:
        batch = session.get(BatchRow, 1)
        assert get_cursor(session, "indexer") == (11, b"\x02" * 32)
        assert get_cursor(session, "unknown") is None
        assert batch is not None and batch.tx_hash == b"\x0f" * 32
        assert session.scalars(select(FillRow.batch_seq)).all() == [1]
