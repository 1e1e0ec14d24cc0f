"""A real relayer API on loopback: Venue on Anvil + SQLite file, aiohttp server, HTTP client helpers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from keys.api_keys import ApiKeyStore
from keys.audit import AuditLog
from keys.auth import Authenticator
from keys.signer import Signer
from relayer.api.ratelimit import Limit
from relayer.api.server import API_KEY, ApiConfig, create_app
from relayer.api.ws import WsConfig
from relayer.cancels import CancelMessage, SignedCancel, sign_cancel
from relayer.config import VenueConfig
from relayer.operator_key import OperatorKeyLoader
from relayer.store.models import CancelRow, FillRow, JournalRow, OrderRow
from relayer.venue import Venue
from settlement.order import SignedOrder
from tests.settlement.venue import Venue as ChainVenue
from tests.venue.support import Maker, config_for

#: Limits high enough that only tests about limits ever meet them.
GENEROUS = dict(
    ip_limit=Limit(rate=10_000.0, burst=10_000.0),
    ip_cancel_limit=Limit(rate=10_000.0, burst=10_000.0),
    maker_limit=Limit(rate=100_000.0, burst=100_000.0),
    maker_cancel_limit=Limit(rate=10_000.0, burst=10_000.0),
)


class _ShiftedWallClock:
    """The wall clock plus `shift` seconds."""

    def __init__(self, shift: float) -> None:
        self.shift = shift

    def __call__(self) -> float:
        return time.time() + self.shift


def running_authenticator(keys: ApiKeyStore, audit: AuditLog, *, up_for_s: float = 60.0) -> Authenticator:
    """An Authenticator on the wall clock that started `up_for_s` ago, as if the relayer had been
    up that long. A freshly started one refuses requests signed in its first second and, for up to
    one 30 s step, every TOTP code (see keys/auth.py, "Restarts"); tests that act at once use this."""
    clock = _ShiftedWallClock(-up_for_s)
    authenticator = Authenticator(keys, audit, clock=clock)
    clock.shift = 0.0
    return authenticator


def api_config(**overrides: Any) -> ApiConfig:
    base: dict[str, Any] = dict(GENEROUS)
    base["ws"] = WsConfig(ping_interval_s=30.0, pong_timeout_s=10.0)
    base.update(overrides)
    return ApiConfig(**base)


@dataclass
class Rig:
    chain: ChainVenue
    venue: Venue
    app: web.Application
    server: TestServer
    session: aiohttp.ClientSession
    makers: list[Maker]
    db_path: Path

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def ws_url(self) -> str:
        return self.base + "/v1/ws"

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        async with self.session.request(method, self.base + path, json=json, data=data, headers=headers) as resp:
            text = await resp.text()
            try:
                import json as _json

                body = _json.loads(text)
            except ValueError:
                body = text
            return resp.status, body, dict(resp.headers)

    async def get(self, path: str) -> tuple[int, Any]:
        status, body, _ = await self.request("GET", path)
        return status, body

    async def post_order(self, order: SignedOrder, **extra: Any) -> tuple[int, Any]:
        status, body, _ = await self.request("POST", "/v1/orders", json={"order": order.to_json_dict(), **extra})
        return status, body

    async def post_orders(self, orders: list[SignedOrder]) -> tuple[int, Any]:
        payload = {"orders": [{"order": o.to_json_dict()} for o in orders]}
        status, body, _ = await self.request("POST", "/v1/orders", json=payload)
        return status, body

    def store_counts(self) -> dict[str, int]:
        """Rows per table of the relayer's SQLite file (read through a second connection)."""
        engine = create_engine(f"sqlite:///{self.db_path}")
        try:
            with Session(engine) as s:
                return {
                    "orders": s.scalar(select(func.count()).select_from(OrderRow)) or 0,
                    "fills": s.scalar(select(func.count()).select_from(FillRow)) or 0,
                    "cancels": s.scalar(select(func.count()).select_from(CancelRow)) or 0,
                    "journal": s.scalar(select(func.count()).select_from(JournalRow)) or 0,
                }
        finally:
            engine.dispose()

    def snapshot(self) -> tuple[dict[str, int], Any, tuple[int, bytes]]:
        """What must not change when a request is refused: store rows, the book, the engine state."""
        book = self.venue.book(self.chain.series, 1000)
        return self.store_counts(), book, self.venue.state_hash()


def signed_cancel(maker: Maker, message: CancelMessage, signer: Signer | None = None) -> SignedCancel:
    if signer is None:
        return sign_cancel(message, maker.chain.manifest.domain, maker.key)
    from relayer.cancels import cancel_digest

    return SignedCancel(message, signer.sign_digest(cancel_digest(message, maker.chain.manifest.domain)))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@asynccontextmanager
async def api_rig(
    chain: ChainVenue,
    tmp: Path,
    config: ApiConfig | None = None,
    *,
    authenticator: Authenticator | None = None,
    lister: Signer | None = None,
    venue_config: VenueConfig | None = None,
    operator_keys: OperatorKeyLoader | None = None,
) -> AsyncIterator[Rig]:
    venue_config = venue_config or config_for(chain, tmp)
    venue = await Venue.open(venue_config)
    await venue.start()
    app = create_app(
        venue, config or api_config(), authenticator=authenticator, lister=lister, operator_keys=operator_keys
    )
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    session = aiohttp.ClientSession()
    try:
        yield Rig(chain, venue, app, server, session, [Maker(chain, t) for t in chain.traders], tmp / "relayer.sqlite")
    finally:
        await session.close()
        await server.close()
        await venue.stop()


def api_of(app: web.Application) -> Any:
    return app[API_KEY]
