"""Orders stop matching after their expiry: rejected on arrival, lazily removed, or swept."""

from __future__ import annotations

from relayer.engine import (
    EngineConfig,
    Expired,
    Fill,
    MatchingEngine,
    RejectCode,
    Rejected,
    Rested,
    TimeInForce,
)
from tests.relayer.engine.builders import ALICE, BOB, T0_MS, ManualClock, spec

EXPIRY = T0_MS // 1000 + 10  # unix s


def test_order_matches_through_the_last_millisecond_of_its_expiry_second() -> None:
    clock = ManualClock()
    engine = MatchingEngine(clock)
    engine.place(spec(buy=False, price=100, amount=1, maker=ALICE, expiry=EXPIRY))
    clock.now_ms = EXPIRY * 1000 + 999

    events = engine.place(spec(buy=True, price=100, amount=1, maker=BOB))

    assert any(isinstance(e, Fill) for e in events)


def test_incoming_order_past_its_expiry_is_rejected() -> None:
    clock = ManualClock(now_ms=(EXPIRY + 1) * 1000)

    [event] = MatchingEngine(clock).place(spec(buy=True, price=100, amount=1, expiry=EXPIRY))

    assert isinstance(event, Rejected) and event.code is RejectCode.ORDER_EXPIRED


def test_expired_resting_order_met_while_matching_leaves_instead_of_filling() -> None:
    clock = ManualClock()
    engine = MatchingEngine(clock)
    stale = spec(buy=False, price=100, amount=1, maker=ALICE, expiry=EXPIRY)
    fresh = spec(buy=False, price=101, amount=1, maker=ALICE)
    engine.place(stale)
    engine.place(fresh)
    clock.now_ms = (EXPIRY + 1) * 1000

    events = engine.place(spec(buy=True, price=101, amount=1, maker=BOB))

    assert [type(e).__name__ for e in events] == ["Accepted", "Expired", "Fill"]
    assert isinstance(events[1], Expired) and events[1].order_id == stale.order_id
    assert isinstance(events[2], Fill) and events[2].maker_id == fresh.order_id


def test_post_only_is_not_blocked_by_an_expired_order() -> None:
    clock = ManualClock()
    engine = MatchingEngine(clock)
    engine.place(spec(buy=False, price=100, amount=1, maker=ALICE, expiry=EXPIRY))
    clock.now_ms = (EXPIRY + 1) * 1000

    events = engine.place(spec(buy=True, price=100, amount=1, maker=BOB), TimeInForce.POST_ONLY)

    assert [type(e).__name__ for e in events] == ["Expired", "Accepted", "Rested"]


def test_sweep_removes_expired_orders_in_expiry_then_arrival_order() -> None:
    clock = ManualClock()
    engine = MatchingEngine(clock)
    late = spec(buy=True, price=90, amount=1, expiry=EXPIRY + 1)
    early_b = spec(buy=False, price=120, amount=2, expiry=EXPIRY)
    early_a = spec(buy=True, price=91, amount=3, expiry=EXPIRY)
    keeper = spec(buy=True, price=92, amount=4)
    for order in (late, early_b, early_a, keeper):
        engine.place(order)

    first = engine.expire((EXPIRY + 1) * 1000)
    second = engine.expire((EXPIRY + 2) * 1000)

    assert [(e.order_id, e.remaining) for e in first if isinstance(e, Expired)] == [
        (early_b.order_id, 2),
        (early_a.order_id, 3),
    ]
    assert [e.order_id for e in second if isinstance(e, Expired)] == [late.order_id]
    assert [o.order_id for o in engine.open_orders()] == [keeper.order_id]


def test_expiry_margin_stops_matching_early() -> None:
    clock = ManualClock(now_ms=(EXPIRY + 1) * 1000 - 500)
    engine = MatchingEngine(clock, EngineConfig(expiry_margin_ms=500))

    [event] = engine.place(spec(buy=True, price=100, amount=1, expiry=EXPIRY))
    rested = MatchingEngine(ManualClock(now_ms=clock.now_ms - 1), engine.config).place(
        spec(buy=True, price=100, amount=1, expiry=EXPIRY)
    )

    assert isinstance(event, Rejected) and event.code is RejectCode.ORDER_EXPIRED
    assert isinstance(rested[-1], Rested)
