"""The indexer decodes every suite event from the deployment block on and resumes from its cursor."""

from __future__ import annotations

from pathlib import Path

from keys.signer import LocalSigner
from settlement.batch import Batch, SkipReason, decode_settle_call
from settlement.indexer import Indexer, SQLiteIndexerStore
from settlement.journal import SQLiteSubmitJournal
from settlement.submitter import Submitter
from tests.settlement.venue import EXCHANGE, OPTION, PRICE, setup_venue
from tests.support.chain import ChainNode


def test_events_are_decoded_into_typed_records_and_the_cursor_survives_a_restart(
    anvil: ChainNode, tmp_path: Path
) -> None:
    venue = setup_venue(anvil, n_traders=2)
    store_path = tmp_path / "idx.db"
    first = Indexer.for_manifest(venue.chain, venue.manifest, SQLiteIndexerStore(store_path), batch_blocks=3)
    setup_events = first.poll()
    submitter = Submitter(venue.chain, venue.operator, venue.manifest.exchange, SQLiteSubmitJournal(":memory:"))
    fill = venue.fill(0, 1)
    submitter.submit(Batch(1, [fill, venue.fill(0, 0)]))

    restarted = Indexer.for_manifest(venue.chain, venue.manifest, SQLiteIndexerStore(store_path), batch_blocks=3)
    update = restarted.poll()
    idle = restarted.poll()

    names = {e.name for e in setup_events.added}
    assert {"RoleGranted", "AssetAdded", "SeriesListed", "Deposited", "FeeRecipientSet"} <= names
    assert not setup_events.retracted
    assert [e.name for e in update.added] == ["Trade", "FillSkipped", "BatchSettled"]
    trade, skipped, settled = update.added
    assert trade.contract == "Exchange" and trade.args["seq"] == 1
    assert trade.args["maker"] == venue.traders[0].address and trade.args["taker"] == venue.traders[1].address
    assert trade.args["amount"] == OPTION and trade.args["price"] == PRICE and trade.args["makerIsBuy"] is True
    # the anonymous Trade: a log without topics, whose orders are fill `index` of the calldata
    receipt = venue.chain.receipt(trade.tx_hash)
    assert receipt is not None
    (raw,) = [log for log in receipt.logs if log.log_index == trade.log_index]
    assert raw.topics == () and len(raw.data) == 6 * 32
    assert not {"makerOrder", "takerOrder"} & trade.args.keys()
    tx = venue.chain.transaction(trade.tx_hash)
    assert tx is not None
    seq, calldata = decode_settle_call(bytes.fromhex(tx["input"][2:]))
    orders = calldata.fill_orders(calldata.fills[trade.args["index"]])
    assert seq == trade.args["seq"] and orders is not None
    assert [o.order.digest(venue.manifest.domain) for o in orders] == [
        fill.maker.order.digest(venue.manifest.domain),
        fill.taker.order.digest(venue.manifest.domain),
    ]
    assert skipped.args == {"seq": 1, "index": 1, "reason": SkipReason.SELF_TRADE}
    assert settled.args == {"seq": 1, "filled": 1, "skipped": 1}
    assert idle.added == () and idle.retracted == ()
    assert idle.next_block == venue.chain.block_number() + 1


def test_one_shot_cancels_are_decoded_with_maker_series_number_and_sender(anvil: ChainNode, tmp_path: Path) -> None:
    venue = setup_venue(anvil, n_traders=2)
    indexer = Indexer.for_manifest(venue.chain, venue.manifest, SQLiteIndexerStore(tmp_path / "idx.db"))
    indexer.poll()
    trader, delegate = venue.traders[0], LocalSigner(anvil.keys[9])
    venue.send(trader, venue.manifest.exchange, EXCHANGE.encode_call("setDelegate", delegate.address, 2**40))
    venue.send(trader, venue.manifest.exchange, EXCHANGE.encode_call("cancelOneShot", venue.series, [5, 2**64 - 1]))
    venue.send(
        delegate,
        venue.manifest.exchange,
        EXCHANGE.encode_call("cancelOneShotFor", trader.address, venue.series, [7]),
    )

    update = indexer.poll()

    cancels = [e.args for e in update.added if e.name == "OneShotCancelled"]
    assert cancels == [
        {"maker": trader.address, "series": venue.series, "seq": 5, "by": trader.address},
        {"maker": trader.address, "series": venue.series, "seq": 2**64 - 1, "by": trader.address},
        {"maker": trader.address, "series": venue.series, "seq": 7, "by": delegate.address},
    ]
