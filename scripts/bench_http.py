#!/usr/bin/env python3
"""HTTP benchmark: signed orders per second accepted through `POST /v1/orders`, and ack latency.

Setup: a real Anvil with the suite deployed and four funded makers; the relayer (a `Venue` on a
SQLite file, 2 signature-verification processes, and the aiohttp API) runs in its own process,
as `strikebook relayer start` does; this process is the load generator. Every order is signed
and every request body encoded before any clock starts.

Figures, all measured in this run:
1. throughput: distinct signed orders/s accepted over HTTP in batches of `--batch` with
   `--concurrency` requests in flight (target 5,000/s); each answer is checked (201, all open);
2. ack latency p50 and p99 at a steady `--rate` orders/s (default 1,000), sent on an
   open-loop schedule (latency counts from the scheduled send time, so queueing is not
   hidden), twice: one order per request, and `--latency-batch` (10) orders per request;
3. references: the same orders through `Venue.submit_orders` in-process (no HTTP) with the same
   batch size and concurrency, and an aiohttp echo endpoint answering the same request bodies
   (the transport ceiling). Ratios: HTTP rate / in-process rate, HTTP rate / echo rate.
`--json PATH` writes `{"figures": [{"name", "value", "unit", "reference", "reference_value", "ratio", "target"}]}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web

from keys.signer import LocalSigner
from relayer.api.ratelimit import Limit
from relayer.api.server import ApiConfig, bound_port, create_app, serve
from relayer.config import VenueConfig
from relayer.store import sqlite_url
from relayer.venue import OrderSubmission, Venue
from settlement.manifest import Manifest
from settlement.order import Order, SignedOrder
from settlement.signing import sign_order
from tests.settlement.venue import OPTION, USD, _key, setup_venue
from tests.support.chain import run_anvil

THROUGHPUT_TARGET = 5_000
UNLIMITED = Limit(rate=1e9, burst=1e9)


def _orders(chain: Any, n: int, first_nonce: int) -> list[SignedOrder]:
    """Distinct non-crossing orders of all makers (bids low, asks high), small enough to fit collateral."""
    out = []
    domain = chain.manifest.domain
    for i in range(n):
        trader = chain.traders[i % len(chain.traders)]
        is_buy = i % 2 == 0
        price = (1 * USD - (i % 100)) if is_buy else (100 * USD + (i % 100))
        nonce = first_nonce + i
        order = Order(trader.address, chain.series, is_buy, price, OPTION // 1000, 0, nonce, chain.series_expiry - 1)
        out.append(sign_order(order, domain, _key(trader)))
    return out


def _venue_config(manifest: Manifest, rpc: str, operator_key: str, tmp: Path, name: str) -> VenueConfig:
    return VenueConfig(
        manifest=manifest,
        rpc_url=rpc,
        db_url=sqlite_url(tmp / f"{name}.sqlite"),
        operator=LocalSigner(operator_key),
        data_dir=tmp / name,
        verify_workers=2,
    )


# ---------------------------------------------------------------------------------------- server process


def _serve(
    manifest_json: dict[str, Any], rpc: str, operator_key: str, tmp: str, ports: Any, stop: Any, profile: str | None
) -> None:
    async def run() -> None:
        config = _venue_config(Manifest.from_json_dict(manifest_json), rpc, operator_key, Path(tmp), "http")
        venue = await Venue.open(config)
        await venue.start()
        api = ApiConfig(
            ip_limit=UNLIMITED, ip_cancel_limit=UNLIMITED, maker_limit=UNLIMITED, maker_cancel_limit=UNLIMITED
        )
        runner = await serve(create_app(venue, api), "127.0.0.1", 0)

        async def echo(request: web.Request) -> web.Response:
            body = await request.read()
            return web.json_response({"results": [], "bytes": len(body)}, status=201)

        echo_app = web.Application(client_max_size=1024**2)
        echo_app.router.add_post("/echo", echo)
        echo_runner = await serve(echo_app, "127.0.0.1", 0)
        ports.put((bound_port(runner), bound_port(echo_runner)))
        while not stop.is_set():
            await asyncio.sleep(0.1)
        await runner.cleanup()
        await echo_runner.cleanup()
        await venue.stop()

    if profile is None:
        asyncio.run(run())
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(run())
    finally:
        profiler.disable()
        profiler.dump_stats(profile)


# ---------------------------------------------------------------------------------------- load


async def _throughput(url: str, bodies: list[bytes], concurrency: int, check: bool) -> float:
    """Orders/s: every body posted once, `concurrency` in flight; returns orders accepted per second."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    accepted = 0
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal accepted
            while not queue.empty():
                body = queue.get_nowait()
                async with session.post(url, data=body, headers=headers) as resp:
                    payload = await resp.read()
                    if resp.status != 201:
                        raise SystemExit(f"HTTP {resp.status}: {payload[:300]!r}")
                    if check:
                        results = json.loads(payload)["results"]
                        bad = [r for r in results if r["status"] != "open"]
                        if bad:
                            raise SystemExit(f"{len(bad)} orders not accepted, e.g. {bad[0]}")
                        accepted += len(results)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    orders = accepted if check else sum(b.count(b'"signature"') for b in bodies)
    return orders / elapsed


