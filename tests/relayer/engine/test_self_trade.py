"""Self-trade prevention: cancel the resting order, or cancel the incoming one."""

from __future__ import annotations

from relayer.engine import (
    Cancelled,
    CancelReason,
    EngineConfig,
    Fill,
    MatchingEngine,
    SelfTradePrevention,
    TimeInForce,
)
from tests.relayer.engine.builders import ALICE, BOB, SERIES_A, ManualClock, spec


def _engine(stp: SelfTradePrevention) -> MatchingEngine:
    return MatchingEngine(ManualClock(), EngineConfig(stp=stp))


def test_cancel_resting_removes_the_own_order_and_keeps_matching() -> None:
    engine = _engine(SelfTradePrevention.CANCEL_RESTING)
    own = spec(buy=False, price=100, amount=5, maker=ALICE)
    other = spec(buy=False, price=100, amount=5, maker=BOB)
    engine.place(own)
    engine.place(other)

    events = engine.place(spec(buy=True, price=100, amount=5, maker=ALICE))

    cancelled = [e for e in events if isinstance(e, Cancelled)]
    fills = [e for e in events if isinstance(e, Fill)]
    assert [(c.order_id, c.reason, c.resting) for c in cancelled] == [(own.order_id, CancelReason.SELF_TRADE, True)]
    assert [(f.maker_id, f.amount) for f in fills] == [(other.order_id, 5)]
    assert engine.order(own.order_id) is None


def test_cancel_incoming_keeps_earlier_fills_and_the_resting_order() -> None:
    engine = _engine(SelfTradePrevention.CANCEL_INCOMING)
    other = spec(buy=False, price=99, amount=2, maker=BOB)
    own = spec(buy=False, price=100, amount=5, maker=ALICE)
    engine.place(other)
    engine.place(own)

    events = engine.place(spec(buy=True, price=100, amount=6, maker=ALICE))

    assert [(f.maker_id, f.amount) for f in events if isinstance(f, Fill)] == [(other.order_id, 2)]
    last = events[-1]
    assert isinstance(last, Cancelled) and (last.reason, last.remaining, last.resting) == (
        CancelReason.SELF_TRADE,
        4,
        False,
    )
    assert engine.order(own.order_id) is not None
    assert engine.best_bid(SERIES_A) is None


def test_fok_counts_only_liquidity_it_may_trade_with() -> None:
    incoming = _engine(SelfTradePrevention.CANCEL_INCOMING)
    resting = _engine(SelfTradePrevention.CANCEL_RESTING)
    for engine in (incoming, resting):
        engine.place(spec(buy=False, price=100, amount=5, maker=ALICE))
        engine.place(spec(buy=False, price=100, amount=5, maker=BOB))

    killed = incoming.place(spec(buy=True, price=100, amount=5, maker=ALICE), TimeInForce.FOK)
    filled = resting.place(spec(buy=True, price=100, amount=5, maker=ALICE), TimeInForce.FOK)

    assert isinstance(killed[-1], Cancelled) and killed[-1].reason is CancelReason.FOK_UNFILLABLE
    assert [f.maker for f in filled if isinstance(f, Fill)] == [BOB]
