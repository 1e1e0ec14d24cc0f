"""The auditor: replay (incrementally, with the cache), check, cross-check the relayer, report."""

from __future__ import annotations

import time
from typing import Any, Protocol

from ..chain import Chain
from ..errors import ChainError, ManifestError
from ..manifest import Manifest
from . import checks
from .cache import AuditCache, deployment_key
from .errors import AuditError
from .relayer import RelayerReport, cross_check
from .replay import Replayer
from .report import CHECKS, AuditReport, CheckResult
from .rpc import BatchTransport, ChainReader
from .state import ReplayState


class ProgressSink(Protocol):
    """Where the auditor reports progress (the CLI draws a rich progress bar)."""

    def start(self, from_block: int, to_block: int) -> None: ...

    def advance(self, blocks: int, events: int) -> None: ...

    def phase(self, text: str) -> None: ...


class _NoProgress:
    def start(self, from_block: int, to_block: int) -> None:
        pass

    def advance(self, blocks: int, events: int) -> None:
        pass

    def phase(self, text: str) -> None:
        pass


class Auditor:
    """Audits one deployment (`manifest`) through `transport`.

    `block_range` blocks are read per `eth_getLogs`. With a `cache`, the replayed state is stored
    after each run and the next run resumes from it when the chain still has the cached block.
    """

    def __init__(
        self,
        transport: BatchTransport,
        manifest: Manifest,
        *,
        relayer: RelayerReport | None = None,
        cache: AuditCache | None = None,
        progress: ProgressSink | None = None,
        block_range: int = 2_000,
    ) -> None:
        if block_range < 1:
            raise AuditError("block_range must be positive")
        self.transport = transport
        self.manifest = manifest
        self.relayer = relayer
        self.cache = cache
        self.progress: ProgressSink = progress or _NoProgress()
        self.block_range = block_range
        self.reader = ChainReader(transport)

    def run(self, to_block: int | None = None) -> AuditReport:
        """Audit from the deployment block to `to_block` (default: the head)."""
        started = time.perf_counter()
        try:
            self._check_endpoint()
            head = self.reader.block_number() if to_block is None else to_block
            head_block = self.reader.blocks([head])[head]
            state, cache_status = self._initial_state(head)
            first = state.next_block
            self._replay(state, head)
            if self.cache is not None:
                self.cache.save(deployment_key(self.manifest), head, head_block["hash"], state)
            self.progress.phase("reading contract storage")
            onchain = checks.read_onchain(state, self.reader, self.manifest, head)
        except ChainError as exc:
            raise AuditError(f"RPC failed: {exc}") from exc
        results: dict[str, CheckResult] = {
            "rebuilt_state_matches_storage": checks.storage_matches(state, onchain, head),
            "vault_solvency": checks.solvency(state, onchain, head),
            "positions_net_zero": checks.positions_net_zero(state, onchain, head),
            "locked_equals_required": checks.locked_equals_required(state, onchain, head),
            "expiry_settlement": checks.expiry_settled(state, onchain, head, int(head_block["timestamp"], 16)),
        }
        for name, result in state.checks.items():
            results.setdefault(name, result)
        if self.relayer is not None:
            self.progress.phase("cross-checking the relayer")
            for result in cross_check(state, self.relayer):
                results[result.name] = result
        ordered = [results[name] for name in CHECKS if name in results]
        stats: dict[str, Any] = {
            "blocksScanned": self.reader.blocks_scanned,
            "logsRead": self.reader.logs_read,
            "transactionsFetched": self.reader.transactions_fetched,
            "callsMade": self.reader.calls_made,
            "cache": cache_status,
            "replayedFromBlock": first,
            "seconds": round(time.perf_counter() - started, 3),
        }
        summary = {
            "batches": len(state.batches),
            "trades": len(state.trades),
            "skippedFills": len(state.skipped),
            "accounts": len(state.accounts()),
            "series": len(state.series),
            "orders": len(state.order_filled) + len(state.one_shot_orders),
            "events": state.events,
        }
        return AuditReport(
            chain_id=self.manifest.chain_id,
            contracts=dict(self.manifest.contracts),
            from_block=self.manifest.deployment_block,
            to_block=head,
            block_hash=str(head_block["hash"]),
            checks=ordered,
            stats=stats,
            summary=summary,
            relayer=None if self.relayer is None else self.relayer.describe(),
        )

    def _check_endpoint(self) -> None:
        try:
            self.manifest.check_chain(Chain(self.transport))
        except ManifestError as exc:
            raise AuditError(f"the manifest does not match the endpoint: {exc}") from exc

    def _initial_state(self, head: int) -> tuple[ReplayState, str]:
        fresh = ReplayState(next_block=self.manifest.deployment_block)
        if self.cache is None:
            return fresh, "off"
        snapshot = self.cache.load(deployment_key(self.manifest))
        if snapshot is None:
            return fresh, "miss"
        if snapshot.block > head:
            return fresh, "stale"
        block = self.reader.blocks([snapshot.block])[snapshot.block]
        if block["hash"] != snapshot.block_hash:
            return fresh, "stale"  # reorged below the cached block: replay everything
        return snapshot.state, "hit"

    def _replay(self, state: ReplayState, head: int) -> None:
        replayer = Replayer(self.reader, self.manifest, state)
        self.progress.start(state.next_block, head)
        start = state.next_block
        while start <= head:
            end = min(head, start + self.block_range - 1)
            events = replayer.replay_range(start, end)
            self.progress.advance(end - start + 1, events)
            start = end + 1
