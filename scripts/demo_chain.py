"""The demo's processes and chain steps: Anvil and the relayer as child processes, deploy, listing,
funding, the jump past expiry, the oracle's M-of-N price, settlement of every account, balances.

Every step goes through the package's own APIs (`settlement.deploy`, `relayer.chain_ops`,
`relayer.sdk.onchain`), the same code the `strikebook` CLI runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account

from keys.signer import LocalSigner, Signer
from relayer.chain_ops import list_series, post_oracle_price
from relayer.sdk.onchain import OnChain
from settlement.abi import contract_abi
from settlement.chain import Chain
from settlement.deploy import DeployConfig, deploy
from settlement.manifest import Manifest
from settlement.toolchain import find_anvil
from settlement.transactions import send_and_wait

ROOT = Path(__file__).resolve().parents[1]
MNEMONIC = "test test test test test test test test test test test junk"
CHAIN_ID = 31337
EXCHANGE = contract_abi("Exchange")
TOKEN = contract_abi("TestToken")

Account.enable_unaudited_hdwallet_features()


def derive_keys(count: int) -> list[str]:
    """Hex keys of the first `count` accounts of the public test mnemonic (Anvil funds them with ETH)."""
    return [Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").key.to_0x_hex() for i in range(count)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def anvil_binary() -> Path:
    """Anvil's platform binary inside the npm package (no node shim in between, so signals reach it)."""
    found = find_anvil(ROOT)
    if found is not None:
        return found
    raise DemoError("anvil is not installed in node_modules: run `make build` first")


def strikebook_command() -> list[str]:
    """`strikebook` run by this interpreter, from this checkout (not whatever console script is on PATH)."""
    return [sys.executable, "-c", "import sys; from relayer.cli import main; sys.argv[0] = 'strikebook'; main()"]


class DemoError(RuntimeError):
    """A demo step failed; the message says which and why."""


def _tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    stop_signal: int = signal.SIGTERM


@dataclass
class Processes:
    """Child processes, each in its own process group so a terminal Ctrl-C reaches only the demo,
    which then stops them in order (relayer first, then the chain). `stop_all` never leaves one running."""

    children: list[Child] = field(default_factory=list)

    def start(
        self,
        name: str,
        cmd: Sequence[str],
        log: Path,
        *,
        env: dict[str, str] | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> Child:
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                list(cmd),
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=log.parent,
                process_group=0,
            )
        child = Child(name, proc, log, stop_signal)
        self.children.append(child)
        return child

    @property
    def pids(self) -> list[int]:
        return [c.process.pid for c in self.children]

    def check_alive(self) -> None:
        for c in self.children:
            if c.process.poll() is not None:
                raise DemoError(f"{c.name} exited with code {c.process.returncode}; its log:\n{_tail(c.log)}")

    def stop_all(self, timeout: float = 20.0) -> None:
        for child in reversed(self.children):
            proc = child.process
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(child.stop_signal)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=timeout)
            # the whole group: whatever the child started (e.g. signature workers) goes with it
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.children.clear()


def wait_until(ready: Callable[[], bool], *, timeout: float, what: str, procs: Processes) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs.check_alive()
        with contextlib.suppress(OSError, ValueError):
            if ready():
                return
        time.sleep(0.1)
    raise DemoError(f"{what} was not ready after {timeout:.0f} s")


def _rpc_ready(url: str) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=1) as resp:
        return bool(json.loads(resp.read()).get("result"))


def _health_ok(url: str) -> bool:
    with urllib.request.urlopen(url + "/v1/health", timeout=2) as resp:
        return bool(json.loads(resp.read()).get("ok"))


def start_anvil(procs: Processes, run_dir: Path, accounts: int) -> str:
    port = free_port()
    cmd = [
        str(anvil_binary()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chain-id",
        str(CHAIN_ID),
        "--mnemonic",
        MNEMONIC,
        "--accounts",
        str(accounts),
        "--balance",
        "100000",
        # no startup banner: it lists the accounts' private keys (public test keys, but the run dir keeps logs)
        "--quiet",
    ]
    procs.start("anvil", cmd, run_dir / "anvil.log")
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _rpc_ready(url), timeout=30, what="anvil", procs=procs)
    return url


