"""`strikebook settle` on a real Anvil: finds every account from the Trade events, settles them all once."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from relayer.cli import cli
from settlement.abi import contract_abi
from settlement.batch import Batch
from settlement.chain import Chain
from settlement.order import series_id
from settlement.transactions import send_and_wait
from tests.settlement.venue import OPTION, STRIKE, USD, Venue, setup_venue
from tests.support.chain import ChainNode

EXCHANGE = contract_abi("Exchange")
ORACLE = contract_abi("SettlementOracle")
REGISTRY = contract_abi("SeriesRegistry")


@pytest.fixture
def venue(anvil: ChainNode) -> Venue:
    return setup_venue(anvil, n_traders=4)


def _settled_position(v: Venue, series: bytes) -> int:
    return int(v.call("Exchange", v.manifest.exchange, "settledPosition", series)[0])


def _setup(v: Venue, tmp_path: Path) -> tuple[list[str], dict[str, str], bytes]:
    """Trades between all four traders in the put, an oracle with keys 7 and 8, and a second, untraded series."""
    op = v.operator
    send = v.send
    # batch 1: 0 buys 2 from 1, 2 buys 1 from 3, 1 buys 1 from 2
    fills = [v.fill(0, 1, amount=2 * OPTION), v.fill(2, 3), v.fill(1, 2)]
    send(op, v.manifest.exchange, Batch(1, fills).calldata())
    for data in (
        ORACLE.encode_call("addSigner", v.node.addresses[7]),
        ORACLE.encode_call("addSigner", v.node.addresses[8]),
        ORACLE.encode_call("setThreshold", 2),
    ):
        send(op, v.manifest.oracle, data)
    # a later series: never expires in this test, so it is out of scope
    underlying = v.manifest.tokens["underlying"].address
    quote = v.manifest.tokens["quote"].address
    later = v.series_expiry + 90 * 86400
    send_and_wait(
        v.chain,
        op,
        v.manifest.registry,
        REGISTRY.encode_call("listSeries", underlying, quote, STRIKE, later, False),
        nonce=v.chain.nonce(op.address, "pending"),
    )
    manifest = tmp_path / "manifest.json"
    v.manifest.save(manifest)
    args = ["--rpc", v.node.rpc_url, "--manifest", str(manifest)]
    env = {"STRIKEBOOK_OPERATOR_KEY": v.node.keys[0], "ORACLE_A": v.node.keys[7], "ORACLE_B": v.node.keys[8]}
    return args, env, series_id(underlying, quote, STRIKE, later, False)


def test_settle_settles_every_account_once_and_dry_run_changes_nothing(venue: Venue, tmp_path: Path) -> None:
    v = venue
    args, env, later = _setup(v, tmp_path)
    runner = CliRunner()
    traders = [t.address for t in v.traders]
    before = {a: v.position(a) for a in traders}
    assert before == {traders[0]: 2 * OPTION, traders[1]: -OPTION, traders[2]: 0, traders[3]: -OPTION}
    sid = "0x" + v.series.hex()

    # not expired yet: nothing to do without a filter, a one-line error naming the series with one
    result = runner.invoke(cli, ["settle", *args], env=env)
    assert result.exit_code == 0 and "no listed series has expired yet" in result.output, result.output
    result = runner.invoke(cli, ["settle", *args, "--series", sid], env=env)
    assert result.exit_code == 1 and "has not expired" in result.output and sid in result.output

    v.node.rpc("evm_increaseTime", 31 * 86400)
    v.node.rpc("evm_mine")
    # expired but no final price: the error names the series and its expiry
    for extra in ([], ["--series", sid]):
        result = runner.invoke(cli, ["settle", *args, *extra], env=env)
        assert result.exit_code == 1, result.output
        assert "no final price yet" in result.output and sid in result.output
        assert str(v.series_expiry) in result.output
        assert "Traceback" not in result.output

    post = ["oracle", "post", *args, "--expiry", str(v.series_expiry), "--price", str(1_800 * USD)]
    result = runner.invoke(cli, [*post, "--signer-key-env", "ORACLE_A", "--signer-key-env", "ORACLE_B"], env=env)
    assert result.exit_code == 0, result.output

    # dry run: lists the three open positions, sends nothing (no key needed)
    head = v.chain.block_number()
    result = runner.invoke(cli, ["settle", *args, "--dry-run"], env={}, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "3 positions of 3 accounts would be settled" in result.output
    for a in (traders[0], traders[1], traders[3]):
        assert a in result.output
    assert traders[2] not in result.output  # traded, but flat
    assert v.chain.block_number() == head
    assert {a: v.position(a) for a in traders} == before
    assert _settled_position(v, v.series) == 0

    result = runner.invoke(cli, ["settle", *args], env=env)
    assert result.exit_code == 0, result.output
    assert "settled 3 positions of 3 accounts in 1 series (3 transactions" in result.output
    assert all(v.position(a) == 0 for a in traders)
    # settledPosition sums what was settled: +2 - 1 - 1
    assert _settled_position(v, v.series) == 0
    settled = [
        EXCHANGE.decode_log(list(log.topics), log.data)
        for log in v.chain.logs(
            0, v.chain.block_number(), [v.manifest.exchange], [["0x" + EXCHANGE.event_topic("Settled").hex()]]
        )
    ]
    assert sorted((d[1]["account"], d[1]["position"]) for d in settled if d) == sorted(
        [(traders[0], 2 * OPTION), (traders[1], -OPTION), (traders[3], -OPTION)]
    )
    # the put finished 200 tUSD in the money: the long of 2 was paid 400 tUSD
    long_payout = next(d[1]["payout"] for d in settled if d and d[1]["account"] == traders[0])
    assert long_payout == 2 * 200 * USD

    # idempotent: a second run finds nothing and says so, sending nothing
    head = v.chain.block_number()
    result = runner.invoke(cli, ["settle", *args], env=env)
    assert result.exit_code == 0, result.output
    assert "nothing to settle" in result.output and "already settled" in result.output
    assert v.chain.block_number() == head

    # a filter on the untraded, unexpired series is refused; an unknown id too
    result = runner.invoke(cli, ["settle", *args, "--series", "0x" + later.hex()], env=env)
    assert result.exit_code == 1 and "has not expired" in result.output
    result = runner.invoke(cli, ["settle", *args, "--series", "0x" + "ab" * 32], env=env)
    assert result.exit_code == 1 and "is not listed" in result.output


def test_settle_sends_one_transaction_per_account_for_many_accounts(venue: Venue, tmp_path: Path) -> None:
    """Each account gets one transaction covering all its series; `--series` narrows it to one."""
    v = venue
    args, env, _later = _setup(v, tmp_path)
    v.node.rpc("evm_increaseTime", 31 * 86400)
    v.node.rpc("evm_mine")
    runner = CliRunner()
    post = ["oracle", "post", *args, "--expiry", str(v.series_expiry), "--price", str(2_100 * USD)]
    result = runner.invoke(cli, [*post, "--signer-key-env", "ORACLE_A", "--signer-key-env", "ORACLE_B"], env=env)
    assert result.exit_code == 0, result.output
    # the sender needs no relation to the accounts: trader 5 (unfunded in the vault) sends
    result = runner.invoke(
        cli, ["settle", *args, "--series", "0x" + v.series.hex(), "--key-env", "K5"], env={"K5": v.node.keys[5]}
    )
    assert result.exit_code == 0, result.output
    assert "settled 3 positions of 3 accounts in 1 series" in result.output
    assert all(v.position(t.address) == 0 for t in v.traders)
    # an out-of-the-money put pays longs nothing; every short got its collateral back
    quote = v.manifest.tokens["quote"].address
    free, locked = v.call("Exchange", v.manifest.exchange, "balanceOf", v.traders[1].address, quote)
    assert locked == 0 and free > 0
    assert Chain.from_url(v.node.rpc_url).nonce(v.node.addresses[5]) == 3
