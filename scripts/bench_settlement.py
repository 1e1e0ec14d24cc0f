#!/usr/bin/env python3
"""Settlement benchmarks: order digest + signature recovery, and fills settled per second on Anvil.

1. Orders verified per second on one core (EIP-712 digest + ECDSA recovery + maker comparison):
   the fast path of `settlement.order`/`settlement.signing` (precomputed hashes, pycryptodome
   keccak, coincurve) against eth-account's generic path (`encode_typed_data` +
   `Account.recover_message`), measured in the same run on the same signed orders.
2. Fills settled per second on a fresh Anvil for batches of 1, 10 and 100 fills, and gas per fill
   (`--no-chain` skips it). The reference is plain ERC-20 transfers per second on the same Anvil
   in the same run, each signed, sent and waited for like a batch (gas estimated first).
3. Gas per fill of one batch of 100 first-time takers (fresh accounts, one maker order) whose
   orders are one-shot (nonce bit 255), against the same batch with ordinary taker orders: the
   protocol's target is <= 45,000 gas per fill (receipt gas, calldata included).

Prints a table; `--json PATH` writes `{"figures": [...]}` for `scripts/bench.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from eth_account.messages import encode_typed_data  # noqa: E402

from settlement.order import Domain, Order, SignedOrder, make_domain  # noqa: E402
from settlement.signing import SignatureCheck, key_address, sign_order, verify_order  # noqa: E402

ORDERS_TARGET = 15_000
FIRST_TIME_GAS_TARGET = 45_000


def _pin_to_one_core() -> set[int] | None:
    """Run on one CPU so the figure is per core; returns the previous affinity to restore."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    before = set(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {max(before)})
    return before


def _random_orders(n: int, domain: Domain, rng: random.Random) -> list[SignedOrder]:
    keys = [rng.randbytes(32) for _ in range(32)]
    makers = [key_address(k) for k in keys]
    out = []
    for i in range(n):
        k = i % len(keys)
        order = Order(
            maker=makers[k],
            series=rng.randbytes(32),
            is_buy=rng.random() < 0.5,
            price=rng.randrange(1, 10**12),
            amount=rng.randrange(1, 10**21),
            max_fee=rng.randrange(0, 10**8),
            nonce=rng.getrandbits(64),
            expiry=1_700_000_000 + rng.randrange(10**8),
        )
        out.append(sign_order(order, domain, keys[k]))
    return out


