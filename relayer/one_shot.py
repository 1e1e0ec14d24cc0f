"""One-shot orders on the relayer side (docs/PROTOCOL.md, "One-shot orders").

A one-shot order (nonce bit 255 set) fills only within the batch that first fills it; the
exchange then counts it spent in a per-(account, series) window of sequence numbers kept in the
account's position slot. The relayer's rules, and where they live:

- intake (`Venue._validate`/`_accept`): a one-shot order must be IOC or FOK (it can never rest:
  a later fill would be in a later batch), its nonce's bits 64..254 must be zero, and it must not
  be spent already: on-chain (`ChainState.one_shot_window`, the exchange's `oneShotWindow`) or by
  an order of the same account and series the relayer itself filled (`SpendTracker`);
- batching (`relayer.batching.cut_batch`): a batch never splits the fills of one one-shot order;
- reconcile (`relayer.reconcile`): a fill skipped as spent (reasons 24/25) is final, like any
  IOC fill; the innocent resting side gets its amount back.

`Window` mirrors the exchange's window arithmetic so the relayer can answer "spent?" without a
chain read per order.
"""

from __future__ import annotations

from dataclasses import dataclass

from settlement.order import ONE_SHOT_FLAG, ONE_SHOT_SEQ_MASK, ONE_SHOT_WINDOW

#: The only nonce bits a one-shot order may set: the flag and the 64-bit sequence number.
ONE_SHOT_NONCE_BITS = ONE_SHOT_FLAG | ONE_SHOT_SEQ_MASK


def well_formed_nonce(nonce: int) -> bool:
    """Whether a one-shot `nonce` sets no bit between 64 and 254 (the SDK never does; the
    contract ignores those bits, so two orders differing only there would be one order twice)."""
    return nonce & ~ONE_SHOT_NONCE_BITS == 0


@dataclass(frozen=True, slots=True)
class Window:
    """The exchange's spend window of one (account, series): sequence numbers below `base` are
    spent, `base <= seq < base + 64` is spent iff bit `seq - base` of `bits` is set, above is not."""

    base: int = 0
    bits: int = 0

    def spent(self, seq: int) -> bool:
        if seq < self.base:
            return True
        offset = seq - self.base
        return offset < ONE_SHOT_WINDOW and bool(self.bits >> offset & 1)

    def spend(self, seq: int) -> Window:
        """The window after spending `seq` (sliding it when `seq` is past its top, which spends
        every sequence number below the new base)."""
        base, bits = self.base, self.bits
        if seq < base:
            return self
        if seq >= base + ONE_SHOT_WINDOW:
            shift = seq - (ONE_SHOT_WINDOW - 1) - base
            bits = 0 if shift >= ONE_SHOT_WINDOW else bits >> shift
            base = seq - (ONE_SHOT_WINDOW - 1)
        return Window(base, bits | 1 << (seq - base))


class SpendTracker:
    """Spends the relayer has caused but the chain may not show yet: every one-shot order that
    produced a fill is spent as soon as its batch applies (all its fills go in one batch).

    Kept per (account, series) as a `Window`; spends are permanent on-chain, so entries never need
    to be retracted (a spend whose fills were all skipped only makes intake a little stricter).
    """

    def __init__(self) -> None:
        self._windows: dict[tuple[bytes, bytes], Window] = {}

    def spend(self, account: bytes, series: bytes, seq: int) -> None:
        key = (account, series)
        self._windows[key] = self._windows.get(key, Window()).spend(seq)

    def spent(self, account: bytes, series: bytes, seq: int) -> bool:
        window = self._windows.get((account, series))
        return window is not None and window.spent(seq)

    def __len__(self) -> int:
        return len(self._windows)
