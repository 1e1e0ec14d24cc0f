"""A `TradeRecord`'s order digests come from the calldata fill, not the (anonymous) Trade event, so
they may be unknown (None): the audit cache keeps them as they are and the relayer cross-check
compares every field the chain does know. No chain needed."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from settlement.audit.relayer import RelayerReport, ReportedBatch, ReportedFill, cross_check
from settlement.audit.state import STATE_VERSION, BatchRecord, ReplayState, TradeRecord

MAKER, TAKER = "0x" + "11" * 20, "0x" + "22" * 20
TX = "0x" + "ab" * 32
SERIES = "0x" + "01" * 32
DIGESTS = ("0x" + "0d" * 32, "0x" + "0e" * 32)


def _trade(index: int, digests: tuple[str, str] | tuple[None, None]) -> TradeRecord:
    maker_order, taker_order = digests
    return TradeRecord(1, index, 9, TX, 1_000, SERIES, MAKER, TAKER, maker_order, taker_order, True, 5, 7, 35, 1, 2)


def _reported(trade: TradeRecord, maker_order: str = DIGESTS[0], taker_order: str = DIGESTS[1]) -> ReportedFill:
    return ReportedFill(
        trade.seq,
        trade.index,
        trade.tx,
        trade.series,
        trade.maker,
        trade.taker,
        maker_order,
        taker_order,
        trade.maker_is_buy,
        trade.amount,
        trade.price,
        trade.premium,
        trade.maker_fee,
        trade.taker_fee,
    )


class _Report(RelayerReport):
    def __init__(self, fills: list[ReportedFill]) -> None:
        self._fills = fills

    def fills(self, seq: int) -> list[ReportedFill]:
        return [f for f in self._fills if f.seq == seq]

    def batch(self, seq: int) -> ReportedBatch | None:
        return ReportedBatch(1, "settled", TX, 9, 2, 0) if seq == 1 else None


def _state(*trades: TradeRecord) -> ReplayState:
    state = ReplayState(next_block=10, last_seq=1, batches={1: BatchRecord(1, 9, TX, 2, 0)})
    state.trades.extend(trades)
    return state


def test_unknown_digests_survive_the_cache_round_trip() -> None:
    state = _state(_trade(0, DIGESTS), _trade(1, (None, None)))
    obj = json.loads(json.dumps(state.to_json_dict()))
    assert obj["version"] == STATE_VERSION
    assert ReplayState.from_json_dict(obj).trades == state.trades
    with pytest.raises(ValueError, match="unsupported audit state version"):
        ReplayState.from_json_dict({**obj, "version": STATE_VERSION - 1})  # older layout: a cache miss


def test_the_relayer_digests_are_compared_where_the_calldata_named_them() -> None:
    known, unknown = _trade(0, DIGESTS), _trade(1, (None, None))
    honest = _Report([_reported(known), _reported(unknown)])
    other = "0x" + "ff" * 32

    fills_ok, trades_known, batches = cross_check(_state(known, unknown), honest)
    assert fills_ok.passed and trades_known.passed and batches.passed
    assert fills_ok.checked == 2

    edited = _Report([_reported(known, maker_order=other), _reported(unknown, maker_order=other)])
    (fills_bad, *_) = cross_check(_state(known, unknown), edited)
    (ev,) = fills_bad.evidence  # only the trade whose digests the chain's calldata gave
    assert ev.message == "batch 1 fill 0: maker_order differs from the chain"
    assert (ev.expected, ev.found) == (DIGESTS[0], other)

    # every other field of the trade without digests is still held against the chain
    wrong_amount = _Report([_reported(known), replace(_reported(unknown), amount=6)])
    (fills_amount, *_) = cross_check(_state(known, unknown), wrong_amount)
    assert [e.message for e in fills_amount.evidence] == ["batch 1 fill 1: amount differs from the chain"]
