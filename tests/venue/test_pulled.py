"""An order its maker pulled never comes back on the book when a fill of it is skipped on-chain.

A fill skipped through the counterparty's fault normally puts the innocent order's amount back
(`RestoreOrder`). Not for an order covered by a signed cancel-all, a dead-man's switch that
fired, or an operator drain: whether it still rested (partly filled, so it is cancelled) or was
off the book (fully matched, its fill not final yet). The skipped amount stays unfilled with the
pull's reason, no later taker matches it, and a restart (between the pull and the settlement, or
after it) does not bring it back. Orders of other makers, and orders the maker sent after a
cancel-all's timestamp, are restored as before.

Real Anvil, real venue. The fill is skipped because the taker cancels its own order on-chain
before the batch lands (`TakerOrderCancelled`): the batch is held at the submitter (or, with a
restart in between, not cut before the restart) until the pull and the on-chain cancel are done.
Time moves only through the venue's clock.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from relayer.cancels import ALL_SERIES, CancelAfter, CancelAll, sign_cancel
from relayer.engine import TimeInForce
from relayer.venue import Venue
from relayer.views import FillState, OrderState
from tests.settlement.venue import OPTION, PRICE
from tests.settlement.venue import Venue as ChainVenue
from tests.venue.support import (
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

#: how each pull records itself on the orders it covers
REASON = {"cancel_all": "requested", "dead_man": "dead_man_switch", "drain": "operator"}
#: the switch's timeout (ms)
TIMEOUT = 60_000


async def _pull(venue: Venue, deployed: ChainVenue, maker: Maker, kind: str, now: list[int], witness: bytes) -> None:
    """`maker` pulls all of its orders by `kind`; returns once the pull is durable (acknowledged)."""
    domain = deployed.manifest.domain
    if kind == "cancel_all":
        now[0] += 1
        results = await venue.cancel_all(sign_cancel(CancelAll(maker.raw, ALL_SERIES, now[0]), domain, maker.key))
        assert witness in {r.order_id for r in results if r.status is OrderState.CANCELLED}
    elif kind == "dead_man":
        deadline = await venue.cancel_after(sign_cancel(CancelAfter(maker.raw, TIMEOUT, now[0]), domain, maker.key))
        assert deadline == now[0] + TIMEOUT
        now[0] += TIMEOUT + 1

        async def fired() -> bool:  # the witness's cancel commits together with everything the switch covers
            return (await order_status(venue, witness))[0] is OrderState.CANCELLED

        await eventually(fired)
    else:
        assert kind == "drain"
        results = await venue.drain_maker(maker.raw)
        assert witness in {r.order_id for r in results if r.status is OrderState.CANCELLED}
    assert await order_status(venue, witness) == (OrderState.CANCELLED, REASON[kind], OPTION)


@pytest.mark.parametrize("restart", [False, True], ids=["same_process", "restart_before_settling"])
@pytest.mark.parametrize("shape", ["partly_matched", "fully_matched"])
@pytest.mark.parametrize("kind", ["none", "cancel_all", "dead_man", "drain"])
async def test_a_pulled_order_is_not_restored_when_its_fill_is_skipped(
    deployed: ChainVenue,
    makers: list[Maker],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    shape: str,
    restart: bool,
) -> None:
    """kind "none" is the control: nothing pulled, the innocent order comes back."""
    alice, bob, carol, dave = makers
    now, config, first = clocked(deployed, tmp_path, restart=restart)
    amount = 2 * OPTION if shape == "partly_matched" else OPTION
    ask = alice.order(is_buy=False, price=PRICE, amount=amount)
    witness = alice.order(is_buy=True, price=PRICE // 4)  # rests throughout: shows each pull happened
    bid = bob.order(is_buy=True, price=PRICE)
    other = carol.order(is_buy=True, price=PRICE // 2)  # another maker's innocent order
    other_taker = dave.order(is_buy=False, price=PRICE // 2)
    ask_id, witness_id, other_id = (order_id(deployed, o) for o in (ask, witness, other))

    async with running(first) as venue, held_unless(restart, venue, monkeypatch) as held:
        await submit(venue, ask, witness)
        (taker,) = await submit(venue, bid)
        assert taker.status is OrderState.FILLED
        await submit(venue, other)
        (t,) = await submit(venue, other_taker)
        assert t.status is OrderState.FILLED
        left = amount - OPTION
        assert await order_status(venue, ask_id) == (OrderState.OPEN if left else OrderState.FILLED, None, left)
        # the takers are at fault: their orders are cancelled on-chain before the batch lands
        cancel_onchain(deployed, bob, bid)
        cancel_onchain(deployed, dave, other_taker)
        if kind != "none":
            await _pull(venue, deployed, alice, kind, now, witness_id)
        await settle_held(held, venue, alice, carol, count=2)

    for _ in range(2):  # after a restart (settling then, if held back), and after one more
        async with running(config) as venue:
            await all_skipped(venue, alice, carol, count=2)
            for m in (alice, carol):
                (fill,) = (await venue.list_fills(maker=m.raw)).items
                assert (fill.status, fill.skip_reason) == (FillState.SKIPPED, "taker_order_cancelled")
            if kind == "none":
                assert await order_status(venue, ask_id) == (OrderState.OPEN, None, amount)
                assert asks(venue, deployed) == [(PRICE, amount)]
                assert bids(venue, deployed) == [(PRICE // 2, OPTION), (PRICE // 4, OPTION)]
            else:
                # the whole amount is unfilled, with the pull's reason; only carol's order came back
                assert await order_status(venue, ask_id) == (OrderState.CANCELLED, REASON[kind], amount)
                assert asks(venue, deployed) == []
                assert bids(venue, deployed) == [(PRICE // 2, OPTION)]
            assert await order_status(venue, other_id) == (OrderState.OPEN, None, OPTION)
            assert deployed.position(alice.signer.address) == 0

    async with running(config) as venue:  # a later taker finds alice's order only if it came back
        (later,) = await submit(venue, bob.order(is_buy=True, price=PRICE, amount=OPTION), tif=TimeInForce.IOC)
        if kind == "none":
            assert (later.status, later.remaining) == (OrderState.FILLED, 0)
        else:
            assert (later.status, later.remaining) == (OrderState.CANCELLED, OPTION)
            assert await order_status(venue, ask_id) == (OrderState.CANCELLED, REASON[kind], amount)


@pytest.mark.parametrize("restart", [False, True], ids=["same_process", "restart_before_settling"])
async def test_cancel_all_spares_orders_sent_after_it_and_other_makers_orders(
    deployed: ChainVenue,
    makers: list[Maker],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    restart: bool,
) -> None:
    """A cancel-all covers the maker's orders received before its timestamp, matched or resting, and nothing else."""
    alice, bob, carol, dave = makers
    now, config, first = clocked(deployed, tmp_path, restart=restart)
    before = alice.order(is_buy=False, price=PRICE)  # fully matched before the cancel-all
    before_taker = bob.order(is_buy=True, price=PRICE)
    after = alice.order(is_buy=True, price=PRICE // 2)  # received after its timestamp, fully matched
    after_taker = dave.order(is_buy=False, price=PRICE // 2)
    other = carol.order(is_buy=False, price=2 * PRICE)  # another maker's, matched before the cancel-all
    other_taker = dave.order(is_buy=True, price=2 * PRICE)
    before_id, after_id, other_id = (order_id(deployed, o) for o in (before, after, other))
    domain = deployed.manifest.domain

    async with running(first) as venue, held_unless(restart, venue, monkeypatch) as held:
        for maker_order, taker_order in ((before, before_taker), (other, other_taker)):
            await submit(venue, maker_order)
            (t,) = await submit(venue, taker_order)
            assert t.status is OrderState.FILLED
        now[0] += 1
        signed = sign_cancel(CancelAll(alice.raw, ALL_SERIES, now[0]), domain, alice.key)
        now[0] += 1
        await submit(venue, after)
        (t,) = await submit(venue, after_taker)
        assert t.status is OrderState.FILLED
        for taker, order in ((bob, before_taker), (dave, other_taker), (dave, after_taker)):
            cancel_onchain(deployed, taker, order)
        assert await venue.cancel_all(signed) == []  # nothing of alice's rests
        await settle_held(held, venue, alice, carol, count=3)

    async with running(config) as venue:
        await all_skipped(venue, alice, carol, count=3)
        assert await order_status(venue, before_id) == (OrderState.CANCELLED, "requested", OPTION)
        assert await order_status(venue, after_id) == (OrderState.OPEN, None, OPTION)
        assert await order_status(venue, other_id) == (OrderState.OPEN, None, OPTION)
        assert asks(venue, deployed) == [(2 * PRICE, OPTION)]
        assert bids(venue, deployed) == [(PRICE // 2, OPTION)]