def start_relayer(
    procs: Processes,
    run_dir: Path,
    rpc: str,
    manifest_path: Path,
    operator_key: str,
    *,
    batch_ms: int,
    taker_fee: int,
) -> str:
    port = free_port()
    cmd = [
        *strikebook_command(),
        "relayer",
        "start",
        "--rpc",
        rpc,
        "--manifest",
        str(manifest_path),
        "--data-dir",
        str(run_dir / "relayer"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--batch-ms",
        str(batch_ms),
        "--taker-fee",
        str(taker_fee),
        "--workers",
        "1",
        "--operator",
        "env:STRIKEBOOK_DEMO_OPERATOR_KEY",
    ]
    env = {**os.environ, "STRIKEBOOK_DEMO_OPERATOR_KEY": operator_key, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    procs.start("relayer", cmd, run_dir / "relayer.log", env=env, stop_signal=signal.SIGINT)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _health_ok(url), timeout=60, what="relayer API", procs=procs)
    return url


@dataclass(frozen=True)
class ListedSeries:
    id: bytes
    strike: int
    expiry: int
    is_call: bool


def head_time(chain: Chain) -> int:
    head = chain.block("latest")
    assert head is not None
    return head.timestamp


def deploy_venue(
    chain: Chain, deployer: Signer, operator: str, oracle_signers: Sequence[str], threshold: int
) -> Manifest:
    config = DeployConfig(operators=[operator], oracle_signers=list(oracle_signers), oracle_threshold=threshold)
    return deploy(chain, deployer, config)


def list_chain(
    chain: Chain, manifest: Manifest, lister: Signer, strikes: Sequence[int], expiries: Sequence[int]
) -> list[ListedSeries]:
    """Calls and puts at every strike and expiry, listed by the lister (LISTER_ROLE)."""
    underlying = manifest.tokens["underlying"].address
    quote = manifest.tokens["quote"].address
    out = []
    for expiry in expiries:
        for strike in strikes:
            for is_call in (True, False):
                sid = list_series(chain, manifest, lister, underlying, quote, strike, expiry, is_call)
                out.append(ListedSeries(sid, strike, expiry, is_call))
    return out


def _send(chain: Chain, signer: Signer, to: str, data: bytes) -> Any:
    return send_and_wait(chain, signer, to, data, nonce=chain.nonce(signer.address, "pending"))


def mint(chain: Chain, minter: Signer, token: str, to: str, amount: int) -> None:
    """Test tokens only (local chains): `mint` is open to anyone."""
    _send(chain, minter, token, TOKEN.encode_call("mint", to, amount))


def deposit(rpc: str, manifest: Manifest, account: Signer, token: str, amount: int) -> None:
    """What a maker does with the SDK's on-chain helper: approve and deposit into the vault."""
    OnChain(rpc, manifest.exchange, account).deposit(token, amount)


def jump_past(chain: Chain, timestamp: int) -> int:
    """Move the chain's clock past `timestamp` (evm_increaseTime + a mined block); returns the new head time."""
    delta = max(0, timestamp - head_time(chain)) + 60
    chain.rpc("evm_increaseTime", delta)
    chain.rpc("evm_mine")
    return head_time(chain)


def post_price(
    chain: Chain, manifest: Manifest, sender: Signer, signers: Sequence[Signer], expiry: int, price: int
) -> None:
    post_oracle_price(chain, manifest, sender, signers, manifest.tokens["underlying"].address, expiry, price)


def settle_account(chain: Chain, manifest: Manifest, sender: Signer, account: str, series: Sequence[bytes]) -> int:
    """`Exchange.settle(account, seriesIds)` (permissionless); returns the gas used."""
    receipt = _send(chain, sender, manifest.exchange, EXCHANGE.encode_call("settle", account, list(series)))
    return int(receipt.gas_used)


def position(chain: Chain, manifest: Manifest, account: str, series: bytes) -> int:
    (pos,) = EXCHANGE.decode_output(
        "positionOf", chain.call(manifest.exchange, EXCHANGE.encode_call("positionOf", account, series))
    )
    return int(pos)


def vault_total(chain: Chain, manifest: Manifest, account: str, token: str) -> int:
    """free + locked base units of `token` the vault holds for `account`."""
    free, locked = EXCHANGE.decode_output(
        "balanceOf", chain.call(manifest.exchange, EXCHANGE.encode_call("balanceOf", account, token))
    )
    return int(free) + int(locked)


def accrued_fees(chain: Chain, manifest: Manifest, token: str) -> int:
    (fees,) = EXCHANGE.decode_output(
        "accruedFees", chain.call(manifest.exchange, EXCHANGE.encode_call("accruedFees", token))
    )
    return int(fees)


def gas_used(chain: Chain, tx_hash: str) -> int:
    receipt = chain.receipt(bytes.fromhex(tx_hash.removeprefix("0x")))
    return 0 if receipt is None else int(receipt.gas_used)


__all__ = [
    "DemoError",
    "ListedSeries",
    "LocalSigner",
    "Processes",
    "accrued_fees",
    "deploy_venue",
    "deposit",
    "derive_keys",
    "gas_used",
    "head_time",
    "jump_past",
    "list_chain",
    "mint",
    "position",
    "post_price",
    "settle_account",
    "start_anvil",
    "start_relayer",
    "strikebook_command",
    "vault_total",
]
