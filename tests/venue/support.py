"""A running Venue on a deployed test chain, and signed-order builders for venue tests."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from keys.signer import LocalSigner
from relayer.config import FeeSchedule, VenueConfig
from relayer.engine import TimeInForce
from relayer.store import sqlite_url
from relayer.venue import OrderSubmission, Venue
from relayer.views import FillState, OrderResult, OrderState
from settlement.batch import Batch
from settlement.order import Order, SignedOrder
from settlement.signing import sign_order
from settlement.submitter import SubmitResult
from tests.settlement.venue import EXCHANGE, OPTION, PRICE, USD, _key
from tests.settlement.venue import Venue as ChainVenue

_nonces = itertools.count(1)


def config_for(chain: ChainVenue, tmp: Path, db_url: str | None = None, **overrides: object) -> VenueConfig:
    base = dict(
        manifest=chain.manifest,
        rpc_url=chain.node.rpc_url,
        db_url=db_url or sqlite_url(tmp / "relayer.sqlite"),
        operator=chain.operator,
        data_dir=tmp / "data",
        batch_size=16,
        batch_ms=50,
        fees=FeeSchedule(maker_fee=USD // 100, taker_fee=USD // 50),
        verify_workers=0,
        chain_poll_s=0.1,
        expire_interval_ms=100,
    )
    base.update(overrides)
    return VenueConfig(**base)  # type: ignore[arg-type]


def clocked(chain: ChainVenue, tmp: Path, *, restart: bool = False) -> tuple[list[int], VenueConfig, VenueConfig]:
    """A venue clock the test sets (`now[0]`, ms, starting at the wall clock), the venue's config on
    it, and the config of the first run: with `restart`, batches are never cut in it, so its fills
    settle after the restart; without, the same config."""
    now = [time.time_ns() // 1_000_000]
    config = config_for(chain, tmp, clock_ms=lambda: now[0])
    first = config_for(chain, tmp, clock_ms=lambda: now[0], batch_ms=NEVER_MS) if restart else config
    return now, config, first


@asynccontextmanager
async def running(config: VenueConfig) -> AsyncIterator[Venue]:
    venue = await Venue.open(config)
    await venue.start()
    try:
        yield venue
    finally:
        await venue.stop()


@dataclass
class Maker:
    chain: ChainVenue
    signer: LocalSigner

    @property
    def raw(self) -> bytes:
        return bytes.fromhex(self.signer.address[2:])

    @property
    def key(self) -> bytes:
        return _key(self.signer)

    def order(
        self,
        *,
        is_buy: bool,
        price: int = PRICE,
        amount: int = OPTION,
        max_fee: int = USD,
        expiry: int | None = None,
        nonce: int | None = None,
        series: bytes | None = None,
    ) -> SignedOrder:
        order = Order(
            maker=self.signer.address,
            series=series if series is not None else self.chain.series,
            is_buy=is_buy,
            price=price,
            amount=amount,
            max_fee=max_fee,
            nonce=nonce if nonce is not None else next(_nonces),
            expiry=expiry if expiry is not None else self.chain.series_expiry - 1,
        )
        return sign_order(order, self.chain.manifest.domain, self.key)


async def submit(venue: Venue, *orders: SignedOrder, tif: TimeInForce = TimeInForce.GTC) -> list[OrderResult]:
    return await venue.submit_orders([OrderSubmission(o, tif) for o in orders])


async def eventually(predicate: object, timeout: float = 20.0) -> None:
    """Wait until the async or sync `predicate()` is truthy."""
    assert callable(predicate)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


#: a batch interval no test waits for: nothing is cut before the restart
NEVER_MS = 3_600_000


class HeldBatches:
    """Holds every batch at the venue's submitter until `release` (the batcher waits for it)."""

    def __init__(self, venue: Venue, monkeypatch: pytest.MonkeyPatch) -> None:
        self._inner = venue._submitter
        self._open = threading.Event()
        monkeypatch.setattr(venue, "_submitter", self)

    def submit(self, batch: Batch) -> SubmitResult:
        if not self._open.wait(60):
            raise TimeoutError("batch held too long")
        return self._inner.submit(batch)

    def release(self) -> None:
        self._open.set()


@asynccontextmanager
async def held_unless(
    restart: bool, venue: Venue, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[HeldBatches | None]:
    """Hold `venue`'s batches at its submitter (released on exit, whatever happens), unless the test
    restarts before settling: then nothing is held and the next process settles."""
    held = None if restart else HeldBatches(venue, monkeypatch)
    try:
        yield held
    finally:
        if held is not None:
            held.release()


async def settle_held(held: HeldBatches | None, venue: Venue, *makers: Maker, count: int) -> None:
    """Let a held batch go and wait until its `count` fills of `makers` are all skipped (no hold: nothing)."""
    if held is not None:
        held.release()
        await all_skipped(venue, *makers, count=count)


def order_id(deployed: ChainVenue, order: SignedOrder) -> bytes:
    return order.digest(deployed.manifest.domain)


def cancel_onchain(deployed: ChainVenue, maker: Maker, order: SignedOrder) -> None:
    """`maker` cancels its own `order` on-chain: a fill of it is skipped, the counterparty innocent."""
    call = EXCHANGE.encode_call("cancelOrders", [order_id(deployed, order)])
    deployed.send(maker.signer, deployed.manifest.exchange, call)


async def order_status(venue: Venue, order_id: bytes) -> tuple[OrderState, str | None, int]:
    view = await venue.get_order(order_id)
    assert view is not None
    return view.status, view.cancel_reason, view.remaining


def asks(venue: Venue, deployed: ChainVenue) -> list[tuple[int, int]]:
    return [(lvl.price, lvl.amount) for lvl in venue.book(deployed.series).asks]


def bids(venue: Venue, deployed: ChainVenue) -> list[tuple[int, int]]:
    return [(lvl.price, lvl.amount) for lvl in venue.book(deployed.series).bids]


async def all_skipped(venue: Venue, *makers: Maker, count: int) -> None:
    """Wait until `count` fills of `makers` exist and every one of them is skipped."""

    async def done() -> bool:
        fills = {f.id: f for m in makers for f in (await venue.list_fills(maker=m.raw)).items}
        return len(fills) == count and all(f.status is FillState.SKIPPED for f in fills.values())

    await eventually(done, timeout=60)
