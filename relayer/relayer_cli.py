"""`strikebook relayer`: run the venue (matching, batching, chain reconciliation) headless.

The HTTP API (issue 6) plugs into `start`; until then `--control PATH` opens a JSON-lines
Unix socket (`relayer.control`) for scripts and tests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import click

from keys.signer import LocalSigner, Signer
from relayer.config import ConfigError, FeeSchedule, VenueConfig, check_batch_limits, default_verify_workers
from relayer.store import sqlite_url
from settlement.manifest import Manifest

DEFAULT_DIR = Path(".strikebook")


def _operator(spec: str) -> Signer:
    """`env:VAR` (raw hex key in $VAR) or `keystore:NAME` (password in $STRIKEBOOK_KEY_PASSWORD)."""
    kind, _, value = spec.partition(":")
    if kind == "env":
        key = os.environ.get(value)
        if not key:
            raise click.BadParameter(f"environment variable {value} is not set", param_hint="--operator")
        return LocalSigner(key)
    if kind == "keystore":
        from keys.keystore import Keystore
        from keys.keystore_signer import KeystoreSigner
        from keys.passwords import EnvPassword

        return KeystoreSigner(Keystore(), value, EnvPassword("STRIKEBOOK_KEY_PASSWORD"))
    raise click.BadParameter("use env:VAR or keystore:NAME", param_hint="--operator")


@click.group()
def relayer() -> None:
    """Run and inspect the relayer."""


@relayer.command()
@click.option("--manifest", "manifest_path", type=click.Path(path_type=Path), default=DEFAULT_DIR / "manifest.json")
@click.option("--rpc", default="http://127.0.0.1:8545", show_default=True, help="JSON-RPC endpoint")
@click.option("--db", "db_url", default=None, help="store URL (default: sqlite file under ./.strikebook/)")
@click.option("--data-dir", type=click.Path(path_type=Path), default=DEFAULT_DIR, show_default=True)
@click.option("--operator", "operator_spec", default="env:STRIKEBOOK_OPERATOR_KEY", show_default=True)
@click.option("--batch-size", default=64, show_default=True, type=int, help="cut a batch at this many fills")
@click.option("--batch-ms", default=250, show_default=True, type=int, help="or this many ms after its first fill")
@click.option(
    "--max-fills-per-order",
    default=None,
    type=int,
    help="fills one incoming IOC/FOK order may take; its remainder is cancelled (fill_limit) "
    "[default: --batch-size, which is also the maximum]",
)
@click.option("--maker-fee", default=0, show_default=True, type=int, help="quote base units per option")
@click.option("--taker-fee", default=0, show_default=True, type=int, help="quote base units per option")
@click.option("--workers", default=None, type=int, help="signature verification processes [default: one per core]")
@click.option("--control", type=click.Path(path_type=Path), default=None, help="JSON-lines control socket path")
@click.option("--host", default="127.0.0.1", show_default=True, help="HTTP API host")
@click.option("--port", default=8080, show_default=True, type=int, help="HTTP API port")
@click.option("--api/--no-api", default=True, show_default=True, help="serve the HTTP + WebSocket API")
@click.option("--admin-keys", type=click.Path(path_type=Path), default=None, help="admin API key file (keys/)")
@click.option("--audit-log", type=click.Path(path_type=Path), default=None, help="admin audit log (default: data dir)")
def start(
    manifest_path: Path,
    rpc: str,
    db_url: str | None,
    data_dir: Path,
    operator_spec: str,
    batch_size: int,
    batch_ms: int,
    max_fills_per_order: int | None,
    maker_fee: int,
    taker_fee: int,
    workers: int | None,
    control: Path | None,
    host: str,
    port: int,
    api: bool,
    admin_keys: Path | None,
    audit_log: Path | None,
) -> None:
    """Run the venue until SIGINT/SIGTERM."""
    try:
        check_batch_limits(batch_size, max_fills_per_order)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    data_dir.mkdir(parents=True, exist_ok=True)
    config = VenueConfig(
        manifest=Manifest.load(manifest_path),
        rpc_url=rpc,
        db_url=db_url or sqlite_url(data_dir / "relayer.sqlite"),
        operator=_operator(operator_spec),
        data_dir=data_dir,
        batch_size=batch_size,
        batch_ms=batch_ms,
        max_fills_per_order=max_fills_per_order,
        fees=FeeSchedule(maker_fee, taker_fee),
        verify_workers=default_verify_workers() if workers is None else workers,
    )
    http = (host, port, admin_keys, audit_log or data_dir / "admin-audit.log") if api else None
    asyncio.run(_run(config, control, http))


async def _run(
    config: VenueConfig, control: Path | None, http: tuple[str, int, Path | None, Path] | None = None
) -> None:
    from relayer.control import serve
    from relayer.venue import Venue

    venue = await Venue.open(config)
    await venue.start()
    server = await serve(venue, control) if control is not None else None
    runner = None
    if http is not None:
        from relayer.api.server import start_http

        runner = await start_http(venue, *http)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logging.getLogger(__name__).info("relayer ready (journal seq %d)", venue.health().journal_seq)
    try:
        await stop.wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        if server is not None:
            server.close()
        await venue.stop()


if __name__ == "__main__":
    relayer()
