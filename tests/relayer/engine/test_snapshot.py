"""Snapshots and journal records: round trips, priority preserved, corrupt input refused."""

from __future__ import annotations

import pytest

from relayer.engine import (
    BookSnapshot,
    CancelOrder,
    CancelReason,
    CommandFormatError,
    EngineSnapshot,
    ExpireOrders,
    Fill,
    MatchingEngine,
    PlaceOrder,
    SnapshotFormatError,
    TimeInForce,
    decode_command,
    decode_snapshot,
    encode_command,
    encode_snapshot,
)
from tests.relayer.engine.builders import ALICE, BOB, CAROL, SERIES_A, SERIES_B, T0_MS, ManualClock, spec


def _populated() -> MatchingEngine:
    engine = MatchingEngine(ManualClock())
    engine.place(spec(buy=False, price=101, amount=3, maker=ALICE))
    engine.place(spec(buy=False, price=101, amount=4, maker=BOB))
    engine.place(spec(buy=True, price=99, amount=(2**255), maker=CAROL, series=SERIES_B))
    engine.place(spec(buy=True, price=98, amount=1, maker=ALICE))
    return engine


def test_snapshot_survives_encoding_and_restores_an_identical_engine() -> None:
    engine = _populated()
    snapshot = engine.snapshot()

    restored = MatchingEngine.restore(decode_snapshot(encode_snapshot(snapshot)), ManualClock())

    assert restored.snapshot() == snapshot
    assert restored.state_hash() == engine.state_hash()
    assert restored.book_seq(SERIES_A) == engine.book_seq(SERIES_A)


def test_restore_keeps_time_priority_whatever_the_listing_order() -> None:
    engine = _populated()
    snapshot = engine.snapshot()
    shuffled = EngineSnapshot(
        snapshot.next_arrival,
        tuple(BookSnapshot(b.series, b.seq, b.bids[::-1], b.asks[::-1]) for b in snapshot.books[::-1]),
    )
    restored = MatchingEngine.restore(shuffled, ManualClock())

    taker = spec(buy=True, price=101, amount=5, maker=CAROL)
    expected = [e for e in engine.place(taker) if isinstance(e, Fill)]
    actual = [e for e in restored.place(taker) if isinstance(e, Fill)]

    assert actual == expected and [f.maker for f in actual] == [ALICE, BOB]


@pytest.mark.parametrize("data", [b"", b"{}", b'{"v": 99}', b'{"v":1,"next_arrival":1,"books":[{"series":"zz"}]}'])
def test_corrupt_snapshot_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(SnapshotFormatError):
        decode_snapshot(data)


def test_restore_refuses_an_order_listed_twice() -> None:
    snapshot = _populated().snapshot()
    book = snapshot.books[0]
    doubled = EngineSnapshot(snapshot.next_arrival, (BookSnapshot(book.series, book.seq, book.bids, book.asks * 2),))

    with pytest.raises(SnapshotFormatError):
        MatchingEngine.restore(doubled, ManualClock())


@pytest.mark.parametrize(
    "command",
    [
        PlaceOrder(spec(buy=True, price=7, amount=2**200, maker=ALICE), TimeInForce.FOK, T0_MS),
        CancelOrder(b"\x05" * 32, CancelReason.DEAD_MAN_SWITCH, T0_MS + 1),
        ExpireOrders(T0_MS + 2),
    ],
)
def test_commands_round_trip_through_their_journal_encoding(command: PlaceOrder | CancelOrder | ExpireOrders) -> None:
    assert decode_command(encode_command(command)) == command


@pytest.mark.parametrize("data", [b"[]", b'{"k":"nope","now":1}', b'{"k":"expire","now":"1"}', b"\xff"])
def test_corrupt_journal_records_are_refused(data: bytes) -> None:
    with pytest.raises(CommandFormatError):
        decode_command(data)