def _best_rate(fn: Callable[[], int], repeats: int) -> float:
    """Items per second of the fastest of `repeats` runs of `fn` (which returns the item count)."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        count = fn()
        best = max(best, count / (time.perf_counter() - start))
    return best


def bench_orders(n: int, repeats: int) -> list[dict[str, Any]]:
    domain = make_domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
    signed = _random_orders(n, domain, random.Random(1))
    # The generic path gets its typed-data dicts prebuilt (not timed): a conservative reference.
    typed = [(s.order.to_typed_data(domain), s.signature, s.order.maker) for s in signed]

    def fast() -> int:
        ok = 0
        for s in signed:
            ok += verify_order(s, domain) is SignatureCheck.VALID
        assert ok == len(signed)
        return ok

    def generic() -> int:
        ok = 0
        for message, signature, maker in typed:
            ok += Account.recover_message(encode_typed_data(full_message=message), signature=signature) == maker
        assert ok == len(typed)
        return ok

    fast_rate = _best_rate(fast, repeats)
    generic_rate = _best_rate(generic, repeats)
    return [
        {
            "name": "order digest + recover (fast path)",
            "value": round(fast_rate),
            "unit": "orders/s/core",
            "reference": "eth-account encode_typed_data + recover_message",
            "reference_value": round(generic_rate),
            "ratio": fast_rate / generic_rate,
            "target": f">= {ORDERS_TARGET:,}/s",
        }
    ]


def bench_chain(sizes: tuple[int, ...] = (1, 10, 100), batches_per_size: int = 3) -> list[dict[str, Any]]:
    """Fills settled per second on a fresh Anvil (automine) through the real submitter path:
    simulate (eth_simulateV1), estimate, sign, send, receipt. Orders are signed before timing."""
    import tempfile

    from settlement.journal import SQLiteSubmitJournal
    from settlement.submitter import Submitter, SubmitterConfig
    from settlement.transactions import send_and_wait
    from tests.settlement.venue import TOKEN, USD, setup_venue
    from tests.support.chain import run_anvil

    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, run_anvil(Path(tmp)) as node:
        venue = setup_venue(node, n_traders=9, deposit=10**9 * USD)
        submitter = Submitter(
            venue.chain,
            venue.operator,
            venue.manifest.exchange,
            SQLiteSubmitJournal(Path(tmp) / "journal.db"),
            SubmitterConfig(poll_interval=0.002),
        )
        # reference: ERC-20 transfers per second, one transaction each (sign, send, receipt)
        sender, receiver = venue.traders[0], venue.traders[1]
        token = venue.manifest.tokens["quote"].address
        venue.send(sender, token, TOKEN.encode_call("mint", sender.address, 10**6))
        n_transfers = 20
        nonce = venue.chain.nonce(sender.address, "pending")
        transfer = TOKEN.encode_call("transfer", receiver.address, 1)
        start = time.perf_counter()
        for i in range(n_transfers):
            send_and_wait(venue.chain, sender, token, transfer, nonce=nonce + i)
        transfers_per_s = n_transfers / (time.perf_counter() - start)
        seq = 1
        gas_by_size: dict[int, float] = {}
        for size in sizes:
            batches = [venue.batch(seq + i, size) for i in range(batches_per_size)]
            seq += batches_per_size
            start = time.perf_counter()
            results = [submitter.submit(b) for b in batches]
            elapsed = time.perf_counter() - start
            assert all(len(r.filled) == size and not r.skipped for r in results)
            gas = sum(r.gas_used for r in results) / (size * batches_per_size)
            gas_by_size[size] = gas
            rate = size * batches_per_size / elapsed
            figures.append(
                {
                    "name": f"fills settled on Anvil, batch of {size}",
                    "value": round(rate, 1),
                    "unit": "fills/s",
                    "gas_per_fill": round(gas),
                    "reference": "ERC-20 transfers/s, same Anvil",
                    "reference_value": round(transfers_per_s, 1),
                    "ratio": rate / transfers_per_s,
                }
            )
        ordinary, _ = _first_time_takers_gas(venue, submitter, seq, 100, one_shot=False)
        one_shot, keys = _first_time_takers_gas(venue, submitter, seq + 1, 100, one_shot=True)
        returning, _ = _first_time_takers_gas(venue, submitter, seq + 2, 100, one_shot=True, keys=keys)
        figures.append(
            {
                "name": "gas per fill, 100 first-time one-shot takers",
                "value": round(one_shot),
                "unit": "gas",
                "reference": "same batch, ordinary taker orders",
                "reference_value": round(ordinary),
                "ratio": one_shot / ordinary,
                "target": f"<= {FIRST_TIME_GAS_TARGET:,}",
            }
        )
        figures.append(
            {
                "name": "gas per fill, the same 100 takers again (one-shot, each holds a position)",
                "value": round(returning),
                "unit": "gas",
                "reference": "their first-time batch",
                "reference_value": round(one_shot),
                "ratio": returning / one_shot,
            }
        )
    # gas per fill as figures of their own (make bench's table shows name/value/reference/ratio)
    base = gas_by_size[sizes[0]]
    for size, gas in gas_by_size.items():
        figures.append(
            {
                "name": f"gas per fill, batch of {size}",
                "value": round(gas),
                "unit": "gas",
                "reference": f"batch of {sizes[0]}",
                "reference_value": round(base),
                "ratio": gas / base,
            }
        )
    return figures


def _first_time_takers_gas(
    venue: Any, submitter: Any, seq: int, n: int, *, one_shot: bool, keys: list[bytes] | None = None
) -> tuple[float, list[bytes]]:
    """Receipt gas per fill of batch `seq`: trader 0's one (new) sell order against `n` accounts'
    buy orders (one-shot or ordinary), and the accounts' keys. Without `keys` the accounts are
    fresh, funded and deposited just before; with `keys` the same accounts trade again (a separate
    transaction, so their slots are cold but no longer zero)."""
    from keys.signer import LocalSigner
    from settlement.batch import Batch, Fill
    from settlement.order import one_shot_nonce
    from tests.settlement.venue import EXCHANGE, OPTION, PRICE, TOKEN, USD, _key

    rng = random.Random(seq)
    quote = venue.manifest.tokens["quote"].address
    domain = venue.manifest.domain
    seller = venue.traders[0]
    maker = sign_order(venue.order(seller, is_buy=False, amount=n * OPTION), domain, _key(seller))
    fills = []
    used: list[bytes] = []
    for i in range(n):
        key = rng.randbytes(32) if keys is None else keys[i]
        taker = LocalSigner("0x" + key.hex())
        if keys is None:
            venue.node.rpc("anvil_setBalance", taker.address, hex(10**20))
            venue.send(venue.operator, quote, TOKEN.encode_call("mint", taker.address, 1_000 * USD))
            venue.send(taker, quote, TOKEN.encode_call("approve", venue.manifest.exchange, 1_000 * USD))
            venue.send(taker, venue.manifest.exchange, EXCHANGE.encode_call("deposit", quote, 1_000 * USD))
        order = venue.order(taker, is_buy=True, amount=OPTION, price=PRICE)
        if one_shot:
            order = replace(order, nonce=one_shot_nonce(i + (0 if keys is None else n)))
        fills.append(Fill(maker, sign_order(order, domain, key), OPTION, USD // 10, USD // 5))
        used.append(key)
    result = submitter.submit(Batch(seq, fills))
    assert len(result.filled) == n and not result.skipped, result.skipped
    return float(result.gas_used) / n, used


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--orders", type=int, default=4000, help="signed orders per timing run")
    parser.add_argument("--repeats", type=int, default=3, help="timing runs per path (best is kept)")
    parser.add_argument("--no-chain", action="store_true", help="skip the Anvil settlement benchmark")
    args = parser.parse_args(argv)

    previous = _pin_to_one_core()
    figures = bench_orders(args.orders, args.repeats)
    if previous is not None:
        os.sched_setaffinity(0, previous)  # the Anvil node started below gets every core again
    if not args.no_chain:
        figures += bench_chain()

    for fig in figures:
        line = f"{fig['name']}: {fig['value']:,} {fig['unit']}"
        if "gas_per_fill" in fig:
            line += f"  (gas per fill {fig['gas_per_fill']:,})"
        if "reference_value" in fig:
            line += f"  (reference {fig['reference']}: {fig['reference_value']:,}; ratio {fig['ratio']:.2f}x)"
        if "target" in fig:
            line += f"  [target {fig['target']}]"
        print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"figures": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
