"""The canonical book hash: equal hashes mean equal resting books, whatever the history.

BLAKE2b-256 (personalised "sbook.book.v1") over the series, then each side best price
first (bids descending, asks ascending) and, inside a price, in time priority: price,
order id and remaining amount, integers as 32-byte big-endian words. The book's `seq` is
left out, so a book rebuilt from stored open orders hashes like the one that produced them.
The engine hash covers every non-empty book, sorted by series.
"""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import blake2b

from relayer.engine.snapshot import BookSnapshot, RestingOrder

_BOOK_PERSON = b"sbook.book.v1"
_ENGINE_PERSON = b"sbook.engine.v1"


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _side(h: blake2b, tag: bytes, orders: tuple[RestingOrder, ...]) -> None:
    h.update(tag + len(orders).to_bytes(8, "big"))
    for o in orders:
        h.update(_word(o.price) + len(o.order_id).to_bytes(1, "big") + o.order_id + _word(o.remaining))


def hash_book(book: BookSnapshot) -> bytes:
    """32-byte canonical hash of one book."""
    h = blake2b(digest_size=32, person=_BOOK_PERSON)
    h.update(len(book.series).to_bytes(1, "big") + book.series)
    _side(h, b"B", book.bids)
    _side(h, b"A", book.asks)
    return h.digest()


def hash_books(books: Iterable[BookSnapshot]) -> bytes:
    """32-byte canonical hash of all non-empty books."""
    h = blake2b(digest_size=32, person=_ENGINE_PERSON)
    for book in sorted(books, key=lambda b: b.series):
        if book.bids or book.asks:
            h.update(hash_book(book))
    return h.digest()
