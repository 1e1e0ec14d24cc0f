"""An order cancelled by hash (signed) or on-chain by nonce never comes back when a fill of it is skipped.

A fill skipped through the counterparty's fault normally puts the innocent order's amount back
(`RestoreOrder`). Not when its maker cancelled it meanwhile:

- by hash with a signed cancel while it was fully matched (off the book, its fill settling): the
  cancel is durable (its `cancels` row, in the cancel's own commit), so a restart before the
  settlement keeps it; the skipped amount stays unfilled with reason `requested`;
- on-chain below a nonce floor (`cancelAllBelow`, event `NoncesCancelled`), partly or fully
  matched: the skipped amount stays unfilled with reason `onchain_cancel`, also when the venue
  restarted and has not cached the maker's floor.

A cancel whose commit fails is not acknowledged: every result says `store_unavailable` (retry),
nothing is cancelled in memory or in the store, and a skipped fill of the listed order still
restores it; the replay guard forgets it, so the very same signed cancel (or `CancelAfter`) is
accepted once the store is back. Controls: without a cancel the innocent order is restored, as is
another maker's.

Real Anvil, real venue (harness of `test_pulled`): the batch is held at the submitter (or, with a
restart in between, not cut before the restart) and the counterparty cancels its own order
on-chain, so the chain skips the fill through its fault. The store fault is a real SQLite error
raised inside the venue's commit (a trigger added through a second connection).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from relayer.cancels import CancelAfter, CancelOrders, sign_cancel
from relayer.engine import TimeInForce
from relayer.intake.errors import CancelRejected
from relayer.venue import Venue
from relayer.views import OrderResult, OrderState
from tests.settlement.venue import EXCHANGE, OPTION, PRICE
from tests.settlement.venue import Venue as ChainVenue
from tests.venue.support import (
    HeldBatches,
    Maker,
    all_skipped,
    asks,
    bids,
    cancel_onchain,
    clocked,
    eventually,
    held_unless,
    order_id,
    order_status,
    running,
    settle_held,
    submit,
)

#: makes every signed cancel row fail inside the venue's commit (and with it the whole commit)
FAULT = (
    "CREATE TRIGGER injected_fault BEFORE INSERT ON cancels WHEN NEW.kind = 'signed' "
    "BEGIN SELECT RAISE(ABORT, 'injected disk fault'); END"
)


def _sql(db: Path, statement: str) -> list[tuple[object, ...]]:
    """Run one statement through a second connection to the relayer's SQLite file."""
    conn = sqlite3.connect(db, timeout=10)
    try:
        rows = conn.execute(statement).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


async def _cancel(
    venue: Venue, deployed: ChainVenue, maker: Maker, now: list[int], *hashes: bytes
) -> list[OrderResult]:
    now[0] += 1
    signed = sign_cancel(CancelOrders(maker.raw, hashes, now[0]), deployed.manifest.domain, maker.key)
    return list(await venue.cancel(signed))


