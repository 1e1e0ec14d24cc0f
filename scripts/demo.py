#!/usr/bin/env python3
"""Strikebook end to end, in about a minute: `make demo`.

1. Start Anvil (from node_modules) and deploy the suite with a 2-of-3 oracle.
2. List an options chain: calls and puts at 5 strikes and 2 expiries; fund makers and takers.
3. Start the relayer (`strikebook relayer start`, HTTP + WebSocket API on a free loopback port).
4. Market makers (scripts/market_maker.py, on the SDK) quote both sides around Heston prices while
   spot follows a simulated path; takers send random IOC flow (one-shot orders: the SDK signs IOC
   and FOK orders one-shot); the relayer matches and settles the fills on-chain in batches.
5. Jump the chain past both expiries, post the settlement prices with 2 of the 3 oracle keys, and
   settle every account.
6. Run the auditor (`strikebook audit --relayer`) over the whole history; it must pass.

A live display runs throughout and a summary closes the run. Exit code 0 only if every step
worked and the audit passed. Nothing is left running: the chain and the relayer are stopped on
success, error and Ctrl-C. Logs, the manifest and the audit report go to a run directory that is
removed on success unless --run-dir is given (and kept, with its path printed, on failure).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (str(ROOT), str(ROOT / "scripts")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import demo_chain as dc  # noqa: E402
from market_maker import MarketMaker, QuoteParams, Quoter, SeriesSpec  # noqa: E402
from rich.console import Console, Group  # noqa: E402
from rich.live import Live  # noqa: E402
from rich.panel import Panel  # noqa: E402
from rich.table import Table  # noqa: E402

from keys.signer import LocalSigner  # noqa: E402
from pricing import HestonParams  # noqa: E402
from relayer.client import AsyncClient, ClientError, FillEvent, RateLimited  # noqa: E402
from settlement.chain import Chain  # noqa: E402
from settlement.manifest import Manifest  # noqa: E402
from settlement.order import Domain  # noqa: E402

USD = 10**6  # quote token: 6 decimals
OPTION = 10**18  # underlying token: 18 decimals; one option per whole underlying
DAY = 86_400
STRIKE_STEPS = (0.8, 0.9, 1.0, 1.1, 1.2)
EXPIRY_DAYS = (7, 28)
MAKER_DEPOSIT = (5_000_000 * USD, 500 * OPTION)
TAKER_DEPOSIT = (1_000_000 * USD, 100 * OPTION)
TAKER_FEE = USD // 20  # 0.05 quote per option, charged by the relayer on the taker side
VOL = 0.6
#: The trading window stands for one simulated day of spot moves.
SIM_DAYS_PER_RUN = 1.0
N_ORACLE_SIGNERS, ORACLE_THRESHOLD = 3, 2


# ------------------------------------------------------------------------------------------ metrics


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear between closest ranks; None without data."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass
class Metrics:
    """Everything the display and the summary show, fed by the makers, the takers and the fill streams."""

    started: float = field(default_factory=time.monotonic)
    phase: str = "starting"
    spot: float = 0.0
    maker_orders: int = 0
    taker_orders: int = 0
    rejected: int = 0
    rate_limited: int = 0
    ack_s: list[float] = field(default_factory=list)
    settled_at: dict[int, float] = field(default_factory=dict)
    submitted_at: dict[bytes, float] = field(default_factory=dict)
    fill_orders: dict[int, set[bytes]] = field(default_factory=dict)
    fill_status: dict[int, str] = field(default_factory=dict)
    batches: int = 0
    log: list[str] = field(default_factory=list)

    def on_fill(self, event: FillEvent) -> None:
        self.fill_orders.setdefault(event.id, set()).add(event.order)
        previous = self.fill_status.get(event.id)
        if previous in ("settled", "skipped"):
            return
        self.fill_status[event.id] = event.status
        if event.status == "settled":
            self.settled_at[event.id] = time.monotonic()
        if event.batch is not None:
            self.batches = max(self.batches, event.batch)

    def sent(self, digests: Sequence[bytes]) -> None:
        now = time.monotonic()
        for d in digests:
            self.submitted_at[d] = now

    @property
    def settle_s(self) -> list[float]:
        """Per settled fill: from the later of its two orders (the one that took liquidity) being sent to
        the first settled event of either side's fill stream."""
        out = []
        for fill_id, at in self.settled_at.items():
            sent = [self.submitted_at[o] for o in self.fill_orders.get(fill_id, ()) if o in self.submitted_at]
            if sent:
                out.append(at - max(sent))
        return out

    def count(self, status: str) -> int:
        return sum(1 for s in self.fill_status.values() if s == status)

    @property
    def fills(self) -> int:
        return len(self.fill_status)

    @property
    def unsettled(self) -> int:
        return sum(1 for s in self.fill_status.values() if s not in ("settled", "skipped"))


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


