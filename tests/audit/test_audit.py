"""`strikebook audit` on a real Anvil: an honest history passes every check, each tampering is caught
by the check that names it, and a second run replays only the new blocks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from settlement._hashing import keccak256
from settlement.audit import AuditCache, Auditor, AuditReport, HTTPBatchTransport, HTTPRelayerReport
from settlement.audit import optionmath as om
from settlement.audit_cli import audit
from settlement.indexer import Indexer, SQLiteIndexerStore
from settlement.oneshot import OneShotWindow, pack_position_slot
from tests.audit.flow import EXCHANGE, TOKEN, Flow, build_flow
from tests.audit.relayer_server import rows_from_events, serve_relayer_report
from tests.support.chain import ChainNode, run_anvil
from tests.support.procs import free_port

CHAIN_CHECKS = [
    "rebuilt_state_matches_storage",
    "vault_solvency",
    "positions_net_zero",
    "locked_equals_required",
    "signatures_verify",
    "trades_match_calldata",
    "orders_not_overfilled",
    "no_fill_after_cancel_or_expiry",
    "batch_seqs_contiguous",
    "expiry_settlement",
]


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    tmp = tmp_path_factory.mktemp("audit-flow")
    with run_anvil(tmp) as node:
        yield build_flow(node, tmp)


@pytest.fixture
def snapshot(flow: Flow) -> Iterator[None]:
    """Undo whatever a test does to the shared chain."""
    snap = flow.venue.node.rpc("evm_snapshot")
    yield
    flow.venue.node.rpc("evm_revert", snap)


def _audit(flow: Flow, *, cache: AuditCache | None = None, to_block: int | None = None) -> AuditReport:
    return Auditor(HTTPBatchTransport(flow.venue.node.rpc_url), flow.venue.manifest, cache=cache).run(to_block)


def _cli(flow: Flow, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        audit,
        [
            "--rpc",
            flow.venue.node.rpc_url,
            "--manifest",
            str(flow.manifest_path),
            "--json",
            str(out),
            "--no-cache",
            *extra,
        ],
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    return result.exit_code, report, result.output


def test_an_honest_full_history_passes_every_check(flow: Flow, tmp_path: Path) -> None:
    code, report, output = _cli(flow, tmp_path)

    assert code == 0, output
    assert report["passed"] is True
    checks = {c["name"]: c for c in report["checks"]}
    assert list(checks) == CHAIN_CHECKS
    assert all(c["passed"] and c["checked"] > 0 for c in checks.values()), checks
    assert report["summary"]["batches"] == 6
    assert report["summary"]["trades"] == 10
    assert report["summary"]["skippedFills"] == 7
    assert checks["signatures_verify"]["checked"] == 20  # both orders of 10 trades, incl. delegate and ERC-1271
    assert checks["no_fill_after_cancel_or_expiry"]["checked"] == 10 * 2 + 3  # + each one-shot order's fills
    assert checks["expiry_settlement"]["checked"] >= 5  # every account settled in both series
    assert "all checks passed" in output
    assert "replaying blocks" not in output  # no progress bar without a terminal


def test_an_honest_history_passes_before_expiry_with_open_positions(flow: Flow) -> None:
    last_batch_block = flow.results[-1].block_number

    report = _audit(flow, to_block=last_batch_block)

    assert report.passed, [(c.name, c.evidence) for c in report.checks if not c.passed]
    assert report.to_block == last_batch_block
    assert report.summary["trades"] == 10
    # positions are open at this block, so locked == required is checked on non-zero collateral
    exchange = flow.venue.manifest.exchange
    data = EXCHANGE.encode_call("positionOf", flow.venue.traders[3].address, flow.venue.series)
    (position,) = EXCHANGE.decode_output("positionOf", flow.venue.chain.call(exchange, data, block=last_batch_block))
    assert position != 0
    assert report.check("locked_equals_required").checked >= 10


def test_the_cli_keeps_its_cache_next_to_the_manifest(flow: Flow, tmp_path: Path) -> None:
    manifest = tmp_path / "deployment.json"
    manifest.write_text(flow.manifest_path.read_text())
    args = ["--rpc", flow.venue.node.rpc_url, "--manifest", str(manifest), "--json", str(tmp_path / "r.json")]

    first = CliRunner().invoke(audit, args)
    first_stats = json.loads((tmp_path / "r.json").read_text())["stats"]
    second = CliRunner().invoke(audit, args)
    second_stats = json.loads((tmp_path / "r.json").read_text())["stats"]

    assert first.exit_code == 0 and second.exit_code == 0, second.output
    assert (tmp_path / "deployment.json.audit-cache.sqlite").exists()
    assert first_stats["cache"] == "miss" and second_stats["cache"] == "hit"
    assert second_stats["blocksScanned"] == 0 < first_stats["blocksScanned"]
    assert "cache hit" in second.output


def test_half_way_through_settlement_only_the_unsettled_accounts_fail(flow: Flow) -> None:
    report = _audit(flow, to_block=flow.settle_blocks[0])  # trader 0 settled, the others not yet

    assert report.failed == ["expiry_settlement"]  # Σ open + settled positions is still zero
    unsettled = {e.account for e in report.check("expiry_settlement").evidence}
    t = flow.venue.traders  # trader 1 sold one put and bought one back: flat, nothing to settle
    assert unsettled == {t[2].address, t[3].address, flow.wallet}
    assert report.check("positions_net_zero").passed


def _balance_slot(flow: Flow, account: str, asset: str) -> int:
    """The storage slot of `_balances[account][asset]`: scan the mapping's base slot."""
    exchange = flow.venue.manifest.exchange
    free, locked = flow.venue.call("Exchange", exchange, "balanceOf", account, asset)
    packed = free | (locked << 128)
    pad = bytes(12)
    for base in range(64):
        inner = keccak256(pad + bytes.fromhex(account[2:]) + base.to_bytes(32, "big"))
        slot = int.from_bytes(keccak256(pad + bytes.fromhex(asset[2:]) + inner), "big")
        if int(str(flow.venue.node.rpc("eth_getStorageAt", exchange, hex(slot), "latest")), 16) == packed:
            return slot
    raise AssertionError("no _balances slot found")


