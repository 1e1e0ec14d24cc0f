"""One-shot orders at the venue: IOC/FOK only, never split across batches, spent once, skips final."""

from __future__ import annotations

import time
from pathlib import Path

from relayer.engine import TimeInForce
from relayer.intake import RejectCode
from relayer.venue import OrderSubmission, Venue
from relayer.views import FillState, OrderState
from settlement.order import ONE_SHOT_FLAG, one_shot_nonce
from tests.settlement.venue import EXCHANGE, OPTION, PRICE
from tests.settlement.venue import Venue as ChainVenue
from tests.venue.support import Maker, config_for, eventually, running, submit

TICK = 10**5


def _seq() -> int:
    """A fresh one-shot sequence number, as the SDK picks them (unix ms)."""
    return time.time_ns() // 1_000_000


async def _fills_by_batch(venue: Venue, series: bytes) -> dict[int | None, list[tuple[bytes, FillState]]]:
    page = await venue.list_fills(series=series, limit=1000)
    out: dict[int | None, list[tuple[bytes, FillState]]] = {}
    for f in page.items:
        out.setdefault(f.batch_seq, []).append((f.taker_order_id, f.status))
    return out


async def test_a_one_shot_order_must_be_immediate_and_keep_its_nonce_bits_clear(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice = makers[0]
    async with running(config_for(deployed, tmp_path)) as venue:
        gtc, post_only, bad_bits = await venue.submit_orders(
            [
                OrderSubmission(alice.order(is_buy=True, nonce=one_shot_nonce(_seq())), TimeInForce.GTC),
                OrderSubmission(alice.order(is_buy=True, nonce=one_shot_nonce(_seq() + 1)), TimeInForce.POST_ONLY),
                OrderSubmission(alice.order(is_buy=True, nonce=ONE_SHOT_FLAG | 1 << 64 | _seq()), TimeInForce.IOC),
            ]
        )
        assert gtc.error_code == RejectCode.ONE_SHOT_MUST_BE_IMMEDIATE.value
        assert post_only.error_code == RejectCode.ONE_SHOT_MUST_BE_IMMEDIATE.value
        assert bad_bits.error_code == RejectCode.BAD_ONE_SHOT_NONCE.value
        assert all(r.status is OrderState.REJECTED for r in (gtc, post_only, bad_bits))
        book = venue.book(deployed.series)
        assert book.bids == () and book.asks == ()
        # the same order with an ordinary nonce rests; a one-shot FOK with nothing to fill is killed
        (plain,) = await submit(venue, alice.order(is_buy=True))
        (fok,) = await submit(venue, makers[1].order(is_buy=True, nonce=one_shot_nonce(_seq())), tif=TimeInForce.FOK)
        assert plain.status is OrderState.OPEN
        assert fok.status is OrderState.CANCELLED and fok.error_code is None


async def test_a_batch_never_splits_the_fills_of_one_one_shot_order(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice, bob, carol, dave = makers
    async with running(config_for(deployed, tmp_path, batch_size=2)) as venue:
        asks = [
            alice.order(is_buy=False, price=PRICE),
            bob.order(is_buy=False, price=PRICE + TICK),
            carol.order(is_buy=False, price=PRICE + 2 * TICK),
        ]
        assert all(r.status is OrderState.OPEN for r in await submit(venue, *asks))
        # one request, one commit: bob's ordinary bid takes alice's best ask (fill 1), then dave's
        # one-shot IOC sweeps the other two asks (fills 2-3; the fill limit is the cap, 2).
        # Cap 2: fills 1-2 would split dave's.
        ordinary = bob.order(is_buy=True, price=PRICE)
        sweep = dave.order(is_buy=True, price=PRICE + 2 * TICK, amount=2 * OPTION, nonce=one_shot_nonce(_seq()))
        r1, r2 = await venue.submit_orders([OrderSubmission(ordinary), OrderSubmission(sweep, TimeInForce.IOC)])
        assert r1.status is OrderState.FILLED and r2.status is OrderState.FILLED and r2.remaining == 0

        async def all_settled() -> bool:
            page = await venue.list_fills(series=deployed.series)
            return len(page.items) == 3 and all(f.status is FillState.SETTLED for f in page.items)

        await eventually(all_settled, timeout=30)
        batches = await _fills_by_batch(venue, deployed.series)
        assert sorted(len(fills) for fills in batches.values()) == [1, 2]  # cut before dave's, then all of his
        (dave_batch,) = [b for b, fills in batches.items() if any(t == r2.order_id for t, _ in fills)]
        assert all(t == r2.order_id for t, _ in batches[dave_batch])
        (other,) = [b for b in batches if b != dave_batch]
        assert other is not None and dave_batch is not None and other < dave_batch
        assert deployed.position(dave.signer.address) == 2 * OPTION
        seq = sweep.order.one_shot_seq
        assert seq is not None and venue.state.is_one_shot_spent(dave.raw, deployed.series, seq)


async def test_a_spent_sequence_number_is_refused_before_and_after_its_batch(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice, dave = makers[0], makers[3]
    config = config_for(deployed, tmp_path)
    seq = _seq()
    async with running(config) as venue:
        await submit(venue, alice.order(is_buy=False, amount=5 * OPTION))
        (first,) = await submit(venue, dave.order(is_buy=True, nonce=one_shot_nonce(seq)), tif=TimeInForce.IOC)
        assert first.status is OrderState.FILLED
        # the batch may not have applied yet: the venue remembers the spend itself
        same, below, above = await venue.submit_orders(
            [
                OrderSubmission(dave.order(is_buy=True, amount=2 * OPTION, nonce=one_shot_nonce(seq)), TimeInForce.IOC),
                OrderSubmission(dave.order(is_buy=True, nonce=one_shot_nonce(seq - 64)), TimeInForce.FOK),
                OrderSubmission(dave.order(is_buy=True, nonce=one_shot_nonce(seq - 63)), TimeInForce.IOC),
            ]
        )
        assert same.error_code == below.error_code == RejectCode.ONE_SHOT_SPENT.value
        assert above.status is OrderState.FILLED  # within the window and unused: fine

        async def settled() -> bool:
            page = await venue.list_fills(maker=dave.raw)
            return len(page.items) == 2 and all(f.status is FillState.SETTLED for f in page.items)

        await eventually(settled, timeout=30)
    # a restarted venue knows nothing of its own spends but reads them from the chain
    async with running(config) as venue:
        (again,) = await submit(
            venue, dave.order(is_buy=True, amount=3 * OPTION, nonce=one_shot_nonce(seq)), tif=TimeInForce.IOC
        )
        assert again.error_code == RejectCode.ONE_SHOT_SPENT.value
        (fresh,) = await submit(venue, dave.order(is_buy=True, nonce=one_shot_nonce(seq + 1)), tif=TimeInForce.IOC)
        assert fresh.status is OrderState.FILLED


async def test_a_sequence_number_cancelled_on_chain_is_refused_once_the_event_is_polled(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    dave = makers[3]
    seq = _seq()
    async with running(config_for(deployed, tmp_path)) as venue:
        # nothing to match: cancelled as an IOC remainder, not spent; the window is now cached
        (idle,) = await submit(venue, dave.order(is_buy=True, nonce=one_shot_nonce(seq)), tif=TimeInForce.IOC)
        assert idle.status is OrderState.CANCELLED
        assert (dave.raw, deployed.series) in venue.state.one_shot
        deployed.send(
            dave.signer, deployed.manifest.exchange, EXCHANGE.encode_call("cancelOneShot", deployed.series, [seq + 5])
        )

        attempts = iter(range(1, 1_000))

        async def refused() -> bool:
            # a different order (amount) with the cancelled number each time: a repeat would be a duplicate
            order = dave.order(is_buy=True, amount=OPTION + next(attempts), nonce=one_shot_nonce(seq + 5))
            (r,) = await submit(venue, order, tif=TimeInForce.IOC)
            assert r.error_code in (None, RejectCode.ONE_SHOT_SPENT.value)
            return r.error_code == RejectCode.ONE_SHOT_SPENT.value

        await eventually(refused, timeout=10)
        (later,) = await submit(venue, dave.order(is_buy=True, nonce=one_shot_nonce(seq + 6)), tif=TimeInForce.IOC)
        assert later.status is OrderState.CANCELLED and later.error_code is None


async def test_a_one_shot_fill_skipped_as_spent_is_final_and_the_resting_maker_gets_its_amount_back(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice, dave = makers[0], makers[3]
    seq = _seq()
    # the venue polls the chain once at start and then not again: it never sees dave's on-chain cancel
    async with running(config_for(deployed, tmp_path, chain_poll_s=3600.0)) as venue:
        await eventually(lambda: venue.health().indexed_block > 0)
        (idle,) = await submit(venue, dave.order(is_buy=True, nonce=one_shot_nonce(seq)), tif=TimeInForce.IOC)
        assert idle.status is OrderState.CANCELLED  # caches dave's (empty) window
        deployed.send(
            dave.signer, deployed.manifest.exchange, EXCHANGE.encode_call("cancelOneShot", deployed.series, [seq + 1])
        )
        (ask,) = await submit(venue, alice.order(is_buy=False, amount=2 * OPTION))
        (take,) = await submit(venue, dave.order(is_buy=True, nonce=one_shot_nonce(seq + 1)), tif=TimeInForce.IOC)
        assert take.status is OrderState.FILLED

        async def skipped() -> bool:
            page = await venue.list_fills(maker=dave.raw)
            return bool(page.items) and page.items[0].status is FillState.SKIPPED

        await eventually(skipped, timeout=30)
        (fill,) = (await venue.list_fills(maker=dave.raw)).items
        assert fill.skip_reason == "taker_order_spent"
        assert take.order_id is not None and ask.order_id is not None
        taker = await venue.get_order(take.order_id)
        assert taker is not None and taker.status is OrderState.CANCELLED and taker.remaining == OPTION
        assert taker.cancel_reason == "onchain_cancel"
        maker = await venue.get_order(ask.order_id)
        assert maker is not None and maker.status is OrderState.OPEN and maker.remaining == 2 * OPTION
        assert [lvl.amount for lvl in venue.book(deployed.series).asks] == [2 * OPTION]
        assert deployed.position(dave.signer.address) == 0


async def test_a_one_shot_ioc_stops_at_the_fill_limit_and_its_fills_settle_in_one_batch(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice, bob, carol, dave = makers
    # no max_fills_per_order: the limit defaults to the batch size, 3
    config = config_for(deployed, tmp_path, batch_size=3)
    assert config.fill_limit == 3
    async with running(config) as venue:
        asks = [
            alice.order(is_buy=False, price=PRICE),
            bob.order(is_buy=False, price=PRICE + TICK),
            carol.order(is_buy=False, price=PRICE + 2 * TICK),
            alice.order(is_buy=False, price=PRICE + 3 * TICK),
            bob.order(is_buy=False, price=PRICE + 4 * TICK),
        ]
        assert all(r.status is OrderState.OPEN for r in await submit(venue, *asks))
        # a one-shot IOC that crosses all five levels: three fills, then the limit
        sweep = dave.order(is_buy=True, price=PRICE + 4 * TICK, amount=5 * OPTION, nonce=one_shot_nonce(_seq()))
        (taken,) = await submit(venue, sweep, tif=TimeInForce.IOC)
        assert taken.status is OrderState.CANCELLED and taken.remaining == 2 * OPTION
        assert taken.order_id is not None
        view = await venue.get_order(taken.order_id)
        assert view is not None and view.cancel_reason == "fill_limit" and view.remaining == 2 * OPTION
        # the two deepest asks were not touched
        assert [lvl.price for lvl in venue.book(deployed.series).asks] == [PRICE + 3 * TICK, PRICE + 4 * TICK]

        async def all_settled() -> bool:
            page = await venue.list_fills(series=deployed.series)
            return len(page.items) == 3 and all(f.status is FillState.SETTLED for f in page.items)

        await eventually(all_settled, timeout=30)
        batches = await _fills_by_batch(venue, deployed.series)
        assert len(batches) == 1
        ((batch_seq, fills),) = batches.items()
        assert batch_seq is not None and [t for t, _ in fills] == [taken.order_id] * 3
        assert deployed.position(dave.signer.address) == 3 * OPTION
        seq = sweep.order.one_shot_seq
        assert seq is not None and venue.state.is_one_shot_spent(dave.raw, deployed.series, seq)
