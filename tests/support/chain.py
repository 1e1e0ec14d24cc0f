"""Real local EVM nodes for tests: Anvil and Ganache started from node_modules.

Both nodes get the same mnemonic, so account i has the same key and address on each,
and chain tests can run unchanged on either.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from web3 import HTTPProvider, Web3

from settlement.toolchain import find_anvil

from .procs import REPO_ROOT, free_port, stop, wait_until

TEST_MNEMONIC = "test test test test test test test test test test test junk"
N_ACCOUNTS = 10
ANVIL_CHAIN_ID = 31337
GANACHE_CHAIN_ID = 1337

Account.enable_unaudited_hdwallet_features()


def derive_keys(mnemonic: str = TEST_MNEMONIC, count: int = N_ACCOUNTS) -> list[str]:
    """Hex private keys of the first `count` BIP-44 Ethereum accounts of `mnemonic`."""
    return [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").key.to_0x_hex() for i in range(count)]


@dataclass
class ChainNode:
    """A running local node: where to reach it, which accounts it funded, where it logs."""

    kind: str
    rpc_url: str
    chain_id: int
    keys: list[str]
    log_path: Path
    process: subprocess.Popen[bytes]
    _w3: Web3 | None = field(default=None, repr=False)

    @property
    def w3(self) -> Web3:
        if self._w3 is None:
            self._w3 = Web3(HTTPProvider(self.rpc_url, request_kwargs={"timeout": 60}))
        return self._w3

    @property
    def addresses(self) -> list[str]:
        return [Account.from_key(k).address for k in self.keys]

    def rpc(self, method: str, *params: object) -> object:
        """A raw JSON-RPC call (for node controls such as anvil_* and evm_*)."""
        response = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        if "error" in response:
            raise RuntimeError(f"{method} failed: {response['error']}")
        return response.get("result")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _rpc_ready(url: str) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=1) as resp:
        return bool(json.loads(resp.read()).get("result"))


def anvil_binary() -> Path:
    """The platform binary shipped inside @foundry-rs/anvil (no node shim, so signals reach it)."""
    found = find_anvil(REPO_ROOT)
    if found is not None:
        return found
    raise FileNotFoundError("anvil not found in node_modules: run `make build` (npm ci) first")


def ganache_cli() -> Path:
    cli = REPO_ROOT / "node_modules" / "ganache" / "dist" / "node" / "cli.js"
    if not cli.exists():
        raise FileNotFoundError("ganache not found in node_modules: run `make build` (npm ci) first")
    return cli


@contextmanager
def run_anvil(log_dir: Path, *extra_args: str) -> Iterator[ChainNode]:
    """Start Anvil on a free loopback port; stop it on exit."""
    port = free_port()
    log_path = log_dir / f"anvil-{port}.log"
    cmd = [
        str(anvil_binary()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chain-id",
        str(ANVIL_CHAIN_ID),
        "--mnemonic",
        TEST_MNEMONIC,
        "--accounts",
        str(N_ACCOUNTS),
        "--balance",
        "1000000",
        *extra_args,
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _rpc_ready(url), timeout=30, proc=proc, what="anvil", log=log_path)
        yield ChainNode("anvil", url, ANVIL_CHAIN_ID, derive_keys(), log_path, proc)
    finally:
        stop(proc)


@contextmanager
def run_ganache(log_dir: Path, *extra_args: str) -> Iterator[ChainNode]:
    """Start Ganache 7.9.2 (Shanghai) on a free loopback port; stop it on exit."""
    port = free_port()
    log_path = log_dir / f"ganache-{port}.log"
    cmd = [
        "node",
        str(ganache_cli()),
        "--server.host",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--chain.chainId",
        str(GANACHE_CHAIN_ID),
        "--chain.hardfork",
        "shanghai",
        "--wallet.mnemonic",
        TEST_MNEMONIC,
        "--wallet.totalAccounts",
        str(N_ACCOUNTS),
        "--wallet.defaultBalance",
        "1000000",
        *extra_args,
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _rpc_ready(url), timeout=60, proc=proc, what="ganache", log=log_path)
        yield ChainNode("ganache", url, GANACHE_CHAIN_ID, derive_keys(), log_path, proc)
    finally:
        stop(proc)
