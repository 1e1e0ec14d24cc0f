"""Engine configuration: self-trade prevention and the expiry safety margin."""

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
    """

    stp: SelfTradePrevention = SelfTradePrevention.CANCEL_RESTING
    expiry_margin_ms: int = 0

    def expires_at_ms(self, expiry: int) -> int:
        """The first unix millisecond at which an order with `expiry` (unix s) no longer matches."""
        return (expiry + 1) * 1000 - self.expiry_margin_ms
