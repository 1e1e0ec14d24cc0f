"""`strikebook audit`: prove or refute the venue's honesty from the chain alone.

Exit codes: 0 every check passed, 1 a check failed, 2 the audit could not run (bad manifest,
unreachable RPC or relayer; the message names the problem).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from .audit import AuditCache, Auditor, AuditReport, HTTPBatchTransport, HTTPRelayerReport, default_cache_path
from .errors import SettlementError
from .manifest import Manifest


class _RichProgress:
    """Blocks replayed (bar) and events applied (counter); draws nothing when stderr is not a TTY."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[events]:,} events"),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
            transient=True,
        )
        self._task: TaskID | None = None
        self._events = 0

    def __enter__(self) -> _RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, from_block: int, to_block: int) -> None:
        total = max(0, to_block - from_block + 1)
        self._task = self._progress.add_task("replaying blocks", total=total or 1, events=0)
        if total == 0:
            self._progress.update(self._task, completed=1)

    def advance(self, blocks: int, events: int) -> None:
        self._events += events
        if self._task is not None:
            self._progress.update(self._task, advance=blocks, events=self._events)

    def phase(self, text: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, description=text)


@click.command("audit", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--rpc", envvar="STRIKEBOOK_RPC", required=True, help="JSON-RPC endpoint of the chain (env STRIKEBOOK_RPC)."
)
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Deployment manifest written by `strikebook deploy`.",
)
@click.option("--relayer", help="Base URL of the relayer's public API to cross-check (GET /v1/fills, /v1/batches).")
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON report here."
)
@click.option(
    "--cache",
    "cache_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Replay cache file (default: next to the manifest, <manifest>.audit-cache.sqlite).",
)
@click.option("--no-cache", is_flag=True, help="Replay from the deployment block without reading or writing the cache.")
@click.option("--to-block", type=click.IntRange(min=0), help="Audit up to this block (default: the head).")
@click.option(
    "--block-range", type=click.IntRange(min=1), default=2_000, show_default=True, help="Blocks per eth_getLogs."
)
def audit(
    rpc: str,
    manifest_path: Path,
    relayer: str | None,
    json_path: Path | None,
    cache_path: Path | None,
    no_cache: bool,
    to_block: int | None,
    block_range: int,
) -> None:
    """Replay every event of the deployment in --manifest from the chain at --rpc, rebuild balances,
    positions, fills, fees and batches, and check them against contract storage, the settleBatch
    calldata (signatures re-verified offline), the vault's invariants and, with --relayer, the
    relayer's report. Prints a table; exits 1 if any check fails.
    """
    out = Console(stderr=False)
    err = Console(stderr=True)
    try:
        manifest = Manifest.load(manifest_path)
    except SettlementError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        sys.exit(2)
    try:
        cache = None if no_cache else AuditCache(cache_path or default_cache_path(manifest_path))
    except SettlementError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        sys.exit(2)
    transport = HTTPBatchTransport(rpc)
    report: AuditReport
    try:
        with _RichProgress(err) as progress:
            auditor = Auditor(
                transport,
                manifest,
                relayer=None if relayer is None else HTTPRelayerReport(relayer),
                cache=cache,
                progress=progress,
                block_range=block_range,
            )
            report = auditor.run(to_block)
    except SettlementError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        sys.exit(2)
    finally:
        transport.close()
        if cache is not None:
            cache.close()
    report.render(out)
    stats = report.stats
    out.print(
        f"replayed blocks {stats['replayedFromBlock']}..{report.to_block} ({stats['blocksScanned']:,} blocks, "
        f"{stats['logsRead']:,} logs, cache {stats['cache']}) in {stats['seconds']:.2f} s"
    )
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report.to_json_dict(), indent=2) + "\n")
        out.print(f"JSON report: {json_path}")
    sys.exit(0 if report.passed else 1)
