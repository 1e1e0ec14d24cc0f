#!/usr/bin/env python3
"""Intake benchmark: signed orders per second validated and accepted by the venue, in-process.

Setup: a real Anvil with the suite deployed and four funded makers, a `Venue` on a SQLite file
with its chain-state caches warmed (series, balances, nonce floors: what a running venue holds).
Workload: `--orders` distinct signed orders (non-crossing bids and asks of all makers), submitted
in requests of `--request` orders, so every order runs the whole pipeline (schema, domain,
signature in the process pool, signer, series, cancels/duplicates, price bounds, collateral
with reservations) and the engine, and is acknowledged only after its group commit.

Figures (all measured in this run, on this machine):
1. orders/s through `Venue.submit_orders` with the process pool (`--workers`, default 2);
2. the same without the pool (in-process recovery);
3. the reference: single-process sequential `settlement.signing.verify_order` of the same
   orders (the signature check alone, the cost the issue names);
4. the signature stage alone through the pool (`SignatureVerifier.recover`).
Ratios are against the reference. `--json PATH` writes `{"figures": [...]}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from relayer.config import VenueConfig
from relayer.intake.verify import SignatureVerifier, struct_preimage
from relayer.store import sqlite_url
from relayer.venue import OrderSubmission, Venue
from settlement.order import Order, SignedOrder
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


async def _venue_rate(config: VenueConfig, orders: list[SignedOrder], request: int) -> float:
    venue = await Venue.open(config)
    await venue.start()
    try:
        await venue.submit_orders([OrderSubmission(orders[0])])  # warm caches: series, balances, nonces
        rest = orders[1:]
        start = time.perf_counter()
        results = await asyncio.gather(
            *(
                venue.submit_orders([OrderSubmission(o) for o in rest[i : i + request]])
                for i in range(0, len(rest), request)
            )
        )
        elapsed = time.perf_counter() - start
        bad = [r for batch in results for r in batch if r.error_code is not None]
        if bad:
            raise SystemExit(f"{len(bad)} orders were rejected, e.g. {bad[0]}")
        return len(rest) / elapsed
    finally:
        await venue.stop()


async def _pool_rate(orders: list[SignedOrder], separator: bytes, workers: int) -> float:
    verifier = SignatureVerifier(workers, chunk=512, inline_max=0)
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
    parser.add_argument("--workers", type=int, default=2)
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
                verify_chunk=512,
                max_orders_per_request=max(1_000, args.request),
            )

        pooled = asyncio.run(_venue_rate(config("pool", args.workers), orders, args.request))
        inline = asyncio.run(_venue_rate(config("inline", 0), orders, args.request))
        stage = asyncio.run(_pool_rate(orders, domain.separator, args.workers))

    ref_name = "sequential verify_order, 1 process"
    figures = [
        {"name": f"intake accepted, pool of {args.workers}", "value": round(pooled), "unit": "orders/s"},
        {"name": "intake accepted, in-process recovery", "value": round(inline), "unit": "orders/s"},
        {"name": f"signature stage alone, pool of {args.workers}", "value": round(stage), "unit": "orders/s"},
        {"name": ref_name, "value": round(reference), "unit": "orders/s"},
    ]
    for f in figures:
        f.update(
            reference=ref_name,
            reference_value=round(reference),
            ratio=round(f["value"] / reference, 2),
            target=TARGET if f["name"].startswith("intake accepted") else None,
        )
    width = max(len(f["name"]) for f in figures)
    for f in figures:
        print(f"{f['name']:<{width}}  {f['value']:>9,} {f['unit']}  x{f['ratio']:.2f} vs reference")
    if args.json is not None:
        args.json.write_text(json.dumps({"figures": figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
