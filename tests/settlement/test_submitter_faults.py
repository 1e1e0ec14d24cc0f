"""Chain faults caused with Anvil's own controls: dropped tx, base-fee jump, reorg. Each batch applies once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from settlement.abi import contract_abi
from settlement.batch import Batch
from settlement.chain import Chain, HTTPTransport
from settlement.indexer import Indexer, SQLiteIndexerStore
from settlement.journal import SQLiteSubmitJournal
from settlement.submitter import Submitter, SubmitterConfig
from tests.settlement.venue import OPTION, Venue, setup_venue
from tests.support.chain import ChainNode

SETTLED = contract_abi("Exchange").event_topic("BatchSettled")


class HookTransport:
    """Forwards to a real node; runs `before(method, params)` and `after(method, params, result)` around it."""

    def __init__(
        self,
        url: str,
        after: Callable[[str, Sequence[Any], Any], None] = lambda *_: None,
        before: Callable[[str, Sequence[Any]], None] = lambda *_: None,
    ) -> None:
        self._inner = HTTPTransport(url)
        self._after = after
        self._before = before

    def request(self, method: str, params: Sequence[Any]) -> Any:
        self._before(method, params)
        result = self._inner.request(method, params)
        self._after(method, params, result)
        return result


def settled_count(venue: Venue, seq: int) -> int:
    """BatchSettled logs for `seq` on the canonical chain."""
    logs = venue.chain.logs(
        venue.manifest.deployment_block,
        venue.chain.block_number(),
        [venue.manifest.exchange],
        ["0x" + SETTLED.hex(), "0x" + seq.to_bytes(32, "big").hex()],
    )
    return len(logs)


def _submitter(venue: Venue, chain: Chain, tmp_path: Path, **config: Any) -> Submitter:
    journal = SQLiteSubmitJournal(tmp_path / "journal.db")
    cfg = SubmitterConfig(poll_interval=0.05, timeout=60, **config)
    return Submitter(chain, venue.operator, venue.manifest.exchange, journal, cfg)


def test_dropped_transaction_is_rebroadcast_and_applies_once(anvil: ChainNode, tmp_path: Path) -> None:
    venue = setup_venue(anvil, n_traders=2)
    nonce_before = venue.chain.nonce(venue.operator.address)
    dropped: list[bytes] = []

    def drop_first_send(method: str, params: Sequence[Any], result: Any) -> None:
        if method == "eth_sendRawTransaction" and not dropped:
            anvil.rpc("anvil_dropTransaction", result)
            assert anvil.rpc("eth_getTransactionByHash", result) is None  # really gone from the pool
            dropped.append(bytes.fromhex(result[2:]))
            anvil.rpc("evm_setAutomine", True)

    anvil.rpc("evm_setAutomine", False)
    submitter = _submitter(venue, Chain(HookTransport(anvil.rpc_url, drop_first_send)), tmp_path)

    result = submitter.submit(Batch(1, [venue.fill(0, 1)]))

    assert len(dropped) == 1
    assert result.tx_hash == dropped[0]  # the same signed tx, broadcast again
    assert venue.last_seq() == 1
    assert settled_count(venue, 1) == 1
    assert venue.position(venue.traders[0].address) == OPTION
    assert venue.chain.nonce(venue.operator.address) == nonce_before + 1


def test_base_fee_jump_leaves_the_tx_stuck_until_the_submitter_bumps_it(anvil: ChainNode, tmp_path: Path) -> None:
    venue = setup_venue(anvil, n_traders=2)
    nonce_before = venue.chain.nonce(venue.operator.address)
    jumped: list[int] = []

    def jump_base_fee_before_first_send(method: str, params: Sequence[Any]) -> None:
        # the submitter has priced its tx at the old base fee; the next block costs 200 gwei
        if method == "eth_sendRawTransaction" and not jumped:
            anvil.rpc("anvil_setNextBlockBaseFeePerGas", hex(200 * 10**9))
            jumped.append(1)

    chain = Chain(HookTransport(anvil.rpc_url, before=jump_base_fee_before_first_send))
    submitter = _submitter(venue, chain, tmp_path)

    result = submitter.submit(Batch(1, [venue.fill(0, 1)]))

    first, last = result.attempts[0], result.attempts[-1]
    assert jumped and len(result.attempts) >= 2
    assert first.fees.max_fee is not None and first.fees.max_fee < 200 * 10**9
    assert venue.chain.receipt(first.tx_hash) is None  # the underpriced tx never landed
    assert result.tx_hash == last.tx_hash
    assert {a.nonce for a in result.attempts} == {first.nonce}
    assert last.fees.max_fee is not None and last.fees.priority_fee is not None
    assert first.fees.priority_fee is not None
    assert last.fees.max_fee * 1000 >= first.fees.max_fee * 1125
    assert last.fees.priority_fee * 1000 >= first.fees.priority_fee * 1125
    assert last.fees.max_fee >= 200 * 10**9
    assert venue.last_seq() == 1
    assert settled_count(venue, 1) == 1
    assert venue.chain.nonce(venue.operator.address) == nonce_before + 1


def test_reorg_retracts_the_settled_batch_and_resubmission_applies_it_once(anvil: ChainNode, tmp_path: Path) -> None:
    venue = setup_venue(anvil, n_traders=2)
    indexer = Indexer.for_manifest(venue.chain, venue.manifest, SQLiteIndexerStore(tmp_path / "idx.db"), reorg_depth=8)
    indexer.poll()
    submitter = _submitter(venue, venue.chain, tmp_path)
    batch = Batch(1, [venue.fill(0, 1)])
    nonce_before = venue.chain.nonce(venue.operator.address)

    first = submitter.submit(batch)
    seen = indexer.poll()
    anvil.rpc("evm_mine")
    anvil.rpc("anvil_reorg", 2, [])  # replaces the batch's block and the one above it
    after_reorg = indexer.poll()
    lost_seq = venue.last_seq()
    again = submitter.submit(batch)
    final = indexer.poll()

    assert {e.name for e in seen.added} >= {"Trade", "BatchSettled"}
    assert {(e.name, e.tx_hash) for e in after_reorg.retracted} >= {("BatchSettled", first.tx_hash)}
    assert not after_reorg.added
    assert lost_seq == 0
    assert again.resumed and again.tx_hash == first.tx_hash
    assert [e.args["seq"] for e in final.added if e.name == "BatchSettled"] == [1]
    assert venue.last_seq() == 1
    assert settled_count(venue, 1) == 1
    assert venue.position(venue.traders[0].address) == OPTION
    assert venue.chain.nonce(venue.operator.address) == nonce_before + 1


def test_submitting_an_applied_batch_again_sends_nothing(anvil: ChainNode, tmp_path: Path) -> None:
    venue = setup_venue(anvil, n_traders=2)
    submitter = _submitter(venue, venue.chain, tmp_path)
    batch = Batch(1, [venue.fill(0, 1)])
    first = submitter.submit(batch)
    nonce = venue.chain.nonce(venue.operator.address)

    again = submitter.submit(batch)

    assert again.tx_hash == first.tx_hash and again.resumed
    assert venue.chain.nonce(venue.operator.address) == nonce
    assert settled_count(venue, 1) == 1
