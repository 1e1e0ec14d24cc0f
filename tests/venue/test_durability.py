"""Acknowledged inputs survive restarts and crashes: dead-man's switches, on-chain cancels, duplicates, skips."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

import relayer.venue
from relayer.cancels import CancelAfter, CancelOrders, sign_cancel
from relayer.engine import TimeInForce
from relayer.store.models import SnapshotRow
from relayer.views import FillState, OrderState
from tests.settlement.venue import EXCHANGE, OPTION
from tests.settlement.venue import Venue as ChainVenue
from tests.venue.support import Maker, config_for, eventually, running, submit


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class StoreFault:
    """Fails every statement that appends to the journal while armed (a store that dies under the venue)."""

    def __init__(self) -> None:
        self.armed = False
        self.fired = 0

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.armed and statement.lstrip().upper().startswith("INSERT INTO JOURNAL"):
            self.fired += 1
            raise RuntimeError("injected store fault")


@contextmanager
def store_fault() -> Iterator[StoreFault]:
    fault = StoreFault()
    event.listen(Engine, "before_cursor_execute", fault)
    try:
        yield fault
    finally:
        event.remove(Engine, "before_cursor_execute", fault)


async def test_an_armed_dead_man_switch_survives_a_restart(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice = makers[0]
    now = [_now_ms()]
    config = config_for(deployed, tmp_path, clock_ms=lambda: now[0])
    async with running(config) as venue:
        (bid,) = await submit(venue, alice.order(is_buy=True))
        switch = CancelAfter(alice.raw, 60_000, now[0])
        deadline = await venue.cancel_after(sign_cancel(switch, deployed.manifest.domain, alice.key))
    assert deadline == now[0] + 60_000 and bid.order_id is not None

    async with running(config) as venue:  # a new process: nothing of the first one's memory
        view = await venue.get_order(bid.order_id)
        assert view is not None and view.status is OrderState.OPEN
        now[0] += 60_001

        async def cancelled() -> bool:
            view = await venue.get_order(bid.order_id)  # type: ignore[arg-type]
            return view is not None and view.status is OrderState.CANCELLED

        await eventually(cancelled)
        view = await venue.get_order(bid.order_id)
        assert view is not None and view.cancel_reason == "dead_man_switch"
        assert venue.book(deployed.series).bids == ()

    async with running(config) as venue:  # fired once: the switch is gone from the store too
        (again,) = await submit(venue, alice.order(is_buy=True))
        now[0] += 120_000
        await venue.durable_state_hash()
        assert again.order_id is not None
        view = await venue.get_order(again.order_id)
        assert view is not None and view.status is OrderState.OPEN


async def test_a_crash_before_an_onchain_cancel_is_stored_rereads_it_after_restart(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice = makers[0]
    config = config_for(deployed, tmp_path)
    ask = alice.order(is_buy=False)
    with store_fault() as fault:
        async with running(config) as venue:
            (rested,) = await submit(venue, ask)
            assert rested.status is OrderState.OPEN and rested.order_id is not None
            fault.armed = True  # from now on the venue dies before its journal entry is durable
            digest = ask.digest(deployed.manifest.domain)
            deployed.send(alice.signer, deployed.manifest.exchange, EXCHANGE.encode_call("cancelOrders", [digest]))
            await eventually(lambda: fault.fired > 0)
            # the venue read the event, cancelled in memory, and could not store it: it crashes here
        fault.armed = False

    async with running(config) as venue:

        async def cancelled() -> bool:
            view = await venue.get_order(rested.order_id)  # type: ignore[arg-type]
            return view is not None and view.status is OrderState.CANCELLED

        await eventually(cancelled)
        view = await venue.get_order(rested.order_id)
        assert view is not None and view.cancel_reason == "onchain_cancel"
        assert venue.book(deployed.series).asks == ()


async def test_duplicates_are_found_in_the_store_once_memory_forgets_them(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relayer.venue, "_RECENT_IDS", 4)
    alice = makers[0]
    config = config_for(deployed, tmp_path)
    orders = [alice.order(is_buy=True, price=10**6 + i) for i in range(10)]
    async with running(config) as venue:
        first = [r for o in orders for r in await submit(venue, o)]
        msg = CancelOrders(alice.raw, (first[0].order_id,), _now_ms())  # type: ignore[arg-type]
        await venue.cancel(sign_cancel(msg, deployed.manifest.domain, alice.key))
        again = await submit(venue, *orders)
    assert all(r.duplicate for r in again)
    assert [r.order_id for r in again] == [r.order_id for r in first]
    assert again[0].status is OrderState.CANCELLED and again[-1].status is OrderState.OPEN

    async with running(config) as venue:  # a restart loads the newest 4 ids only: the store answers
        (cancelled,) = await submit(venue, orders[0])
    assert cancelled.duplicate and cancelled.status is OrderState.CANCELLED


async def test_duplicates_need_no_store_lookup_while_memory_holds_every_stored_id(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = makers[0]
    config = config_for(deployed, tmp_path)
    orders = [alice.order(is_buy=True, price=10**6 + i) for i in range(3)]
    async with running(config) as venue:
        first = [r for o in orders for r in await submit(venue, o)]

    async def no_store(self: relayer.venue.Venue, ids: list[bytes]) -> set[bytes]:
        raise AssertionError("store lookup while every stored id is in memory")

    monkeypatch.setattr(relayer.venue.Venue, "_stored_ids", no_store)
    async with running(config) as venue:  # the restart loaded all 3 stored ids
        again = await submit(venue, *orders)
        (fresh,) = await submit(venue, alice.order(is_buy=True, price=10**6 + 3))
    assert all(r.duplicate for r in again) and [r.order_id for r in again] == [r.order_id for r in first]
    assert not fresh.duplicate and fresh.status is OrderState.OPEN


async def test_snapshots_are_spaced_by_the_book_they_hold_and_replay_to_the_same_state(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice = makers[0]
    config = config_for(deployed, tmp_path, snapshot_every=2)
    async with running(config) as venue:
        for i in range(10):  # one resting order per journal entry
            await submit(venue, alice.order(is_buy=True, price=10**6 + i))
        before = venue.state_hash()
        db = venue._db
        with db.connect() as conn:
            seqs = list(conn.execute(select(SnapshotRow.journal_seq).order_by(SnapshotRow.journal_seq)).scalars())
    # every 2 entries at least, and at least as many entries as the previous snapshot's resting orders
    assert seqs == [2, 4, 8]
    async with running(config) as venue:
        assert venue.state_hash() == before


async def test_a_skipped_fill_leaves_an_innocent_ioc_order_cancelled_with_its_amount_unfilled(
    deployed: ChainVenue, makers: list[Maker], tmp_path: Path
) -> None:
    alice, bob = makers[0], makers[1]
    ask = alice.order(is_buy=False, amount=2 * OPTION)
    async with running(config_for(deployed, tmp_path, batch_ms=1500)) as venue:
        await submit(venue, ask)
        (bid,) = await submit(venue, bob.order(is_buy=True, amount=OPTION), tif=TimeInForce.IOC)
        assert bid.status is OrderState.FILLED and bid.order_id is not None
        digest = ask.digest(deployed.manifest.domain)
        deployed.send(alice.signer, deployed.manifest.exchange, EXCHANGE.encode_call("cancelOrders", [digest]))

        async def skipped() -> bool:
            page = await venue.list_fills(maker=bob.raw)
            return bool(page.items) and page.items[0].status is FillState.SKIPPED

        await eventually(skipped)
        view = await venue.get_order(bid.order_id)
        assert view is not None
        assert (view.status, view.remaining, view.cancel_reason) == (OrderState.CANCELLED, OPTION, "settlement_failed")
        assert venue.book(deployed.series).bids == ()  # an IOC amount is never put back on the book
        maker_view = await venue.get_order(digest)
        assert maker_view is not None and maker_view.status is OrderState.CANCELLED
        assert maker_view.remaining == 2 * OPTION  # the skipped piece never traded either
