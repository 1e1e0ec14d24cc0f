#!/usr/bin/env python3
"""An example Strikebook market maker: adapt it, or run it as it is against a relayer.

It quotes a bid and an ask on every series around a Heston model price (`pricing/`), skews both
quotes against its inventory, and cancels and replaces them when spot moves by more than a
threshold or a fill changes its inventory.

The file has three layers; change the one you need:

* **Pure quoting** (`QuoteParams`, `quote_prices`, `Quoter`, `needs_requote`, `apply_fill`): fair
  value, spread, inventory skew, sizes. No I/O, no clock; unit-tested in `tests/demo/`.
* **`MarketMaker`**: wires a `Quoter` to the SDK (`relayer.client.AsyncClient`): cancel-all and
  replace in one request each, inventory from the account's fill stream.
* **`main()`**: the command line. Spot comes from `--spot` or, re-read every tick, `--spot-file`
  (write a number into it to move the market); replace `SpotFeed` with your own price source.

    .venv/bin/python scripts/market_maker.py --relayer http://127.0.0.1:8080 \\
        --rpc http://127.0.0.1:8545 --keystore alice --password-env ALICE_PASSWORD --spot 2000

Units follow docs/PROTOCOL.md: prices are quote base units per whole option, sizes are
underlying base units (10**decimals = one option).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pricing import HestonParams, heston_price  # noqa: E402
from relayer.client import AsyncClient, ClientError, FillEvent  # noqa: E402
from settlement.order import SignedOrder  # noqa: E402

YEAR_S = 365 * 86_400

# --------------------------------------------------------------------------------------------- pure


@dataclass(frozen=True)
class SeriesSpec:
    """The terms a quoter needs: id, strike (quote base units per whole underlying), expiry (unix s)."""

    id: bytes
    strike: int
    expiry: int
    is_call: bool
    unit: int = 10**18

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> SeriesSpec:
        """From one entry of `GET /v1/series` (`AsyncClient.series()`)."""
        return cls(
            bytes.fromhex(str(obj["id"])[2:]),
            int(obj["strike"]),
            int(obj["expiry"]),
            bool(obj["isCall"]),
            int(obj.get("underlyingUnit", 10**18)),
        )


@dataclass(frozen=True)
class QuoteParams:
    """How a maker quotes.

    - `half_spread`: half the bid-ask width as a fraction of fair value, at least `min_half_spread`
      (quote base units), so cheap wings are still quoted a few ticks wide.
    - `tick`: prices are multiples of it; bids round down, asks up (never narrower than asked).
    - `size`: options per side when flat (underlying base units); `lot`: sizes are multiples of it.
    - `max_position`: |inventory| per series the maker accepts; the side that would pass it shrinks.
    - `skew`: at full inventory both quotes move by `skew` half-spreads against the position (a long
      maker quotes lower, to sell; a short one higher, to buy).
    - `requote_threshold`: relative spot move that triggers a cancel-and-replace.
    """

    half_spread: float = 0.04
    min_half_spread: int = 20_000
    tick: int = 10_000
    size: int = 10**18
    lot: int = 10**16
    max_position: int = 5 * 10**18
    skew: float = 1.0
    requote_threshold: float = 0.002

    def __post_init__(self) -> None:
        if self.half_spread < 0 or self.min_half_spread <= 0 or self.tick <= 0 or self.lot <= 0:
            raise ValueError("half_spread >= 0; min_half_spread, tick and lot > 0")
        if self.size <= 0 or self.max_position <= 0 or self.skew < 0 or self.requote_threshold < 0:
            raise ValueError("size and max_position > 0; skew and requote_threshold >= 0")


@dataclass(frozen=True)
class Quote:
    """Two-sided quote of one series; a side with size 0 is not quoted (its price is then 0)."""

    series: bytes
    fair: float
    bid: int
    bid_size: int
    ask: int
    ask_size: int


def _floor_to(value: float, step: int) -> int:
    return math.floor(value / step) * step


def _ceil_to(value: float, step: int) -> int:
    return math.ceil(value / step) * step


def quote_prices(
    fair: float, inventory: int, params: QuoteParams, max_price: int | None = None
) -> tuple[int, int, int, int]:
    """(bid, bid_size, ask, ask_size) around `fair` (quote base units) for a maker holding `inventory`.

    Never crossed (bid < ask whenever both sides are quoted), never a bid below one tick, never an
    ask above `max_price` (a put is worth at most its strike), and never a size that would take
    |inventory| past `max_position`.
    """
    if not math.isfinite(fair) or fair < 0:
        raise ValueError(f"fair value must be finite and >= 0, got {fair}")
    p = params
    half = max(float(p.min_half_spread), p.half_spread * fair)
    load = max(-1.0, min(1.0, inventory / p.max_position))
    centre = fair - p.skew * load * half
    bid = _floor_to(centre - half, p.tick)
    ask = max(_ceil_to(centre + half, p.tick), p.tick)
    if max_price is not None:
        ask = min(ask, _floor_to(max_price, p.tick))
    # flat: full size both sides; loaded: the side adding to the position shrinks to zero at the cap
    bid_size = _floor_to(min(p.size * (1.0 - max(load, 0.0)), p.max_position - inventory), p.lot)
    ask_size = _floor_to(min(p.size * (1.0 + min(load, 0.0)), p.max_position + inventory), p.lot)
    bid_size, ask_size = max(bid_size, 0), max(ask_size, 0)
    if bid < p.tick or bid >= ask:
        bid, bid_size = 0, 0
    if ask < p.tick:
        ask, ask_size = 0, 0
    if bid_size == 0:
        bid = 0
    if ask_size == 0:
        ask = 0
    return bid, bid_size, ask, ask_size


def needs_requote(quoted_spot: float | None, spot: float, threshold: float) -> bool:
    """True when nothing is quoted yet or spot moved by at least `threshold` (relative) since the last quote."""
    if quoted_spot is None or quoted_spot <= 0:
        return True
    return abs(spot / quoted_spot - 1.0) >= threshold


def apply_fill(inventory: dict[bytes, int], series: bytes, is_buy: bool, amount: int) -> None:
    """Update per-series inventory (underlying base units, + long / - short) with one fill."""
    inventory[series] = inventory.get(series, 0) + (amount if is_buy else -amount)


class Quoter:
    """Model prices (Heston, COS method) and quotes for a set of series. Pure: spot and time are inputs."""

    def __init__(
        self,
        series: Sequence[SeriesSpec],
        params: QuoteParams,
        model: HestonParams,
        *,
        quote_unit: int = 10**6,
        rate: float = 0.0,
    ) -> None:
        self.series = list(series)
        self.params = params
        self.model = model
        self.quote_unit = quote_unit
        self.rate = rate

    def fair_values(self, spot: float, now: int) -> dict[bytes, float]:
        """Fair premium per whole option in quote base units; `spot` in whole quote units, `now` unix s."""
        if not self.series:
            return {}
        strikes = np.array([s.strike / self.quote_unit for s in self.series])
        years = np.array([max(s.expiry - now, 0) / YEAR_S for s in self.series])
        calls = np.array([s.is_call for s in self.series])
        m = self.model
        prices = heston_price(spot, strikes, years, self.rate, 0.0, m.v0, m.kappa, m.theta, m.sigma, m.rho, calls)
        intrinsic = np.where(calls, np.maximum(spot - strikes, 0.0), np.maximum(strikes - spot, 0.0))
        values = np.where(np.isfinite(prices), np.maximum(prices, intrinsic * (years == 0)), intrinsic)
        return {s.id: float(v) * self.quote_unit for s, v in zip(self.series, values, strict=True)}

    def quotes(self, spot: float, now: int, inventory: Mapping[bytes, int]) -> list[Quote]:
        """One quote per series that is not expired at `now`."""
        fair = self.fair_values(spot, now)
        out = []
        for s in self.series:
            if s.expiry <= now:
                continue
            cap = None if s.is_call else s.strike
            bid, bid_size, ask, ask_size = quote_prices(fair[s.id], inventory.get(s.id, 0), self.params, cap)
            out.append(Quote(s.id, fair[s.id], bid, bid_size, ask, ask_size))
        return out


# --------------------------------------------------------------------------------------------- I/O


@dataclass
class MakerStats:
    """What a maker did: requotes, orders sent (rejected: e.g. post-only quotes that would have crossed),
    acknowledgement latencies (s per request), fills seen."""

    requotes: int = 0
    orders: int = 0
    rejected: int = 0
    fills: int = 0
    ack_latencies: list[float] = field(default_factory=list)


class MarketMaker:
    """Runs a `Quoter` against a relayer through the SDK.

    Each requote is one signed cancel-all and one batched submit of every quote, post-only by
    default (a quote that would cross a resting order is refused rather than trading). Inventory
    comes from the account's fill stream (a skipped fill is reversed), and a changed inventory
    triggers a requote like a spot move does, at most every `min_requote_s`. `on_submit` sees each
    requote's signed orders just before they are sent (the demo times them to settlement).
    """

    def __init__(
        self,
        client: AsyncClient,
        quoter: Quoter,
        *,
        max_fee: int = 0,
        order_ttl_s: int = 3_600,
        min_requote_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        on_submit: Callable[[Sequence[SignedOrder]], None] | None = None,
        tif: str = "post_only",
    ) -> None:
        self.client = client
        self.quoter = quoter
        self.max_fee = max_fee
        self.order_ttl_s = order_ttl_s
        self.min_requote_s = min_requote_s
        self.clock = clock
        self.on_submit = on_submit
        self.tif = tif
        self.inventory: dict[bytes, int] = {}
        self.stats = MakerStats()
        self.quoted_spot: float | None = None
        self._last_requote = -math.inf
        self._inventory_changed = False
        self._counted: dict[int, int] = {}

    def on_fill(self, event: FillEvent) -> None:
        """Count a fill once when first seen; undo it if the chain later skipped it."""
        signed = event.amount if event.is_buy else -event.amount
        if event.status == "skipped":
            counted = self._counted.pop(event.id, 0)
            if counted:
                self.inventory[event.series] = self.inventory.get(event.series, 0) - counted
                self._inventory_changed = True
            return
        if event.id in self._counted:
            return
        self._counted[event.id] = signed
        apply_fill(self.inventory, event.series, event.is_buy, event.amount)
        self.stats.fills += 1
        self._inventory_changed = True

    async def follow_fills(self) -> None:
        """Feed `on_fill` from the fill stream until cancelled."""
        stream = self.client.stream_fills()
        try:
            async for event in stream:
                self.on_fill(event)
        finally:
            await stream.aclose()

    def due(self, spot: float) -> bool:
        if self.clock() - self._last_requote < self.min_requote_s:
            return False
        return self._inventory_changed or needs_requote(self.quoted_spot, spot, self.quoter.params.requote_threshold)

    async def requote(self, spot: float, now: int) -> int:
        """Cancel every open order of this maker and quote afresh; returns the orders accepted."""
        self._last_requote = self.clock()
        self._inventory_changed = False
        self.quoted_spot = spot
        await self.client.cancel_all()
        orders = []
        expiry = now + self.order_ttl_s
        for q in self.quoter.quotes(spot, now, self.inventory):
            for is_buy, price, size in ((True, q.bid, q.bid_size), (False, q.ask, q.ask_size)):
                if size:
                    orders.append(
                        self.client.build_order(
                            q.series,
                            is_buy=is_buy,
                            price=price,
                            amount=size,
                            max_fee=self.max_fee,
                            expiry=expiry,
                            tif=self.tif,
                        )
                    )
        if not orders:
            return 0
        signed = [await self.client.sign(o) for o in orders]
        if self.on_submit is not None:
            self.on_submit(signed)
        started = time.perf_counter()
        acks = await self.client.submit_many(signed, tif=self.tif)
        self.stats.ack_latencies.append(time.perf_counter() - started)
        self.stats.requotes += 1
        self.stats.orders += len(acks)
        rejected = sum(1 for a in acks if not a.accepted)
        self.stats.rejected += rejected
        return len(acks) - rejected

    async def run(
        self,
        spot: Callable[[], float],
        now: Callable[[], int],
        stop: asyncio.Event,
        *,
        interval_s: float = 0.1,
    ) -> None:
        """Requote whenever due until `stop` is set; then cancel everything. Follows fills meanwhile."""
        follower = asyncio.create_task(self.follow_fills())
        try:
            while not stop.is_set():
                s = spot()
                if self.due(s):
                    await self.requote(s, now())
                # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that arrives as `stop` is set
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(interval_s):
                        await stop.wait()
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError, ClientError):
                await follower
            with contextlib.suppress(ClientError):
                await self.client.cancel_all()


# --------------------------------------------------------------------------------------------- CLI


class SpotFeed:
    """Spot from a fixed number, or the number in a file re-read on every call (a stand-in for a price feed)."""

    def __init__(self, spot: float, path: Path | None = None) -> None:
        self.spot = spot
        self.path = path

    def __call__(self) -> float:
        if self.path is not None:
            with contextlib.suppress(OSError, ValueError):
                self.spot = float(self.path.read_text().strip())
        return self.spot


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=(
            "Example: market_maker.py --relayer http://127.0.0.1:8080 --rpc http://127.0.0.1:8545 "
            "--keystore alice --password-env ALICE_PASSWORD --spot 2000 --deposit-quote 100000000000"
        ),
    )
    ap.add_argument("--relayer", default="http://127.0.0.1:8080", help="relayer API base URL")
    ap.add_argument("--rpc", default=None, help="JSON-RPC endpoint (only needed for --deposit-*)")
    key = ap.add_mutually_exclusive_group(required=True)
    key.add_argument("--keystore", help="key name in the encrypted keystore (strikebook keys create NAME)")
    key.add_argument("--key-env", help="environment variable holding a raw hex key (development only)")
    ap.add_argument("--keystore-dir", type=Path, default=None, help="keystore directory (default: the keys/ default)")
    ap.add_argument("--password-env", default=None, help="env var with the keystore password (else prompt)")
    ap.add_argument("--series", action="append", default=[], help="series id to quote (repeatable; default: all)")
    ap.add_argument("--spot", type=float, required=True, help="spot price, whole quote units per underlying")
    ap.add_argument("--spot-file", type=Path, default=None, help="re-read spot from this file every tick")
    ap.add_argument("--vol", type=float, default=0.6, help="Heston initial and long-run volatility (default 0.6)")
    ap.add_argument("--vol-of-vol", type=float, default=0.8, help="Heston sigma (default 0.8)")
    ap.add_argument("--kappa", type=float, default=2.0, help="Heston mean reversion (default 2)")
    ap.add_argument("--rho", type=float, default=-0.5, help="Heston spot-vol correlation (default -0.5)")
    ap.add_argument("--half-spread", type=float, default=0.04, help="half spread, fraction of fair (default 0.04)")
    ap.add_argument("--size", type=float, default=1.0, help="options per side when flat (default 1)")
    ap.add_argument("--max-position", type=float, default=5.0, help="max |options| per series (default 5)")
    ap.add_argument("--skew", type=float, default=1.0, help="half-spreads of skew at full inventory (default 1)")
    ap.add_argument("--requote", type=float, default=0.002, help="relative spot move that requotes (default 0.002)")
    ap.add_argument("--deposit-quote", type=int, default=0, help="deposit this many quote base units first")
    ap.add_argument("--deposit-underlying", type=int, default=0, help="deposit this many underlying base units first")
    ap.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (default: Ctrl-C)")
    return ap.parse_args(argv)


def _client(args: argparse.Namespace) -> AsyncClient:
    if args.keystore:
        from keys.passwords import EnvPassword, PasswordSource, PromptPassword

        password: PasswordSource = EnvPassword(args.password_env) if args.password_env else PromptPassword()
        return AsyncClient.from_keystore(
            args.relayer, args.keystore, password, keystore_dir=args.keystore_dir, rpc_url=args.rpc
        )
    import os

    from keys.signer import LocalSigner

    raw = os.environ.get(args.key_env, "").strip()
    if not raw:
        raise SystemExit(f"${args.key_env} is not set")
    return AsyncClient(args.relayer, LocalSigner(raw), rpc_url=args.rpc)


async def _main(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        info = await client.info()
        listed = [SeriesSpec.from_api(s) for s in await client.series()]
        wanted = {bytes.fromhex(s.removeprefix("0x")) for s in args.series}
        chosen = [s for s in listed if not wanted or s.id in wanted]
        if not chosen:
            print("no series to quote (is anything listed? `strikebook series list`)", file=sys.stderr)
            return 1
        tokens = info.get("tokens", {})
        quote_unit = 10 ** int(tokens.get("quote", {}).get("decimals", 6))
        for key, amount in (("quote", args.deposit_quote), ("underlying", args.deposit_underlying)):
            if amount:
                if key not in tokens:
                    print(f"the relayer's manifest names no {key} token to deposit", file=sys.stderr)
                    return 1
                await client.deposit(tokens[key]["address"], amount)
                print(f"deposited {amount} base units of {tokens[key]['symbol']}")
        unit = chosen[0].unit
        params = QuoteParams(
            half_spread=args.half_spread,
            size=int(args.size * unit),
            lot=max(unit // 100, 1),
            max_position=int(args.max_position * unit),
            skew=args.skew,
            requote_threshold=args.requote,
        )
        v = args.vol**2
        model = HestonParams(v0=v, kappa=args.kappa, theta=v, sigma=args.vol_of_vol, rho=args.rho)
        maker = MarketMaker(client, Quoter(chosen, params, model, quote_unit=quote_unit))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if args.duration > 0:
            loop.call_later(args.duration, stop.set)
        assert client.signer is not None
        print(f"quoting {len(chosen)} series as {client.signer.address} on {args.relayer} (Ctrl-C stops)")
        await maker.run(SpotFeed(args.spot, args.spot_file), lambda: int(time.time()), stop)
        s = maker.stats
        print(f"stopped: {s.requotes} requotes, {s.orders} orders ({s.rejected} rejected), {s.fills} fills")
        for sid, pos in sorted(maker.inventory.items()):
            if pos:
                print(f"  0x{sid.hex()}: {pos / unit:+g} options")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return asyncio.run(_main(_parse_args(argv)))
    except ClientError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