# ------------------------------------------------------------------------------------------ actors


@dataclass
class Actor:
    role: str
    name: str
    signer: LocalSigner
    client: AsyncClient
    maker: MarketMaker | None = None
    orders: int = 0
    fill_ids: set[int] = field(default_factory=set)


class SpotPath:
    """Geometric Brownian motion on a simulated clock: `SIM_DAYS_PER_RUN` days per trading window."""

    def __init__(self, spot: float, vol: float, rng: random.Random) -> None:
        self.spot = spot
        self.vol = vol
        self.rng = rng

    def step(self, days: float) -> float:
        t = days / 365.0
        self.spot *= math.exp(-0.5 * self.vol**2 * t + self.vol * math.sqrt(t) * self.rng.gauss(0.0, 1.0))
        return self.spot


async def follow_fills(actor: Actor, metrics: Metrics) -> None:
    """Every fill of one account and its status changes (the SDK's fill stream)."""
    stream = actor.client.stream_fills()
    try:
        async for event in stream:
            actor.fill_ids.add(event.id)
            metrics.on_fill(event)
    finally:
        await stream.aclose()


async def taker_loop(
    actor: Actor,
    series: Sequence[dc.ListedSeries],
    metrics: Metrics,
    rng: random.Random,
    rate: float,
    stop: asyncio.Event,
) -> None:
    """Random flow: pick a series and a side, take the best quote with an IOC (one-shot) order."""
    domain = await actor.client.domain()
    while not stop.is_set():
        # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that arrives as `stop` is set
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(rng.expovariate(rate)):
                await stop.wait()
        if stop.is_set():
            return
        s = rng.choice(series)
        is_buy = rng.random() < 0.5
        try:
            book = await actor.client.book(s.id, depth=1)
            levels = book.asks if is_buy else book.bids
            if not levels:
                continue
            price = levels[0][0]
            amount = rng.choice((1, 2, 5, 10)) * OPTION // 10
            # IOC: the SDK signs it one-shot (fills within one batch, 60 s default expiry)
            order = actor.client.build_order(
                s.id, is_buy=is_buy, price=price, amount=amount, max_fee=2 * TAKER_FEE, tif="ioc"
            )
            signed = await actor.client.sign(order)
            metrics.sent([order.digest(domain)])
            started = time.perf_counter()
            ack = await actor.client.submit(signed, tif="ioc")
            metrics.ack_s.append(time.perf_counter() - started)
            metrics.taker_orders += 1
            actor.orders += 1
            if not ack.accepted:
                metrics.rejected += 1
        except RateLimited as exc:
            metrics.rate_limited += 1
            await asyncio.sleep(max(0.1, float(exc.retry_after or 1)))
        except ClientError:
            metrics.rejected += 1


async def maker_loop(actor: Actor, metrics: Metrics, path: SpotPath, stop: asyncio.Event) -> None:
    """The maker bot of scripts/market_maker.py; its acknowledgement latencies flow into the metrics."""
    maker = actor.maker
    assert maker is not None
    run = asyncio.create_task(maker.run(lambda: path.spot, lambda: int(time.time()), stop, interval_s=0.1))
    seen = 0
    try:
        while not run.done():
            await asyncio.wait({run}, timeout=0.2)
            new = maker.stats.ack_latencies[seen:]
            seen += len(new)
            metrics.ack_s.extend(new)
        await run
    finally:
        if not run.done():
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run


# ------------------------------------------------------------------------------------------ display


