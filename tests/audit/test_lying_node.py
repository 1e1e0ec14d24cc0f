"""The auditor trusts nothing it reads: a node that lies about logs or transaction input (a
fault-injecting transport over the real Anvil) is caught by the check that covers the lie.

An honest exchange never emits these histories, so this is the only way to see the replay-time
checks (signatures, seqs, cancels, payoffs, calldata) fail."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import pytest

from settlement.audit import Auditor, AuditReport, HTTPBatchTransport
from settlement.audit.rpc import Call
from settlement.batch import DecodedBatchData, PackedFill, PackedOrder, decode_settle_call, encode_settle_call
from settlement.order import hash_order
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


def _is(log: dict[str, Any], name: str) -> bool:
    """Whether raw `log` is a (named, so topic 0 carrying) `name` event; a Trade has no topics."""
    return bool(log["topics"]) and log["topics"][0] == _topic(name)


def _word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def _data_word(log: dict[str, Any], i: int) -> str:
    """Data word `i` of raw `log`, 0x-hex (an address word reads as the address's topic would)."""
    data: str = log["data"]
    return "0x" + data[2 + 64 * i : 2 + 64 * (i + 1)]


def _decoded_trade(log: dict[str, Any]) -> dict[str, Any] | None:
    """The fields of raw `log` if it is a Trade (the anonymous event: no topics, 6 data words)."""
    if log["topics"]:
        return None
    decoded = EXCHANGE.decode_log([], bytes.fromhex(log["data"][2:]))
    return decoded[1] if decoded is not None and decoded[0] == "Trade" else None


def _trade_seq(log: dict[str, Any]) -> int | None:
    """The batch number of a raw Trade log (packed in its `premiumFill` word); None for another log."""
    decoded = _decoded_trade(log)
    return None if decoded is None else int(decoded["seq"])


def _first_trade(logs: Logs) -> dict[str, Any] | None:
    return next((log for log in logs if _decoded_trade(log) is not None), None)


def _maker_order_digest(flow: Flow, trade: dict[str, Any]) -> str:
    """The maker order digest of raw Trade `trade`: fill `index` of its transaction's calldata."""
    decoded = _decoded_trade(trade)
    tx = flow.chain.transaction(bytes.fromhex(trade["transactionHash"][2:]))
    assert decoded is not None and tx is not None
    seq, batch = decode_settle_call(bytes.fromhex(tx["input"][2:]))
    orders = batch.fill_orders(batch.fills[int(decoded["index"])])
    assert seq == decoded["seq"] and orders is not None
    return "0x" + hash_order(orders[0].order, flow.venue.manifest.domain).hex()


def _repoint(batch: DecodedBatchData, fill: int, record: PackedOrder, *, maker: bool) -> DecodedBatchData:
    """`batch` with `record` appended to its orders and fill `fill`'s maker (or taker) pointing at it."""
    f = batch.fills[fill]
    new_index = len(batch.orders)
    edited = PackedFill(
        new_index if maker else f.maker_order,
        f.taker_order if maker else new_index,
        f.fee_index,
        f.amount,
    )
    fills = (*batch.fills[:fill], edited, *batch.fills[fill + 1 :])
    return replace(batch, orders=(*batch.orders, record), fills=fills)


def _with_calldata(tx: dict[str, Any], seq: int, batch: DecodedBatchData) -> dict[str, Any]:
    tx["input"] = "0x" + encode_settle_call(seq, batch.encode()).hex()
    return tx


def _one_shot_batch_logs(flow: Flow, logs: Logs) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Batch 5's first Trade (trader 2's one-shot order taking) and batch 6's FillSkipped of index 0
    (the same one-shot order refused as spent), if both are in `logs`."""
    trade = next((x for x in logs if _trade_seq(x) == 5), None)
    skipped = next((x for x in logs if _is(x, "FillSkipped") and x["topics"][1] == _word(6)), None)
    return None if trade is None or skipped is None else (trade, skipped)


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
        seq, batch = decode_settle_call(bytes.fromhex(tx["input"][2:]))
        # this fill's maker order, re-signed by an outsider's key, as a new order record (other
        # fills of the batch may use the original)
        maker_order = batch.orders[batch.fills[fill].maker_order].order
        forged = sign_digest(outsider, hash_order(maker_order, flow.venue.manifest.domain))
        return _with_calldata(tx, seq, _repoint(batch, fill, PackedOrder(maker_order, forged), maker=True))

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_tx=forge))

    assert report.failed == ["signatures_verify"]
    (ev,) = report.check("signatures_verify").evidence
    assert ev.message.startswith(f"batch {batch} fill {fill}: maker order") and why in ev.message
    assert ev.tx == tx_hash


def test_a_missing_batch_breaks_the_sequence(flow: Flow) -> None:
    def drop_batch_2(logs: Logs) -> Logs:
        return [log for log in logs if not (_is(log, "BatchSettled") and log["topics"][1] == _word(2))]

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_logs=drop_batch_2))

    assert "batch_seqs_contiguous" in report.failed
    ev = report.check("batch_seqs_contiguous").evidence[0]
    assert ev.expected == "2" and ev.found == "3" and ev.block == flow.results[2].block_number


def test_a_fill_after_a_cancel_is_caught(flow: Flow) -> None:
    def cancel_before_first_trade(logs: Logs) -> Logs:
        trade = _first_trade(logs)
        if trade is None:
            return logs
        # the maker is data word 1 of the Trade; its order is the calldata fill's
        maker_topic, maker_order = _data_word(trade, 1), _maker_order_digest(flow, trade)
        cancel = dict(trade, topics=[_topic("OrderCancelled"), maker_topic, maker_order], data=_word(0))
        i = logs.index(trade)
        return [*logs[:i], cancel, *logs[i:]]

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_logs=cancel_before_first_trade))

    assert "no_fill_after_cancel_or_expiry" in report.failed
    assert "rebuilt_state_matches_storage" in report.failed  # the contract never recorded that cancel
    ev = report.check("no_fill_after_cancel_or_expiry").evidence[0]
    assert "filled after its cancel" in ev.message and ev.account == flow.venue.traders[0].address


def test_a_wrong_expiry_payout_is_caught(flow: Flow) -> None:
    def inflate_first_payout(logs: Logs) -> Logs:
        out = []
        done = False
        for log in logs:
            if not done and _is(log, "Settled"):
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
        # premium + 1: the high half of data word 3 (premiumFill) of the packed Trade
        premium_fill = int.from_bytes(data[3 * 32 : 4 * 32], "big") + (1 << 128)
        edited = dict(trade, data="0x" + (data[: 3 * 32] + premium_fill.to_bytes(32, "big") + data[4 * 32 :]).hex())
        return [edited if log is trade else log for log in logs]

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_logs=bump_premium))

    assert "trades_match_calldata" in report.failed
    assert any("premium differs" in e.message for e in report.check("trades_match_calldata").evidence)


def test_the_honest_node_passes_through_the_same_wrapper(flow: Flow) -> None:
    report = _audit(flow, LyingNode(flow.venue.node.rpc_url))
    assert report.passed and [c.name for c in report.checks] == CHAIN_CHECKS


def test_a_one_shot_order_filled_from_a_second_order_record_of_its_batch_is_caught(flow: Flow) -> None:
    """The exchange treats a second record of the same one-shot order in one batch as spent."""
    tx_hash = "0x" + flow.results[4].tx_hash.hex()

    def second_record(tx: dict[str, Any]) -> dict[str, Any]:
        if tx["hash"] != tx_hash:
            return tx
        seq, batch = decode_settle_call(bytes.fromhex(tx["input"][2:]))
        copy = batch.orders[batch.fills[1].taker_order]  # the one-shot taker, same order and signature
        return _with_calldata(tx, seq, _repoint(batch, 1, copy, maker=False))

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_tx=second_record))

    assert report.failed == ["no_fill_after_cancel_or_expiry"]
    (ev,) = report.check("no_fill_after_cancel_or_expiry").evidence
    assert ev.message.startswith("batch 5 fill 1: taker one-shot order")
    assert "filled again after the batch that first filled it" in ev.message
    assert ev.account == flow.venue.traders[2].address and ev.tx == tx_hash


def test_a_one_shot_order_filled_in_a_later_batch_is_caught(flow: Flow) -> None:
    """Batch 6 fill 0 (the one-shot order again, skipped as spent) reported as a Trade instead."""

    def trade_again(logs: Logs) -> Logs:
        found = _one_shot_batch_logs(flow, logs)
        if found is None:
            return logs
        trade, skipped = found
        words = bytearray(bytes.fromhex(trade["data"][2:]))
        premium_fill = int.from_bytes(words[3 * 32 : 4 * 32], "big")
        # batch 6, index 0; the same premium and side
        words[3 * 32 : 4 * 32] = ((premium_fill >> 128 << 128) | (6 << 24) | (premium_fill & 1)).to_bytes(32, "big")
        words[5 * 32 : 6 * 32] = bytes(32)  # batch 6 fill 0 carries no fees
        forged = dict(
            skipped,  # in place of the FillSkipped: its block, transaction and log index
            topics=[],  # a Trade is anonymous
            data="0x" + bytes(words).hex(),
        )
        return [forged if log is skipped else log for log in logs]

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_logs=trade_again))

    assert {"no_fill_after_cancel_or_expiry", "orders_not_overfilled"} <= set(report.failed)
    assert "trades_match_calldata" not in report.failed  # the forged Trade is the calldata's fill 0
    (ev,) = report.check("no_fill_after_cancel_or_expiry").evidence
    assert ev.message.startswith("batch 6 fill 0: taker one-shot order")
    assert ev.expected == "only batch 5 order record 1"
    assert ev.found is not None and ev.found.startswith("batch 6 order record")
    (over,) = report.check("orders_not_overfilled").evidence
    assert over.message.startswith("one-shot order") and over.expected == f"<= {2 * 10**18}"
    assert over.found == str(3 * 10**18)


def test_a_one_shot_fill_after_its_number_was_cancelled_is_caught(flow: Flow) -> None:
    """A OneShotCancelled of trader 2's number 1000 slipped in before batch 5's first Trade."""

    def cancel_first(logs: Logs) -> Logs:
        found = _one_shot_batch_logs(flow, logs)
        if found is None:
            return logs
        trade, _ = found
        series, taker = _data_word(trade, 0), _data_word(trade, 2)  # data words 0 and 2 of the packed Trade
        cancel = dict(
            trade,
            topics=[_topic("OneShotCancelled"), taker, series],
            data="0x" + (1_000).to_bytes(32, "big").hex() + taker[2:],
        )
        i = logs.index(trade)
        return [*logs[:i], cancel, *logs[i:]]

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_logs=cancel_first))

    # the window ends as the chain's (number 1000 spent either way): only the fill is wrong
    assert report.failed == ["no_fill_after_cancel_or_expiry"]
    (ev,) = report.check("no_fill_after_cancel_or_expiry").evidence
    assert ev.message.startswith("batch 5 fill 0: taker one-shot order")
    assert "number 1000 was spent" in ev.message
    assert ev.account == flow.venue.traders[2].address


def test_calldata_whose_fill_names_no_fee_table_entry_is_caught(flow: Flow) -> None:
    """The exchange skips a fill whose fee index is past the fee table (BadFeeIndex): a Trade for it
    contradicts the calldata."""
    tx_hash = "0x" + flow.results[0].tx_hash.hex()

    def bad_fee_index(tx: dict[str, Any]) -> dict[str, Any]:
        if tx["hash"] != tx_hash:
            return tx
        seq, batch = decode_settle_call(bytes.fromhex(tx["input"][2:]))
        edited = replace(batch.fills[0], fee_index=len(batch.fees))
        return _with_calldata(tx, seq, replace(batch, fills=(edited, *batch.fills[1:])))

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_tx=bad_fee_index))

    assert report.failed == ["trades_match_calldata"]
    (ev,) = report.check("trades_match_calldata").evidence
    assert ev.message == "batch 1 fill 0: the calldata fill at this index references an order or fee table entry " + (
        "the batch does not carry"
    )
    assert ev.tx == tx_hash


def test_calldata_whose_fee_table_entry_differs_from_the_fees_charged_is_caught(flow: Flow) -> None:
    """The fee rates the replay checks the Trade's fees against are the fee table entry the fill names."""
    tx_hash = "0x" + flow.results[0].tx_hash.hex()

    def other_rates(tx: dict[str, Any]) -> dict[str, Any]:
        if tx["hash"] != tx_hash:
            return tx
        seq, batch = decode_settle_call(bytes.fromhex(tx["input"][2:]))
        maker_rate, taker_rate = batch.fees[batch.fills[0].fee_index]
        edited = replace(batch.fills[0], fee_index=len(batch.fees))  # a new entry: only fill 0 uses it
        fees = (*batch.fees, (maker_rate, taker_rate // 2))  # within the cap, a different fee
        return _with_calldata(tx, seq, replace(batch, fees=fees, fills=(edited, *batch.fills[1:])))

    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_tx=other_rates))

    assert report.failed == ["trades_match_calldata"]
    (ev,) = report.check("trades_match_calldata").evidence
    assert ev.message == "batch 1 fill 0: taker fee differs"
    assert ev.tx == tx_hash


