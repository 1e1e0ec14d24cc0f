"""What the venue does with a fill the chain skipped: per `SkipReason`, which order is at fault.

- A reason naming one side (`Maker*`/`Taker*`: expired, nonce or hash cancelled on-chain,
  over-filled, bad signature, insufficient funds, one-shot order spent) puts the fault on that
  order: if it still rests it is cancelled (reason `onchain_cancel` for on-chain cancels and
  spent one-shot orders, `insufficient_collateral` for missing funds, else `settlement_failed`).
  A one-shot order (`MakerOrderSpent`/`TakerOrderSpent`, codes 24/25: cancelled with
  `cancelOneShot`, or its sequence number left the window) never rests, so the skip is final for
  it, as for any IOC/FOK order; the stored order keeps the amount as unfilled.
  The other order is innocent: its amount of the fill goes back on the book (`RestoreOrder`:
  in place, keeping priority, if it still rests), provided it is a resting kind of order (GTC or
  post-only) that was neither cancelled nor expired meanwhile, and whose delegate key (if a
  delegate signed it) still signs. No restore, the amount stays unfilled on the stored order,
  when meanwhile:
  - the maker cancelled it by hash with a signed cancel (`Venue.cancel`, reason `requested`),
    also while it was fully matched with its fill settling: the cancel writes a `cancels` row
    for each hash it names that does not rest, in its own commit (nothing is acknowledged if
    that fails), so the mark survives a restart (`recovery.Recovered.soft_cancelled`);
  - the maker cancelled it on-chain by hash (`cancelOrders`) or by nonce: its nonce is below the
    maker's floor (`cancelAllBelow`, `ChainState.min_nonce`, read from the chain when not cached,
    e.g. after a restart; a one-shot nonce never is), reason `onchain_cancel`;
  - its delegate key was revoked or expired (reason `delegate_revoked` / `delegate_expired`);
  - the maker pulled its orders with a signed cancel-all (`Venue.cancel_all`, orders received
    before its timestamp), its dead-man's switch fired (`Venue.cancel_after`), or the operator
    drained it (`Venue.drain_maker`), with reason `requested` / `dead_man_switch` / `operator`.
    This covers the order whether it still rested (partly filled) or was off the book, fully
    matched with fills not final yet: the pull marks it (`Venue._pulled`), in the commit of the
    cancel, and the mark survives a restart (`recovery.Recovered.pulled`, from the `cancels`
    rows). Orders of other makers, and (cancel-all) orders received after it, are restored.
  IOC/FOK amounts are not restored: their moment has passed.
- A reason about the fill or the series (zero/too large amounts, mismatched series or sides,
  self trade, prices not crossed, fee above cap, unknown or expired series) means the pair
  should never have matched: both orders are cancelled if they rest (`series_closed` for
  series reasons, `settlement_failed` otherwise) and nothing is restored.

Settled fills (`Trade`) are final. In every case the fill's collateral reservation is released
and both parties' cached balances are re-read.
"""

from __future__ import annotations

from dataclasses import dataclass

from relayer.engine import CancelReason
from settlement.batch import SkipReason

_MAKER_FAULT = {
    SkipReason.MAKER_ORDER_EXPIRED,
    SkipReason.MAKER_NONCE_CANCELLED,
    SkipReason.MAKER_ORDER_CANCELLED,
    SkipReason.MAKER_OVERFILL,
    SkipReason.MAKER_BAD_SIGNATURE,
    SkipReason.MAKER_INSUFFICIENT_FUNDS,
    SkipReason.MAKER_ORDER_SPENT,
}
_TAKER_FAULT = {
    SkipReason.TAKER_ORDER_EXPIRED,
    SkipReason.TAKER_NONCE_CANCELLED,
    SkipReason.TAKER_ORDER_CANCELLED,
    SkipReason.TAKER_OVERFILL,
    SkipReason.TAKER_BAD_SIGNATURE,
    SkipReason.TAKER_INSUFFICIENT_FUNDS,
    SkipReason.TAKER_ORDER_SPENT,
}
_SERIES = {SkipReason.UNKNOWN_SERIES, SkipReason.SERIES_EXPIRED}


@dataclass(frozen=True, slots=True)
class SkipVerdict:
    """Cancel the orders in `cancel` (with `reason`); restore the fill amount to those in `restore`."""

    cancel_maker: bool
    cancel_taker: bool
    restore_maker: bool
    restore_taker: bool
    reason: CancelReason


def _reason(code: SkipReason) -> CancelReason:
    if code in (
        SkipReason.MAKER_INSUFFICIENT_FUNDS,
        SkipReason.TAKER_INSUFFICIENT_FUNDS,
    ):
        return CancelReason.INSUFFICIENT_COLLATERAL
    if code in (
        SkipReason.MAKER_NONCE_CANCELLED,
        SkipReason.TAKER_NONCE_CANCELLED,
        SkipReason.MAKER_ORDER_CANCELLED,
        SkipReason.TAKER_ORDER_CANCELLED,
        SkipReason.MAKER_ORDER_SPENT,
        SkipReason.TAKER_ORDER_SPENT,
    ):
        return CancelReason.ONCHAIN_CANCEL
    if code in _SERIES:
        return CancelReason.SERIES_CLOSED
    return CancelReason.SETTLEMENT_FAILED


def verdict(code: SkipReason | int) -> SkipVerdict:
    """The policy above for one skip reason (an unknown code is treated as a fill-level failure)."""
    if isinstance(code, SkipReason) and code in _MAKER_FAULT:
        return SkipVerdict(True, False, False, True, _reason(code))
    if isinstance(code, SkipReason) and code in _TAKER_FAULT:
        return SkipVerdict(False, True, True, False, _reason(code))
    reason = _reason(code) if isinstance(code, SkipReason) else CancelReason.SETTLEMENT_FAILED
    return SkipVerdict(True, True, False, False, reason)


def skip_name(code: SkipReason | int) -> str:
    """Stable lowercase name of a skip reason for the store and the API."""
    return code.name.lower() if isinstance(code, SkipReason) else f"code_{code}"