@pytest.mark.usefixtures("snapshot")
def test_a_vault_balance_changed_in_storage_is_caught(flow: Flow) -> None:
    account = flow.venue.traders[2].address
    quote = flow.venue.manifest.tokens["quote"].address
    slot = _balance_slot(flow, account, quote)
    free, _ = flow.venue.call("Exchange", flow.venue.manifest.exchange, "balanceOf", account, quote)
    flow.venue.node.rpc(
        "anvil_setStorageAt", flow.venue.manifest.exchange, hex(slot), "0x" + (free + 7).to_bytes(32, "big").hex()
    )

    report = _audit(flow)

    assert not report.passed
    assert "rebuilt_state_matches_storage" in report.failed
    assert "vault_solvency" in report.failed  # the tokens are not there to back the extra 7
    evidence = report.check("rebuilt_state_matches_storage").evidence
    assert len(evidence) == 1
    assert evidence[0].account == account
    assert evidence[0].expected == f"({free}, 0)" and evidence[0].found == f"({free + 7}, 0)"
    assert evidence[0].block == report.to_block


def _position_slot(flow: Flow, account: str, series: bytes, word: int) -> int:
    """The storage slot of `_positions[account][series]`, found by its current `word`."""
    exchange = flow.venue.manifest.exchange
    pad = bytes(12)
    for base in range(64):
        inner = keccak256(pad + bytes.fromhex(account[2:]) + base.to_bytes(32, "big"))
        slot = int.from_bytes(keccak256(series + inner), "big")
        if int(str(flow.venue.node.rpc("eth_getStorageAt", exchange, hex(slot), "latest")), 16) == word:
            return slot
    raise AssertionError("no _positions slot found")


