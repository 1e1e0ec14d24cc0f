"""A consumer of the venue's update stream stops when cancelled, even as an update arrives.

On Python 3.11 `asyncio.wait_for` returns the result and swallows a cancel of its caller that lands
after the awaited thing completed but before the caller resumed. The loop below steps the event
loop by hand (`asyncio.sleep(0)` runs each ready callback once, in order), so every point of that
window is hit deterministically: no timing is involved.
"""

from __future__ import annotations

import asyncio

from relayer.stream import BookDelta, StreamHub, Subscription, Update
from tests.venue.support import eventually


async def _parked(waitable: object, waiters: str) -> None:
    """Wait until a task waits on `waitable` (its `waiters` deque is not empty)."""
    await eventually(lambda: getattr(waitable, waiters, None))


async def _consume(sub: Subscription, got: list[Update | None]) -> None:
    while True:
        got.append(await sub.get(timeout=60))


async def test_subscription_get_never_swallows_a_cancel() -> None:
    update = BookDelta(series=b"\x01" * 32, seq=1, is_bid=True, price=2, amount=3)
    for steps in range(5):  # 1 and 2 are the window where wait_for swallowed the cancel
        hub = StreamHub()
        sub = hub.subscribe()
        got: list[Update | None] = []
        task = asyncio.create_task(_consume(sub, got))
        queue = sub._queue
        await _parked(queue, "_getters")  # parked on the queue
        hub.publish([update])
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=10)
        assert task in done and task.cancelled(), f"consumer kept running after a cancel {steps} steps in"
        # the update was either delivered or is still queued: a cancel never loses one
        assert len(got) + sub._queue.qsize() == 1 and all(u == update for u in got), (steps, got)
        hub.close()
