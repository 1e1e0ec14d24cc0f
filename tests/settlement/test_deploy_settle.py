"""Deploy, deposit and settle on Anvil and on Ganache: the same bytecode and the same Python code."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from settlement.batch import Batch, SkipReason
from settlement.chain import Chain
from settlement.cli import deploy as deploy_command
from settlement.deploy import DeployConfig, deploy
from settlement.errors import ManifestError, SubmitError
from settlement.journal import SQLiteSubmitJournal
from settlement.manifest import Manifest
from settlement.submitter import Submitter
from tests.settlement.venue import OPTION, PRICE, USD, Venue, setup_venue
from tests.support.chain import ChainNode


def _submitter(venue: Venue, tmp_path: Path) -> Submitter:
    return Submitter(venue.chain, venue.operator, venue.manifest.exchange, SQLiteSubmitJournal(tmp_path / "j.db"))


def test_deploy_writes_a_manifest_that_matches_the_chain(chain: ChainNode, tmp_path: Path) -> None:
    rpc = Chain.from_url(chain.rpc_url)
    from keys.signer import LocalSigner

    deployer = LocalSigner(chain.keys[0])
    config = DeployConfig(operators=[chain.addresses[1]], oracle_signers=chain.addresses[5:8], oracle_threshold=2)

    manifest = deploy(rpc, deployer, config)
    manifest.save(tmp_path / "manifest.json")
    loaded = Manifest.load(tmp_path / "manifest.json")

    assert loaded == manifest
    assert loaded.chain_id == chain.chain_id
    loaded.check_chain(rpc)
    assert loaded.roles["Exchange"]["OPERATOR_ROLE"] == [chain.addresses[1]]
    assert loaded.roles["Exchange"]["DEFAULT_ADMIN_ROLE"] == [deployer.address]
    assert loaded.roles["SeriesRegistry"]["LISTER_ROLE"] == [deployer.address]
    assert loaded.oracle_threshold == 2
    assert {k: t.decimals for k, t in loaded.tokens.items()} == {"quote": 6, "underlying": 18}
    first = rpc.block(loaded.deployment_block)
    assert first is not None and rpc.code(loaded.registry, loaded.deployment_block)
    assert not rpc.code(loaded.registry, loaded.deployment_block - 1)
    # the exchange's EIP-712 domain is the one the Python order model computes
    from settlement.abi import contract_abi

    exchange = contract_abi("Exchange")
    (separator,) = exchange.decode_output(
        "domainSeparator", rpc.call(loaded.exchange, exchange.encode_call("domainSeparator"))
    )
    assert separator == loaded.domain.separator


def test_manifest_for_another_chain_or_code_is_refused(anvil: ChainNode, tmp_path: Path) -> None:
    from keys.signer import LocalSigner

    rpc = Chain.from_url(anvil.rpc_url)
    manifest = deploy(rpc, LocalSigner(anvil.keys[0]))

    with pytest.raises(ManifestError, match="chain 1,"):
        replace(manifest, chain_id=1).check_chain(rpc)
    with pytest.raises(ManifestError, match="different code"):
        replace(manifest, code_hashes={**manifest.code_hashes, "Exchange": "0x" + "00" * 32}).check_chain(rpc)
    (tmp_path / "bad.json").write_text('{"version": 1}')
    with pytest.raises(ManifestError, match="malformed"):
        Manifest.load(tmp_path / "bad.json")


def test_deposit_and_settle_a_batch_on_each_chain(chain: ChainNode, tmp_path: Path) -> None:
    venue = setup_venue(chain, n_traders=2)
    buyer, seller = venue.traders
    submitter = _submitter(venue, tmp_path)

    result = submitter.submit(Batch(1, [venue.fill(0, 1, amount=2 * OPTION)]))

    assert result.filled == (0,)
    assert result.skipped == {}
    assert venue.last_seq() == 1
    assert venue.position(buyer.address) == 2 * OPTION
    assert venue.position(seller.address) == -2 * OPTION
    quote = venue.manifest.tokens["quote"].address
    free, locked = venue.call("Exchange", venue.manifest.exchange, "balanceOf", seller.address, quote)
    assert locked == 2 * 2_000 * USD  # a short put locks the strike per option
    assert free == 1_000_000 * USD - 2 * 2_000 * USD + 2 * PRICE - 2 * (USD // 5)


def test_skipped_fills_are_reported_by_simulation_and_receipt(anvil: ChainNode, tmp_path: Path) -> None:
    venue = setup_venue(anvil, n_traders=3)
    good = venue.fill(0, 1)
    self_trade = venue.fill(2, 2)
    poor = venue.fill(0, 1, amount=10**6 * OPTION)  # the maker cannot pay 50M USD of premium
    batch = Batch(1, [good, self_trade, poor])
    submitter = _submitter(venue, tmp_path)

    simulation = submitter.simulate(batch)
    result = submitter.submit(batch)

    expected = {1: SkipReason.SELF_TRADE, 2: SkipReason.MAKER_INSUFFICIENT_FUNDS}
    assert simulation.skips_known and simulation.skipped == expected
    assert simulation.filled == (0,)
    assert result.skipped == expected
    assert result.filled == (0,)


def test_a_batch_that_is_not_next_is_refused_before_sending(anvil: ChainNode, tmp_path: Path) -> None:
    venue = setup_venue(anvil, n_traders=2)
    submitter = _submitter(venue, tmp_path)
    nonce = venue.chain.nonce(venue.operator.address)

    with pytest.raises(SubmitError, match="not next"):
        submitter.submit(Batch(2, [venue.fill(0, 1)]))
    submitter.submit(Batch(1, [venue.fill(0, 1)]))
    with pytest.raises(SubmitError, match="already applied"):
        Submitter(venue.chain, venue.operator, venue.manifest.exchange, SQLiteSubmitJournal(":memory:")).submit(
            Batch(1, [venue.fill(0, 1)])
        )

    assert venue.chain.nonce(venue.operator.address) == nonce + 1
    assert venue.last_seq() == 1


def test_cli_deploy_writes_the_manifest(anvil: ChainNode, tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    runner = CliRunner()

    result = runner.invoke(
        deploy_command,
        ["--rpc", anvil.rpc_url, "--out", str(out), "--key-env", "TEST_DEPLOY_KEY", "--operator", anvil.addresses[2]],
        env={"TEST_DEPLOY_KEY": anvil.keys[0]},
    )

    assert result.exit_code == 0, result.output
    manifest = Manifest.load(out)
    assert json.loads(out.read_text())["chainId"] == 31337
    assert manifest.roles["Exchange"]["OPERATOR_ROLE"] == [anvil.addresses[2]]
    assert manifest.exchange in result.output
    again = runner.invoke(deploy_command, ["--rpc", anvil.rpc_url, "--out", str(out), "--key-env", "TEST_DEPLOY_KEY"])
    assert again.exit_code != 0 and "exists" in again.output


def test_cli_deploy_without_a_key_says_how_to_give_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(deploy_command, ["--out", str(tmp_path / "m.json"), "--key-env", "NO_SUCH_VAR_X"])
    assert result.exit_code == 2
    assert "NO_SUCH_VAR_X" in result.output