@pytest.mark.parametrize("restart", [False, True], ids=["same_process", "restart_before_settling"])
@pytest.mark.parametrize("kind", ["none", "signed"])
async def test_a_fully_matched_order_cancelled_by_hash_is_not_restored_when_its_fill_is_skipped(
    deployed: ChainVenue,
    makers: list[Maker],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    restart: bool,
) -> None:
    """kind "none" is the control: nothing cancelled, the innocent order comes back."""
    alice, bob, carol, dave = makers
    now, config, first = clocked(deployed, tmp_path, restart=restart)
    ask = alice.order(is_buy=False, price=PRICE)
    bid = bob.order(is_buy=True, price=PRICE)
    other = carol.order(is_buy=True, price=PRICE // 2)  # another maker's innocent order
    other_taker = dave.order(is_buy=False, price=PRICE // 2)
    ask_id, other_id = order_id(deployed, ask), order_id(deployed, other)

    async with running(first) as venue, held_unless(restart, venue, monkeypatch) as held:
        await submit(venue, ask)
        (taker,) = await submit(venue, bid)
        assert taker.status is OrderState.FILLED
        await submit(venue, other)
        (t,) = await submit(venue, other_taker)
        assert t.status is OrderState.FILLED
        assert await order_status(venue, ask_id) == (OrderState.FILLED, None, 0)
        # the takers are at fault: their orders are cancelled on-chain before the batch lands
        cancel_onchain(deployed, bob, bid)
        cancel_onchain(deployed, dave, other_taker)
        if kind == "signed":
            (result,) = await _cancel(venue, deployed, alice, now, ask_id)
            assert (result.status, result.error_code) == (OrderState.REJECTED, "not_open")
        await settle_held(held, venue, alice, carol, count=2)

    for _ in range(2):  # after a restart (settling then, if held back), and after one more
        async with running(config) as venue:
            await all_skipped(venue, alice, carol, count=2)
            if kind == "none":
                assert await order_status(venue, ask_id) == (OrderState.OPEN, None, OPTION)
                assert asks(venue, deployed) == [(PRICE, OPTION)]
            else:
                assert await order_status(venue, ask_id) == (OrderState.CANCELLED, "requested", OPTION)
                assert asks(venue, deployed) == []
            assert await order_status(venue, other_id) == (OrderState.OPEN, None, OPTION)
            assert bids(venue, deployed) == [(PRICE // 2, OPTION)]

    async with running(config) as venue:  # a later taker finds alice's order only if it came back
        (later,) = await submit(venue, bob.order(is_buy=True, price=PRICE), tif=TimeInForce.IOC)
        if kind == "none":
            assert (later.status, later.remaining) == (OrderState.FILLED, 0)
        else:
            assert (later.status, later.remaining) == (OrderState.CANCELLED, OPTION)
            assert await order_status(venue, ask_id) == (OrderState.CANCELLED, "requested", OPTION)
    assert deployed.position(alice.signer.address) == 0


async def test_a_cancel_whose_commit_fails_is_not_acknowledged_and_cancels_nothing(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every listed hash is answered `store_unavailable`, whatever it names: a resting order, a
    fully matched one whose fill is settling, one never seen; none of them is cancelled."""
    alice, bob = makers[0], makers[1]
    now, config, _ = clocked(deployed, tmp_path)
    db = tmp_path / "relayer.sqlite"
    resting = alice.order(is_buy=True, price=PRICE // 4)
    ask = alice.order(is_buy=False, price=PRICE)
    bid = bob.order(is_buy=True, price=PRICE)
    unseen = alice.order(is_buy=True, price=PRICE // 8)  # sent only after the failed cancels
    resting_id, ask_id, bid_id, unseen_id = (order_id(deployed, o) for o in (resting, ask, bid, unseen))

    async with running(config) as venue:
        held = HeldBatches(venue, monkeypatch)
        try:
            await submit(venue, resting, ask)
            (taker,) = await submit(venue, bid)
            assert taker.status is OrderState.FILLED
            cancel_onchain(deployed, bob, bid)  # bob is at fault: alice's ask is innocent

            def bob_cancel_stored() -> bool:  # the chain effect is durable before the fault
                rows = _sql(db, f"SELECT count(*) FROM cancels WHERE kind = 'onchain' AND order_id = x'{bid_id.hex()}'")
                return rows[0][0] == 1

            await eventually(bob_cancel_stored)
            _sql(db, FAULT)
            for hashes in ((ask_id,), (unseen_id,), (resting_id, ask_id, unseen_id)):
                results = await _cancel(venue, deployed, alice, now, *hashes)
                assert [(r.order_id, r.status, r.error_code) for r in results] == [
                    (h, OrderState.REJECTED, "store_unavailable") for h in hashes
                ]
                # nothing cancelled, in memory (the book) or in the store
                assert bids(venue, deployed) == [(PRICE // 4, OPTION)]
                assert await order_status(venue, resting_id) == (OrderState.OPEN, None, OPTION)
                assert await order_status(venue, ask_id) == (OrderState.FILLED, None, 0)
            _sql(db, "DROP TRIGGER injected_fault")
            assert _sql(db, "SELECT count(*) FROM cancels WHERE kind = 'signed'") == [(0,)]

            # the order never seen is not refused, and the skipped fill puts alice's ask back
            (fresh,) = await submit(venue, unseen)
            assert (fresh.order_id, fresh.status) == (unseen_id, OrderState.OPEN)
            held.release()
            await all_skipped(venue, alice, count=1)
            assert await order_status(venue, ask_id) == (OrderState.OPEN, None, OPTION)
            assert asks(venue, deployed) == [(PRICE, OPTION)]
            # the store is writable again: a cancel is acknowledged
            results = await _cancel(venue, deployed, alice, now, resting_id)
            assert [(r.order_id, r.status) for r in results] == [(resting_id, OrderState.CANCELLED)]
        finally:
            held.release()

    async with running(config) as venue:  # the store agrees
        assert await order_status(venue, ask_id) == (OrderState.OPEN, None, OPTION)
        assert await order_status(venue, unseen_id) == (OrderState.OPEN, None, OPTION)
        assert await order_status(venue, resting_id) == (OrderState.CANCELLED, "requested", OPTION)
        assert asks(venue, deployed) == [(PRICE, OPTION)]
        assert bids(venue, deployed) == [(PRICE // 8, OPTION)]


@pytest.mark.parametrize("restart", [False, True], ids=["same_process", "restart_before_settling"])
@pytest.mark.parametrize("shape", ["partly_matched", "fully_matched"])
@pytest.mark.parametrize("kind", ["none", "nonce_floor"])
async def test_an_order_below_the_makers_nonce_floor_is_not_restored_when_its_fill_is_skipped(
    deployed: ChainVenue,
    makers: list[Maker],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    shape: str,
    restart: bool,
) -> None:
    """kind "none" is the control. Alice's order is the fill's taker and bob's maker order is at
    fault: the exchange checks the maker's order state first, so a skip through the taker's fault
    can never name an order whose maker's nonce floor is above it."""
    alice, bob, carol, dave = makers
    _, config, first = clocked(deployed, tmp_path, restart=restart)
    amount = 2 * OPTION if shape == "partly_matched" else OPTION
    other_maker = dave.order(is_buy=False, price=PRICE // 2)
    other = carol.order(is_buy=True, price=PRICE // 2)  # another maker's innocent order
    ask = bob.order(is_buy=False, price=PRICE)
    bid = alice.order(is_buy=True, price=PRICE, amount=amount)
    witness = alice.order(is_buy=False, price=4 * PRICE)  # rests until the floor passes it
    bid_id, witness_id, other_id = (order_id(deployed, o) for o in (bid, witness, other))
    floor = max(bid.order.nonce, witness.order.nonce) + 1

    async with running(first) as venue, held_unless(restart, venue, monkeypatch) as held:
        await submit(venue, other_maker)
        (t,) = await submit(venue, other)
        assert t.status is OrderState.FILLED
        await submit(venue, ask, witness)
        (taker,) = await submit(venue, bid)
        left = amount - OPTION
        assert (taker.status, taker.remaining) == (OrderState.OPEN if left else OrderState.FILLED, left)
        # the makers are at fault: their orders are cancelled on-chain before the batch lands
        cancel_onchain(deployed, bob, ask)
        cancel_onchain(deployed, dave, other_maker)
        if kind == "nonce_floor":
            call = EXCHANGE.encode_call("cancelAllBelow", floor)
            deployed.send(alice.signer, deployed.manifest.exchange, call)

            async def floor_applied() -> bool:  # the venue has seen NoncesCancelled
                return (await order_status(venue, witness_id))[:2] == (OrderState.CANCELLED, "onchain_cancel")

            await eventually(floor_applied)
            if left:
                assert await order_status(venue, bid_id) == (OrderState.CANCELLED, "onchain_cancel", left)
        await settle_held(held, venue, alice, carol, count=2)

    for _ in range(2):  # after a restart (settling then, if held back), and after one more
        async with running(config) as venue:
            await all_skipped(venue, alice, carol, count=2)
            if kind == "none":
                assert await order_status(venue, bid_id) == (OrderState.OPEN, None, amount)
                assert bids(venue, deployed) == [(PRICE, amount), (PRICE // 2, OPTION)]
                assert asks(venue, deployed) == [(4 * PRICE, OPTION)]
            else:
                # the whole amount is unfilled, cancelled on-chain; only carol's order came back
                assert await order_status(venue, bid_id) == (OrderState.CANCELLED, "onchain_cancel", amount)
                assert bids(venue, deployed) == [(PRICE // 2, OPTION)]
                assert asks(venue, deployed) == []
            assert await order_status(venue, other_id) == (OrderState.OPEN, None, OPTION)
            assert deployed.position(alice.signer.address) == 0

    async with running(config) as venue:  # a later taker finds alice's order only if it came back
        (later,) = await submit(venue, bob.order(is_buy=False, price=PRICE, amount=OPTION), tif=TimeInForce.IOC)
        if kind == "none":
            assert (later.status, later.remaining) == (OrderState.FILLED, 0)
        else:
            assert (later.status, later.remaining) == (OrderState.CANCELLED, OPTION)
            assert await order_status(venue, bid_id) == (OrderState.CANCELLED, "onchain_cancel", amount)


async def test_a_cancel_refused_for_a_store_fault_can_be_sent_again_as_signed(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    """The replay guard forgets a cancel whose commit failed: the client may resend the very same
    signed message once the store is back; it is then applied once, and a further copy is a replay."""
    alice = makers[0]
    now, config, _ = clocked(deployed, tmp_path)
    db = tmp_path / "relayer.sqlite"
    order = alice.order(is_buy=True, price=PRICE // 4)
    oid = order_id(deployed, order)
    async with running(config) as venue:
        await submit(venue, order)
        now[0] += 1
        signed = sign_cancel(CancelOrders(alice.raw, (oid,), now[0]), deployed.manifest.domain, alice.key)
        _sql(db, FAULT)
        (refused,) = await venue.cancel(signed)
        assert (refused.status, refused.error_code) == (OrderState.REJECTED, "store_unavailable")
        assert await order_status(venue, oid) == (OrderState.OPEN, None, OPTION)
        _sql(db, "DROP TRIGGER injected_fault")
        (accepted,) = await venue.cancel(signed)
        assert accepted.status is OrderState.CANCELLED
        with pytest.raises(CancelRejected) as replay:
            await venue.cancel(signed)
        assert replay.value.code == "cancel_replayed"
    async with running(config) as venue:
        assert await order_status(venue, oid) == (OrderState.CANCELLED, "requested", OPTION)


async def test_a_dead_man_switch_refused_for_a_store_fault_can_be_sent_again_as_signed(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    """Same for `CancelAfter`: arming fails with the store, nothing is armed, and the same signed
    message arms the switch once the store is back."""
    alice = makers[0]
    now, config, _ = clocked(deployed, tmp_path)
    db = tmp_path / "relayer.sqlite"
    async with running(config) as venue:
        now[0] += 1
        signed = sign_cancel(CancelAfter(alice.raw, 60_000, now[0]), deployed.manifest.domain, alice.key)
        _sql(
            db,
            "CREATE TRIGGER injected_fault BEFORE INSERT ON dead_man_switches "
            "BEGIN SELECT RAISE(ABORT, 'injected disk fault'); END",
        )
        with pytest.raises(CancelRejected) as refused:
            await venue.cancel_after(signed)
        assert refused.value.code == "store_unavailable"
        assert _sql(db, "SELECT count(*) FROM dead_man_switches") == [(0,)]
        _sql(db, "DROP TRIGGER injected_fault")
        assert await venue.cancel_after(signed) == now[0] + 60_000
        with pytest.raises(CancelRejected) as replay:
            await venue.cancel_after(signed)
        assert replay.value.code == "cancel_replayed"
    assert _sql(db, "SELECT count(*) FROM dead_man_switches") == [(1,)]