async def _latency(url: str, bodies: list[bytes], rate: float) -> list[float]:
    """Ack latencies (s) of requests sent on an open-loop schedule of `rate` requests per second."""
    latencies: list[float] = []
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(body: bytes, due: float) -> None:
            async with session.post(url, data=body, headers=headers) as resp:
                payload = await resp.read()
                if resp.status != 201 or any(r["status"] != "open" for r in json.loads(payload)["results"]):
                    raise SystemExit(f"HTTP {resp.status}: {payload[:300]!r}")
            latencies.append(time.perf_counter() - due)

        tasks = []
        loop = asyncio.get_running_loop()
        start = time.perf_counter() + 0.05
        for i, body in enumerate(bodies):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(loop.create_task(one(body, due)))
        await asyncio.gather(*tasks)
    return latencies


async def _in_process(config: VenueConfig, orders: list[SignedOrder], batch: int, concurrency: int) -> float:
    venue = await Venue.open(config)
    await venue.start()
    try:
        await venue.submit_orders([OrderSubmission(orders[0])])  # warm the caches like the HTTP run's warm-up
        rest = orders[1:]
        chunks = [rest[i : i + batch] for i in range(0, len(rest), batch)]
        queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
        for c in chunks:
            queue.put_nowait([o.to_json_dict() for o in c])

        async def worker() -> None:
            while not queue.empty():
                chunk = queue.get_nowait()
                # the canonical JSON objects, parsed by intake, as the API hands them over after its own parse
                results = await venue.submit_orders([OrderSubmission(SignedOrder.from_json_dict(o)) for o in chunk])
                if any(r.error_code is not None for r in results):
                    raise SystemExit(f"rejected: {next(r for r in results if r.error_code)}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(rest) / (time.perf_counter() - start)
    finally:
        await venue.stop()


def _body(orders: list[SignedOrder]) -> bytes:
    if len(orders) == 1:
        return json.dumps({"order": orders[0].to_json_dict()}, separators=(",", ":")).encode()
    return json.dumps({"orders": [{"order": o.to_json_dict()} for o in orders]}, separators=(",", ":")).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20_000, help="orders in the throughput run")
    parser.add_argument("--batch", type=int, default=100, help="orders per request (the API allows 100)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--rate", type=float, default=1_000.0, help="orders/s of the latency run")
    parser.add_argument("--latency-seconds", type=float, default=5.0, help="length of each latency run")
    parser.add_argument("--latency-batch", type=int, default=10, help="orders per request, second latency run")
    parser.add_argument("--profile", type=Path, help="cProfile the server process into this file")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_dir, run_anvil(Path(tmp_dir)) as node:
        tmp = Path(tmp_dir)
        chain = setup_venue(node, n_traders=4)
        n_latency = int(args.rate * args.latency_seconds)
        print(f"signing {args.orders + 2 * n_latency + 1} orders ...", file=sys.stderr)
        warm = _orders(chain, 1, 1)
        orders = _orders(chain, args.orders, 10)
        latency_orders = _orders(chain, n_latency, 10 + args.orders)
        grouped_orders = _orders(chain, n_latency, 10 + args.orders + n_latency)
        grouped_bodies = [
            _body(grouped_orders[i : i + args.latency_batch]) for i in range(0, n_latency, args.latency_batch)
        ]
        bodies = [_body(orders[i : i + args.batch]) for i in range(0, len(orders), args.batch)]
        latency_bodies = [_body([o]) for o in latency_orders]

        ctx = mp.get_context("spawn")
        ports: Any = ctx.Queue()
        stop = ctx.Event()
        server = ctx.Process(
            target=_serve,
            args=(
                chain.manifest.to_json_dict(),
                node.rpc_url,
                node.keys[0],
                tmp_dir,
                ports,
                stop,
                None if args.profile is None else str(args.profile),
            ),
        )
        server.start()
        try:
            api_port, echo_port = ports.get(timeout=120)
            base = f"http://127.0.0.1:{api_port}"
            asyncio.run(_throughput(base + "/v1/orders", [_body(warm)], 1, True))  # warm caches
            print("throughput run ...", file=sys.stderr)
            http_rate = asyncio.run(_throughput(base + "/v1/orders", bodies, args.concurrency, True))
            print("latency run ...", file=sys.stderr)
            latencies = asyncio.run(_latency(base + "/v1/orders", latency_bodies, args.rate))
            grouped = asyncio.run(_latency(base + "/v1/orders", grouped_bodies, args.rate / args.latency_batch))
            print("echo reference ...", file=sys.stderr)
            echo_rate = asyncio.run(_throughput(f"http://127.0.0.1:{echo_port}/echo", bodies, args.concurrency, False))
        finally:
            stop.set()
            server.join(60)
            if server.is_alive():
                server.kill()
        print("in-process reference ...", file=sys.stderr)
        config = _venue_config(chain.manifest, node.rpc_url, node.keys[0], tmp, "inproc")
        inproc_rate = asyncio.run(_in_process(config, [*warm, *orders], args.batch, args.concurrency))

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000

    p50, p99 = statistics.median(latencies) * 1000, pct(latencies, 0.99)
    g50, g99 = statistics.median(grouped) * 1000, pct(grouped, 0.99)
    inproc_name = f"Venue.submit_orders in-process, {args.batch}/call, {args.concurrency} in flight"
    echo_name = "aiohttp echo endpoint, same bodies"
    figures: list[dict[str, Any]] = [
        {
            "name": f"HTTP orders accepted, batches of {args.batch}, {args.concurrency} in flight",
            "value": round(http_rate),
            "unit": "orders/s",
            "reference": inproc_name,
            "reference_value": round(inproc_rate),
            "ratio": round(http_rate / inproc_rate, 2),
            "target": THROUGHPUT_TARGET,
        },
        {
            "name": "HTTP orders accepted vs transport ceiling",
            "value": round(http_rate),
            "unit": "orders/s",
            "reference": echo_name,
            "reference_value": round(echo_rate),
            "ratio": round(http_rate / echo_rate, 2),
            "target": THROUGHPUT_TARGET,
        },
        {
            "name": f"ack latency p50 at {args.rate:,.0f} orders/s (1 order/request)",
            "value": round(p50, 2),
            "unit": "ms",
            "reference": f"p50 at {args.rate:,.0f} orders/s, {args.latency_batch} orders/request",
            "reference_value": round(g50, 2),
            "ratio": round(p50 / g50, 2) if g50 else None,
            "target": None,
        },
        {
            "name": f"ack latency p99 at {args.rate:,.0f} orders/s (1 order/request)",
            "value": round(p99, 2),
            "unit": "ms",
            "reference": f"p99 at {args.rate:,.0f} orders/s, {args.latency_batch} orders/request",
            "reference_value": round(g99, 2),
            "ratio": round(p99 / g99, 2) if g99 else None,
            "target": None,
        },
        {
            "name": f"ack latency p50 at {args.rate:,.0f} orders/s ({args.latency_batch} orders/request)",
            "value": round(g50, 2),
            "unit": "ms",
            "reference": None,
            "reference_value": None,
            "ratio": None,
            "target": None,
        },
        {
            "name": f"ack latency p99 at {args.rate:,.0f} orders/s ({args.latency_batch} orders/request)",
            "value": round(g99, 2),
            "unit": "ms",
            "reference": None,
            "reference_value": None,
            "ratio": None,
            "target": None,
        },
        {
            "name": inproc_name,
            "value": round(inproc_rate),
            "unit": "orders/s",
            "reference": None,
            "reference_value": None,
            "ratio": None,
            "target": None,
        },
        {
            "name": echo_name,
            "value": round(echo_rate),
            "unit": "orders/s",
            "reference": None,
            "reference_value": None,
            "ratio": None,
            "target": None,
        },
    ]
    width = max(len(str(f["name"])) for f in figures)
    for f in figures:
        ratio = f"  x{f['ratio']:.2f} vs {f['reference']}" if f["ratio"] is not None else ""
        print(f"{f['name']:<{width}}  {f['value']:>10,} {f['unit']}{ratio}")
    if args.json is not None:
        args.json.write_text(json.dumps({"figures": figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
