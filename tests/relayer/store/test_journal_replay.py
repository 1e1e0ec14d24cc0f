"""The journal rebuilds the engine: same book hash, same open orders as the store records."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from relayer.engine import CancelOrder, Command, Event, MatchingEngine, PlaceOrder
from relayer.store import FillRow, GroupCommitter, insert_cancel, insert_order, journal, open_orders, record_events
from tests.relayer.store.builders import T0_MS, random_commands, signed


def _write_for(seq: int, command: Command, events: list[Event]) -> Callable[[Session], None]:
    """What the relayer writes for one input: journal entry, order or cancel rows, event effects."""

    def write(session: Session) -> None:
        journal.append(session, seq, command)
        if isinstance(command, PlaceOrder):
            insert_order(session, signed(command.order, command.tif), created_seq=seq)
            session.flush()
        elif isinstance(command, CancelOrder):
            insert_cancel(
                session,
                command.order_id,
                kind="signed",
                reason=command.reason.value,
                journal_seq=seq,
                created_ms=command.now_ms,
            )
        record_events(session, seq, events)

    return write


async def _run_live(db: Engine, commands: list[Command], *, snapshot_at: int | None = None) -> MatchingEngine:
    """Apply `commands` to a live engine, writing each through one group committer."""
    engine = MatchingEngine(lambda: T0_MS)
    async with GroupCommitter(db) as committer:
        pending = []
        for seq, command in enumerate(commands, start=1):
            events = engine.apply(command)
            pending.append(committer.submit(_write_for(seq, command, events)))
            if seq == snapshot_at:
                await asyncio.gather(*pending)
                pending.clear()
                await committer.submit(partial(journal.save_snapshot, journal_seq=seq, engine=engine))
        await asyncio.gather(*pending)
        assert committer.commits < len(commands)
    return engine


async def test_replaying_the_journal_rebuilds_the_identical_book_hash(db: Engine) -> None:
    commands = random_commands(400, seed=11)
    live = await _run_live(db, commands)

    with Session(db) as session:
        rebuilt, last = journal.rebuild(session, clock=lambda: 0)
        stored_open = [(row.order_id, row.remaining) for row in open_orders(session)]
        fills = session.scalar(select(func.count()).select_from(FillRow))

    assert last == len(commands)
    assert rebuilt.state_hash() == live.state_hash()
    assert rebuilt.snapshot() == live.snapshot()
    assert stored_open == [(o.order_id, o.remaining) for o in live.open_orders()]
    assert fills and fills > 0


async def test_rebuild_starts_from_the_newest_snapshot_and_replays_the_tail(db: Engine) -> None:
    commands = random_commands(300, seed=12)
    live = await _run_live(db, commands, snapshot_at=150)

    with Session(db) as session:
        rebuilt, last = journal.rebuild(session, clock=lambda: 0)
        tail = list(journal.entries(session, after=150))

    assert len(tail) == 150 and last == 300
    assert rebuilt.state_hash() == live.state_hash()
    assert rebuilt.snapshot() == live.snapshot()
