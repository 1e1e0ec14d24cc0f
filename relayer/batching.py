"""Which pending fills go in the next batch: the oldest first, at most the cap, one-shot orders whole.

A one-shot order fills only within the batch that first fills it (docs/PROTOCOL.md): a fill of
it left for a later batch would be skipped as spent. So a batch never splits the fills of one
one-shot order. When the oldest `limit` pending fills would split one, the batch is **cut
earlier**, just before that order's first fill, so the cap stays a hard limit (it bounds the
batch's gas); the order's fills then open the next batch.

A single one-shot order never has more fills than the cap: the engine makes at most
`max_fills_per_order` fills per IOC/FOK order (one-shot orders are IOC/FOK only), and the venue
refuses a config where that exceeds `batch_size` (`relayer.config.VenueConfig`; it defaults to
`batch_size`). The branch for it stays as a guard: should one one-shot order's fills start the
window and run past it, the batch is **extended** to all of that order's fills and nothing
else (it cannot be settled in pieces), over the cap.

In the venue, the fills of one incoming order are written in one commit with consecutive ids,
so the cut falls between orders; `cut_batch` does not rely on that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PendingRow:
    """One pending fill, oldest first by `fill_id`: the one-shot orders among its two orders."""

    fill_id: int
    one_shot: tuple[bytes, ...] = ()


def cut_batch(window: Sequence[PendingRow], pending: Mapping[bytes, Sequence[int]], limit: int) -> list[int]:
    """The fill ids of the next batch.

    `window`: the oldest pending fills, at most `limit` of them, ascending ids. `pending`: for
    every one-shot order named in `window`, the ids of all its pending fills (in or after it).
    """
    rows = list(window[:limit])
    while rows:
        taken = {r.fill_id for r in rows}
        split_at = next(
            (i for i, r in enumerate(rows) if any(not taken.issuperset(pending.get(o, ())) for o in r.one_shot)),
            None,
        )
        if split_at is None:
            return [r.fill_id for r in rows]
        if split_at == 0:
            # one order alone is over the cap (unreachable while max_fills_per_order <= the cap,
            # which the venue enforces): its fills, all of them, are the batch
            order = next(o for o in rows[0].one_shot if not taken.issuperset(pending.get(o, ())))
            return sorted(pending[order])
        rows = rows[:split_at]  # fewer fills: check again (another order may now straddle the cut)
    return []
