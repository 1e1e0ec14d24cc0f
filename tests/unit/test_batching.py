"""Cutting pending fills into batches: the cap holds, and no one-shot order is ever split."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from relayer.batching import PendingRow, cut_batch

A, B, C = b"a" * 32, b"b" * 32, b"c" * 32


def _cut(rows: Sequence[tuple[int, bytes | None]], limit: int) -> list[int]:
    """`cut_batch` over `rows` = (fill id, its one-shot order or None), all pending, as the venue reads them."""
    ordered = sorted(rows, key=lambda r: r[0])
    window = [PendingRow(fid, () if o is None else (o,)) for fid, o in ordered[:limit]]
    pending: dict[bytes, list[int]] = {}
    for fid, o in ordered:
        if o is not None:
            pending.setdefault(o, []).append(fid)
    return cut_batch(window, pending, limit)


def test_ordinary_fills_are_cut_at_the_cap() -> None:
    assert _cut([(i, None) for i in range(1, 6)], 3) == [1, 2, 3]


def test_a_one_shot_order_straddling_the_cap_starts_the_next_batch() -> None:
    rows = [(1, None), (2, A), (3, A), (4, A)]
    assert _cut(rows, 2) == [1]
    assert _cut(rows[1:], 2) == [2, 3, 4]  # alone over the cap: all of it, nothing else


def test_a_one_shot_order_that_fits_whole_stays_in() -> None:
    assert _cut([(1, None), (2, A), (3, A), (4, None), (5, None)], 3) == [1, 2, 3]


def test_the_cut_is_checked_again_when_orders_interleave() -> None:
    # B straddles the cap; cutting before B's first fill splits A too, so the cut moves before A
    rows = [(1, None), (2, A), (3, B), (4, A), (5, B)]
    assert _cut(rows, 4) == [1]


@given(
    st.lists(st.sampled_from([None, A, B, C]), min_size=1, max_size=30),
    st.integers(min_value=1, max_value=8),
)
def test_batches_drain_every_fill_in_order_without_splitting_a_one_shot_order(
    owners: list[bytes | None], limit: int
) -> None:
    # one incoming order's fills are consecutive (one commit); a one-shot order fills once
    rows: list[tuple[int, bytes | None]] = []
    seen: set[bytes] = set()
    for i, o in enumerate(owners, start=1):
        if o is not None and o in seen and rows[-1][1] != o:
            o = None
        if o is not None:
            seen.add(o)
        rows.append((i, o))
    batches: list[list[int]] = []
    left = rows
    while left:
        batch = _cut(left, limit)
        assert batch, "a batch is never empty while fills are pending"
        batches.append(batch)
        left = [r for r in left if r[0] not in set(batch)]
    assert [f for b in batches for f in b] == [r[0] for r in rows]  # oldest first, each once
    owner = dict(rows)
    for o in (A, B, C):
        holding = {i for i, b in enumerate(batches) if any(owner[f] == o for f in b)}
        assert len(holding) <= 1
    for b in batches:
        one_shot = {owner[f] for f in b} - {None}
        assert len(b) <= limit or (len(one_shot) == 1 and all(owner[f] in one_shot for f in b))
