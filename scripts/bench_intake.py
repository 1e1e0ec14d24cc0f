#!/usr/bin/env python3
"""Intake benchmark: signed orders per second validated and accepted by the venue, in-process.

Setup: a real Anvil with the suite deployed and four funded makers, a `Venue` on a SQLite file
with its chain-state caches warmed (series, balances, nonce floors: what a running venue holds).
Workload: `--orders` distinct signed orders (non-crossing bids and asks of all makers), submitted
in requests of `--request` orders, so every order runs the whole pipeline (schema, domain,
signature in the process pool, signer, series, cancels/duplicates, price bounds, collateral
with reservations) and the engine, and is acknowledged only after its group commit.

Figures (all measured in this run, on this machine), per verification pool size (`--pool-sizes`,
default 2, 1 and 0 = in-process recovery):
1. durable: orders/s through `Venue.submit_orders`, each acknowledged after its group commit
   (SQLite WAL, synchronous=FULL) — the issue's figure, target 20,000/s;
2. validation + engine, no store: the same pipeline with a committer that writes nothing (what
   the store costs is the difference);
3. the signature stage alone through the pool (`SignatureVerifier.recover`);
4. the reference: single-process sequential `settlement.signing.verify_order` of the same
   orders (the signature check alone, the cost the issue names).
Ratios are against the reference. `--json PATH` writes `{"figures": [...]}`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from relayer.config import VenueConfig
from relayer.intake.verify import SignatureVerifier
from relayer.store import GroupCommitter, sqlite_url
from relayer.venue import OrderSubmission, Venue
from settlement.order import Order, SignedOrder, struct_preimage
from settlement.signing import sign_order, verify_order
from tests.settlement.venue import OPTION, USD, _key, setup_venue
from tests.support.chain import run_anvil

TARGET = 20_000


def _orders(chain: Any, n: int) -> list[SignedOrder]:
    out = []
    domain = chain.manifest.domain
    for i in range(n):
        trader = chain.traders[i % len(chain.traders)]
        is_buy = i % 2 == 0
        price = (1 * USD - (i % 100)) if is_buy else (100 * USD + (i % 100))
        order = Order(trader.address, chain.series, is_buy, price, OPTION // 1000, 0, i + 1, chain.series_expiry - 1)
        out.append(sign_order(order, domain, _key(trader)))
    return out


class _NoStore(GroupCommitter):
    """A committer that acknowledges every write without touching the database (the no-store figure)."""

    def _commit(self, writes: list[Any]) -> list[Any]:
        return [None] * len(writes)


async def _venue_rate(
    config: VenueConfig, orders: list[SignedOrder], request: int, *, store: bool = True, profile: Path | None = None
) -> float:
    venue = await Venue.open(config)
    if not store:
        venue._committer = _NoStore(venue._db)  # benchmark knob: everything but the store
    await venue.start()
    try:
        await venue.submit_orders([OrderSubmission(orders[0])])  # warm caches: series, balances, nonces
        rest = orders[1:]
        profiler: cProfile.Profile | None = None
        if profile is not None:
            profiler = cProfile.Profile()
            profiler.enable()
        start = time.perf_counter()
        loop_cpu, main_cpu = time.thread_time(), time.process_time()
        results = await asyncio.gather(
            *(
                venue.submit_orders([OrderSubmission(o) for o in rest[i : i + request]])
                for i in range(0, len(rest), request)
            )
        )
        elapsed = time.perf_counter() - start
        loop_cpu, main_cpu = time.thread_time() - loop_cpu, time.process_time() - main_cpu
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        bad = [r for batch in results for r in batch if r.error_code is not None]
        if bad:
            raise SystemExit(f"{len(bad)} orders were rejected, e.g. {bad[0]}")
        # CPU per order (less sensitive to other load on the machine than orders/s): the event
        # loop thread, and the whole relayer process (loop, commit thread, pool I/O threads)
        n = len(rest)
        print(
            f"  {'durable' if store else 'no store'}, pool of {config.verify_workers}: relayer process "
            f"{main_cpu / n * 1e6:.1f} µs CPU/order (event loop {loop_cpu / n * 1e6:.1f})",
            file=sys.stderr,
        )
        return n / elapsed
    finally:
        await venue.stop()


async def _pool_rate(orders: list[SignedOrder], separator: bytes, workers: int, chunk: int) -> float:
    verifier = SignatureVerifier(workers, chunk=chunk, inline_max=0)
    verifier.start()
    try:
        items = [(struct_preimage(o.order), o.signature) for o in orders]
        start = time.perf_counter()
        await verifier.recover(separator, items)
        return len(items) / (time.perf_counter() - start)
    finally:
        verifier.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--request", type=int, default=1_000, help="orders per submit_orders call")
    parser.add_argument("--workers", type=int, default=2, help="the pool size profiled with --profile")
    parser.add_argument(
        "--pool-sizes",
        type=int,
        nargs="+",
        default=[2, 1, 0],
        help="pool sizes to measure (0: in-process)",
    )
    parser.add_argument("--chunk", type=int, default=2_048, help="orders per pool task")
    parser.add_argument("--profile", type=Path, help="cProfile the event loop of the durable run with --workers")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_dir, run_anvil(Path(tmp_dir)) as node:
        tmp = Path(tmp_dir)
        chain = setup_venue(node, n_traders=4)
        print(f"signing {args.orders} orders ...", file=sys.stderr)
        orders = _orders(chain, args.orders)
        domain = chain.manifest.domain

        start = time.perf_counter()
        for o in orders:
            verify_order(o, domain)
        reference = len(orders) / (time.perf_counter() - start)

        def config(name: str, workers: int) -> VenueConfig:
            return VenueConfig(
                manifest=chain.manifest,
                rpc_url=node.rpc_url,
                db_url=sqlite_url(tmp / f"{name}.sqlite"),
                operator=chain.operator,
                data_dir=tmp / name,
                verify_workers=workers,
                verify_chunk=args.chunk,
                max_orders_per_request=max(1_000, args.request),
            )

        def venue_rate(name: str, workers: int, store: bool, profile: Path | None = None) -> float:
            return asyncio.run(_venue_rate(config(name, workers), orders, args.request, store=store, profile=profile))

        measured: list[tuple[str, float, int | None]] = []
        for workers in args.pool_sizes:
            label = f"pool of {workers}" if workers else "in-process recovery"
            profile = args.profile if workers == args.workers else None
            rate = venue_rate(f"durable{workers}", workers, True, profile)
            measured.append((f"intake accepted (durable), {label}", rate, TARGET))
        for workers in args.pool_sizes:
            label = f"pool of {workers}" if workers else "in-process recovery"
            rate = venue_rate(f"nostore{workers}", workers, False)
            measured.append((f"validation + engine, no store, {label}", rate, None))
        for workers in [w for w in args.pool_sizes if w]:
            rate = asyncio.run(_pool_rate(orders, domain.separator, workers, args.chunk))
            measured.append((f"signature stage alone, pool of {workers}", rate, None))

    ref_name = "sequential verify_order, 1 process"
    figures: list[dict[str, Any]] = [
        {
            "name": name,
            "value": round(value),
            "unit": "orders/s",
            "reference": ref_name,
            "reference_value": round(reference),
            "ratio": round(value / reference, 2),
            "target": target,
        }
        for name, value, target in [*measured, (ref_name, reference, None)]
    ]
    width = max(len(str(f["name"])) for f in figures)
    for f in figures:
        print(f"{f['name']:<{width}}  {f['value']:>9,} {f['unit']}  x{f['ratio']:.2f} vs reference")
    if args.json is not None:
        args.json.write_text(json.dumps({"figures": figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
