"""Price-time priority, partial fills, cancels and per-book sequence numbers."""

from __future__ import annotations

from collections.abc import Sequence

from relayer.engine import (
    Accepted,
    Cancelled,
    CancelReason,
    Fill,
    MatchingEngine,
    RejectCode,
    Rejected,
    Rested,
)
from tests.relayer.engine.builders import ALICE, BOB, CAROL, SERIES_A, SERIES_B, ManualClock, spec


def _engine() -> MatchingEngine:
    return MatchingEngine(ManualClock())


def _fills(events: Sequence[object]) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def test_fill_executes_at_the_resting_orders_price() -> None:
    engine = _engine()
    ask = spec(buy=False, price=100, amount=5, maker=ALICE)
    engine.place(ask)

    events = engine.place(spec(buy=True, price=110, amount=5, maker=BOB))

    [fill] = _fills(events)
    assert (fill.maker_id, fill.price, fill.amount, fill.maker, fill.taker) == (ask.order_id, 100, 5, ALICE, BOB)
    assert engine.best_ask(SERIES_A) is None


def test_earlier_order_at_the_same_price_fills_first() -> None:
    engine = _engine()
    first = spec(buy=True, price=100, amount=3, maker=ALICE)
    second = spec(buy=True, price=100, amount=3, maker=BOB)
    engine.place(first)
    engine.place(second)

    [fill] = _fills(engine.place(spec(buy=False, price=100, amount=2, maker=CAROL)))

    assert fill.maker_id == first.order_id
    left = engine.order(first.order_id)
    assert left is not None and left.remaining == 1


def test_better_price_fills_before_an_earlier_worse_price() -> None:
    engine = _engine()
    worse = spec(buy=False, price=102, amount=4, maker=ALICE)
    better = spec(buy=False, price=101, amount=4, maker=BOB)
    engine.place(worse)
    engine.place(better)

    fills = _fills(engine.place(spec(buy=True, price=102, amount=6, maker=CAROL)))

    assert [(f.maker_id, f.price, f.amount) for f in fills] == [(better.order_id, 101, 4), (worse.order_id, 102, 2)]


def test_partially_filled_maker_keeps_its_time_priority() -> None:
    engine = _engine()
    first = spec(buy=False, price=100, amount=10, maker=ALICE)
    second = spec(buy=False, price=100, amount=10, maker=BOB)
    engine.place(first)
    engine.place(second)
    engine.place(spec(buy=True, price=100, amount=4, maker=CAROL))

    [fill] = _fills(engine.place(spec(buy=True, price=100, amount=4, maker=CAROL)))

    assert (fill.maker_id, fill.maker_remaining) == (first.order_id, 2)


def test_taker_sweeps_levels_then_rests_its_remainder() -> None:
    engine = _engine()
    engine.place(spec(buy=False, price=100, amount=2, maker=ALICE))
    engine.place(spec(buy=False, price=101, amount=2, maker=ALICE))
    taker = spec(buy=True, price=101, amount=7, maker=BOB)

    events = engine.place(taker)

    assert [f.taker_remaining for f in _fills(events)] == [5, 3]
    assert isinstance(events[-1], Rested) and events[-1].remaining == 3
    assert engine.best_bid(SERIES_A) == 101 and engine.best_ask(SERIES_A) is None
    assert engine.depth(SERIES_A) == ([(101, 3)], [])


def test_cancelled_order_is_never_filled() -> None:
    engine = _engine()
    doomed = spec(buy=False, price=100, amount=5, maker=ALICE)
    kept = spec(buy=False, price=100, amount=5, maker=ALICE)
    engine.place(doomed)
    engine.place(kept)

    [cancelled] = engine.cancel(doomed.order_id)
    fills = _fills(engine.place(spec(buy=True, price=100, amount=10, maker=BOB)))

    assert isinstance(cancelled, Cancelled) and cancelled.reason is CancelReason.REQUESTED and cancelled.resting
    assert [f.maker_id for f in fills] == [kept.order_id]


def test_cancelling_an_unknown_order_is_rejected() -> None:
    [event] = _engine().cancel(b"\x01" * 32)

    assert isinstance(event, Rejected) and event.code is RejectCode.UNKNOWN_ORDER


def test_malformed_and_duplicate_orders_are_rejected_without_changing_the_book() -> None:
    engine = _engine()
    resting = spec(buy=True, price=100, amount=1)
    engine.place(resting)
    before = engine.snapshot()

    codes = [
        engine.place(spec(buy=True, price=0, amount=1))[0],
        engine.place(spec(buy=True, price=100, amount=0))[0],
        engine.place(spec(buy=True, price=99, amount=1, oid=resting.order_id))[0],
    ]

    assert [e.code for e in codes if isinstance(e, Rejected)] == [
        RejectCode.INVALID_PRICE,
        RejectCode.INVALID_AMOUNT,
        RejectCode.DUPLICATE_ORDER,
    ]
    assert engine.snapshot() == before


def test_seq_counts_book_changes_per_series() -> None:
    engine = _engine()
    rested = engine.place(spec(buy=False, price=100, amount=5, series=SERIES_A, maker=ALICE))
    other = engine.place(spec(buy=False, price=100, amount=5, series=SERIES_B, maker=ALICE))
    crossed = engine.place(spec(buy=True, price=100, amount=6, series=SERIES_A, maker=BOB))

    assert [e.seq for e in rested] == [0, 1]
    assert [e.seq for e in other] == [0, 1]
    assert [(type(e).__name__, e.seq) for e in crossed] == [("Accepted", 1), ("Fill", 2), ("Rested", 3)]
    assert isinstance(crossed[0], Accepted)
    assert engine.book_seq(SERIES_A) == 3 and engine.book_seq(SERIES_B) == 1


def test_book_hash_depends_on_remaining_amounts_and_not_on_history() -> None:
    direct, via_fill = _engine(), _engine()
    direct.place(spec(buy=False, price=100, amount=3, maker=ALICE, oid=b"\x07" * 32))
    via_fill.place(spec(buy=False, price=100, amount=5, maker=ALICE, oid=b"\x07" * 32))
    before_fill = via_fill.book_hash(SERIES_A)
    via_fill.place(spec(buy=True, price=100, amount=2, maker=BOB))

    assert via_fill.book_hash(SERIES_A) != before_fill
    assert via_fill.book_hash(SERIES_A) == direct.book_hash(SERIES_A)
    assert via_fill.state_hash() == direct.state_hash()
