"""The operator CLI: --help everywhere, TOML + env config, one-line errors, and each command on a real chain."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from keys.keystore import INSECURE_TEST_SCRYPT_N, KeyRole, Keystore
from relayer.cli import cli
from settlement.abi import contract_abi
from settlement.order import series_id
from settlement.transactions import send_and_wait
from tests.api.support import Rig
from tests.settlement.venue import OPTION, PRICE, USD
from tests.settlement.venue import Venue as ChainVenue
from tests.support.procs import REPO_ROOT, free_port
from tests.venue.support import eventually


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += _all_commands(command, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


def test_every_command_has_help() -> None:
    runner = CliRunner()
    paths = _all_commands(cli)
    for required in [
        ("chain", "up"),
        ("series", "add"),
        ("series", "list"),
        ("relayer", "start"),
        ("relayer", "status"),
        ("batches", "list"),
        ("oracle", "post"),
        ("settle",),
        ("deploy",),
    ]:
        assert required in paths
    for path in paths:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, (path, result.output)


@pytest.fixture
def env_files(deployed: ChainVenue, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    manifest = tmp_path / "manifest.json"
    deployed.manifest.save(manifest)
    config = tmp_path / "strikebook.toml"
    config.write_text(f'rpc = "{deployed.node.rpc_url}"\nmanifest = "{manifest}"\n')
    env = {"STRIKEBOOK_OPERATOR_KEY": deployed.node.keys[0]}
    return config, env


def test_series_add_then_list_with_settings_from_the_toml_file(
    deployed: ChainVenue, env_files: tuple[Path, dict[str, str]]
) -> None:
    config, env = env_files
    runner = CliRunner()
    head = deployed.chain.block("latest")
    assert head is not None
    result = runner.invoke(
        cli,
        ["--config", str(config), "series", "add", "--strike", str(2_500 * USD), "--expiry", "+7d", "--call"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    listed_id = result.output.split()[-1]
    result = runner.invoke(cli, ["--config", str(config), "series", "list", "--json"], env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    mine = next(r for r in rows if r["id"] == listed_id)
    assert mine["type"] == "call" and mine["strike"] == str(2_500 * USD)
    manifest = deployed.manifest
    expected = series_id(
        manifest.tokens["underlying"].address, manifest.tokens["quote"].address, 2_500 * USD, int(mine["expiry"]), True
    )
    assert listed_id == "0x" + expected.hex()
    # the table form too
    result = runner.invoke(cli, ["--config", str(config), "series", "list"], env=env)
    assert result.exit_code == 0 and "call" in result.output


def test_environment_variables_override_the_file(deployed: ChainVenue, env_files: tuple[Path, dict[str, str]]) -> None:
    config, env = env_files
    result = CliRunner().invoke(
        cli, ["--config", str(config), "series", "list"], env={**env, "STRIKEBOOK_RPC": "http://127.0.0.1:9"}
    )
    assert result.exit_code == 1
    assert "cannot reach the JSON-RPC endpoint http://127.0.0.1:9" in result.output
    assert "Traceback" not in result.output


def test_missing_config_and_unreachable_rpc_are_one_line_errors(tmp_path: Path) -> None:
    script = [sys.executable, "-m", "relayer.cli"]
    cases = [
        (["--config", str(tmp_path / "missing.toml"), "series", "list"], "config file"),
        (["series", "list", "--manifest", str(tmp_path / "nope.json")], "manifest"),
        (["relayer", "status", "--api", "http://127.0.0.1:9"], "cannot reach the relayer API"),
    ]
    for args, needle in cases:
        proc = subprocess.run(
            [*script, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        assert proc.returncode != 0
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error:") and needle in lines[0], proc.stderr


def test_relayer_start_with_an_unreachable_rpc_is_a_one_line_error(
    deployed: ChainVenue, env_files: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    _config, env = env_files
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "relayer.cli",
            "relayer",
            "start",
            "--rpc",
            "http://127.0.0.1:9",
            "--manifest",
            str(tmp_path / "manifest.json"),
            "--data-dir",
            str(tmp_path / "data"),
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("first_signer", ["env", "keystore"])
def test_oracle_post_finalizes_a_price_with_the_signers_keys(
    deployed: ChainVenue, env_files: tuple[Path, dict[str, str]], tmp_path: Path, first_signer: str
) -> None:
    config, env = env_files
    oracle = contract_abi("SettlementOracle")
    signers = [deployed.node.addresses[7], deployed.node.addresses[8]]
    op = deployed.operator
    (registered,) = oracle.decode_output(
        "isSigner", deployed.chain.call(deployed.manifest.oracle, oracle.encode_call("isSigner", signers[0]))
    )
    setup = (
        ()
        if registered
        else (  # the module's chain is shared between parametrized runs
            oracle.encode_call("addSigner", signers[0]),
            oracle.encode_call("addSigner", signers[1]),
            oracle.encode_call("setThreshold", 2),
        )
    )
    for data in setup:
        send_and_wait(
            deployed.chain, op, deployed.manifest.oracle, data, nonce=deployed.chain.nonce(op.address, "pending")
        )
    head = deployed.chain.block("latest")
    assert head is not None
    expiry = head.timestamp + 60
    deployed.node.rpc("evm_increaseTime", 120)
    deployed.node.rpc("evm_mine")
    env = {**env, "ORACLE_A": deployed.node.keys[7], "ORACLE_B": deployed.node.keys[8]}
    if first_signer == "keystore":  # an oracle key held encrypted, unlocked with a password from the env
        keystore_dir = tmp_path / "oracle-keys"
        Keystore(keystore_dir, scrypt_n=INSECURE_TEST_SCRYPT_N).import_key(
            "oracle-a", KeyRole.ORACLE, deployed.node.keys[7], "pw-oracle"
        )
        env = {**env, "ORACLE_PW": "pw-oracle"}
        first = ["--signer-keystore", "oracle-a", "--keystore-dir", str(keystore_dir), "--password-env", "ORACLE_PW"]
    else:
        first = ["--signer-key-env", "ORACLE_A"]
    args = [
        "--config",
        str(config),
        "oracle",
        "post",
        "--expiry",
        str(expiry),
        "--price",
        str(1_800 * USD),
        *first,
        "--signer-key-env",
        "ORACLE_B",
    ]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    underlying = deployed.manifest.tokens["underlying"].address
    price, final = oracle.decode_output(
        "finalPrice",
        deployed.chain.call(deployed.manifest.oracle, oracle.encode_call("finalPrice", underlying, expiry)),
    )
    assert final is True and price == 1_800 * USD
    # no signers at all is a usage error naming the options
    bare = CliRunner().invoke(cli, args[: args.index("--price") + 2], env=env)
    assert bare.exit_code == 2 and "--signer-keystore" in bare.output
    # a second post is refused by the contract, with its reason, in one line
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1 and "AlreadyFinal" in result.output


async def test_relayer_status_and_batches_list_read_a_running_relayer(rig: Rig) -> None:
    alice, bob = rig.makers[0], rig.makers[1]
    await rig.post_order(alice.order(is_buy=False, price=PRICE))
    await rig.post_order(bob.order(is_buy=True, price=PRICE, amount=OPTION), timeInForce="ioc")

    async def settled() -> bool:
        batch = await rig.venue.get_batch(1)
        return batch is not None and batch.status.value == "settled"

    await eventually(settled)
    runner = CliRunner()
    status = await asyncio.to_thread(runner.invoke, cli, ["relayer", "status", "--api", rig.base, "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["lastBatchSeq"] == "1"
    listing = await asyncio.to_thread(runner.invoke, cli, ["batches", "list", "--api", rig.base, "--json"])
    assert listing.exit_code == 0, listing.output
    (batch,) = json.loads(listing.output)
    assert batch["seq"] == "1" and batch["status"] == "settled" and batch["filled"] == "1"
    table = await asyncio.to_thread(runner.invoke, cli, ["batches", "list", "--api", rig.base])
    assert table.exit_code == 0 and "settled" in table.output


def _wait_http(url: str, timeout: float = 60.0) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return bytes(resp.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_chain_up_serves_rpc_in_the_foreground_until_interrupted(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "relayer.cli", "chain", "up", "--port", str(port), "--accounts", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "COLUMNS": "200"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.strip() == f"RPC URL: http://127.0.0.1:{port}"
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
        req = urllib.request.Request(first.split()[-1], data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read())["result"] == hex(31337)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" in out and "chain stopped" in out
        assert "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" not in out  # keys only on request
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_relayer_start_serves_the_http_api(
    deployed: ChainVenue, env_files: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    config, env = env_files
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "relayer.cli",
            "--config",
            str(config),
            "relayer",
            "start",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
            "--workers",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        health = json.loads(_wait_http(f"http://127.0.0.1:{port}/v1/health"))
        assert health["ok"] is True
        series = json.loads(_wait_http(f"http://127.0.0.1:{port}/v1/series"))
        assert "0x" + deployed.series.hex() in {s["id"] for s in series["series"]}
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
