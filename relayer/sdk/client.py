"""The maker SDK: an async client for the relayer API (orders, cancels, queries, streams, deposits).

    async with AsyncClient("http://127.0.0.1:8080", signer, rpc_url="http://127.0.0.1:8545") as c:
        order = await c.build_order(series, is_buy=False, price=50 * 10**6, amount=10**18)
        ack = await c.submit(order)                      # signs with `signer`, raises a typed error if refused
        await c.cancel(ack.hash)
        async for book in c.stream_book(series): ...     # reconnects and re-snapshots by itself

Amounts are Python ints (base units, see docs/PROTOCOL.md); the wire carries decimal strings.
Errors are `relayer.sdk.errors.ClientError` subclasses chosen by the API's error code.

Taker orders are one-shot by default: an order built or placed with time in force IOC or FOK
gets a one-shot nonce (`settlement.order.one_shot_nonce(seq)`, seq = max(last seq + 1, unix ms),
per maker account in this client) and, unless you give one, an expiry `ONE_SHOT_EXPIRY_S`
(60 s) from now. It fills only within one batch and costs less gas to settle; it is cancelled on
chain with `cancel_one_shot`, not by nonce. Pass `one_shot=False` for an ordinary nonce.

    ack = await c.place(series, is_buy=True, price=p, amount=a, tif="ioc")   # one-shot, 60 s expiry
    order = c.build_order(series, is_buy=True, price=p, amount=a, tif="fok", one_shot=False)

Delegate (hot) keys: the maker's cold key registers a hot key on-chain with an expiry, and a
client holding only the hot key trades for the maker:

    async with AsyncClient(url, cold_signer, rpc_url=rpc) as owner:
        await owner.register_delegate(hot_signer.address, expiry=int(time.time()) + 3600)
    async with AsyncClient(url, hot_signer, maker=cold_signer.address) as hot:
        await hot.submit(hot.build_order(series, is_buy=False, price=p, amount=a))   # signed by hot
    await owner.revoke_delegate(hot_signer.address)   # mined: the relayer refuses the hot key's next order
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from keys.passwords import PasswordSource
from keys.signer import Signer
from relayer.cancels import ALL_SERIES, CancelAfter, CancelAll, CancelMessage, CancelOrders
from relayer.sdk.errors import ClientError, RateLimited, StreamError, TransportError, error_from_response
from settlement.order import ONE_SHOT_FLAG, Domain, Order, SignedOrder, make_domain, one_shot_nonce

#: Orders per POST (the API's batch limit).
BATCH = 100
#: Default lifetime of a one-shot (IOC/FOK) order, seconds: it matches on arrival and settles in
#: the next batch, so a short expiry bounds how long a signed but unsettled order stays usable.
ONE_SHOT_EXPIRY_S = 60
#: Default lifetime of any other order, seconds.
DEFAULT_EXPIRY_S = 86_400
#: Time in force values whose orders never rest (one-shot by default).
IMMEDIATE_TIFS = frozenset({"ioc", "fok"})
_TIFS = frozenset({"gtc", "ioc", "fok", "post_only"})
#: The fields of an order as the API lists it that make up the signed order.
_SIGNED_FIELDS = ("maker", "series", "isBuy", "price", "amount", "maxFee", "nonce", "expiry", "signature")


def _hex(value: bytes | str) -> str:
    return value if isinstance(value, str) else "0x" + value.hex()


def _query(limit: int, **filters: bytes | str | int | None) -> dict[str, str]:
    """Query parameters for a paged list: `limit` plus every filter that is set (bytes as 0x-hex)."""
    params = {"limit": str(limit)}
    for name, value in filters.items():
        if value is not None:
            params[name] = _hex(value) if isinstance(value, bytes) else str(value)
    return params


def _raw(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else bytes.fromhex(value[2:])


@dataclass(frozen=True)
class OrderAck:
    """What the relayer answered for one submitted order."""

    hash: bytes | None
    status: str
    remaining: int
    duplicate: bool = False
    code: str | None = None
    message: str | None = None
    client_id: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status != "rejected"

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> OrderAck:
        return cls(
            None if obj.get("hash") is None else _raw(obj["hash"]),
            obj["status"],
            int(obj["remaining"]),
            bool(obj.get("duplicate", False)),
            obj.get("code"),
            obj.get("message"),
            obj.get("clientId"),
        )


@dataclass(frozen=True)
class Page:
    """One page of a listing (JSON objects as the API renders them) and the cursor of the next."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class BookState:
    """A consistent book as of `seq`: bids best (highest) first, asks best (lowest) first."""

    series: bytes
    seq: int
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class FillEvent:
    """A fill of one of your orders, or a change of its status (pending → batched → settled/skipped)."""

    id: int
    order: bytes
    series: bytes
    is_buy: bool
    price: int
    amount: int
    status: str
    batch: int | None


