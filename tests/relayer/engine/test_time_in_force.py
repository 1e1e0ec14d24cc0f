"""GTC, IOC, FOK and post-only outcomes."""

from __future__ import annotations

from relayer.engine import (
    Accepted,
    Cancelled,
    CancelReason,
    Fill,
    MatchingEngine,
    RejectCode,
    Rejected,
    Rested,
    TimeInForce,
)
from tests.relayer.engine.builders import ALICE, BOB, SERIES_A, ManualClock, spec


def _book_with_asks(*levels: tuple[int, int]) -> MatchingEngine:
    engine = MatchingEngine(ManualClock())
    for price, amount in levels:
        engine.place(spec(buy=False, price=price, amount=amount, maker=ALICE))
    return engine


def test_gtc_rests_whatever_does_not_fill() -> None:
    engine = _book_with_asks((100, 2))

    events = engine.place(spec(buy=True, price=100, amount=5, maker=BOB), TimeInForce.GTC)

    assert isinstance(events[-1], Rested) and events[-1].remaining == 3


def test_ioc_fills_what_it_can_and_cancels_the_rest() -> None:
    engine = _book_with_asks((100, 2))

    events = engine.place(spec(buy=True, price=100, amount=5, maker=BOB), TimeInForce.IOC)

    assert [type(e) for e in events] == [Accepted, Fill, Cancelled]
    last = events[-1]
    assert isinstance(last, Cancelled) and last.reason is CancelReason.IOC_REMAINDER
    assert (last.remaining, last.resting) == (3, False)
    assert engine.best_bid(SERIES_A) is None


def test_fok_that_cannot_fill_completely_changes_nothing() -> None:
    engine = _book_with_asks((100, 2), (101, 2))
    before = engine.snapshot()

    events = engine.place(spec(buy=True, price=101, amount=5, maker=BOB), TimeInForce.FOK)

    assert [type(e) for e in events] == [Accepted, Cancelled]
    assert isinstance(events[-1], Cancelled) and events[-1].reason is CancelReason.FOK_UNFILLABLE
    assert engine.snapshot() == before


def test_fok_that_can_fill_completely_fills_across_levels() -> None:
    engine = _book_with_asks((100, 2), (101, 2), (102, 9))

    events = engine.place(spec(buy=True, price=101, amount=4, maker=BOB), TimeInForce.FOK)

    assert [(f.price, f.amount) for f in events if isinstance(f, Fill)] == [(100, 2), (101, 2)]
    assert engine.best_ask(SERIES_A) == 102


def test_post_only_that_would_cross_is_rejected() -> None:
    engine = _book_with_asks((100, 2))
    before = engine.snapshot()

    [event] = engine.place(spec(buy=True, price=100, amount=1, maker=BOB), TimeInForce.POST_ONLY)

    assert isinstance(event, Rejected) and event.code is RejectCode.POST_ONLY_WOULD_CROSS
    assert engine.snapshot() == before


def test_post_only_below_the_best_ask_rests() -> None:
    engine = _book_with_asks((100, 2))

    events = engine.place(spec(buy=True, price=99, amount=1, maker=BOB), TimeInForce.POST_ONLY)

    assert [type(e) for e in events] == [Accepted, Rested]
    assert engine.best_bid(SERIES_A) == 99
