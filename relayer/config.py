"""Venue configuration: where the chain, store and operator key are, and the venue's policies."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from keys.signer import Signer
from relayer.engine import EngineConfig
from relayer.errors import RelayerError
from settlement.manifest import Manifest
from settlement.submitter import SubmitterConfig


class ConfigError(RelayerError, ValueError):
    """A `VenueConfig` the venue refuses to run with (the message says which setting and why)."""

    code = "config_invalid"


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Fees per whole option in quote base units, charged by the batcher on every fill.

    The charged fee is min(schedule rate, the order's signed `maxFee`), so a fill never
    exceeds a cap (the contract would skip it). The contract floors fee * amount / unit.
    """

    maker_fee: int = 0
    taker_fee: int = 0

    def maker(self, max_fee: int) -> int:
        return min(self.maker_fee, max_fee)

    def taker(self, max_fee: int) -> int:
        return min(self.taker_fee, max_fee)


def default_verify_workers() -> int:
    """Signature processes for this machine: one per core (0, in-process, on a single core).

    Measured on the 2-core machine with scripts/bench_intake.py while other work shared it
    (load 3.5-5): a pool of 2 matched or beat a pool of 1 (durable 14.0k vs 9.3k/s and 14.7k
    vs 11.0k/s in two runs, medians of 3 runs 12.4-13.1k vs 12.0-13.0k/s): the relayer process
    needs ~33 µs CPU per order and leaves a core partly idle, which a second worker uses.
    With one core, a worker only adds IPC to the same CPU.
    """
    cores = os.cpu_count() or 1
    return cores if cores > 1 else 0


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def check_batch_limits(batch_size: int, max_fills_per_order: int | None) -> None:
    """`ConfigError` unless `batch_size` >= 1 and 1 <= `max_fills_per_order` <= `batch_size` (None: `batch_size`)."""
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, not {batch_size}")
    limit = batch_size if max_fills_per_order is None else max_fills_per_order
    if limit < 1:
        raise ConfigError(f"max_fills_per_order must be at least 1, not {limit}")
    if limit > batch_size:
        raise ConfigError(
            f"max_fills_per_order ({limit}) exceeds batch_size ({batch_size}): the fills of one "
            "one-shot (IOC/FOK) order must fit in one batch; lower max_fills_per_order or raise batch_size"
        )


@dataclass(frozen=True)
class VenueConfig:
    """Everything `Venue.open` needs.

    - `manifest`, `rpc_url`: the deployment and a JSON-RPC endpoint of its chain.
    - `db_url`: the relayer store (SQLite file URL or PostgreSQL); `data_dir` holds the
      submitter's write-ahead journal (`submit-journal.sqlite`).
    - `operator`: the key with OPERATOR_ROLE on the exchange (signs `settleBatch`).
    - `batch_size`/`batch_ms`: cut a batch at this many fills or this many ms after its first fill.
    - `max_fills_per_order`: at most this many fills per incoming IOC/FOK order (default, None:
      `batch_size`); see `EngineConfig.max_fills_per_order`. An IOC stopped by it has its
      remainder cancelled with reason `fill_limit`. It may not exceed `batch_size` (`ConfigError`):
      the fills of one one-shot order (the SDK signs IOC/FOK orders one-shot) must settle in
      one batch, and the cap keeps that batch's gas bounded (`relayer.batching`). Set it here,
      not in `engine` (the venue passes `engine_config()` to the engine).
    - `verify_workers`: processes verifying signatures (0: verify in-process only; default:
      one per core, in-process on a single core: `default_verify_workers`);
      `verify_chunk`: orders per pool task; `inline_verify_max`: batches this small are
      verified in-process (a pool round trip costs more than a few recoveries).
    - `call_price_cap`: optional upper bound on call premiums per underlying (quote base units
      per option); without one, a call's price is bounded only by the contract's 2**128 - 1.
    - `snapshot_every`: journal entries between engine snapshots, at least (rebuild replays the
      tail); the interval also grows to the previous snapshot's resting order count, so deep
      books are not re-snapshotted every few thousand entries.
    - `cancel_window_ms`: how far a signed cancel's timestamp may be from the relayer's clock.

    Matching settings (`engine`, `max_fills_per_order`) also apply to the journal tail replayed
    at open: change them only after a clean stop, as for `stp` and `expiry_margin_ms`.
    """

    manifest: Manifest
    rpc_url: str
    db_url: str
    operator: Signer
    data_dir: Path
    batch_size: int = 64
    batch_ms: int = 250
    max_fills_per_order: int | None = None
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    engine: EngineConfig = field(default_factory=EngineConfig)
    submitter: SubmitterConfig = field(default_factory=lambda: SubmitterConfig(poll_interval=0.05))
    verify_workers: int = field(default_factory=default_verify_workers)
    verify_chunk: int = 512
    inline_verify_max: int = 16
    call_price_cap: dict[str, int] = field(default_factory=dict)
    snapshot_every: int = 5_000
    expire_interval_ms: int = 1_000
    chain_poll_s: float = 0.25
    reorg_depth: int = 12
    cancel_window_ms: int = 30_000
    max_orders_per_request: int = 1_000
    clock_ms: Callable[[], int] = _wall_ms

    def __post_init__(self) -> None:
        check_batch_limits(self.batch_size, self.max_fills_per_order)
        limit = self.fill_limit
        if self.engine.max_fills_per_order is not None and self.engine.max_fills_per_order != limit:
            raise ConfigError(
                f"engine.max_fills_per_order ({self.engine.max_fills_per_order}) differs from the venue's "
                f"({limit}): set VenueConfig.max_fills_per_order only"
            )

    @property
    def fill_limit(self) -> int:
        """Fills allowed per incoming IOC/FOK order: `max_fills_per_order`, or `batch_size` without one."""
        return self.batch_size if self.max_fills_per_order is None else self.max_fills_per_order

    def engine_config(self) -> EngineConfig:
        """The matching engine's configuration: `engine` with the venue's fill limit."""
        return replace(self.engine, max_fills_per_order=self.fill_limit)
