"""Operator commands: `chain up`, `series add|list`, `relayer status`, `batches list`, `oracle post`, `settle`.

Settings come from the command line, then the command's environment variables (STRIKEBOOK_RPC,
STRIKEBOOK_MANIFEST, STRIKEBOOK_API), then the TOML config file (`strikebook --config FILE`, see
`relayer.operator_config`), then the defaults. Failures print one line (`Error: …`), never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from keys.signer import LocalSigner, Signer
from relayer.chain_ops import (
    ChainOpError,
    list_series,
    listed_series,
    post_oracle_price,
    settle_account,
    settlement_plan,
)
from settlement.chain import Chain
from settlement.errors import SettlementError
from settlement.manifest import Manifest

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
DEFAULT_RPC = "http://127.0.0.1:8545"
DEFAULT_API = "http://127.0.0.1:8080"
DEFAULT_MANIFEST = Path(".strikebook/manifest.json")
REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_MNEMONIC = "test test test test test test test test test test test junk"

_console = Console()

rpc_option = click.option(
    "--rpc",
    envvar="STRIKEBOOK_RPC",
    default=DEFAULT_RPC,
    show_default=True,
    help="JSON-RPC endpoint (env STRIKEBOOK_RPC).",
)
manifest_option = click.option(
    "--manifest",
    "manifest_path",
    envvar="STRIKEBOOK_MANIFEST",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_MANIFEST,
    show_default=True,
    help="Deployment manifest (env STRIKEBOOK_MANIFEST).",
)
api_option = click.option(
    "--api",
    envvar="STRIKEBOOK_API",
    default=DEFAULT_API,
    show_default=True,
    help="Relayer API URL (env STRIKEBOOK_API).",
)


def _connect(rpc: str, manifest_path: Path) -> tuple[Chain, Manifest]:
    """The chain at `rpc` and the manifest, checked against each other; one-line errors."""
    try:
        manifest = Manifest.load(manifest_path)
    except SettlementError as exc:
        raise click.ClickException(str(exc)) from None
    chain = Chain.from_url(rpc, timeout=10.0)
    try:
        manifest.check_chain(chain)
    except SettlementError as exc:
        raise click.ClickException(_rpc_message(rpc, exc)) from None
    return chain, manifest


def _rpc_message(rpc: str, exc: Exception) -> str:
    text = str(exc)
    if "connect" in text.lower() or "refused" in text.lower() or "timed out" in text.lower():
        return f"cannot reach the JSON-RPC endpoint {rpc} (is the node running? `strikebook chain up`)"
    return text


def _signer(key_env: str, keystore: str | None, keystore_dir: Path | None, password_env: str | None) -> Signer:
    from settlement.cli import load_signer

    return load_signer(key_env, keystore, keystore_dir, password_env)


def _key_options(fn: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--key-env",
                default="STRIKEBOOK_OPERATOR_KEY",
                show_default=True,
                help="Environment variable holding the signing key (hex).",
            ),
            click.option("--keystore", "keystore_name", help="Sign with this keystore key instead of --key-env."),
            click.option(
                "--keystore-dir", type=click.Path(file_okay=False, path_type=Path), help="Keystore directory."
            ),
            click.option("--password-env", help="Environment variable holding the keystore password (else prompt)."),
        ]
    ):
        fn = option(fn)
    return fn


def _api_get(api: str, path: str) -> Any:
    url = api.rstrip("/") + path
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read())
            detail = f"{body.get('code')}: {body.get('message')}"
        except ValueError:
            detail = str(exc)
        raise click.ClickException(f"relayer {url} answered HTTP {exc.code} ({detail})") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise click.ClickException(f"cannot reach the relayer API at {api} ({reason})") from None


def _parse_int(value: str, what: str) -> int:
    if not re.fullmatch(r"0|[1-9][0-9]*", value):
        raise click.BadParameter(f"{what} must be a whole number of base units, got {value!r}")
    return int(value)


def _parse_expiry(value: str, chain: Chain) -> int:
    """Unix seconds, or `+N[smhd]` from the chain's latest block time."""
    m = re.fullmatch(r"\+([0-9]+)([smhd])", value)
    if m is None:
        return _parse_int(value, "expiry")
    head = chain.block("latest")
    assert head is not None
    return head.timestamp + int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def _token(manifest: Manifest, value: str | None, default_key: str, what: str) -> str:
    if value is None:
        if default_key not in manifest.tokens:
            raise click.UsageError(f"--{what} is required (the manifest has no {default_key!r} token)")
        return manifest.tokens[default_key].address
    if value in manifest.tokens:
        return manifest.tokens[value].address
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
        raise click.BadParameter(f"{what} must be an address or a manifest token name ({', '.join(manifest.tokens)})")
    return value