def render(metrics: Metrics, actors: Sequence[Actor], duration: float) -> Group:
    elapsed = time.monotonic() - metrics.started
    head = Table.grid(padding=(0, 2))
    head.add_row(
        f"[bold]{metrics.phase}[/bold]",
        f"elapsed {elapsed:5.1f} s",
        f"spot {metrics.spot:,.2f}" if metrics.spot else "",
        f"trading window {duration:.0f} s",
    )
    stats = Table.grid(padding=(0, 2))
    orders = sum(a.maker.stats.orders if a.maker else a.orders for a in actors)
    stats.add_row(
        f"orders {orders:,}",
        f"fills {metrics.fills:,} (settled {metrics.count('settled'):,}, skipped {metrics.count('skipped')})",
        f"batches {metrics.batches:,}",
        f"ack p50 {_ms(percentile(metrics.ack_s, 50))}",
        f"order→settled p50 {_ms(percentile(metrics.settle_s, 50))}",
    )
    table = Table(expand=False, show_edge=False, pad_edge=False)
    for col in ("account", "role", "orders", "requotes", "fills", "net position (options)"):
        table.add_column(col, justify="left" if col in ("account", "role") else "right")
    for a in actors:
        if a.maker is not None:
            net = sum(abs(v) for v in a.maker.inventory.values()) / OPTION
            table.add_row(
                a.name,
                a.role,
                f"{a.maker.stats.orders:,}",
                f"{a.maker.stats.requotes}",
                f"{len(a.fill_ids)}",
                f"{net:.1f} gross",
            )
        else:
            table.add_row(a.name, a.role, f"{a.orders:,}", "", f"{len(a.fill_ids)}", "")
    lines = "\n".join(metrics.log[-8:])
    return Group(Panel(Group(head, stats), title="Strikebook demo"), table, lines)


# ------------------------------------------------------------------------------------------ the run


@dataclass
class Options:
    duration: float
    makers: int
    takers: int
    seed: int
    taker_rate: float
    spot: float
    batch_ms: int
    run_dir: Path | None
    keep_running: bool
    summary_json: Path | None


@contextlib.contextmanager
def run_directory(opts: Options) -> Iterator[tuple[Path, list[bool]]]:
    """The run directory, and a flag list: set [0] to keep it."""
    if opts.run_dir is not None:
        opts.run_dir.mkdir(parents=True, exist_ok=True)
        yield opts.run_dir, [True]
        return
    path = Path(tempfile.mkdtemp(prefix="strikebook-demo-"))
    keep = [False]
    try:
        yield path, keep
    finally:
        if not keep[0]:
            shutil.rmtree(path, ignore_errors=True)