@dataclass
class _LocalBook:
    series: bytes
    seq: int = -1
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    waiting_snapshot: bool = True

    def reset(self, snap: dict[str, Any]) -> None:
        self.seq = int(snap["seq"])
        self.bids = {int(lv["price"]): int(lv["amount"]) for lv in snap["bids"]}
        self.asks = {int(lv["price"]): int(lv["amount"]) for lv in snap["asks"]}
        self.waiting_snapshot = False

    def apply(self, delta: dict[str, Any]) -> None:
        side = self.bids if delta["side"] == "bid" else self.asks
        price, amount = int(delta["price"]), int(delta["amount"])
        if amount:
            side[price] = amount
        else:
            side.pop(price, None)
        self.seq = int(delta["seq"])

    def state(self) -> BookState:
        return BookState(
            self.series,
            self.seq,
            tuple(sorted(self.bids.items(), reverse=True)),
            tuple(sorted(self.asks.items())),
        )


class AsyncClient:
    """Async client of one relayer. `signer` is needed to sign orders and cancels; `rpc_url` for deposits.

    `maker`: the account the orders and cancels are for, when `signer` is a delegate key of that
    maker (registered on-chain with `register_delegate`); default: the signer's own address.
    The on-chain helpers that move or authorize money (deposit, withdraw, register/revoke
    delegates) need the maker's own key and refuse to run on a delegate client.
    """

    def __init__(
        self,
        base_url: str,
        signer: Signer | None = None,
        *,
        maker: str | None = None,
        rpc_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout_s: float = 30.0,
        reconnect_delay_s: float = 0.2,
        max_reconnect_delay_s: float = 5.0,
        rate_limit_retries: int = 5,
        max_retry_after_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        #: a GET answered 429 is retried after its Retry-After, this many times (queries are idempotent;
        #: orders and cancels are never retried behind the caller's back)
        self.rate_limit_retries = rate_limit_retries
        self.max_retry_after_s = max_retry_after_s
        self.signer = signer
        #: the account orders are for; None: the signer's own. Set it to trade with a delegate key.
        self.maker = maker
        self.rpc_url = rpc_url
        self._session = session
        self._own_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._info: dict[str, Any] | None = None
        self._nonces = itertools.count(time.time_ns() // 1_000)
        #: last one-shot sequence number used, per maker account (lowercase address)
        self._one_shot_seqs: dict[str, int] = {}
        self._cancel_ts: dict[str, int] = {}
        self.reconnect_delay_s = reconnect_delay_s
        self.max_reconnect_delay_s = max_reconnect_delay_s
        #: how many times a stream reconnected or re-snapshotted (for monitoring and tests)
        self.resyncs = 0

    @classmethod
    def from_keystore(
        cls,
        base_url: str,
        name: str,
        password: PasswordSource,
        *,
        keystore_dir: Path | None = None,
        **kwargs: Any,
    ) -> AsyncClient:
        """A client signing with key `name` of the encrypted keystore (keys/), unlocked with `password`
        (`keys.passwords.EnvPassword("VAR")`, `FilePassword(path)`, `PromptPassword()`)."""
        from keys.keystore import Keystore
        from keys.keystore_signer import KeystoreSigner

        return cls(base_url, KeystoreSigner(Keystore(keystore_dir), name, password), **kwargs)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    # ------------------------------------------------------------------ HTTP

    async def _request(self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None) -> Any:
        retries = self.rate_limit_retries if method == "GET" else 0
        for attempt in itertools.count():
            try:
                return await self._request_once(method, path, params=params, body=body)
            except RateLimited as exc:
                if attempt >= retries:
                    raise
                await asyncio.sleep(min(self.max_retry_after_s, max(0.05, exc.retry_after or 1.0)))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request_once(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
    ) -> Any:
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            async with self.session.request(
                method, self.base_url + path, params=params, data=data, headers=headers
            ) as resp:
                text = await resp.text()
                try:
                    payload = json.loads(text) if text else None
                except ValueError:
                    payload = text
                if resp.status >= 400:
                    raise error_from_response(resp.status, payload, resp.headers.get("Retry-After"))
                return payload
        except aiohttp.ClientError as exc:
            raise TransportError("unreachable", f"{method} {path}: {exc}") from exc
        except TimeoutError as exc:
            raise TransportError("timeout", f"{method} {path} timed out") from exc

    async def info(self, refresh: bool = False) -> dict[str, Any]:
        """Domain, types, limits, fees and contract addresses (cached)."""
        if self._info is None or refresh:
            self._info = await self._request("GET", "/v1/info")
        assert self._info is not None
        return self._info

    async def domain(self) -> Domain:
        d = (await self.info())["domain"]
        return make_domain(int(d["chainId"]), d["verifyingContract"])

    async def series(self) -> list[dict[str, Any]]:
        return list((await self._request("GET", "/v1/series"))["series"])

    async def book(self, series: bytes | str, depth: int = 20) -> BookState:
        snap = await self._request("GET", f"/v1/book/{_hex(series)}", params={"depth": str(depth)})
        book = _LocalBook(_raw(series))
        book.reset(snap)
        return book.state()

    async def order(self, order_hash: bytes | str) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/v1/orders/{_hex(order_hash)}")
        return result

    async def orders(
        self,
        *,
        maker: str | None = None,
        series: bytes | str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        params = _query(limit, maker=maker, series=series, status=status, cursor=cursor)
        body = await self._request("GET", "/v1/orders", params=params)
        return Page(body["orders"], body["nextCursor"])

    async def fills(
        self,
        *,
        maker: str | None = None,
        series: bytes | str | None = None,
        batch: int | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        params = _query(limit, maker=maker, series=series, batch=batch, cursor=cursor)
        body = await self._request("GET", "/v1/fills", params=params)
        return Page(body["fills"], body["nextCursor"])

    async def batch(self, seq: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", f"/v1/batches/{seq}")
        return result

    async def health(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("GET", "/v1/health")
        return result

    # ------------------------------------------------------------------ orders

    def _need_signer(self) -> Signer:
        if self.signer is None:
            raise ClientError("no_signer", "this client has no signer: pass one to sign orders and cancels")
        return self.signer

    @property
    def maker_address(self) -> str:
        """The account this client's orders and cancels are for (the signer's, unless `maker` was given)."""
        if self.maker is not None:
            return self.maker
        return self._need_signer().address

    @property
    def is_delegate(self) -> bool:
        """True when the signer signs for another account (a delegate key)."""
        return self.maker is not None and (self.signer is None or self.maker.lower() != self.signer.address.lower())

    def next_one_shot_seq(self) -> int:
        """A fresh one-shot sequence number for this client's maker: max(last + 1, unix ms).

        Monotonic per maker account, so an order stays fillable until one signed 64 or more
        numbers later (about 64 ms later at most one order per ms) is spent in the same series.
        """
        key = self.maker_address.lower()
        seq = max(self._one_shot_seqs.get(key, -1) + 1, time.time_ns() // 1_000_000)
        self._one_shot_seqs[key] = seq
        return seq

    def build_order(
        self,
        series: bytes | str,
        *,
        is_buy: bool,
        price: int,
        amount: int,
        max_fee: int = 0,
        expiry: int | None = None,
        nonce: int | None = None,
        tif: str | None = None,
        one_shot: bool | None = None,
    ) -> Order:
        """An order for this client's maker.

        `tif`: the time in force you will submit it with ("gtc", "ioc", "fok", "post_only"); it
        only picks defaults. `one_shot`: sign a one-shot nonce (default: yes for IOC/FOK, no
        otherwise; a one-shot order cannot be GTC or post-only). Without `nonce`, a one-shot order
        gets `one_shot_nonce(next_one_shot_seq())` and any other a fresh ordinary nonce; a given
        `nonce` is used as is. `expiry` unix seconds, default `ONE_SHOT_EXPIRY_S` (60 s) from now
        for a one-shot order, `DEFAULT_EXPIRY_S` (one day) otherwise.
        """
        self._need_signer()
        if tif is not None and tif not in _TIFS:
            raise ClientError("invalid_tif", f"time in force must be one of {sorted(_TIFS)}, not {tif!r}")
        immediate = tif in IMMEDIATE_TIFS
        if one_shot is None:
            one_shot = immediate
        elif one_shot and tif is not None and not immediate:
            raise ClientError("one_shot_must_be_immediate", f"a one-shot order cannot be {tif}: use ioc or fok")
        if nonce is None:
            nonce = one_shot_nonce(self.next_one_shot_seq()) if one_shot else next(self._nonces)
        is_one_shot = nonce >= ONE_SHOT_FLAG
        if expiry is None:
            expiry = int(time.time()) + (ONE_SHOT_EXPIRY_S if is_one_shot else DEFAULT_EXPIRY_S)
        return Order(
            maker=self.maker_address,
            series=_raw(series),
            is_buy=is_buy,
            price=price,
            amount=amount,
            max_fee=max_fee,
            nonce=nonce,
            expiry=expiry,
        )

    async def place(
        self,
        series: bytes | str,
        *,
        is_buy: bool,
        price: int,
        amount: int,
        tif: str = "gtc",
        max_fee: int = 0,
        expiry: int | None = None,
        one_shot: bool | None = None,
        client_id: str | None = None,
    ) -> OrderAck:
        """Build, sign and submit one order (`build_order` defaults: IOC/FOK orders are one-shot)."""
        order = self.build_order(
            series,
            is_buy=is_buy,
            price=price,
            amount=amount,
            max_fee=max_fee,
            expiry=expiry,
            tif=tif,
            one_shot=one_shot,
        )
        return await self.submit(order, tif=tif, client_id=client_id)

    async def sign(self, order: Order) -> SignedOrder:
        """Sign `order` under the venue's EIP-712 domain (the signer may be local, a keystore or remote)."""
        domain = await self.domain()
        signature = self._need_signer().sign_typed_data(order.to_typed_data(domain))
        return SignedOrder(order, signature)

    async def _signed(self, order: Order | SignedOrder) -> SignedOrder:
        return order if isinstance(order, SignedOrder) else await self.sign(order)

    async def submit(self, order: Order | SignedOrder, *, tif: str = "gtc", client_id: str | None = None) -> OrderAck:
        """Submit one order; returns its ack (idempotent on duplicates) or raises the typed rejection."""
        signed = await self._signed(order)
        entry: dict[str, Any] = {"order": signed.to_json_dict(), "timeInForce": tif}
        if client_id is not None:
            entry["clientId"] = client_id
        body = await self._request("POST", "/v1/orders", body=entry)
        return OrderAck.from_json(body["results"][0])

    async def submit_many(self, orders: Sequence[Order | SignedOrder], *, tif: str = "gtc") -> list[OrderAck]:
        """Submit many orders in batches of 100; one ack per order, rejected ones with their code."""
        out: list[OrderAck] = []
        for start in range(0, len(orders), BATCH):
            chunk = [await self._signed(o) for o in orders[start : start + BATCH]]
            payload = {"orders": [{"order": s.to_json_dict(), "timeInForce": tif} for s in chunk]}
            body = await self._request("POST", "/v1/orders", body=payload)
            out.extend(OrderAck.from_json(r) for r in body["results"])
        return out

    # ------------------------------------------------------------------ cancels

    def _timestamp(self, kind: str) -> int:
        ts = max(time.time_ns() // 1_000_000, self._cancel_ts.get(kind, 0) + 1)
        self._cancel_ts[kind] = ts
        return ts

    async def _sign_cancel(self, message: CancelMessage) -> str:
        signature = self._need_signer().sign_typed_data(message.to_typed_data(await self.domain()))
        return "0x" + signature.hex()

    def _maker_raw(self) -> bytes:
        self._need_signer()
        return _raw(self.maker_address)

    async def cancel(self, order_hash: bytes | str) -> dict[str, Any]:
        """Cancel one of your orders (signed off-chain cancel; instant at the relayer)."""
        msg = CancelOrders(self._maker_raw(), (_raw(order_hash),), self._timestamp("orders"))
        body = {
            "maker": self.maker_address,
            "timestamp": str(msg.timestamp),
            "signature": await self._sign_cancel(msg),
        }
        result: dict[str, Any] = await self._request("DELETE", f"/v1/orders/{_hex(order_hash)}", body=body)
        return result

    async def cancel_all(self, series: bytes | str | None = None) -> list[bytes]:
        """Cancel all your open orders (of one series, or all); returns the cancelled hashes.

        Your orders fully matched but not settled yet are covered too (not returned): if the chain
        skips such a fill through the counterparty's fault, the order does not come back on the book.
        """
        msg = CancelAll(self._maker_raw(), ALL_SERIES if series is None else _raw(series), self._timestamp("all"))
        body: dict[str, Any] = {
            "maker": self.maker_address,
            "timestamp": str(msg.timestamp),
            "signature": await self._sign_cancel(msg),
        }
        if series is not None:
            body["series"] = _hex(series)
        result = await self._request("POST", "/v1/cancel_all", body=body)
        return [_raw(h) for h in result["cancelled"]]

    async def cancel_after(self, timeout_ms: int) -> int | None:
        """Arm (renew) the dead-man's switch: all your orders are cancelled unless renewed in time; 0 disarms.

        When it fires it also covers your orders fully matched but not settled yet: a fill of theirs
        the chain skips through the counterparty's fault does not put them back on the book.
        """
        msg = CancelAfter(self._maker_raw(), timeout_ms, self._timestamp("after"))
        body = {
            "maker": self.maker_address,
            "timeoutMs": str(timeout_ms),
            "timestamp": str(msg.timestamp),
            "signature": await self._sign_cancel(msg),
        }
        result = await self._request("POST", "/v1/cancel_after", body=body)
        return None if result["deadline"] is None else int(result["deadline"])

    # ------------------------------------------------------------------ streams

    @property
    def ws_url(self) -> str:
        return self.base_url + "/v1/ws"

    async def _backoff(self, attempt: int) -> None:
        self.resyncs += 1
        await asyncio.sleep(min(self.max_reconnect_delay_s, self.reconnect_delay_s * 2 ** min(attempt, 6)))

    async def stream_book(self, series: bytes | str, depth: int = 100) -> AsyncGenerator[BookState, None]:
        """The book after its snapshot and after every delta, forever.

        On a gap (a delta whose prevSeq is past the last seq applied) it re-subscribes for a
        fresh snapshot; on a dropped connection it reconnects with backoff and re-snapshots.
        """
        channel = "book:" + _hex(series).lower()
        attempt = 0
        while True:
            book = _LocalBook(_raw(series))
            try:
                async with self.session.ws_connect(self.ws_url, autoping=True) as ws:
                    await ws.send_json({"op": "subscribe", "id": 1, "channel": channel, "depth": str(depth)})
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        data = json.loads(msg.data)
                        kind = data.get("type")
                        if kind == "error":
                            raise StreamError(data.get("code", "stream_error"), data.get("message", ""))
                        if kind == "snapshot" and data.get("channel") == channel:
                            book.reset(data)
                            attempt = 0
                            yield book.state()
                        elif kind == "delta" and data.get("channel") == channel and not book.waiting_snapshot:
                            seq, prev = int(data["seq"]), data.get("prevSeq")
                            if seq <= book.seq:
                                continue
                            if prev is not None and int(prev) > book.seq:
                                # missed a delta: ask for a fresh snapshot on the same connection
                                self.resyncs += 1
                                book.waiting_snapshot = True
                                await ws.send_json({"op": "unsubscribe", "id": 2, "channel": channel})
                                await ws.send_json(
                                    {"op": "subscribe", "id": 3, "channel": channel, "depth": str(depth)}
                                )
                                continue
                            book.apply(data)
                            yield book.state()
            except (aiohttp.ClientError, ConnectionError, TimeoutError):
                pass
            await self._backoff(attempt)
            attempt += 1

    async def stream_fills(self, address: str | None = None) -> AsyncGenerator[FillEvent, None]:
        """Fills of `address` (default: the signer's) and their status changes, forever.

        After every (re)connect it also reads the latest fills over REST, so a fill that changed
        while the connection was down is not missed; an event is yielded once per (id, status).
        """
        who = address or self.maker_address
        channel = "fills:" + who.lower()
        seen: set[tuple[int, str]] = set()
        attempt = 0
        while True:
            try:
                async with self.session.ws_connect(self.ws_url, autoping=True) as ws:
                    await ws.send_json({"op": "subscribe", "id": 1, "channel": channel})
                    first = json.loads((await ws.receive(timeout=30)).data)
                    if first.get("type") == "error":
                        raise StreamError(first.get("code", "stream_error"), first.get("message", ""))
                    attempt = 0
                    for item in reversed((await self.fills(maker=who, limit=100)).items):
                        event = _fill_from_rest(item, who)
                        if (event.id, event.status) not in seen:
                            seen.add((event.id, event.status))
                            yield event
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        data = json.loads(msg.data)
                        if data.get("type") != "fill":
                            continue
                        event = FillEvent(
                            int(data["id"]),
                            _raw(data["order"]),
                            _raw(data["series"]),
                            bool(data["isBuy"]),
                            int(data["price"]),
                            int(data["amount"]),
                            data["status"],
                            None if data["batch"] is None else int(data["batch"]),
                        )
                        if (event.id, event.status) not in seen:
                            seen.add((event.id, event.status))
                            yield event
            except (aiohttp.ClientError, ConnectionError, TimeoutError, ClientError) as exc:
                if isinstance(exc, StreamError):
                    raise
            await self._backoff(attempt)
            attempt += 1

    # ------------------------------------------------------------------ on-chain

    async def _onchain(self, *, owner: bool = True) -> Any:
        """The on-chain helpers; `owner`: the call moves or authorizes money, so it needs the maker's own key."""
        from relayer.sdk.onchain import OnChain

        if owner and self.is_delegate:
            raise ClientError(
                "delegate_not_allowed",
                "a delegate key cannot deposit, withdraw or manage delegates: use the maker's own key",
            )
        if self.rpc_url is None:
            raise ClientError("no_rpc", "pass rpc_url= to use the on-chain helpers")
        exchange = (await self.info())["contracts"]["Exchange"]
        return OnChain(self.rpc_url, exchange, self._need_signer())

    async def deposit(self, asset: str, amount: int) -> bytes:
        """Approve and deposit `amount` base units of `asset` into the vault; returns the deposit tx hash."""
        chain = await self._onchain()
        result: bytes = await asyncio.to_thread(chain.deposit, asset, amount)
        return result

    async def withdraw(self, asset: str, amount: int) -> bytes:
        """Withdraw `amount` base units of free `asset` collateral; returns the tx hash."""
        chain = await self._onchain()
        result: bytes = await asyncio.to_thread(chain.withdraw, asset, amount)
        return result

    async def balance(self, asset: str) -> tuple[int, int]:
        """(free, locked) base units of `asset` in the vault for the maker."""
        chain = await self._onchain(owner=False)
        result: tuple[int, int] = await asyncio.to_thread(chain.balance, asset, self.maker_address)
        return result

    async def cancel_one_shot(self, series: bytes | str, seqs: Sequence[int]) -> bytes:
        """Cancel one-shot orders on-chain by sequence number (`cancelOneShot`, or `cancelOneShotFor`
        from a delegate client); returns the tx hash once mined. Off-chain cancels cannot reach a
        one-shot order: it never rests, and its hard cancel is this (or its short expiry)."""
        chain = await self._onchain(owner=False)
        maker = self.maker_address if self.is_delegate else None
        result: bytes = await asyncio.to_thread(chain.cancel_one_shot, _raw(series), list(seqs), maker)
        return result

    async def is_one_shot_spent(self, series: bytes | str, seq: int) -> bool:
        """Whether this maker's one-shot order number `seq` on `series` is spent on-chain."""
        chain = await self._onchain(owner=False)
        result: bool = await asyncio.to_thread(chain.is_one_shot_spent, _raw(series), seq, self.maker_address)
        return result

    # ------------------------------------------------------------------ delegates (on-chain)

    async def register_delegate(self, key: str | Signer, expiry: int) -> bytes:
        """Register `key` (an address or a signer) to sign orders and cancels for this maker until
        `expiry` (unix seconds, must be in the future; registering again changes it). Signed by
        the maker's own key; returns the tx hash once mined. Keep expiries short: a forgotten hot
        key then dies on its own."""
        address = key if isinstance(key, str) else key.address
        chain = await self._onchain()
        result: bytes = await asyncio.to_thread(chain.set_delegate, address, expiry)
        return result

    async def revoke_delegate(self, key: str | Signer, *, cancel_resting: bool = True) -> list[bytes]:
        """Revoke `key` on-chain (mined before this returns: the relayer refuses its next order).

        With `cancel_resting` (default) it then cancels, with signed cancels by the maker's own
        key, every open order of this maker that `key` signed: those can no longer settle (the
        exchange skips a fill whose signer is not a live delegate), so they should not rest.
        The relayer cancels them too (reason `delegate_revoked`) once it polls the revocation;
        this makes it immediate. Returns the hashes of the orders cancelled here.
        """
        address = key if isinstance(key, str) else key.address
        chain = await self._onchain()
        await asyncio.to_thread(chain.revoke_delegate, address)
        if not cancel_resting:
            return []
        return await self.cancel_signed_by(address)

    async def delegate_expiry(self, key: str | Signer) -> int:
        """Unix seconds until which `key` may sign for this maker; 0 if it never was or was revoked."""
        address = key if isinstance(key, str) else key.address
        chain = await self._onchain(owner=False)
        result: int = await asyncio.to_thread(chain.delegate_expiry, address, self.maker_address)
        return result

    async def cancel_signed_by(self, key: str) -> list[bytes]:
        """Cancel every open order of this maker whose signature recovers to `key`; returns their hashes."""
        from settlement.errors import SignatureError
        from settlement.signing import recover

        domain = await self.domain()
        wanted = key.lower()
        doomed: list[bytes] = []
        cursor: str | None = None
        while True:
            page = await self.orders(maker=self.maker_address, status="open", cursor=cursor, limit=500)
            for item in page.items:
                signed = SignedOrder.from_json_dict({k: item[k] for k in _SIGNED_FIELDS})
                try:
                    signer = recover(signed.digest(domain), signed.signature)
                except SignatureError:
                    continue
                if signer.lower() == wanted:
                    doomed.append(_raw(item["hash"]))
            cursor = page.next_cursor
            if cursor is None:
                break
        cancelled: list[bytes] = []
        for order_hash in doomed:
            try:
                await self.cancel(order_hash)
            except ClientError as exc:
                if exc.code in ("not_open", "order_not_found"):
                    continue  # filled, expired or cancelled meanwhile
                raise
            cancelled.append(order_hash)
        return cancelled


def _fill_from_rest(item: dict[str, Any], who: str) -> FillEvent:
    mine_is_maker = item["maker"].lower() == who.lower()
    maker_is_buy = bool(item["makerIsBuy"])
    return FillEvent(
        int(item["id"]),
        _raw(item["makerOrder"] if mine_is_maker else item["takerOrder"]),
        _raw(item["series"]),
        maker_is_buy if mine_is_maker else not maker_is_buy,
        int(item["price"]),
        int(item["amount"]),
        item["status"],
        None if item["batch"] is None else int(item["batch"]),
    )
