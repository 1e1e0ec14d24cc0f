"""The relayer's public HTTP API (aiohttp): REST under `/v1`, WebSocket `/v1/ws`, `/metrics`, admin.

    app = create_app(venue, ApiConfig(), authenticator=None)
    runner = await serve(app, "127.0.0.1", 8080)          # or aiohttp's TestServer in tests

Every route is registered with its OpenAPI operation (`relayer.api.openapi`), served at
`/v1/openapi.json`. Errors are `{code, message, details}` (`relayer.api.errors`). Limits: a body
size limit (413), per-IP request buckets and per-maker order buckets (429 + Retry-After), with
cancels drawing from their own buckets so a limit never starves them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from aiohttp import web

from keys.admin_actions import AdminAction
from keys.aiohttp_auth import admin_action, admin_auth_middleware
from keys.auth import Authenticator
from keys.errors import KeysError, UnknownKeyError
from keys.signer import Signer
from relayer.api import codec, openapi
from relayer.api.catalog import SeriesCatalog
from relayer.api.errors import ApiError, BadRequest, Conflict, NotFound, RateLimited, Unauthorized, Unprocessable
from relayer.api.metrics import ApiMetrics
from relayer.api.middleware import error_middleware
from relayer.api.openapi import Operation
from relayer.api.ratelimit import Limit, RateLimiter, RequestClass
from relayer.api.ws import StreamHub, WsConfig
from relayer.cancels import (
    CANCEL_AFTER_TYPE,
    CANCEL_ALL_TYPE,
    CANCEL_ORDERS_TYPE,
    SignedCancel,
)
from relayer.engine import TimeInForce
from relayer.errors import RelayerError
from relayer.intake.errors import CancelRejected, IntakeError
from relayer.operator_key import BatchInFlight, OperatorKeyLoader, WrongKeyRole, has_operator_role
from relayer.venue import OrderSubmission, Venue
from relayer.views import BatchView, FillState, OrderResult, OrderState
from settlement.errors import ChainError
from settlement.order import EIP712_DOMAIN_FIELDS, EIP712_ORDER_FIELDS, TYPE_STRING, SignedOrder

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Reject codes answered with a status other than 422 (single-order requests).
_ORDER_STATUS = {"invalid_schema": 400, "intake_paused": 409, "store_unavailable": 503, "chain_unavailable": 503}
_CANCEL_STATUS = {
    "cancel_unauthorized": 401,
    "cancel_replayed": 409,
    "cancel_stale": 422,
    "cancel_invalid": 400,
    "chain_unavailable": 503,
}
_TIFS = {t.value: t for t in TimeInForce}
#: Largest integer a store column holds (SQLite and PostgreSQL BIGINT).
MAX_SQL_INT = 2**63 - 1
_ENTRY_KEYS = {"order", "timeInForce", "clientId", "chainId", "verifyingContract"}


def _package_version() -> str:
    try:
        return version("strikebook")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class ApiConfig:
    """Limits and stream settings of the API. Rates are per second; bursts are bucket sizes.

    - `ip_limit`: requests per client IP (cost 1 per request); `ip_cancel_limit` for cancel routes.
    - `maker_limit`: orders per maker (cost = orders of that maker in the request);
      `maker_cancel_limit`: cancel requests per maker.
    """

    max_body_bytes: int = 256 * 1024
    max_orders_per_request: int = 100
    ip_limit: Limit = field(default_factory=lambda: Limit(rate=100.0, burst=200.0))
    ip_cancel_limit: Limit = field(default_factory=lambda: Limit(rate=200.0, burst=400.0))
    maker_limit: Limit = field(default_factory=lambda: Limit(rate=1_000.0, burst=2_000.0))
    maker_cancel_limit: Limit = field(default_factory=lambda: Limit(rate=100.0, burst=200.0))
    default_depth: int = 20
    max_depth: int = 1_000
    page_limit: int = 100
    ws: WsConfig = field(default_factory=WsConfig)
    clock: Callable[[], float] = time.monotonic
    #: how long an operator key rotation waits for an in-flight batch before answering 409 batch_in_flight
    rotate_timeout_s: float = 60.0


def _bad(code: str, message: str, **details: Any) -> BadRequest:
    err = BadRequest(message, details=details)
    err.code = code
    return err


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


class _Api:
    """Handlers bound to one venue; `routes` pairs each handler with its OpenAPI operation."""

    def __init__(
        self,
        venue: Venue,
        config: ApiConfig,
        catalog: SeriesCatalog,
        lister: Signer | None,
        operator_keys: OperatorKeyLoader | None = None,
    ) -> None:
        self.venue = venue
        self.lister = lister
        self.operator_keys = operator_keys
        self.config = config
        self.catalog = catalog
        self.metrics = ApiMetrics(venue.health)
        general, cancel = RequestClass.GENERAL, RequestClass.CANCEL
        self.ip_limiter = RateLimiter({general: config.ip_limit, cancel: config.ip_cancel_limit}, config.clock)
        self.maker_limiter = RateLimiter({general: config.maker_limit, cancel: config.maker_cancel_limit}, config.clock)
        self.hub = StreamHub(venue.subscribe, venue.book, self._series_known, config.ws, self.metrics)
        self.operations: dict[tuple[str, str], Operation] = {}

    async def _series_known(self, series: bytes) -> bool:
        return await self.catalog.lookup(series) is not None

    # ------------------------------------------------------------------ limits

    def _limit_ip(self, request: web.Request, cls: RequestClass) -> None:
        key = request.remote or "unknown"
        wait = self.ip_limiter.check(key, cls)
        if wait > 0:
            self.metrics.rate_limited.labels(f"ip_{cls.value}").inc()
            raise RateLimited(f"too many requests from {key}", retry_after_s=wait, limit=f"ip_{cls.value}")

    def _limit_maker(self, maker: str, cls: RequestClass, cost: float = 1.0) -> None:
        wait = self.maker_limiter.check(maker.lower(), cls, cost)
        if wait > 0:
            self.metrics.rate_limited.labels(f"maker_{cls.value}").inc()
            if wait == float("inf"):
                wait = cost / self.maker_limiter.limits[cls].rate
            raise RateLimited(
                f"too many {cls.value} requests for maker {maker}", retry_after_s=wait, limit=f"maker_{cls.value}"
            )

    async def _body(self, request: web.Request) -> Any:
        if request.content_length is not None and request.content_length > self.config.max_body_bytes:
            raise web.HTTPRequestEntityTooLarge(max_size=self.config.max_body_bytes, actual_size=request.content_length)
        return codec.loads(await request.read())

    # ------------------------------------------------------------------ public reads

    async def info(self, request: web.Request) -> web.Response:
        v = self.venue
        manifest = v.config.manifest
        cfg = self.config

        def fields(pairs: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
            return [{"name": n, "type": t} for n, t in pairs]

        return _json(
            {
                "domain": manifest.domain.to_typed_data() | {"chainId": str(manifest.chain_id)},
                "types": {
                    "EIP712Domain": fields(EIP712_DOMAIN_FIELDS),
                    "Order": fields(EIP712_ORDER_FIELDS),
                    "CancelOrders": [
                        {"name": "maker", "type": "address"},
                        {"name": "orderHashes", "type": "bytes32[]"},
                        {"name": "timestamp", "type": "uint256"},
                    ],
                    "CancelAll": [
                        {"name": "maker", "type": "address"},
                        {"name": "series", "type": "bytes32"},
                        {"name": "timestamp", "type": "uint256"},
                    ],
                    "CancelAfter": [
                        {"name": "maker", "type": "address"},
                        {"name": "timeoutMs", "type": "uint256"},
                        {"name": "timestamp", "type": "uint256"},
                    ],
                },
                "typeStrings": {
                    "Order": TYPE_STRING,
                    "CancelOrders": CANCEL_ORDERS_TYPE,
                    "CancelAll": CANCEL_ALL_TYPE,
                    "CancelAfter": CANCEL_AFTER_TYPE,
                },
                "limits": {
                    "maxBodyBytes": str(cfg.max_body_bytes),
                    "maxOrdersPerRequest": str(cfg.max_orders_per_request),
                    "maxJsonDepth": str(codec.MAX_JSON_DEPTH),
                    "ipRequestsPerSecond": str(cfg.ip_limit.rate),
                    "ipBurst": str(cfg.ip_limit.burst),
                    "makerOrdersPerSecond": str(cfg.maker_limit.rate),
                    "makerBurst": str(cfg.maker_limit.burst),
                    "cancelWindowMs": str(v.config.cancel_window_ms),
                    "wsPingIntervalS": str(cfg.ws.ping_interval_s),
                    "wsPongTimeoutS": str(cfg.ws.pong_timeout_s),
                    "wsQueueSize": str(cfg.ws.queue_size),
                },
                "fees": {"makerFee": str(v.config.fees.maker_fee), "takerFee": str(v.config.fees.taker_fee)},
                "contracts": dict(manifest.contracts),
                "tokens": {
                    k: {"address": t.address, "symbol": t.symbol, "decimals": str(t.decimals)}
                    for k, t in manifest.tokens.items()
                },
                "timeInForce": list(_TIFS),
            }
        )

    async def series(self, request: web.Request) -> web.Response:
        self._limit_ip(request, RequestClass.GENERAL)
        await self.catalog.refresh()
        known = {s.series: s for s in self.catalog.all()}
        for s in self.venue.list_series():
            known.setdefault(s.series, s)
        ordered = sorted(known.values(), key=lambda s: (s.expiry, s.series))
        return _json({"series": [codec.series_view(s) for s in ordered]})

    async def book(self, request: web.Request) -> web.Response:
        self._limit_ip(request, RequestClass.GENERAL)
        series = codec.parse_bytes32(request.match_info["series"], "series")
        depth = self.config.default_depth
        if "depth" in request.query:
            depth = codec.parse_uint(request.query["depth"], "depth", 1, self.config.max_depth)
        if await self.catalog.lookup(series) is None:
            raise _not_found("unknown_series", "series is not listed", series=codec.hex0x(series))
        return _json(codec.book_view(self.venue.book(series, depth)))

    async def get_order(self, request: web.Request) -> web.Response:
        self._limit_ip(request, RequestClass.GENERAL)
        order_id = codec.parse_bytes32(request.match_info["hash"], "hash")
        view = await self.venue.get_order(order_id)
        if view is None:
            raise _not_found("order_not_found", "no such order", hash=codec.hex0x(order_id))
        return _json(codec.order_view(view))

    def _page(self, request: web.Request) -> tuple[str | None, int]:
        cursor = request.query.get("cursor")
        if cursor is not None and (not cursor.isdigit() or len(cursor) > 18):
            raise _bad("invalid_cursor", "cursor must be a value from nextCursor")
        limit = self.config.page_limit
        if "limit" in request.query:
            limit = codec.parse_uint(request.query["limit"], "limit", 1, 1000)
        return cursor, limit

    async def list_orders(self, request: web.Request) -> web.Response:
        self._limit_ip(request, RequestClass.GENERAL)
        q = request.query
        maker = codec.parse_address(q["maker"], "maker") if "maker" in q else None
        series = codec.parse_bytes32(q["series"], "series") if "series" in q else None
        status = None
        if "status" in q:
            try:
                status = OrderState(q["status"])
            except ValueError:
                raise _bad("invalid_schema", f"status must be one of {[s.value for s in OrderState]}") from None
        cursor, limit = self._page(request)
        page = await self.venue.list_orders(maker=maker, series=series, status=status, cursor=cursor, limit=limit)
        return _json({"orders": [codec.order_view(o) for o in page.items], "nextCursor": page.next_cursor})

    async def list_fills(self, request: web.Request) -> web.Response:
        self._limit_ip(request, RequestClass.GENERAL)
        q = request.query
        maker = codec.parse_address(q["maker"], "maker") if "maker" in q else None
        series = codec.parse_bytes32(q["series"], "series") if "series" in q else None
        batch = codec.parse_uint(q["batch"], "batch", 0, MAX_SQL_INT) if "batch" in q else None
        cursor, limit = self._page(request)
        page = await self.venue.list_fills(maker=maker, series=series, batch=batch, cursor=cursor, limit=limit)
        batches: dict[int, BatchView | None] = {}
        out = []
        for f in page.items:
            b = None
            if f.batch_seq is not None:
                if f.batch_seq not in batches:
                    batches[f.batch_seq] = await self.venue.get_batch(f.batch_seq)
                b = batches[f.batch_seq]
            s = await self.catalog.lookup(f.series)
            out.append(codec.fill_view(f, b, None if s is None else s.underlying_unit))
        return _json({"fills": out, "nextCursor": page.next_cursor})

    async def get_batch(self, request: web.Request) -> web.Response:
        self._limit_ip(request, RequestClass.GENERAL)
        seq = codec.parse_uint(request.match_info["seq"], "seq", 0, MAX_SQL_INT)
        view = await self.venue.get_batch(seq)
        if view is None:
            raise _not_found("batch_not_found", f"no batch {seq}", seq=str(seq))
        filled = skipped = 0
        cursor: str | None = None
        while True:
            page = await self.venue.list_fills(batch=seq, cursor=cursor, limit=1000)
            filled += sum(f.status is FillState.SETTLED for f in page.items)
            skipped += sum(f.status is FillState.SKIPPED for f in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        return _json(codec.batch_view(view, filled, skipped))

    async def health(self, request: web.Request) -> web.Response:
        return _json(codec.health_view(self.venue.health()))

    async def metrics_route(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), content_type="text/plain", charset="utf-8")

    async def openapi_route(self, request: web.Request) -> web.Response:
        return _json(openapi.document(self.operations, _package_version()))

    async def ws(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            raise _bad("websocket_required", "GET /v1/ws is a WebSocket endpoint: send an Upgrade request")
        self._limit_ip(request, RequestClass.GENERAL)
        return await self.hub.handle(request)

    # ------------------------------------------------------------------ orders

    def _parse_entry(self, entry: object, index: int | None) -> OrderSubmission:
        if not isinstance(entry, dict) or "order" not in entry:
            raise _bad("invalid_schema", 'each submission is an object with an "order"', index=index)
        if unknown := entry.keys() - _ENTRY_KEYS:
            raise _bad("invalid_schema", f"unknown keys {sorted(unknown)}", index=index)
        signed = codec.parse_signed_order(entry["order"], index)
        tif_raw = entry.get("timeInForce", "gtc")
        tif = _TIFS.get(tif_raw) if isinstance(tif_raw, str) else None
        if tif is None:
            raise _bad("invalid_schema", f"timeInForce must be one of {list(_TIFS)}", index=index)
        client_id = entry.get("clientId")
        if client_id is not None and (not isinstance(client_id, str) or len(client_id) > 64):
            raise _bad("invalid_schema", "clientId must be a string of at most 64 characters", index=index)
        chain_id = None
        if "chainId" in entry:
            chain_id = codec.parse_uint(entry["chainId"], "chainId", 0, 2**64 - 1, index)
        contract = None
        if "verifyingContract" in entry:
            contract = codec.address(codec.parse_address(entry["verifyingContract"], "verifyingContract"))
        return OrderSubmission(signed, tif, chain_id, contract, client_id)

    async def post_orders(self, request: web.Request) -> web.Response:
        self._limit_ip(request, RequestClass.GENERAL)
        payload = await self._body(request)
        if not isinstance(payload, dict):
            raise _bad("invalid_schema", 'body must be {"order": …} or {"orders": [...]}')
        single = "order" in payload
        if single:
            subs = [self._parse_entry(payload, None)]
        else:
            entries = payload.get("orders")
            if set(payload) != {"orders"} or not isinstance(entries, list) or not entries:
                raise _bad("invalid_schema", 'body must be {"order": …} or {"orders": [...]} (non-empty)')
            if len(entries) > self.config.max_orders_per_request:
                raise _bad(
                    "too_many_orders",
                    f"at most {self.config.max_orders_per_request} orders per request",
                    max=self.config.max_orders_per_request,
                )
            subs = [self._parse_entry(e, i) for i, e in enumerate(entries)]
        per_maker: dict[str, int] = {}
        for sub in subs:
            assert isinstance(sub.order, SignedOrder)
            key = sub.order.order.maker
            per_maker[key] = per_maker.get(key, 0) + 1
        for maker, count in per_maker.items():
            self._limit_maker(maker, RequestClass.GENERAL, count)
        if self.venue.health().intake_paused:
            raise _conflict("intake_paused", "the operator paused intake; cancels still work")
        try:
            results = await self.venue.submit_orders(subs)
        except IntakeError as exc:
            raise _bad(exc.code, exc.message) from exc
        for r in results:
            self.metrics.orders.labels(r.error_code or ("duplicate" if r.duplicate else r.status.value)).inc()
        if single and results[0].status is OrderState.REJECTED:
            raise _rejection(results[0])
        return _json({"results": [codec.order_result(r) for r in results]}, status=201)

    # ------------------------------------------------------------------ cancels

    async def _apply_cancel(self, signed: SignedCancel, run: Callable[[], Awaitable[Any]]) -> Any:
        self._limit_maker(codec.address(signed.message.maker), RequestClass.CANCEL)
        try:
            return await run()
        except CancelRejected as exc:
            raise _cancel_error(exc) from exc

    async def delete_order(self, request: web.Request) -> web.Response:
        self._limit_ip(request, RequestClass.CANCEL)
        order_id = codec.parse_bytes32(request.match_info["hash"], "hash")
        signed = codec.parse_cancel_orders(await self._body(request), order_id)
        view = await self.venue.get_order(order_id)
        if view is None:
            raise _not_found("order_not_found", "no such order", hash=codec.hex0x(order_id))
        if view.maker != signed.message.maker:
            raise Unprocessable(
                "not_owner",
                "only the order's maker (or a delegate signing for it) can cancel it",
                details={"hash": codec.hex0x(order_id)},
            )
        results: list[OrderResult] = await self._apply_cancel(signed, lambda: self.venue.cancel(signed))
        r = results[0]
        if r.status is not OrderState.CANCELLED:
            if r.error_code == "store_unavailable":
                raise _unavailable("store_unavailable", "the store did not commit; retry")
            raise _conflict("not_open", f"the order is {view.status.value}, not open", hash=codec.hex0x(order_id))
        return _json({"hash": codec.hex0x(order_id), "status": "cancelled", "remaining": str(r.remaining)})

    async def cancel_all(self, request: web.Request) -> web.Response:
        self._limit_ip(request, RequestClass.CANCEL)
        signed = codec.parse_cancel_all(await self._body(request))
        results: list[OrderResult] = await self._apply_cancel(signed, lambda: self.venue.cancel_all(signed))
        if any(r.error_code == "store_unavailable" for r in results):
            raise _unavailable("store_unavailable", "the store did not commit; retry")
        done = [codec.hex0x(r.order_id) for r in results if r.order_id is not None and r.status is OrderState.CANCELLED]
        return _json({"cancelled": done, "count": str(len(done))})

    async def cancel_after(self, request: web.Request) -> web.Response:
        self._limit_ip(request, RequestClass.CANCEL)
        signed = codec.parse_cancel_after(await self._body(request))
        deadline: int | None = await self._apply_cancel(signed, lambda: self.venue.cancel_after(signed))
        return _json({"deadline": None if deadline is None else str(deadline)})

    # ------------------------------------------------------------------ admin

    @admin_action(AdminAction.PAUSE)
    async def admin_pause(self, request: web.Request) -> web.Response:
        raw = await request.read()
        payload = codec.loads(raw) if raw else {}
        reason = payload.get("reason", "operator") if isinstance(payload, dict) else "operator"
        await self.venue.pause_intake(str(reason)[:200])
        return _json({"ok": True, "paused": True})

    @admin_action(AdminAction.UNPAUSE)
    async def admin_unpause(self, request: web.Request) -> web.Response:
        await self.venue.resume_intake()
        return _json({"ok": True, "paused": False})

    @admin_action(AdminAction.DRAIN_MAKER_ORDERS)
    async def admin_drain(self, request: web.Request) -> web.Response:
        payload = codec.loads(await request.read())
        if not isinstance(payload, dict) or "maker" not in payload:
            raise _bad("invalid_schema", 'body must be {"maker": "0x…"}')
        maker = codec.parse_address(payload["maker"], "maker")
        results = await self.venue.drain_maker(maker, "operator")
        done = [codec.hex0x(r.order_id) for r in results if r.order_id is not None and r.status is OrderState.CANCELLED]
        return _json({"ok": True, "cancelled": done, "count": str(len(done))})

    @admin_action(AdminAction.LIST_SERIES)
    async def admin_list_series(self, request: web.Request) -> web.Response:
        """List a new series on-chain with the relayer's lister key (never the operator's: nonces)."""
        payload = codec.loads(await request.read())
        if not isinstance(payload, dict) or set(payload) != {"underlying", "quote", "strike", "expiry", "isCall"}:
            raise _bad("invalid_schema", "body must be {underlying, quote, strike, expiry, isCall}")
        underlying = codec.address(codec.parse_address(payload["underlying"], "underlying"))
        quote = codec.address(codec.parse_address(payload["quote"], "quote"))
        strike = codec.parse_uint(payload["strike"], "strike", 1, 2**128 - 1)
        expiry = codec.parse_uint(payload["expiry"], "expiry", 1, 2**64 - 1)
        is_call = payload["isCall"]
        if type(is_call) is not bool:
            raise _bad("invalid_schema", "isCall must be true or false")
        if self.lister is None:
            raise _conflict("no_lister_key", "this relayer was started without a lister key")
        from relayer.chain_ops import ChainOpError, list_series

        manifest = self.venue.config.manifest
        try:
            sid = await asyncio.to_thread(
                list_series, self.venue.state.chain, manifest, self.lister, underlying, quote, strike, expiry, is_call
            )
        except ChainOpError as exc:
            raise Unprocessable("listing_refused", str(exc)) from exc
        await self.catalog.refresh(force=True)
        listed = self.catalog.get(sid)
        return _json({"ok": True, "series": None if listed is None else codec.series_view(listed)})

    @admin_action(AdminAction.ROTATE_OPERATOR_KEY)
    async def admin_rotate_operator_key(self, request: web.Request) -> web.Response:
        """Swap the batch submitter to keystore key `key` (which must hold OPERATOR_ROLE), between batches."""
        payload = codec.loads(await request.read())
        if not isinstance(payload, dict) or set(payload) != {"key"} or not isinstance(payload["key"], str):
            raise _bad("invalid_schema", 'body must be {"key": "<keystore key name>"}')
        name = payload["key"]
        loader = self.operator_keys
        if loader is None:
            raise _conflict("no_operator_keystore", "this relayer was started without an operator keystore")
        try:
            signer = await asyncio.to_thread(loader.load, name)
        except UnknownKeyError as exc:
            raise _not_found("unknown_key", str(exc), key=name) from exc
        except WrongKeyRole as exc:
            raise Unprocessable("wrong_key_role", str(exc), details={"key": name}) from exc
        except KeysError as exc:  # bad name, wrong password, corrupt file, insecure permissions
            raise Unprocessable(exc.code, str(exc), details={"key": name}) from exc
        manifest = self.venue.config.manifest
        try:
            allowed = await asyncio.to_thread(
                has_operator_role, self.venue.state.chain, manifest.exchange, signer.address
            )
        except ChainError as exc:
            raise _unavailable("chain_unavailable", f"cannot read the operator role: {exc}") from exc
        if not allowed:
            raise Unprocessable(
                "operator_role_missing",
                f"{signer.address} does not hold OPERATOR_ROLE on the exchange: grant it first",
                details={"key": name, "address": signer.address},
            )
        try:
            previous = await self.venue.operator_key.replace(signer, timeout_s=self.config.rotate_timeout_s)
        except BatchInFlight as exc:
            raise _conflict("batch_in_flight", str(exc)) from exc
        logging.getLogger(__name__).warning(
            "operator key rotated: %s -> %s (key %r)", previous.address, signer.address, name
        )
        return _json({"ok": True, "previous": previous.address, "operator": signer.address, "key": name})


def _not_found(code: str, message: str, **details: Any) -> NotFound:
    err = NotFound(message, details=details)
    err.code = code
    return err


def _conflict(code: str, message: str, **details: Any) -> Conflict:
    err = Conflict(message, details=details)
    err.code = code
    return err


def _unavailable(code: str, message: str) -> ApiError:
    err = ApiError(message, headers={"Retry-After": "1"})
    err.status, err.code = 503, code
    return err


def _rejection(r: OrderResult) -> ApiError:
    code = r.error_code or "rejected"
    details: dict[str, Any] = {}
    if r.order_id is not None:
        details["hash"] = codec.hex0x(r.order_id)
    status = _ORDER_STATUS.get(code, 422)
    message = r.message or code
    if status == 503:
        return _unavailable(code, message)
    err: ApiError = Unprocessable(code, message, details=details)
    err.status = status
    return err


def _cancel_error(exc: CancelRejected) -> ApiError:
    status = _CANCEL_STATUS.get(exc.code, 422)
    if status == 503:
        return _unavailable(exc.code, exc.message)
    if status == 401:
        err: ApiError = Unauthorized(exc.message)
        err.code = exc.code
        return err
    out = Unprocessable(exc.code, exc.message)
    out.status = status
    return out


def _disabled_admin_middleware() -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/v1/admin/"):
            err = Unauthorized("admin API is disabled on this relayer (no API key file configured)")
            err.code = "admin_disabled"
            return err.response()
        return await handler(request)

    return middleware


API_KEY: web.AppKey[_Api] = web.AppKey("strikebook_api", _Api)


def _metrics_middleware(api: _Api) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            api.metrics.requests.labels(request.method, route, str(status)).inc()
            api.metrics.latency.labels(route).observe(time.perf_counter() - start)

    return middleware


def create_app(
    venue: Venue,
    config: ApiConfig | None = None,
    *,
    authenticator: Authenticator | None = None,
    catalog: SeriesCatalog | None = None,
    lister: Signer | None = None,
    operator_keys: OperatorKeyLoader | None = None,
) -> web.Application:
    """The aiohttp application serving `venue` (which the caller opens, starts and stops).

    `authenticator`: admin routes under /v1/admin/ (None: they all answer 401 admin_disabled).
    `lister`: a key with LISTER_ROLE for `POST /v1/admin/series` (not the operator key).
    `operator_keys`: where `POST /v1/admin/rotate_operator_key` loads the new operator key from.
    """
    config = config or ApiConfig()
    catalog = catalog or SeriesCatalog(venue.state.chain, venue.config.manifest)
    api = _Api(venue, config, catalog, lister, operator_keys)
    admin_mw = admin_auth_middleware(authenticator) if authenticator is not None else _disabled_admin_middleware()
    # order: errors outermost (everything leaves as JSON), then metrics, then admin auth
    app = web.Application(
        client_max_size=config.max_body_bytes,
        middlewares=[error_middleware, _metrics_middleware(api), admin_mw],
    )
    app[API_KEY] = api
    from relayer.api import routes

    routes.register(app, api)

    async def on_startup(app: web.Application) -> None:
        api.hub.start()

    async def on_shutdown(app: web.Application) -> None:
        await api.hub.close()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start `app` on host:port; `await runner.cleanup()` stops it."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner


async def start_http(
    venue: Venue, host: str, port: int, admin_keys: Path | None = None, audit_log: Path | None = None
) -> web.AppRunner:
    """`strikebook relayer start`: serve `venue` on host:port; admin routes when `admin_keys` is given."""
    authenticator = None
    operator_keys = None
    if admin_keys is not None:
        from keys.api_keys import ApiKeyFile
        from keys.audit import AuditLog
        from keys.keystore import Keystore
        from keys.passwords import EnvPassword

        authenticator = Authenticator(ApiKeyFile(admin_keys), AuditLog(audit_log or admin_keys.with_suffix(".audit")))
        # rotation loads operator keys from the default keystore ($STRIKEBOOK_KEYSTORE_DIR), as --operator keystore:
        operator_keys = OperatorKeyLoader(Keystore(), EnvPassword("STRIKEBOOK_KEY_PASSWORD"))
    app = create_app(venue, ApiConfig(), authenticator=authenticator, operator_keys=operator_keys)
    try:
        runner = await serve(app, host, port)
    except OSError as exc:
        raise RelayerError(f"cannot serve the API on {host}:{port}: {exc.strerror or exc}") from exc
    logging.getLogger(__name__).info("API listening on http://%s:%d (WebSocket /v1/ws)", host, bound_port(runner))
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port a runner's first site listens on (for port 0)."""
    for site in runner.sites:
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            return int(server.sockets[0].getsockname()[1])
    raise RuntimeError("the runner has no listening site")


__all__ = ["API_KEY", "ApiConfig", "bound_port", "create_app", "serve", "start_http"]
