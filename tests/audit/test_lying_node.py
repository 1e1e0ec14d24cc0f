"""The auditor trusts nothing it reads: a node that lies about logs or transaction input (a
fault-injecting transport over the real Anvil) is caught by the check that covers the lie.

An honest exchange never emits these histories, so this is the only way to see the replay-time
checks (signatures, seqs, cancels, payoffs, calldata) fail."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode

from settlement.audit import Auditor, AuditReport, HTTPBatchTransport
from settlement.audit.replay import _SETTLE_TYPES
from settlement.audit.rpc import Call
from settlement.order import Order, hash_order
from settlement.signing import sign_digest
from tests.audit.flow import EXCHANGE, Flow, build_flow
from tests.audit.test_audit import CHAIN_CHECKS
from tests.support.chain import run_anvil

Logs = list[dict[str, Any]]


class LyingNode(HTTPBatchTransport):
    """Anvil, except that logs and transactions pass through the given edits."""

    def __init__(
        self,
        url: str,
        edit_logs: Callable[[Logs], Logs] = lambda logs: logs,
        edit_tx: Callable[[dict[str, Any]], dict[str, Any]] = lambda tx: tx,
    ) -> None:
        super().__init__(url)
        self.edit_logs = edit_logs
        self.edit_tx = edit_tx

    def _edit(self, method: str, result: Any) -> Any:
        if method == "eth_getLogs":
            return self.edit_logs(result)
        if method == "eth_getTransactionByHash" and result is not None:
            return self.edit_tx(dict(result))
        return result

    def request(self, method: str, params: Sequence[Any]) -> Any:
        return self._edit(method, super().request(method, params))

    def request_batch(self, calls: Sequence[Call]) -> list[Any]:
        return [self._edit(m, r) for (m, _), r in zip(calls, super().request_batch(calls), strict=True)]


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flow]:
    tmp = tmp_path_factory.mktemp("lying-node")
    with run_anvil(tmp) as node:
        yield build_flow(node, tmp)


def _audit(flow: Flow, node: LyingNode) -> AuditReport:
    return Auditor(node, flow.venue.manifest).run()


def _topic(name: str) -> str:
    return "0x" + EXCHANGE.event_topic(name).hex()


def _word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def _first_trade(logs: Logs) -> dict[str, Any] | None:
    return next((log for log in logs if log["topics"][0] == _topic("Trade")), None)


@pytest.mark.parametrize(
    ("batch", "fill", "why"),
    [
        (1, 0, "not signed by the maker or a live delegate"),  # an EOA maker
        (2, 2, "ERC-1271 isValidSignature refused it"),  # the contract maker
    ],
    ids=["eoa-maker", "erc1271-maker"],
)
def test_a_signature_by_another_key_in_the_calldata_fails_signature_verification(
    flow: Flow, batch: int, fill: int, why: str
) -> None:
    tx_hash = "0x" + flow.results[batch - 1].tx_hash.hex()
    outsider = bytes.fromhex(flow.venue.node.keys[6][2:])

    def forge(tx: dict[str, Any]) -> dict[str, Any]:
        if tx["hash"] != tx_hash:
            return tx
        data = bytes.fromhex(tx["input"][2:])
        seq, orders, fills = abi_decode(_SETTLE_TYPES, data[4:])
        orders, fills = list(orders), [list(f) for f in fills]
        # this fill's maker order, re-signed by an outsider's key, as a new entry of `orders` (other
        # fills of the batch may use the original)
        maker_order = orders[fills[fill][0]][0]
        forged = sign_digest(outsider, hash_order(Order(*maker_order), flow.venue.manifest.domain))
        orders.append((maker_order, forged))
        fills[fill][0] = len(orders) - 1
        tx["input"] = "0x" + (data[:4] + abi_encode(_SETTLE_TYPES, [seq, orders, [tuple(f) for f in fills]])).hex()
        return tx

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_tx=forge))

    assert report.failed == ["signatures_verify"]
    (ev,) = report.check("signatures_verify").evidence
    assert ev.message.startswith(f"batch {batch} fill {fill}: maker order") and why in ev.message
    assert ev.tx == tx_hash


def test_a_missing_batch_breaks_the_sequence(flow: Flow) -> None:
    def drop_batch_2(logs: Logs) -> Logs:
        return [
            log for log in logs if not (log["topics"][0] == _topic("BatchSettled") and log["topics"][1] == _word(2))
        ]

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_logs=drop_batch_2))

    assert "batch_seqs_contiguous" in report.failed
    ev = report.check("batch_seqs_contiguous").evidence[0]
    assert ev.expected == "2" and ev.found == "3" and ev.block == flow.results[2].block_number


def test_a_fill_after_a_cancel_is_caught(flow: Flow) -> None:
    def cancel_before_first_trade(logs: Logs) -> Logs:
        trade = _first_trade(logs)
        if trade is None:
            return logs
        maker_topic, maker_order = trade["topics"][2], "0x" + trade["data"][2 + 64 * 2 : 2 + 64 * 3]
        cancel = dict(trade, topics=[_topic("OrderCancelled"), maker_topic, maker_order], data=_word(0))
        i = logs.index(trade)
        return [*logs[:i], cancel, *logs[i:]]

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_logs=cancel_before_first_trade))

    assert "no_fill_after_cancel_or_expiry" in report.failed
    assert "rebuilt_state_matches_storage" in report.failed  # the contract never recorded that cancel
    ev = report.check("no_fill_after_cancel_or_expiry").evidence[0]
    assert "filled after its cancel" in ev.message and ev.account == flow.venue.traders[0].address


def test_a_wrong_expiry_payout_is_caught(flow: Flow) -> None:
    settled = _topic("Settled")

    def inflate_first_payout(logs: Logs) -> Logs:
        out = []
        done = False
        for log in logs:
            if not done and log["topics"][0] == settled:
                data = bytes.fromhex(log["data"][2:])
                payout = int.from_bytes(data[64:96], "big") + 1
                log = dict(log, data="0x" + (data[:64] + payout.to_bytes(32, "big") + data[96:]).hex())
                done = True
            out.append(log)
        return out

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_logs=inflate_first_payout))

    assert "expiry_settlement" in report.failed
    assert any("payout differs" in e.message for e in report.check("expiry_settlement").evidence)


def test_a_trade_event_that_disagrees_with_its_calldata_is_caught(flow: Flow) -> None:
    def bump_premium(logs: Logs) -> Logs:
        trade = _first_trade(logs)
        if trade is None:
            return logs
        data = bytes.fromhex(trade["data"][2:])
        premium = int.from_bytes(data[7 * 32 : 8 * 32], "big") + 1
        edited = dict(trade, data="0x" + (data[: 7 * 32] + premium.to_bytes(32, "big") + data[8 * 32 :]).hex())
        return [edited if log is trade else log for log in logs]

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_logs=bump_premium))

    assert "trades_match_calldata" in report.failed
    assert any("premium differs" in e.message for e in report.check("trades_match_calldata").evidence)


def test_the_honest_node_passes_through_the_same_wrapper(flow: Flow) -> None:
    report = _audit(flow, LyingNode(flow.venue.node.rpc_url))
    assert report.passed and [c.name for c in report.checks] == CHAIN_CHECKS
