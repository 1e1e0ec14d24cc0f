"""`EngineConfig.max_fills_per_order`: IOC stops at the limit, FOK counts it, GTC is not limited."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relayer.engine import (
    Accepted,
    Cancelled,
    CancelReason,
    EngineConfig,
    Event,
    Fill,
    MatchingEngine,
    Rested,
    SelfTradePrevention,
    TimeInForce,
)
from tests.relayer.engine.builders import ALICE, BOB, CAROL, SERIES_A, T0_MS, ManualClock, spec
from tests.relayer.engine.reference_model import ReferenceEngine
from tests.relayer.engine.test_properties import Op, Place, assert_not_crossed, commands_for, ticks


def _engine(limit: int | None, *, asks: int, per_order: int = 1, price: int = 100) -> MatchingEngine:
    """`asks` resting sell orders of `per_order` each, one per tick from `price` up."""
    engine = MatchingEngine(ManualClock(), EngineConfig(max_fills_per_order=limit))
    for i in range(asks):
        engine.place(spec(buy=False, price=price + i, amount=per_order, maker=ALICE))
    return engine


def _fills(events: list[Event]) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def test_ioc_stops_at_the_limit_and_cancels_the_rest_as_fill_limit() -> None:
    engine = _engine(3, asks=5, per_order=2)

    events = engine.place(spec(buy=True, price=200, amount=10, maker=BOB), TimeInForce.IOC)

    fills = _fills(events)
    assert [f.price for f in fills] == [100, 101, 102]
    last = events[-1]
    assert isinstance(last, Cancelled) and last.reason is CancelReason.FILL_LIMIT
    assert (last.remaining, last.resting) == (4, False)
    # the untouched levels stay; nothing of the taker rests
    assert engine.depth(SERIES_A) == ([], [(103, 2), (104, 2)])


def test_ioc_that_fills_completely_on_its_last_allowed_fill_is_not_cancelled() -> None:
    engine = _engine(2, asks=3, per_order=2)

    events = engine.place(spec(buy=True, price=200, amount=3, maker=BOB), TimeInForce.IOC)

    assert [type(e) for e in events] == [Accepted, Fill, Fill]
    last = events[-1]
    assert isinstance(last, Fill) and last.taker_remaining == 0


def test_ioc_at_the_limit_with_nothing_left_crossing_is_an_ordinary_remainder() -> None:
    engine = _engine(2, asks=2)
    engine.place(spec(buy=False, price=300, amount=5, maker=CAROL))  # does not cross 200

    events = engine.place(spec(buy=True, price=200, amount=5, maker=BOB), TimeInForce.IOC)

    assert len(_fills(events)) == 2
    last = events[-1]
    assert isinstance(last, Cancelled) and last.reason is CancelReason.IOC_REMAINDER and last.remaining == 3


def test_fok_that_needs_more_fills_than_the_limit_is_unfillable_and_fills_nothing() -> None:
    engine = _engine(3, asks=4)
    before = engine.state_hash()

    events = engine.place(spec(buy=True, price=200, amount=4, maker=BOB), TimeInForce.FOK)

    assert [type(e) for e in events] == [Accepted, Cancelled]
    last = events[-1]
    assert isinstance(last, Cancelled) and last.reason is CancelReason.FOK_UNFILLABLE and last.remaining == 4
    assert engine.state_hash() == before


def test_fok_within_the_limit_fills_completely() -> None:
    engine = _engine(3, asks=4, per_order=2)

    # 3 fills: 2 + 2 + 1 of the third order
    events = engine.place(spec(buy=True, price=200, amount=5, maker=BOB), TimeInForce.FOK)

    assert [f.amount for f in _fills(events)] == [2, 2, 1]
    assert not any(isinstance(e, Cancelled) for e in events)


def test_fok_limit_does_not_count_skipped_self_trade_orders() -> None:
    # cancel-resting: BOB's own ask is cancelled on the way, not a fill
    engine = MatchingEngine(ManualClock(), EngineConfig(stp=SelfTradePrevention.CANCEL_RESTING, max_fills_per_order=2))
    engine.place(spec(buy=False, price=100, amount=1, maker=ALICE))
    engine.place(spec(buy=False, price=100, amount=1, maker=BOB))
    engine.place(spec(buy=False, price=101, amount=1, maker=CAROL))

    events = engine.place(spec(buy=True, price=200, amount=2, maker=BOB), TimeInForce.FOK)

    assert len(_fills(events)) == 2
    assert any(isinstance(e, Cancelled) and e.reason is CancelReason.SELF_TRADE and e.resting for e in events)


def test_gtc_is_not_limited_and_rests_only_what_does_not_cross() -> None:
    engine = _engine(2, asks=5)

    events = engine.place(spec(buy=True, price=102, amount=10, maker=BOB), TimeInForce.GTC)

    assert len(_fills(events)) == 3
    last = events[-1]
    assert isinstance(last, Rested) and last.remaining == 7
    assert engine.best_bid(SERIES_A) == 102 and engine.best_ask(SERIES_A) == 103


def test_no_limit_by_default() -> None:
    engine = _engine(None, asks=200)

    events = engine.place(spec(buy=True, price=1_000, amount=200, maker=BOB), TimeInForce.IOC)

    assert len(_fills(events)) == 200 and engine.best_ask(SERIES_A) is None


@pytest.mark.parametrize("bad", [0, -1])
def test_a_limit_below_one_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="max_fills_per_order"):
        EngineConfig(max_fills_per_order=bad)


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(1, 6),
    sizes=st.lists(st.integers(1, 4), min_size=0, max_size=12),
    amount=st.integers(1, 30),
    tif=st.sampled_from([TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTC]),
)
def test_a_taker_never_exceeds_the_limit_and_its_amount_is_conserved(
    limit: int, sizes: list[int], amount: int, tif: TimeInForce
) -> None:
    engine = MatchingEngine(ManualClock(), EngineConfig(max_fills_per_order=limit))
    for i, size in enumerate(sizes):
        engine.place(spec(buy=False, price=100 + i // 2, amount=size, maker=ALICE))
    book_total = sum(sizes)

    events = engine.place(spec(buy=True, price=1_000, amount=amount, maker=BOB), tif)

    fills = _fills(events)
    filled = sum(f.amount for f in fills)
    last = events[-1]
    # what a limit-free sweep would fill with the first `limit` orders
    reachable = min(amount, sum(sizes[:limit]))
    if tif is TimeInForce.GTC:
        assert filled == min(amount, book_total)
        assert isinstance(last, Rested) or filled == amount
        return
    assert len(fills) <= limit
    if tif is TimeInForce.FOK:
        fillable = reachable == amount
        assert filled == (amount if fillable else 0)
        if not fillable:
            assert isinstance(last, Cancelled) and last.reason is CancelReason.FOK_UNFILLABLE
        return
    assert filled == reachable
    if filled < amount:
        assert isinstance(last, Cancelled) and last.remaining == amount - filled
        cut_by_limit = len(fills) == limit and len(sizes) > limit
        assert last.reason is (CancelReason.FILL_LIMIT if cut_by_limit else CancelReason.IOC_REMAINDER)


#: Deep books: GTC makers that never cross (bids 96-99, asks 100-103), then IOC/FOK takers
#: across the whole book, so the limit is reached often (and self-trades and expiry meet it).
_makers = st.builds(
    Place,
    maker=st.integers(0, 2),
    series=st.just(0),
    buy=st.booleans(),
    price=st.integers(0, 3),
    amount=st.integers(1, 4),
    tif=st.just(TimeInForce.GTC),
    ttl_s=st.integers(0, 3),
    duplicate=st.just(False),
).map(lambda p: replace(p, price=(96 + p.price) if p.buy else (100 + p.price)))
_takers = st.builds(
    Place,
    maker=st.integers(0, 2),
    series=st.just(0),
    buy=st.booleans(),
    price=st.just(0),
    amount=st.integers(1, 16),
    tif=st.sampled_from([TimeInForce.IOC, TimeInForce.FOK]),
    ttl_s=st.integers(1, 3),
    duplicate=st.just(False),
).map(lambda p: replace(p, price=103 if p.buy else 96))
_deep_ops = st.lists(
    st.integers(0, 9).flatmap(lambda n: _makers if n < 6 else _takers if n < 9 else ticks), min_size=10, max_size=60
)


@settings(max_examples=150, deadline=None)
@given(
    op_list=_deep_ops,
    stp=st.sampled_from(list(SelfTradePrevention)),
    limit=st.sampled_from([None, 1, 2, 3, 5]),
)
def test_deep_sweeps_match_the_reference_model(op_list: list[Op], stp: SelfTradePrevention, limit: int | None) -> None:
    config = EngineConfig(stp=stp, max_fills_per_order=limit)
    engine = MatchingEngine(lambda: T0_MS, config)
    for step in commands_for(op_list, ReferenceEngine(config)):
        assert engine.apply(step.command) == step.expected
        assert list(engine.open_orders()) == step.resting
        assert_not_crossed(engine)
