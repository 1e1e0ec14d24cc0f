"""Engine configuration: self-trade prevention, the expiry safety margin and the per-order fill limit."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SelfTradePrevention(StrEnum):
    """What happens when an incoming order would match a resting order of the same maker."""

    #: Cancel the rest of the incoming order; fills made before it stand.
    CANCEL_INCOMING = "cancel_incoming"
    #: Cancel the resting order and keep matching the incoming one.
    CANCEL_RESTING = "cancel_resting"


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Venue-wide matching policy.

    `expiry_margin_ms`: an order stops matching this many milliseconds before the last
    instant the chain accepts it (`block.timestamp <= expiry`), so that a fill still settles
    after the batch's latency. 0 matches right up to the chain's own limit.

    `max_fills_per_order`: at most this many fills per incoming IOC or FOK order (None: no
    limit, the bare engine's default; the venue sets it, by default to its batch size, so that
    the fills of one one-shot order always fit in one batch). An IOC that reaches the limit
    stops matching and its remainder is cancelled with reason `fill_limit` (when the book still
    has a crossing order; otherwise `ioc_remainder` as usual); an FOK that would
    need more fills than the limit is cancelled whole as `fok_unfillable`. GTC and post-only
    orders are not limited: a GTC remainder left by a limit would still cross the book, so it
    could not rest; GTC orders are never one-shot, so the batcher may split their fills
    across batches anyway.
    """

    stp: SelfTradePrevention = SelfTradePrevention.CANCEL_RESTING
    expiry_margin_ms: int = 0
    max_fills_per_order: int | None = None

    def __post_init__(self) -> None:
        if self.max_fills_per_order is not None and self.max_fills_per_order < 1:
            raise ValueError(f"max_fills_per_order must be at least 1 (or None), not {self.max_fills_per_order}")

    def expires_at_ms(self, expiry: int) -> int:
        """The first unix millisecond at which an order with `expiry` (unix s) no longer matches."""
        return (expiry + 1) * 1000 - self.expiry_margin_ms