@pytest.mark.usefixtures("snapshot")
def test_a_one_shot_window_changed_in_storage_is_caught(flow: Flow) -> None:
    exchange, account, put = flow.venue.manifest.exchange, flow.venue.traders[2].address, flow.venue.series
    (position,) = flow.venue.call("Exchange", exchange, "positionOf", account, put)
    base, bits = flow.venue.call("Exchange", exchange, "oneShotWindow", account, put)
    assert (base, bits) == (1_000 - 63, 1 << 63)  # batch 5 spent trader 2's one-shot number 1000
    slot = _position_slot(flow, account, put, pack_position_slot(position, OneShotWindow(base, bits)))
    forged = pack_position_slot(position, OneShotWindow(base, bits | 1 << 5))  # number 942 spent, never used
    flow.venue.node.rpc("anvil_setStorageAt", exchange, hex(slot), "0x" + forged.to_bytes(32, "big").hex())

    report = _audit(flow)

    assert report.failed == ["rebuilt_state_matches_storage"]
    (evidence,) = report.check("rebuilt_state_matches_storage").evidence
    assert evidence.message == f"one-shot window (base, bits) in series 0x{put.hex()} differs from the contract"
    assert evidence.account == account
    assert evidence.expected == f"({base}, {bits})" and evidence.found == f"({base}, {bits | 1 << 5})"


@pytest.mark.usefixtures("snapshot")
def test_a_second_run_replays_only_new_blocks_and_a_reorg_invalidates_the_cache(flow: Flow, tmp_path: Path) -> None:
    cache = AuditCache(tmp_path / "cache.sqlite")
    first = _audit(flow, cache=cache)
    trader = flow.venue.traders[0]
    quote = flow.venue.manifest.tokens["quote"].address
    inner = flow.venue.node.rpc("evm_snapshot")
    flow.venue.send(trader, flow.venue.manifest.exchange, EXCHANGE.encode_call("withdraw", quote, 5))
    flow.venue.send(trader, quote, TOKEN.encode_call("approve", flow.venue.manifest.exchange, 5))
    flow.venue.send(trader, flow.venue.manifest.exchange, EXCHANGE.encode_call("deposit", quote, 5))

    second = _audit(flow, cache=cache)
    flow.venue.node.rpc("evm_revert", inner)
    for _ in range(5):
        flow.venue.node.rpc("evm_mine")  # same heights, other blocks: the cached block hash is gone
    third = _audit(flow, cache=cache)

    assert first.passed and second.passed and third.passed
    assert first.stats["cache"] == "miss"
    assert second.stats["cache"] == "hit"
    assert second.stats["replayedFromBlock"] == first.to_block + 1
    assert second.stats["blocksScanned"] == 3 < first.stats["blocksScanned"]
    assert second.stats["logsRead"] == 2 < first.stats["logsRead"]  # Withdrawn + Deposited
    assert second.stats["transactionsFetched"] == 0 < first.stats["transactionsFetched"]
    assert second.summary["trades"] == first.summary["trades"] == 10
    assert third.stats["cache"] == "stale"
    assert third.stats["blocksScanned"] == third.to_block - flow.venue.manifest.deployment_block + 1


def _relayer_rows(flow: Flow, tmp_path: Path) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    indexer = Indexer.for_manifest(flow.venue.chain, flow.venue.manifest, SQLiteIndexerStore(tmp_path / "idx.db"))
    return rows_from_events(list(indexer.poll().added), flow.venue.chain, flow.venue.manifest.domain)


def _edit_fill(fills: list[dict[str, Any]], batches: dict[int, dict[str, Any]]) -> None:
    fills[3]["amount"] = str(int(fills[3]["amount"]) + 1)


def _drop_batch(fills: list[dict[str, Any]], batches: dict[int, dict[str, Any]]) -> None:
    del batches[2]
    fills[:] = [f for f in fills if f["batch"] != "2"]


def _phantom_fill(fills: list[dict[str, Any]], batches: dict[int, dict[str, Any]]) -> None:
    phantom = dict(fills[0], index="2")  # batch 1 fill 2 was a self-trade the chain skipped
    fills.append(phantom)


def _duplicate_fill(fills: list[dict[str, Any]], batches: dict[int, dict[str, Any]]) -> None:
    fills.append(dict(fills[0]))


def _phantom_batch(fills: list[dict[str, Any]], batches: dict[int, dict[str, Any]]) -> None:
    batches[7] = dict(batches[6], seq="7")
    fills.append(dict(fills[-1], batch="7", index="0"))