class Demo:
    def __init__(self, opts: Options, console: Console, run_dir: Path, procs: dc.Processes) -> None:
        self.opts = opts
        self.console = console
        self.run_dir = run_dir
        self.procs = procs
        self.metrics = Metrics()
        self.rng = random.Random(opts.seed)
        self.actors: list[Actor] = []
        self.summary: dict[str, Any] = {"ok": False, "auditPassed": False, "runDir": str(run_dir)}
        self.live: Live | None = None
        self.audit_output = ""
        self.path = SpotPath(opts.spot, VOL, random.Random(self.rng.random()))
        self.settled_accounts = 0

    def say(self, text: str) -> None:
        stamp = f"[dim]{time.monotonic() - self.metrics.started:5.1f}s[/dim] "
        self.metrics.log.append(stamp + text)
        if self.live is None or not self.console.is_terminal:
            self.console.print(stamp + text)

    def phase(self, name: str) -> None:
        self.metrics.phase = name
        self.say(f"[bold cyan]{name}[/bold cyan]")

    async def run(self) -> bool:
        o = self.opts
        n_accounts = 2 + N_ORACLE_SIGNERS + o.makers + o.takers
        keys = dc.derive_keys(n_accounts)
        deployer, operator = LocalSigner(keys[0]), LocalSigner(keys[1])
        oracle_keys = [LocalSigner(k) for k in keys[2 : 2 + N_ORACLE_SIGNERS]]
        trader_keys = keys[2 + N_ORACLE_SIGNERS :]

        self.phase("starting Anvil")
        rpc = await asyncio.to_thread(dc.start_anvil, self.procs, self.run_dir, n_accounts)
        chain = Chain.from_url(rpc)
        self.summary["childPids"] = list(self.procs.pids)
        self.say(f"Anvil at {rpc} (pid {self.procs.pids[-1]})")

        self.phase("deploying")
        manifest = await asyncio.to_thread(
            dc.deploy_venue, chain, deployer, operator.address, [s.address for s in oracle_keys], ORACLE_THRESHOLD
        )
        manifest_path = self.run_dir / "manifest.json"
        manifest.save(manifest_path)
        self.say(f"Exchange {manifest.exchange}; oracle {ORACLE_THRESHOLD}-of-{N_ORACLE_SIGNERS}")

        self.phase("listing the chain")
        now = await asyncio.to_thread(dc.head_time, chain)
        expiries = [(now // DAY + d) * DAY + 8 * 3600 for d in EXPIRY_DAYS]  # 08:00 UTC, like the big venues
        strikes = [round(o.spot * k) * USD for k in STRIKE_STEPS]
        series = await asyncio.to_thread(dc.list_chain, chain, manifest, deployer, strikes, expiries)
        self.show_chain(series, now)

        self.phase("funding accounts")
        quote, underlying = manifest.tokens["quote"].address, manifest.tokens["underlying"].address
        deposits: dict[str, tuple[int, int]] = {}
        for i, key in enumerate(trader_keys):
            signer = LocalSigner(key)
            role = "maker" if i < o.makers else "taker"
            deposits[signer.address] = MAKER_DEPOSIT if role == "maker" else TAKER_DEPOSIT
        await asyncio.gather(
            *(
                asyncio.to_thread(
                    self.fund, rpc, chain, manifest, deployer, LocalSigner(k), deposits, quote, underlying
                )
                for k in trader_keys
            )
        )
        self.say(
            f"{o.makers} makers with {MAKER_DEPOSIT[0] // USD:,} tUSD + {MAKER_DEPOSIT[1] // OPTION} tETH, "
            f"{o.takers} takers with {TAKER_DEPOSIT[0] // USD:,} tUSD + {TAKER_DEPOSIT[1] // OPTION} tETH"
        )

        self.phase("starting the relayer")
        api = await asyncio.to_thread(
            dc.start_relayer,
            self.procs,
            self.run_dir,
            rpc,
            manifest_path,
            keys[1],
            batch_ms=o.batch_ms,
            taker_fee=TAKER_FEE,
        )
        self.summary["childPids"] = list(self.procs.pids)
        self.summary["endpoints"] = {"rpc": rpc, "api": api, "manifest": str(manifest_path)}
        self.say(f"relayer API at {api} (pid {self.procs.pids[-1]}): `strikebook relayer status --api {api}`")

        try:
            await self.trade(api, rpc, series, trader_keys, manifest.domain)
        finally:
            for a in self.actors:
                await a.client.close()

        self.phase("expiry")
        prices = self.settlement_prices(expiries)
        await asyncio.to_thread(self.expire_and_settle, chain, manifest, deployer, oracle_keys, series, prices)

        self.phase("auditing")
        audit_json = self.run_dir / "audit.json"
        audit_ok = await asyncio.to_thread(self.audit, rpc, manifest_path, api, audit_json)
        await self.collect(chain, manifest, api, deposits, prices, audit_json, audit_ok)
        return audit_ok

    def show_chain(self, series: Sequence[dc.ListedSeries], now: int) -> None:
        table = Table(title=f"{len(series)} series listed (tETH/tUSD)", show_edge=False)
        table.add_column("expiry (UTC)")
        table.add_column("calls (strike)", justify="right")
        table.add_column("puts (strike)", justify="right")
        for expiry in sorted({s.expiry for s in series}):
            calls = [f"{s.strike // USD:,}" for s in series if s.expiry == expiry and s.is_call]
            puts = [f"{s.strike // USD:,}" for s in series if s.expiry == expiry and not s.is_call]
            label = time.strftime("%Y-%m-%d %H:%M", time.gmtime(expiry)) + f" ({(expiry - now) / DAY:.1f} d)"
            table.add_row(label, " ".join(calls), " ".join(puts))
        self.console.print(table)

    @staticmethod
    def fund(
        rpc: str,
        chain: Chain,
        manifest: Manifest,
        minter: LocalSigner,
        account: LocalSigner,
        deposits: dict[str, tuple[int, int]],
        quote: str,
        underlying: str,
    ) -> None:
        q, u = deposits[account.address]
        # test tokens: anyone may mint; the account then approves and deposits like any maker
        dc.mint(chain, account, quote, account.address, q)
        dc.mint(chain, account, underlying, account.address, u)
        dc.deposit(rpc, manifest, account, quote, q)
        dc.deposit(rpc, manifest, account, underlying, u)

    async def trade(
        self, api: str, rpc: str, series: Sequence[dc.ListedSeries], trader_keys: Sequence[str], domain: Domain
    ) -> None:
        o = self.opts
        specs = [SeriesSpec(s.id, s.strike, s.expiry, s.is_call) for s in series]
        for i, key in enumerate(trader_keys):
            signer = LocalSigner(key)
            client = AsyncClient(api, signer, rpc_url=rpc)
            if i < o.makers:
                # each maker has its own vol view and appetite, so their quotes differ
                vol = VOL * (1.0 + 0.02 * (i - (o.makers - 1) / 2))
                model = HestonParams(v0=vol**2, kappa=2.0, theta=vol**2, sigma=0.8, rho=-0.5)
                params = QuoteParams(
                    half_spread=0.03 + 0.01 * (i % 3),
                    size=OPTION // 2 * (1 + i % 2),
                    max_position=4 * OPTION,
                    skew=1.0,
                    requote_threshold=0.002 + 0.001 * (i % 2),
                )
                maker = MarketMaker(
                    client,
                    Quoter(specs, params, model, quote_unit=USD),
                    min_requote_s=1.0,
                    on_submit=lambda signed: self.metrics.sent([s.order.digest(domain) for s in signed]),
                )
                self.actors.append(Actor("maker", f"maker {i + 1}", signer, client, maker))
            else:
                self.actors.append(Actor("taker", f"taker {i - o.makers + 1}", signer, client))

        path = self.path
        self.metrics.spot = path.spot
        stop = asyncio.Event()
        self.phase(f"trading for {o.duration:.0f} s")
        followers = [asyncio.create_task(follow_fills(a, self.metrics)) for a in self.actors]
        tasks = [
            asyncio.create_task(maker_loop(a, self.metrics, path, stop)) for a in self.actors if a.maker is not None
        ]
        tasks += [
            asyncio.create_task(
                taker_loop(a, series, self.metrics, random.Random(self.rng.random()), o.taker_rate, stop)
            )
            for a in self.actors
            if a.maker is None
        ]
        tick = 0.25
        steps = max(1, int(o.duration / tick))
        try:
            for _ in range(steps):
                await asyncio.sleep(tick)
                self.metrics.spot = path.step(SIM_DAYS_PER_RUN / steps)
                self.metrics.maker_orders = sum(a.maker.stats.orders for a in self.actors if a.maker)
                self.procs.check_alive()
                for t in tasks:
                    if t.done() and t.exception() is not None:
                        raise t.exception()  # type: ignore[misc]
            self.phase("draining: makers cancel, last batches settle")
            stop.set()
            await asyncio.gather(*tasks)
            self.metrics.maker_orders = sum(a.maker.stats.orders for a in self.actors if a.maker)
            self.metrics.rejected += sum(a.maker.stats.rejected for a in self.actors if a.maker)
            await self.wait_settled(api)
        finally:
            stop.set()
            for t in [*tasks, *followers]:
                t.cancel()
            await asyncio.gather(*tasks, *followers, return_exceptions=True)
        self.say(
            f"{self.metrics.fills} fills, {self.metrics.count('settled')} settled in {self.metrics.batches} batches"
        )

    async def wait_settled(self, api: str, timeout: float = 60.0) -> None:
        """Until the relayer has no pending fill and every fill we saw is settled or skipped."""
        client = self.actors[0].client
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = await client.health()
            last = int(health["lastBatchSeq"])
            batch_done = last == 0 or (await client.batch(last))["status"] in ("settled", "failed")
            if int(health["pendingFills"]) == 0 and batch_done and self.metrics.unsettled == 0:
                self.metrics.batches = max(self.metrics.batches, last)
                return
            await asyncio.sleep(0.2)
        raise dc.DemoError(f"fills still unsettled after {timeout:.0f} s (see {self.run_dir / 'relayer.log'})")

    def settlement_prices(self, expiries: Sequence[int]) -> dict[int, int]:
        """Spot keeps following its path after trading stops; each expiry settles at its value then."""
        path = self.path
        prices = {}
        elapsed = SIM_DAYS_PER_RUN
        for expiry in sorted(expiries):
            days = (expiry - time.time()) / DAY
            path.step(max(days - elapsed, 1e-6))
            elapsed = max(days, elapsed)
            prices[expiry] = round(path.spot * 100) * USD // 100
        return prices

    def expire_and_settle(
        self,
        chain: Chain,
        manifest: Manifest,
        sender: LocalSigner,
        oracle_keys: Sequence[LocalSigner],
        series: Sequence[dc.ListedSeries],
        prices: dict[int, int],
    ) -> None:
        head = dc.jump_past(chain, max(prices))
        self.say(f"chain time moved to {time.strftime('%Y-%m-%d %H:%M', time.gmtime(head))} UTC (evm_increaseTime)")
        signers = self.rng.sample(list(oracle_keys), ORACLE_THRESHOLD)
        for expiry, price in sorted(prices.items()):
            dc.post_price(chain, manifest, sender, signers, expiry, price)
            self.say(
                f"oracle: {ORACLE_THRESHOLD} of {N_ORACLE_SIGNERS} signers posted {price / USD:,.2f} "
                f"for {time.strftime('%Y-%m-%d', time.gmtime(expiry))}"
            )
        ids = [s.id for s in series]
        settled = 0
        for actor in self.actors:
            held = [sid for sid in ids if dc.position(chain, manifest, actor.signer.address, sid) != 0]
            if held:
                dc.settle_account(chain, manifest, sender, actor.signer.address, held)
                settled += 1
        self.settled_accounts = settled
        self.say(f"settled {settled} accounts (Exchange.settle, permissionless)")

    def audit(self, rpc: str, manifest_path: Path, api: str, report: Path) -> bool:
        cmd = [
            *dc.strikebook_command(),
            "audit",
            "--rpc",
            rpc,
            "--manifest",
            str(manifest_path),
            "--relayer",
            api,
            "--json",
            str(report),
            "--no-cache",
        ]
        self.say("$ strikebook audit --rpc … --manifest … --relayer … --json audit.json")
        with (self.run_dir / "audit.log").open("wb") as log:
            proc = subprocess.run(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=120,
                env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"},
            )
        self.audit_output = (self.run_dir / "audit.log").read_text(errors="replace")
        return proc.returncode == 0

    async def collect(
        self,
        chain: Chain,
        manifest: Manifest,
        api: str,
        deposits: dict[str, tuple[int, int]],
        prices: dict[int, int],
        audit_json: Path,
        audit_ok: bool,
    ) -> None:
        m = self.metrics
        async with AsyncClient(api) as client:
            health = await client.health()
            last = int(health["lastBatchSeq"])
            batches = [await client.batch(seq) for seq in range(1, last + 1)]
        gas = sum(
            await asyncio.gather(*(asyncio.to_thread(dc.gas_used, chain, b["txHash"]) for b in batches if b["txHash"]))
        )
        filled = sum(int(b["filled"]) for b in batches)
        skipped = sum(int(b["skipped"]) for b in batches)
        quote, underlying = manifest.tokens["quote"].address, manifest.tokens["underlying"].address
        final_price = prices[max(prices)]
        pnl = []
        for a in self.actors:
            q0, u0 = deposits[a.signer.address]
            dq = dc.vault_total(chain, manifest, a.signer.address, quote) - q0
            du = dc.vault_total(chain, manifest, a.signer.address, underlying) - u0
            value = dq / USD + du / OPTION * final_price / USD
            pnl.append(
                {
                    "account": a.signer.address,
                    "name": a.name,
                    "role": a.role,
                    "quote": dq,
                    "underlying": du,
                    "pnl": round(value, 2),
                }
            )
        fees = dc.accrued_fees(chain, manifest, quote)
        report = json.loads(audit_json.read_text()) if audit_json.exists() else {}
        failed = [c["name"] for c in report.get("checks", []) if not c.get("passed")]
        self.summary.update(
            {
                "ok": audit_ok,
                "auditPassed": bool(report.get("passed")) and audit_ok,
                "auditFailedChecks": failed,
                "auditSummary": report.get("summary", {}),
                "orders": m.maker_orders + m.taker_orders,
                "makerOrders": m.maker_orders,
                "takerOrders": m.taker_orders,
                "rejected": m.rejected,
                "rateLimited": m.rate_limited,
                "fills": filled,
                "skippedFills": skipped,
                "batches": len(batches),
                "gasPerFill": round(gas / filled) if filled else None,
                "ackLatencyMs": {
                    "p50": _pms(percentile(m.ack_s, 50)),
                    "p99": _pms(percentile(m.ack_s, 99)),
                    "n": len(m.ack_s),
                },
                "orderToSettlementMs": {
                    "p50": _pms(percentile(m.settle_s, 50)),
                    "p99": _pms(percentile(m.settle_s, 99)),
                    "n": len(m.settle_s),
                },
                "settlementPrices": {str(k): v for k, v in prices.items()},
                "settledAccounts": self.settled_accounts,
                "feesAccrued": fees,
                "pnl": pnl,
            }
        )

    def print_summary(self, seconds: float) -> None:
        s = self.summary
        self.summary["seconds"] = round(seconds, 1)
        if "orders" not in s:
            return
        table = Table(title="Summary", show_header=False, show_edge=False)
        table.add_column(justify="left")
        table.add_column(justify="right")
        ack, st = s["ackLatencyMs"], s["orderToSettlementMs"]
        rows = [
            ("orders (makers + takers)", f"{s['orders']:,} ({s['makerOrders']:,} + {s['takerOrders']:,})"),
            (
                "fills settled on-chain",
                f"{s['fills']:,}" + (f" (+{s['skippedFills']} skipped)" if s["skippedFills"] else ""),
            ),
            ("orders refused (mostly post-only quotes that would cross)", f"{s['rejected']:,}"),
            ("batches", f"{s['batches']:,}"),
            ("gas per fill", f"{s['gasPerFill']:,}" if s["gasPerFill"] else "-"),
            ("ack latency p50 / p99", f"{_fmt_ms(ack['p50'])} / {_fmt_ms(ack['p99'])}  (n={ack['n']})"),
            ("order → on-chain settlement p50 / p99", f"{_fmt_ms(st['p50'])} / {_fmt_ms(st['p99'])}  (n={st['n']})"),
            (
                "settlement prices (tUSD)",
                ", ".join(
                    f"{time.strftime('%m-%d', time.gmtime(int(k)))}: {v / USD:,.2f}"
                    for k, v in s["settlementPrices"].items()
                ),
            ),
            ("fees accrued to the venue (tUSD)", f"{s['feesAccrued'] / USD:,.2f}"),
            ("run time", f"{seconds:.1f} s"),
        ]
        for k, v in rows:
            table.add_row(k, v)
        self.console.print(table)
        pnl = Table(
            title="PnL per account after expiry (tUSD, tETH valued at the last settlement price)", show_edge=False
        )
        for col in ("account", "role", "Δ tUSD", "Δ tETH", "PnL"):
            pnl.add_column(col, justify="left" if col in ("account", "role") else "right")
        for row in s["pnl"]:
            colour = "green" if row["pnl"] >= 0 else "red"
            pnl.add_row(
                f"{row['name']} {row['account'][:10]}…",
                row["role"],
                f"{row['quote'] / USD:,.2f}",
                f"{row['underlying'] / OPTION:,.4f}",
                f"[{colour}]{row['pnl']:,.2f}[/{colour}]",
            )
        total = sum(r["pnl"] for r in s["pnl"])
        pnl.add_row("venue fees", "", "", "", f"{s['feesAccrued'] / USD:,.2f}")
        pnl.add_row("[dim]sum (zero up to rounding)[/dim]", "", "", "", f"{total + s['feesAccrued'] / USD:,.2f}")
        self.console.print(pnl)
        if self.audit_output:
            # its report path is in the run directory, which is gone after a passing run: the verdict is below
            shown = [ln for ln in self.audit_output.rstrip().splitlines() if not ln.startswith("JSON report:")]
            self.console.print("\n".join(shown), markup=False, highlight=False)
        verdict = "[bold green]PASSED[/bold green]" if s["auditPassed"] else "[bold red]FAILED[/bold red]"
        extra = f" failed checks: {', '.join(s['auditFailedChecks'])}" if s.get("auditFailedChecks") else ""
        a = s.get("auditSummary", {})
        self.console.print(
            f"audit: {verdict} ({a.get('batches', '?')} batches, {a.get('trades', '?')} trades "
            f"replayed from the chain){extra}"
        )


def _pms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def _fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


async def _main(demo: Demo) -> bool:
    refresher: asyncio.Task[None] | None = None
    live = Live(console=demo.console, auto_refresh=False, transient=False)
    if demo.console.is_terminal:
        demo.live = live
        live.start()

        async def refresh() -> None:
            while True:
                live.update(render(demo.metrics, demo.actors, demo.opts.duration), refresh=True)
                await asyncio.sleep(0.25)

        refresher = asyncio.create_task(refresh())
    try:
        return await demo.run()
    finally:
        if refresher is not None:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            live.update(render(demo.metrics, demo.actors, demo.opts.duration), refresh=True)
            live.stop()
            demo.live = None


def parse_args(argv: Sequence[str] | None = None) -> Options:
    ap = argparse.ArgumentParser(
        prog="demo.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--duration", type=float, default=45.0, help="seconds of trading (default 45)")
    ap.add_argument("--makers", type=int, default=3, help="market makers (default 3)")
    ap.add_argument("--takers", type=int, default=3, help="takers sending random IOC (one-shot) flow (default 3)")
    ap.add_argument("--taker-rate", type=float, default=3.0, help="orders per second per taker (default 3)")
    ap.add_argument("--seed", type=int, default=7, help="random seed for spot, flow and oracle choice (default 7)")
    ap.add_argument("--spot", type=float, default=2_000.0, help="initial spot in tUSD per tETH (default 2000)")
    ap.add_argument("--batch-ms", type=int, default=200, help="relayer batch window in ms (default 200)")
    ap.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="keep logs, manifest and audit report here (default: a temp dir removed on success)",
    )
    ap.add_argument(
        "--keep-running",
        action="store_true",
        help="after the summary, keep Anvil and the relayer up until Ctrl-C (to try the CLI)",
    )
    ap.add_argument("--summary-json", type=Path, default=None, help="also write the summary as JSON here")
    args = ap.parse_args(argv)
    if args.makers < 1 or args.takers < 1 or args.duration <= 0:
        ap.error("need at least one maker, one taker and a positive duration")
    return Options(
        args.duration,
        args.makers,
        args.takers,
        args.seed,
        args.taker_rate,
        args.spot,
        args.batch_ms,
        args.run_dir,
        args.keep_running,
        args.summary_json,
    )


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=120)
    started = time.monotonic()
    procs = dc.Processes()
    ok = False

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    with run_directory(opts) as (run_dir, keep):
        demo = Demo(opts, console, run_dir, procs)
        try:
            ok = asyncio.run(_main(demo))
            if opts.keep_running and ok:
                demo.print_summary(time.monotonic() - started)
                ep = demo.summary["endpoints"]
                console.print(
                    f"[bold]still running[/bold] until Ctrl-C: chain {ep['rpc']}, relayer {ep['api']}. Try:\n"
                    f"  strikebook series list --rpc {ep['rpc']} --manifest {ep['manifest']}\n"
                    f"  strikebook batches list --api {ep['api']}\n"
                    f"  strikebook audit --rpc {ep['rpc']} --manifest {ep['manifest']} --relayer {ep['api']}",
                    markup=True,
                    highlight=False,
                )
                with contextlib.suppress(KeyboardInterrupt):
                    while True:
                        time.sleep(1)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/yellow]")
            demo.summary["error"] = "interrupted"
        except Exception as exc:
            console.print(f"[bold red]demo failed:[/bold red] {type(exc).__name__}: {exc}")
            demo.summary["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            procs.stop_all()
        if not (opts.keep_running and ok):
            demo.print_summary(time.monotonic() - started)
        demo.summary["seconds"] = round(time.monotonic() - started, 1)
        if not ok:
            keep[0] = True
            console.print(f"logs kept in {run_dir}")
        if opts.summary_json is not None:
            opts.summary_json.parent.mkdir(parents=True, exist_ok=True)
            opts.summary_json.write_text(json.dumps(demo.summary, indent=2) + "\n")
    console.print(
        f"demo {'[bold green]passed[/bold green]' if ok else '[bold red]failed[/bold red]'} "
        f"in {time.monotonic() - started:.1f} s; nothing left running"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
