"""Engine snapshots: the full book state as plain immutable data, and its byte encoding.

A snapshot lists every resting order in priority order (best price first, then arrival),
with the book's `seq` and the engine's arrival counter, so `MatchingEngine.restore` rebuilds
an engine that behaves identically from then on. The encoding is canonical JSON (sorted
keys, hex bytes, integers kept exact), versioned by `"v"`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from relayer.engine.errors import SnapshotFormatError

_VERSION = 1


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """One resting order as seen from outside the engine.

    `remaining` in options (underlying base units), `price` in quote base units per option,
    `expiry` unix seconds, `arrival` the engine-wide arrival number (time priority).
    """

    order_id: bytes
    maker: bytes
    series: bytes
    is_buy: bool
    price: int
    remaining: int
    expiry: int
    arrival: int


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """One book: `bids` and `asks` each in priority order, and the book's `seq`."""

    series: bytes
    seq: int
    bids: tuple[RestingOrder, ...]
    asks: tuple[RestingOrder, ...]


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    """Every book (sorted by series) and the next arrival number to hand out."""

    next_arrival: int
    books: tuple[BookSnapshot, ...]


def _order_to_json(o: RestingOrder) -> list[Any]:
    return [o.order_id.hex(), o.maker.hex(), o.price, o.remaining, o.expiry, o.arrival]


def _order_from_json(raw: Any, series: bytes, is_buy: bool) -> RestingOrder:
    order_id, maker, price, remaining, expiry, arrival = raw
    for value in (price, remaining, expiry, arrival):
        if type(value) is not int:
            raise SnapshotFormatError(f"expected an integer, got {value!r}")
    return RestingOrder(
        bytes.fromhex(order_id), bytes.fromhex(maker), series, is_buy, price, remaining, expiry, arrival
    )


def encode_snapshot(snapshot: EngineSnapshot) -> bytes:
    """Canonical JSON bytes of `snapshot`."""
    doc = {
        "v": _VERSION,
        "next_arrival": snapshot.next_arrival,
        "books": [
            {
                "series": b.series.hex(),
                "seq": b.seq,
                "bids": [_order_to_json(o) for o in b.bids],
                "asks": [_order_to_json(o) for o in b.asks],
            }
            for b in snapshot.books
        ],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def decode_snapshot(data: bytes) -> EngineSnapshot:
    """Parse bytes written by `encode_snapshot`; raises `SnapshotFormatError` on anything else."""
    try:
        doc = json.loads(data)
        if doc["v"] != _VERSION:
            raise SnapshotFormatError(f"unsupported snapshot version {doc['v']!r}")
        books = []
        for raw in doc["books"]:
            series = bytes.fromhex(raw["series"])
            books.append(
                BookSnapshot(
                    series,
                    int(raw["seq"]),
                    tuple(_order_from_json(o, series, True) for o in raw["bids"]),
                    tuple(_order_from_json(o, series, False) for o in raw["asks"]),
                )
            )
        return EngineSnapshot(int(doc["next_arrival"]), tuple(books))
    except SnapshotFormatError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotFormatError(f"malformed engine snapshot: {exc}") from exc
