"""Token-bucket rate limits keyed by client (IP or maker), with a separate class for cancels.

Cancels draw from their own, larger bucket, so a client that has spent its order budget can
always still cancel (cancels are never starved by a limit). Pure: the clock is injected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum


class RequestClass(Enum):
    """What a request spends: order placement and queries, or cancels."""

    GENERAL = "general"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Limit:
    """`rate` tokens per second refill, up to `burst` tokens."""

    rate: float
    burst: float

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got rate={self.rate} burst={self.burst}")


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Buckets per (key, class). `check` spends `cost` tokens or says how long to wait."""

    limits: dict[RequestClass, Limit]
    clock: Callable[[], float]
    max_keys: int = 100_000
    _buckets: dict[tuple[str, RequestClass], _Bucket] = field(default_factory=dict)

    def check(self, key: str, cls: RequestClass = RequestClass.GENERAL, cost: float = 1.0) -> float:
        """Spend `cost` tokens for `key`; return 0.0 if allowed, else the seconds until it would be."""
        limit = self.limits[cls]
        now = self.clock()
        bucket = self._buckets.get((key, cls))
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._evict(now)
            bucket = self._buckets[(key, cls)] = _Bucket(tokens=limit.burst, updated=now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(limit.burst, bucket.tokens + elapsed * limit.rate)
            bucket.updated = now
        if cost > limit.burst:
            return float("inf")
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / limit.rate

    def _evict(self, now: float) -> None:
        """Drop buckets that have refilled completely (they carry no state worth keeping)."""
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self.limits[k[1]].rate >= self.limits[k[1]].burst
        ]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self.max_keys:  # still full: drop the oldest
            for k in sorted(self._buckets, key=lambda k: self._buckets[k].updated)[: self.max_keys // 10 or 1]:
                del self._buckets[k]
