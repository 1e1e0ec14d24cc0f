"""RestoreOrder: the amount of a fill that failed on-chain goes back on the book."""

from __future__ import annotations

from dataclasses import replace

from relayer.engine import (
    Fill,
    MatchingEngine,
    RejectCode,
    Rejected,
    Rested,
    RestoreOrder,
    TimeInForce,
    decode_command,
    encode_command,
)
from tests.relayer.engine.builders import ALICE, BOB, CAROL, T0_MS, ManualClock, spec


def test_restoring_a_resting_order_grows_it_in_place_and_keeps_its_priority() -> None:
    engine = MatchingEngine(ManualClock())
    first = spec(buy=True, price=10, amount=5, maker=ALICE)
    second = spec(buy=True, price=10, amount=5, maker=BOB)
    engine.place(first)
    engine.place(second)
    engine.place(spec(buy=False, price=10, amount=2, maker=CAROL), TimeInForce.IOC)

    events = engine.apply(RestoreOrder(replace(first, amount=2), T0_MS))

    assert isinstance(events[0], Rested) and events[0].remaining == 5
    fills = [e for e in engine.place(spec(buy=False, price=10, amount=5, maker=CAROL)) if isinstance(e, Fill)]
    assert [f.maker_id for f in fills] == [first.order_id]


def test_restoring_an_order_that_left_the_book_places_the_amount_again() -> None:
    engine = MatchingEngine(ManualClock())
    maker = spec(buy=True, price=10, amount=3, maker=ALICE)
    engine.place(maker)
    engine.place(spec(buy=False, price=10, amount=3, maker=BOB), TimeInForce.IOC)
    assert engine.order(maker.order_id) is None

    events = engine.put_back(replace(maker, amount=3), now_ms=T0_MS)

    assert any(isinstance(e, Rested) for e in events)
    resting = engine.order(maker.order_id)
    assert resting is not None and resting.remaining == 3


def test_restoring_an_expired_order_is_rejected_and_changes_nothing() -> None:
    clock = ManualClock()
    engine = MatchingEngine(clock)
    maker = spec(buy=True, price=10, amount=3, expiry=T0_MS // 1000 + 1)
    before = engine.state_hash()

    events = engine.put_back(maker, now_ms=T0_MS + 5_000)

    assert isinstance(events[0], Rejected) and events[0].code is RejectCode.ORDER_EXPIRED
    assert engine.state_hash() == before


def test_restore_commands_round_trip_through_the_journal_encoding() -> None:
    command = RestoreOrder(spec(buy=False, price=7, amount=9), T0_MS)

    assert decode_command(encode_command(command)) == command