@pytest.mark.parametrize(
    ("tamper", "failed"),
    [
        (None, []),
        (_edit_fill, ["relayer_fills_on_chain"]),
        (_drop_batch, ["relayer_trades_known", "relayer_batches"]),
        (_phantom_fill, ["relayer_fills_on_chain"]),
        (_phantom_batch, ["relayer_fills_on_chain", "relayer_batches"]),
        (_duplicate_fill, ["relayer_fills_on_chain"]),
    ],
    ids=["honest", "edited-fill", "missing-batch", "phantom-fill", "phantom-batch", "duplicate-fill"],
)
def test_the_relayer_report_is_cross_checked_against_the_chain(
    flow: Flow, tmp_path: Path, tamper: Any, failed: list[str]
) -> None:
    fills, batches = _relayer_rows(flow, tmp_path)
    if tamper is not None:
        tamper(fills, batches)

    with serve_relayer_report(fills, batches) as url:
        code, report, output = _cli(flow, tmp_path, "--relayer", url)

    checks = {c["name"]: c for c in report["checks"]}
    assert [c for c in checks if not checks[c]["passed"]] == failed, output
    assert code == (1 if failed else 0)
    assert report["relayer"] == url
    assert checks["relayer_trades_known"]["checked"] == 10
    if tamper is _edit_fill:
        (ev,) = checks["relayer_fills_on_chain"]["evidence"]
        assert "amount differs" in ev["message"] and int(ev["found"]) == int(ev["expected"]) + 1
        assert ev["tx"] == fills[3]["txHash"]
    if tamper is _phantom_fill:
        (ev,) = checks["relayer_fills_on_chain"]["evidence"]
        assert ev["found"] == "skipped on-chain (reason 5)"
    if tamper is _drop_batch:
        assert checks["relayer_batches"]["evidence"][0]["message"].startswith("batch 2 is on-chain but missing")
        assert checks["relayer_trades_known"]["failures"] == 2  # batch 2 executed two fills


def test_relayer_pages_are_followed(flow: Flow, tmp_path: Path) -> None:
    fills, batches = _relayer_rows(flow, tmp_path)
    with serve_relayer_report(fills, batches) as url:
        reported = HTTPRelayerReport(url, page_size=1).fills(2)
    assert [(f.seq, f.index) for f in reported] == [(2, 0), (2, 2)]


def test_option_math_mirrors_the_contract(flow: Flow) -> None:
    exchange = flow.venue.manifest.exchange
    for is_call, strike, unit, position in [
        (False, 2_000 * 10**6, 10**18, -(10**18) - 1),
        (False, 1_999_999_999, 10**18, -3),
        (True, 1, 10**6, -12345),
        (False, 7, 10**6, 5),
    ]:
        (want,) = flow.venue.call("Exchange", exchange, "requiredCollateral", is_call, strike, unit, position)
        assert om.required(is_call, strike, unit, position) == want


def test_a_bad_manifest_is_named(tmp_path: Path) -> None:
    missing = CliRunner().invoke(audit, ["--rpc", "http://127.0.0.1:1", "--manifest", str(tmp_path / "nope.json")])
    (tmp_path / "bad.json").write_text('{"version": 1}')
    malformed = CliRunner().invoke(audit, ["--rpc", "http://127.0.0.1:1", "--manifest", str(tmp_path / "bad.json")])

    assert missing.exit_code == 2 and "nope.json not found" in missing.output
    assert malformed.exit_code == 2 and "malformed manifest" in malformed.output


def test_an_unreachable_rpc_or_another_chain_is_named(flow: Flow, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    unreachable = CliRunner().invoke(audit, ["--rpc", url, "--manifest", str(flow.manifest_path), "--no-cache"])
    other = tmp_path / "other.json"
    obj = json.loads(flow.manifest_path.read_text())
    obj["chainId"] = 1
    other.write_text(json.dumps(obj))
    wrong_chain = CliRunner().invoke(audit, ["--rpc", flow.venue.node.rpc_url, "--manifest", str(other), "--no-cache"])

    assert unreachable.exit_code == 2 and f"cannot reach {url}" in unreachable.output
    assert wrong_chain.exit_code == 2 and "manifest is for chain 1" in wrong_chain.output


def test_an_honest_history_on_ganache_passes(ganache: ChainNode, tmp_path: Path) -> None:
    ganache_flow = build_flow(ganache, tmp_path)

    report = Auditor(HTTPBatchTransport(ganache.rpc_url), ganache_flow.venue.manifest).run()

    assert report.passed, [(c.name, c.evidence) for c in report.checks if not c.passed]
    assert report.summary["trades"] == 10 and report.check("signatures_verify").checked == 20
