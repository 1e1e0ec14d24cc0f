"""Hypothesis properties of the engine over random sequences of orders, cancels and time.

Every sequence is run against the naive `ReferenceEngine`; equal event streams (with `seq`
numbers) prove price-time priority, TIF and STP behaviour and expiry. The invariants are also
checked directly: no crossed book at rest, conservation of every order's amount,
determinism of events and book hash, journal replay and snapshot/restore equivalence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from relayer.engine import (
    Accepted,
    Cancelled,
    CancelOrder,
    CancelReason,
    Command,
    EngineConfig,
    Event,
    Expired,
    ExpireOrders,
    Fill,
    MatchingEngine,
    OrderSpec,
    PlaceOrder,
    RestingOrder,
    SelfTradePrevention,
    TimeInForce,
    decode_command,
    encode_command,
)
from tests.relayer.engine.builders import MAKERS, SERIES_A, SERIES_B, T0_MS, order_id
from tests.relayer.engine.reference_model import ReferenceEngine

_SERIES = (SERIES_A, SERIES_B)


@dataclass(frozen=True)
class Place:
    maker: int
    series: int
    buy: bool
    price: int
    amount: int
    tif: TimeInForce
    ttl_s: int
    duplicate: bool


@dataclass(frozen=True)
class Cancel:
    pick: int


@dataclass(frozen=True)
class Tick:
    ms: int
    sweep: bool


Op = Place | Cancel | Tick

places = st.builds(
    Place,
    maker=st.integers(0, 2),
    series=st.integers(0, 9).map(lambda n: int(n == 0)),
    buy=st.booleans(),
    # the trailing 0s are the rare invalid price and amount.
    price=st.sampled_from([100, 101, 99, 102, 98, 0]),
    amount=st.sampled_from([*range(1, 13), 0]),
    tif=st.sampled_from([TimeInForce.GTC] * 3 + list(TimeInForce)),
    ttl_s=st.integers(-1, 3),
    duplicate=st.integers(0, 19).map(lambda n: n == 0),
)
cancels = st.builds(Cancel, pick=st.integers(0, 1000))
ticks = st.builds(Tick, ms=st.integers(0, 2500), sweep=st.booleans())
#: Mostly orders, then cancels, then the passing of time (hypothesis's one_of favours the first).
ops = st.lists(
    st.integers(0, 9).flatmap(lambda n: places if n < 6 else cancels if n < 8 else ticks),
    min_size=10,
    max_size=60,
)
configs = st.builds(
    EngineConfig,
    stp=st.sampled_from(list(SelfTradePrevention)),
    expiry_margin_ms=st.sampled_from([0, 400]),
    # small limits are reached often by IOC/FOK orders sweeping a few 1-12 lots
    max_fills_per_order=st.sampled_from([None, 1, 2, 3]),
)


@dataclass(frozen=True)
class Step:
    """One command, the events the reference model gave for it and its resting orders after."""

    command: Command
    expected: list[Event]
    resting: list[RestingOrder]


def commands_for(op_list: list[Op], model: ReferenceEngine) -> list[Step]:
    """Turn abstract ops into engine commands, stepping the reference model alongside."""
    now = T0_MS
    placed: list[bytes] = []
    out: list[Step] = []
    for op in op_list:
        command: Command
        if isinstance(op, Tick):
            now += op.ms
            if not op.sweep:
                continue
            command = ExpireOrders(now)
            expected = model.expire(now)
        elif isinstance(op, Cancel):
            resting = model.open_orders()
            # pick 0 (or an empty book) cancels an order the engine never held or no longer holds.
            target = resting[op.pick % len(resting)].order_id if resting and op.pick else order_id(op.pick + 10**6)
            command = CancelOrder(target, CancelReason.REQUESTED, now)
            expected = model.cancel(target, CancelReason.REQUESTED)
        else:
            resting = model.open_orders()
            if op.duplicate and resting:
                oid = resting[op.maker % len(resting)].order_id
            else:
                oid = order_id(len(placed) + 1)
                placed.append(oid)
            spec = OrderSpec(
                oid, MAKERS[op.maker], _SERIES[op.series], op.buy, op.price, op.amount, now // 1000 + op.ttl_s
            )
            command = PlaceOrder(spec, op.tif, now)
            expected = model.place(spec, op.tif, now)
        out.append(Step(command, expected, model.open_orders()))
    return out


def run(engine: MatchingEngine, commands: list[Command]) -> list[list[Event]]:
    return [engine.apply(c) for c in commands]


def assert_not_crossed(engine: MatchingEngine) -> None:
    for series in engine.series():
        bid, ask = engine.best_bid(series), engine.best_ask(series)
        assert bid is None or ask is None or bid < ask


@settings(max_examples=150, deadline=None)
@given(op_list=ops, config=configs)
def test_engine_matches_the_reference_model_and_never_rests_crossed(op_list: list[Op], config: EngineConfig) -> None:
    model = ReferenceEngine(config)
    engine = MatchingEngine(lambda: T0_MS, config)
    for step in commands_for(op_list, model):
        assert engine.apply(step.command) == step.expected
        assert_not_crossed(engine)
        assert list(engine.open_orders()) == step.resting


@settings(max_examples=100, deadline=None)
@given(op_list=ops, config=configs)
def test_every_accepted_amount_is_filled_resting_cancelled_or_expired(op_list: list[Op], config: EngineConfig) -> None:
    engine = MatchingEngine(lambda: T0_MS, config)
    commands = [s.command for s in commands_for(op_list, ReferenceEngine(config))]
    accepted: dict[bytes, int] = {}
    accounted: dict[bytes, int] = defaultdict(int)
    for events in run(engine, commands):
        for e in events:
            if isinstance(e, Accepted):
                accepted[e.order_id] = e.amount
            elif isinstance(e, Fill):
                assert e.amount > 0
                accounted[e.maker_id] += e.amount
                accounted[e.taker_id] += e.amount
            elif isinstance(e, Cancelled | Expired):
                accounted[e.order_id] += e.remaining
    for resting in engine.open_orders():
        accounted[resting.order_id] += resting.remaining
    assert accounted == {oid: amount for oid, amount in accepted.items()}


@settings(max_examples=100, deadline=None)
@given(op_list=ops, config=configs)
def test_replaying_the_encoded_journal_gives_the_same_fills_and_book_hash(
    op_list: list[Op], config: EngineConfig
) -> None:
    commands = [s.command for s in commands_for(op_list, ReferenceEngine(config))]
    journal = [encode_command(c) for c in commands]
    original = MatchingEngine(lambda: T0_MS, config)
    replica = MatchingEngine(lambda: 0, config)

    assert run(original, commands) == run(replica, [decode_command(r) for r in journal])
    assert original.state_hash() == replica.state_hash()
    assert original.snapshot() == replica.snapshot()


@settings(max_examples=100, deadline=None)
@given(op_list=ops, config=configs, split=st.integers(0, 60))
def test_a_restored_snapshot_behaves_exactly_like_the_original(
    op_list: list[Op], config: EngineConfig, split: int
) -> None:
    commands = [s.command for s in commands_for(op_list, ReferenceEngine(config))]
    head, tail = commands[:split], commands[split:]
    original = MatchingEngine(lambda: T0_MS, config)
    run(original, head)

    restored = MatchingEngine.restore(original.snapshot(), lambda: T0_MS, config)

    assert restored.state_hash() == original.state_hash()
    assert run(restored, tail) == run(original, tail)
    assert restored.snapshot() == original.snapshot()
