"""A running Venue on a deployed test chain, and signed-order builders for venue tests."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from keys.signer import LocalSigner
from relayer.config import FeeSchedule, VenueConfig
from relayer.engine import TimeInForce
from relayer.store import sqlite_url
from relayer.venue import OrderSubmission, Venue
from relayer.views import OrderResult
from settlement.order import Order, SignedOrder
from settlement.signing import sign_order
from tests.settlement.venue import OPTION, PRICE, USD, _key
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
