"""The one-shot spend window: the Python twin of the exchange's per-(account, series) window
(docs/PROTOCOL.md, "One-shot orders"). Pure; the auditor replays fills and `OneShotCancelled`
events through it and compares the result with `oneShotWindow` / `isOneShotSpent`.

A window is (base, bits), both uint64, initially (0, 0):
- seq < base: spent; base <= seq < base + 64: spent iff bit (seq - base) is set; else not spent.
- Spending seq >= base + 64 first slides the window so that seq is its top number
  (base = seq - 63, the bits shift down, numbers below the new base are spent), then sets its bit.

In storage the window shares the position slot: low 128 bits the int128 position (two's
complement), bits 128..191 `base`, bits 192..255 `bits` (`pack_position_slot`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SettlementError
from .order import ONE_SHOT_SEQ_MASK, ONE_SHOT_WINDOW

_BITS_MASK = (1 << ONE_SHOT_WINDOW) - 1
_INT128_MIN = -(2**127)
_INT128_MAX = 2**127 - 1
_LOW128 = (1 << 128) - 1


def _check_seq(seq: int) -> int:
    if type(seq) is not int or not 0 <= seq <= ONE_SHOT_SEQ_MASK:
        raise SettlementError(f"one-shot sequence number {seq!r} is outside uint64")
    return seq


@dataclass(frozen=True, slots=True)
class OneShotWindow:
    """The spend state of one (account, series): `base` and the 64 `bits` above it."""

    base: int = 0
    bits: int = 0

    def __post_init__(self) -> None:
        if type(self.base) is not int or not 0 <= self.base <= ONE_SHOT_SEQ_MASK:
            raise SettlementError(f"window base {self.base!r} is outside uint64")
        if type(self.bits) is not int or not 0 <= self.bits <= _BITS_MASK:
            raise SettlementError(f"window bits {self.bits!r} are outside uint64")

    def is_spent(self, seq: int) -> bool:
        """`isOneShotSpent`: whether one-shot order number `seq` can no longer fill."""
        _check_seq(seq)
        if seq < self.base:
            return True
        offset = seq - self.base
        return offset < ONE_SHOT_WINDOW and bool(self.bits >> offset & 1)

    def spend(self, seq: int) -> OneShotWindow:
        """The window after spending `seq` (first fill or cancel). Spending a spent number changes nothing."""
        _check_seq(seq)
        if self.is_spent(seq):
            return self
        base, bits = self.base, self.bits
        if seq >= base + ONE_SHOT_WINDOW:
            shift = seq - (ONE_SHOT_WINDOW - 1) - base
            bits = 0 if shift >= ONE_SHOT_WINDOW else bits >> shift
            base = seq - (ONE_SHOT_WINDOW - 1)
        return OneShotWindow(base, bits | 1 << (seq - base))


def pack_position_slot(position: int, window: OneShotWindow) -> int:
    """The 256-bit storage word of `_positions[account][series]`."""
    if type(position) is not int or not _INT128_MIN <= position <= _INT128_MAX:
        raise SettlementError(f"position {position!r} is outside int128")
    return (position & _LOW128) | window.base << 128 | window.bits << 192


def unpack_position_slot(word: int) -> tuple[int, OneShotWindow]:
    """(position, window) of a `_positions` storage word (the inverse of `pack_position_slot`)."""
    if type(word) is not int or not 0 <= word < 2**256:
        raise SettlementError(f"storage word {word!r} is outside uint256")
    low = word & _LOW128
    position = low - (1 << 128) if low >> 127 else low
    return position, OneShotWindow(word >> 128 & ONE_SHOT_SEQ_MASK, word >> 192)