def test_a_trade_the_calldata_has_no_fill_for_is_caught_and_counted_against_no_order(flow: Flow) -> None:
    """The Trade event names no orders: replay takes them from the calldata fill (seq, index). A
    Trade at an index the calldata does not have fails `trades_match_calldata`, and, naming no
    order, is counted against none."""

    def phantom_index(logs: Logs) -> Logs:
        trade = _first_trade(logs)
        if trade is None:
            return logs
        words = bytearray(bytes.fromhex(trade["data"][2:]))
        premium_fill = int.from_bytes(words[3 * 32 : 4 * 32], "big")
        # the same fill again, as index 40 of its batch (bits 8..23 of premiumFill)
        words[3 * 32 : 4 * 32] = (premium_fill & ~(0xFFFF << 8) | (40 << 8)).to_bytes(32, "big")
        forged = dict(trade, data="0x" + bytes(words).hex())
        i = logs.index(trade)
        return [*logs[: i + 1], forged, *logs[i + 1 :]]

    honest = _audit(flow, LyingNode(flow.venue.node.rpc_url))
    report = _audit(flow, LyingNode(flow.venue.node.rpc_url, edit_logs=phantom_index))

    assert {"trades_match_calldata", "batch_seqs_contiguous"} <= set(report.failed)
    (ev,) = report.check("trades_match_calldata").evidence
    assert ev.message == "batch 1 fill 40: the calldata has no fill at this index"
    assert ev.found == "40" and ev.tx == "0x" + flow.results[0].tx_hash.hex()
    assert report.summary["trades"] == honest.summary["trades"] + 1
    over = report.check("orders_not_overfilled")
    assert over.passed and over.checked == honest.check("orders_not_overfilled").checked
    assert report.summary["orders"] == honest.summary["orders"]
