#!/usr/bin/env python3
"""Audit benchmark: `strikebook audit` over 10,000 fills on a fresh Anvil (target <= 60 s).

Generation (not measured): deploy, fund 9 traders, sign 20,000 orders and send 100 direct
`settleBatch` transactions of 100 fills each. Measured: a full audit (replay from the deployment
block, every check, no cache), then an incremental audit from the cache after 100 more fills.

Prints the figures; `--json PATH` writes `{"figures": [...]}` for `scripts/bench.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from settlement.audit import AuditCache, Auditor, AuditReport, HTTPBatchTransport  # noqa: E402
from settlement.batch import Batch  # noqa: E402
from settlement.transactions import build_tx, market_fees, wait_receipt  # noqa: E402

TARGET_SECONDS = 60.0


def _send_batches(venue: Any, batches: list[Batch], gas: int) -> None:
    """Sign and send every batch at consecutive nonces, then wait for the receipts (automine)."""
    chain, op = venue.chain, venue.operator
    nonce = chain.nonce(op.address, "pending")
    fees = market_fees(chain, base_fee_multiplier=4)
    hashes = []
    for i, batch in enumerate(batches):
        tx = build_tx(chain.chain_id(), nonce + i, venue.manifest.exchange, batch.calldata(), gas, fees)
        hashes.append(chain.send_raw_transaction(op.sign_transaction(tx)))
    for h in hashes:
        receipt = wait_receipt(chain, h, timeout=120)
        if receipt.status != 1:
            raise RuntimeError(f"settleBatch 0x{h.hex()} reverted")


def _audit(url: str, venue: Any, cache: AuditCache | None) -> tuple[float, AuditReport]:
    transport = HTTPBatchTransport(url)
    start = time.perf_counter()
    report = Auditor(transport, venue.manifest, cache=cache).run()
    elapsed = time.perf_counter() - start
    transport.close()
    if not report.passed:
        raise RuntimeError(f"the audit of an honest history failed: {report.failed}")
    return elapsed, report


def run(fills: int, batch_size: int) -> list[dict[str, Any]]:
    from tests.settlement.venue import USD, setup_venue
    from tests.support.chain import run_anvil

    n_batches = fills // batch_size
    with tempfile.TemporaryDirectory() as tmp, run_anvil(Path(tmp), "--gas-limit", "300000000") as node:
        generated = time.perf_counter()
        venue = setup_venue(node, n_traders=9, deposit=10**9 * USD)
        first = venue.batch(1, batch_size)
        gas = venue.chain.estimate_gas(
            {"from": venue.operator.address, "to": venue.manifest.exchange, "data": "0x" + first.calldata().hex()}
        )
        gas = gas * 3 // 2 + 100_000
        batches = [first] + [venue.batch(seq, batch_size) for seq in range(2, n_batches + 1)]
        for start in range(0, len(batches), 20):
            _send_batches(venue, batches[start : start + 20], gas)
        assert venue.last_seq() == n_batches
        print(f"generated {n_batches * batch_size:,} fills in {time.perf_counter() - generated:.1f} s", flush=True)

        full_seconds, full = _audit(node.rpc_url, venue, None)
        assert full.summary["trades"] == n_batches * batch_size, full.summary
        print(f"full audit: {full_seconds:.2f} s  {full.stats}", flush=True)

        cache = AuditCache(Path(tmp) / "cache.sqlite")
        _audit(node.rpc_url, venue, cache)  # fills the cache
        _send_batches(venue, [venue.batch(n_batches + 1, batch_size)], gas)
        incr_seconds, incr = _audit(node.rpc_url, venue, cache)
        assert incr.stats["cache"] == "hit" and incr.summary["trades"] == (n_batches + 1) * batch_size
        print(f"incremental audit: {incr_seconds:.2f} s  {incr.stats}", flush=True)
        cache.close()

    return [
        {
            "name": f"audit of {full.summary['trades']:,} fills (full replay + all checks)",
            "value": round(full_seconds, 2),
            "unit": "s",
            "reference": "target",
            "reference_value": TARGET_SECONDS,
            "ratio": full_seconds / TARGET_SECONDS,
            "target": f"<= {TARGET_SECONDS:.0f} s",
            "blocks": full.stats["blocksScanned"],
            "logs": full.stats["logsRead"],
            "calls": full.stats["callsMade"],
        },
        {
            "name": f"incremental audit after {batch_size} more fills (cache hit)",
            "value": round(incr_seconds, 2),
            "unit": "s",
            "reference": "full audit",
            "reference_value": round(full_seconds, 2),
            "ratio": incr_seconds / full_seconds,
            "blocks": incr.stats["blocksScanned"],
            "logs": incr.stats["logsRead"],
        },
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--fills", type=int, default=10_000, help="fills to generate")
    parser.add_argument("--batch-size", type=int, default=100, help="fills per settleBatch")
    args = parser.parse_args(argv)

    figures = run(args.fills, args.batch_size)
    for fig in figures:
        print(
            f"{fig['name']}: {fig['value']:,} {fig['unit']}  "
            f"(reference {fig['reference']}: {fig['reference_value']:,}; ratio {fig['ratio']:.2f}x)"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"figures": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
