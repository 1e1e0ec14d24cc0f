"""Token-bucket limits: bursts, refill, per-key isolation, and cancels never starved."""

from __future__ import annotations

import pytest

from relayer.api.ratelimit import Limit, RateLimiter, RequestClass


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: FakeClock, max_keys: int = 100_000) -> RateLimiter:
    return RateLimiter(
        limits={RequestClass.GENERAL: Limit(rate=2.0, burst=4), RequestClass.CANCEL: Limit(rate=10.0, burst=20)},
        clock=clock,
        max_keys=max_keys,
    )


def test_burst_is_allowed_then_the_next_request_waits_for_one_refill() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    assert [rl.check("ip") for _ in range(4)] == [0.0] * 4
    assert rl.check("ip") == pytest.approx(0.5)


def test_tokens_refill_with_time_up_to_the_burst() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    for _ in range(4):
        rl.check("ip")
    clock.now += 1.0  # two tokens back
    assert rl.check("ip") == 0.0
    assert rl.check("ip") == 0.0
    assert rl.check("ip") > 0.0
    clock.now += 3600.0  # never more than the burst
    assert [rl.check("ip") for _ in range(4)] == [0.0] * 4
    assert rl.check("ip") > 0.0


def test_keys_are_isolated() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    for _ in range(4):
        rl.check("a")
    assert rl.check("a") > 0.0
    assert rl.check("b") == 0.0


def test_cancels_still_pass_when_the_general_budget_is_spent() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    for _ in range(4):
        rl.check("maker")
    assert rl.check("maker", RequestClass.GENERAL) > 0.0
    assert rl.check("maker", RequestClass.CANCEL) == 0.0


def test_a_cost_above_the_burst_can_never_pass() -> None:
    clock = FakeClock()
    rl = limiter(clock)
    assert rl.check("ip", cost=5) == float("inf")


def test_eviction_keeps_the_table_bounded_and_forgets_only_full_buckets() -> None:
    clock = FakeClock()
    rl = limiter(clock, max_keys=10)
    for _ in range(4):
        rl.check("busy")
    for i in range(30):
        rl.check(f"k{i}", cost=0)  # full buckets: nothing worth remembering
    assert len(rl._buckets) <= 10
    assert rl.check("busy") > 0.0  # the spent bucket survived eviction


def test_limits_reject_nonsense_configuration() -> None:
    with pytest.raises(ValueError):
        Limit(rate=0, burst=1)
    with pytest.raises(ValueError):
        Limit(rate=1, burst=0.5)