# ---------------------------------------------------------------------------------------- chain


@click.group("chain", context_settings=CONTEXT)
def chain() -> None:
    """Run a local chain for development."""


def anvil_binary() -> Path:
    """Anvil from node_modules (the platform binary inside @foundry-rs/anvil)."""
    from settlement.toolchain import find_anvil

    found = find_anvil(REPO_ROOT)
    if found is not None:
        return found
    raise click.ClickException("anvil is not installed in node_modules: run `make build` (npm install) first")


def _rpc_call(url: str, method: str, params: list[Any]) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=2) as resp:
        return json.loads(resp.read()).get("result")


@chain.command("up", context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8545, show_default=True, type=int, help="Port to listen on.")
@click.option("--chain-id", default=31337, show_default=True, type=int)
@click.option("--accounts", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--balance", default=10_000, show_default=True, type=int, help="ETH per account.")
@click.option("--block-time", type=int, default=None, help="Seconds per block (default: mine on each tx).")
@click.option("--state", type=click.Path(path_type=Path), default=None, help="Load/save chain state in this file.")
@click.option("--show-keys", is_flag=True, help="Also print the accounts' private keys (public test keys!).")
def chain_up(
    host: str,
    port: int,
    chain_id: int,
    accounts: int,
    balance: int,
    block_time: int | None,
    state: Path | None,
    show_keys: bool,
) -> None:
    """Start a local Anvil (from node_modules) and stay in the foreground until Ctrl-C.

    Prints the RPC URL and the funded accounts, which come from the well-known test mnemonic:
    never send real funds to them.
    """
    cmd = [
        str(anvil_binary()),
        "--host",
        host,
        "--port",
        str(port),
        "--chain-id",
        str(chain_id),
        "--accounts",
        str(accounts),
        "--balance",
        str(balance),
        "--mnemonic",
        TEST_MNEMONIC,
    ]
    if block_time is not None:
        cmd += ["--block-time", str(block_time)]
    if state is not None:
        cmd += ["--state", str(state)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        proc.terminate()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            if stopping:
                return
            err = (proc.stderr.read().decode(errors="replace") if proc.stderr else "").strip().splitlines()
            raise click.ClickException(f"anvil exited ({err[-1] if err else proc.returncode})")
        try:
            if _rpc_call(url, "eth_chainId", []):
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.terminate()
            raise click.ClickException(f"anvil did not answer on {url} within 30 s")
        time.sleep(0.1)
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    table = Table(title=f"Anvil chain {chain_id}")
    table.add_column("#")
    table.add_column("address")
    table.add_column("balance (ETH)", justify="right")
    if show_keys:
        table.add_column("private key (PUBLIC TEST KEY)")
    for i in range(accounts):
        acct = Account.from_mnemonic(TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
        row = [str(i), acct.address, str(balance)]
        if show_keys:
            row.append(acct.key.to_0x_hex())
        table.add_row(*row)
    click.echo(f"RPC URL: {url}", err=False)
    _console.print(table)
    click.echo("mnemonic: " + TEST_MNEMONIC + "   (Ctrl-C stops the chain)")
    sys.stdout.flush()

    code = proc.wait()
    if not stopping and code != 0:
        raise click.ClickException(f"anvil exited with status {code}")
    click.echo("chain stopped")


# ---------------------------------------------------------------------------------------- series


@click.group("series", context_settings=CONTEXT)
def series() -> None:
    """List option series on-chain and show the listed ones."""


@series.command("add", context_settings=CONTEXT)
@rpc_option
@manifest_option
@click.option("--underlying", help="Underlying token address or manifest token name (default: 'underlying').")
@click.option("--quote", help="Quote token address or manifest token name (default: 'quote').")
@click.option("--strike", required=True, help="Strike: quote base units per whole underlying (integer).")
@click.option("--expiry", required=True, help="Unix seconds, or +N[s|m|h|d] from the chain's latest block.")
@click.option("--call/--put", "is_call", required=True, help="Call (collateral: underlying) or put (quote).")
@_key_options
def series_add(
    rpc: str,
    manifest_path: Path,
    underlying: str | None,
    quote: str | None,
    strike: str,
    expiry: str,
    is_call: bool,
    key_env: str,
    keystore_name: str | None,
    keystore_dir: Path | None,
    password_env: str | None,
) -> None:
    """List a new series with a LISTER_ROLE key (by default the deployer's)."""
    chain_, manifest = _connect(rpc, manifest_path)
    signer = _signer(key_env, keystore_name, keystore_dir, password_env)
    u = _token(manifest, underlying, "underlying", "underlying")
    q = _token(manifest, quote, "quote", "quote")
    try:
        sid = list_series(
            chain_, manifest, signer, u, q, _parse_int(strike, "strike"), _parse_expiry(expiry, chain_), is_call
        )
    except (ChainOpError, SettlementError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"listed series 0x{sid.hex()}")


def _series_table(rows: list[dict[str, str]], title: str) -> Table:
    table = Table(title=title)
    for col in ("id", "type", "strike", "expiry (UTC)", "underlying", "quote"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["id"],
            r["type"],
            r["strike"],
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(int(r["expiry"]))),
            r["underlying"],
            r["quote"],
        )
    return table


@series.command("list", context_settings=CONTEXT)
@rpc_option
@manifest_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def series_list(rpc: str, manifest_path: Path, as_json: bool) -> None:
    """Every series the registry listed (read from the chain, not the relayer)."""
    chain_, manifest = _connect(rpc, manifest_path)
    try:
        found = listed_series(chain_, manifest)
    except SettlementError as exc:
        raise click.ClickException(_rpc_message(rpc, exc)) from None
    rows = [
        {
            "id": "0x" + s.id.hex(),
            "type": "call" if s.is_call else "put",
            "strike": str(s.strike),
            "expiry": str(s.expiry),
            "underlying": s.underlying,
            "quote": s.quote,
        }
        for s in found
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _console.print(_series_table(rows, f"{len(rows)} series on chain {manifest.chain_id}"))


# ---------------------------------------------------------------------------------------- relayer / batches


@click.command("status", context_settings=CONTEXT)
@api_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def relayer_status(api: str, as_json: bool) -> None:
    """Health of a running relayer: intake, journal, open orders, batches, chain head."""
    health = _api_get(api, "/v1/health")
    if as_json:
        click.echo(json.dumps(health, indent=2))
        return
    table = Table(title=f"relayer {api}")
    table.add_column("")
    table.add_column("")
    for key, value in health.items():
        table.add_row(key, "" if value is None else str(value))
    _console.print(table)
    if not health.get("ok"):
        raise click.ClickException(f"relayer is not healthy: {health.get('detail') or 'see above'}")


@click.group("batches", context_settings=CONTEXT)
def batches() -> None:
    """Settlement batches of a running relayer."""


@batches.command("list", context_settings=CONTEXT)
@api_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="Most recent N batches.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def batches_list(api: str, limit: int, as_json: bool) -> None:
    """The most recent batches, newest first (seq, status, fills, tx)."""
    last = int(_api_get(api, "/v1/health")["lastBatchSeq"])
    rows = [_api_get(api, f"/v1/batches/{seq}") for seq in range(last, max(0, last - limit), -1)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} batches (last seq {last})")
    for col in ("seq", "status", "filled", "skipped", "block", "tx"):
        table.add_column(col)
    for b in rows:
        table.add_row(b["seq"], b["status"], b["filled"], b["skipped"], b["blockNumber"] or "", b["txHash"] or "")
    _console.print(table)


# ---------------------------------------------------------------------------------------- oracle


@click.group("oracle", context_settings=CONTEXT)
def oracle() -> None:
    """Settlement prices."""


@oracle.command("post", context_settings=CONTEXT)
@rpc_option
@manifest_option
@click.option("--underlying", help="Underlying token address or manifest token name (default: 'underlying').")
@click.option("--expiry", required=True, help="The series expiry (unix seconds) the price settles.")
@click.option("--price", required=True, help="Price: quote base units per whole underlying (integer).")
@click.option(
    "--signer-key-env",
    "signer_envs",
    multiple=True,
    help="Environment variable with an oracle signer's hex key (repeat for M-of-N).",
)
@click.option(
    "--signer-keystore",
    "signer_keystores",
    multiple=True,
    help="Name of an oracle key in the keystore (repeat for M-of-N; password from --password-env or a prompt).",
)
@_key_options
def oracle_post(
    rpc: str,
    manifest_path: Path,
    underlying: str | None,
    expiry: str,
    price: str,
    signer_envs: tuple[str, ...],
    signer_keystores: tuple[str, ...],
    key_env: str,
    keystore_name: str | None,
    keystore_dir: Path | None,
    password_env: str | None,
) -> None:
    """Sign a settlement price with the oracle signers' keys and submit it (anyone may send it)."""
    if not signer_envs and not signer_keystores:
        raise click.UsageError(
            "no oracle signers: pass --signer-keystore NAME or --signer-key-env VAR (repeat for M-of-N)"
        )
    chain_, manifest = _connect(rpc, manifest_path)
    sender = _signer(key_env, keystore_name, keystore_dir, password_env)
    signers: list[Signer] = [_signer(key_env, name, keystore_dir, password_env) for name in signer_keystores]
    for env in signer_envs:
        value = os.environ.get(env)
        if not value:
            raise click.UsageError(f"${env} is not set (an oracle signer's hex key)")
        try:
            signers.append(LocalSigner(value.strip()))
        except Exception as exc:
            raise click.UsageError(f"${env} does not hold a valid private key ({type(exc).__name__})") from None
    u = _token(manifest, underlying, "underlying", "underlying")
    try:
        digest = post_oracle_price(
            chain_, manifest, sender, signers, u, _parse_int(expiry, "expiry"), _parse_int(price, "price")
        )
    except (ChainOpError, SettlementError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"price {price} final for {u} at {expiry} (report 0x{digest.hex()}, {len(signers)} signatures)")


# ---------------------------------------------------------------------------------------- settle

#: Series per `settle` transaction (bounds its gas; an account holding more gets several).
SETTLE_CHUNK = 32


def _series_ids(values: tuple[str, ...]) -> list[bytes] | None:
    if not values:
        return None
    out: list[bytes] = []
    for value in values:
        if not re.fullmatch(r"0x[0-9a-fA-F]{64}", value):
            raise click.BadParameter(f"series must be a 0x-prefixed 32-byte id, got {value!r}", param_hint="--series")
        out.append(bytes.fromhex(value[2:]))
    return out


@click.command("settle", context_settings=CONTEXT)
@rpc_option
@manifest_option
@click.option(
    "--series",
    "series_filter",
    multiple=True,
    help="Only this series id (repeatable; default: every expired series with a final price).",
)
@click.option("--dry-run", is_flag=True, help="List the positions that would be settled; send nothing.")
@_key_options
def settle(
    rpc: str,
    manifest_path: Path,
    series_filter: tuple[str, ...],
    dry_run: bool,
    key_env: str,
    keystore_name: str | None,
    keystore_dir: Path | None,
    password_env: str | None,
) -> None:
    """Settle every account holding a position in expired series that have a final oracle price.

    Accounts are found from the exchange's Trade events; each one with open positions gets one
    `settle(account, seriesIds)` transaction (permissionless: any funded key may send it). Settled
    and flat positions are skipped, so running it again settles nothing new.
    """
    only = _series_ids(series_filter)
    chain_, manifest = _connect(rpc, manifest_path)
    try:
        plan = settlement_plan(chain_, manifest, only)
    except ChainOpError as exc:
        raise click.ClickException(_rpc_message(rpc, exc)) from None
    if not plan.final and plan.awaiting_price:
        s, more = plan.awaiting_price[0], len(plan.awaiting_price) - 1
        raise click.ClickException(
            f"no final price yet for series 0x{s.id.hex()} (expiry {s.expiry}, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(s.expiry))})"
            + (f" and {more} other expired series" if more else "")
            + ": nothing can be settled (`strikebook oracle post`)"
        )
    for s in plan.awaiting_price:
        click.echo(
            f"waiting: series 0x{s.id.hex()} expired at {s.expiry} but has no final price yet "
            "(`strikebook oracle post`)",
            err=True,
        )
    if not plan.final:
        click.echo("nothing to settle: no listed series has expired yet")
        return
    if not plan.traders:
        click.echo(f"nothing to settle: no account traded the {len(plan.final)} expired series with a final price")
        return
    if not plan.accounts:
        click.echo(
            f"nothing to settle: every position in the {len(plan.final)} expired series with a final price "
            f"is already settled ({plan.traders} accounts traded them)"
        )
        return
    if dry_run:
        # plain lines (account, series, position, final price): full ids whatever the terminal width
        click.echo(f"dry run: {plan.positions} positions of {len(plan.accounts)} accounts would be settled")
        click.echo(f"{'account':42}  {'series':66}  {'position':>26}  final price")
        for acct in plan.accounts:
            for sid, pos in acct.positions:
                click.echo(f"{acct.account:42}  0x{sid.hex()}  {pos:>26}  {plan.prices[sid]}")
        click.echo("dry run: nothing was sent")
        return
    sender = _signer(key_env, keystore_name, keystore_dir, password_env)
    txs = gas = 0
    progress = Progress(
        TextColumn("settling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("accounts"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("settle", total=len(plan.accounts))
        for acct in plan.accounts:
            ids = acct.series
            for i in range(0, len(ids), SETTLE_CHUNK):
                try:
                    receipt = settle_account(chain_, manifest, sender, acct.account, ids[i : i + SETTLE_CHUNK])
                except (ChainOpError, SettlementError) as exc:
                    raise click.ClickException(_rpc_message(rpc, exc)) from None
                txs += 1
                gas += receipt.gas_used
            progress.advance(task)
    click.echo(
        f"settled {plan.positions} positions of {len(plan.accounts)} accounts in {len(plan.final)} series "
        f"({txs} transactions, {gas:,} gas)"
    )
