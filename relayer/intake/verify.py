"""Signature recovery on every core: order digests and their signers, many orders per pool task.

A worker gets the domain separator and a chunk of (EIP-712 struct preimage, signature) pairs and
returns (order id, recovered signer or None) per pair; hashing and the secp256k1 recovery
(libsecp256k1 through coincurve, with the contract's low-s / v ∈ {27, 28} rules) both run in
the worker. Chunks amortize the pickling and IPC round trip; requests of at most
`inline_max` orders are verified in-process, where a pool round trip would cost more than it saves.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from settlement._hashing import keccak256
from settlement.errors import SignatureError
from settlement.signing import recover_raw

#: (struct preimage, signature) of one order.
Item = tuple[bytes, bytes]
#: (order id = EIP-712 digest, 20-byte recovered signer or None if the signature is malformed).
Recovered = tuple[bytes, bytes | None]


def recover_chunk(separator: bytes, items: Sequence[Item]) -> list[Recovered]:
    """Digest and signer of each item (runs in a worker process, or inline)."""
    prefix = b"\x19\x01" + separator
    out: list[Recovered] = []
    append = out.append
    for preimage, signature in items:
        digest = keccak256(prefix + keccak256(preimage))
        try:
            append((digest, recover_raw(digest, signature)))
        except SignatureError:
            append((digest, None))
    return out


def _warm() -> bool:
    return True


class SignatureVerifier:
    """Recovers order signers in a process pool (`workers` processes) or in-process."""

    def __init__(self, workers: int, chunk: int = 512, inline_max: int = 16) -> None:
        self.workers = max(0, workers)
        self.chunk = max(1, chunk)
        self.inline_max = inline_max
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the worker processes (spawned: no fork of a threaded, event-looped parent)."""
        if self.workers and self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            for f in [self._pool.submit(_warm) for _ in range(self.workers)]:
                f.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    async def recover(self, separator: bytes, items: Sequence[Item]) -> list[Recovered]:
        """(order id, signer) per item, in order."""
        if self._pool is None or len(items) <= self.inline_max:
            return recover_chunk(separator, items)
        loop = asyncio.get_running_loop()
        # at least one chunk per worker, at most `chunk` items per task
        size = min(self.chunk, -(-len(items) // self.workers))
        tasks = [
            loop.run_in_executor(self._pool, recover_chunk, separator, items[i : i + size])
            for i in range(0, len(items), size)
        ]
        out: list[Recovered] = []
        for part in await asyncio.gather(*tasks):
            out.extend(part)
        return out


def default_workers() -> int:
    return os.cpu_count() or 1
