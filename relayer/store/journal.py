"""The input journal: append engine commands before acknowledging them, replay them to rebuild.

Entries are numbered by the writer (`seq` strictly increasing, no gaps expected). A rebuild
starts from the newest stored snapshot, if any, and replays every later entry, so the book
hash after a restart equals the hash before it (the crash test's check).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relayer.engine import (
    Clock,
    Command,
    EngineConfig,
    ExpireOrders,
    MatchingEngine,
    PlaceOrder,
    RestoreOrder,
    SnapshotFormatError,
    decode_command,
    decode_snapshot,
    encode_command,
    encode_snapshot,
)
from relayer.store.models import JournalRow, SnapshotRow

#: Rows fetched per round trip while replaying.
_REPLAY_CHUNK = 5_000


def command_kind(command: Command) -> str:
    """The journal row kind of `command` (`place`, `expire`, `restore` or `cancel`)."""
    if isinstance(command, PlaceOrder):
        return "place"
    if isinstance(command, ExpireOrders):
        return "expire"
    if isinstance(command, RestoreOrder):
        return "restore"
    return "cancel"


def append(session: Session, seq: int, command: Command) -> None:
    """Add journal entry `seq` for `command` to the session's transaction."""
    session.add(JournalRow(seq=seq, kind=command_kind(command), now_ms=command.now_ms, payload=encode_command(command)))


def last_seq(session: Session) -> int:
    """The highest journal seq stored, 0 for an empty journal."""
    return session.scalar(select(func.coalesce(func.max(JournalRow.seq), 0))) or 0


def entries(session: Session, after: int = 0) -> Iterator[tuple[int, Command]]:
    """Journal entries with seq > `after`, in order, decoded."""
    cursor = after
    while True:
        rows = session.execute(
            select(JournalRow.seq, JournalRow.payload)
            .where(JournalRow.seq > cursor)
            .order_by(JournalRow.seq)
            .limit(_REPLAY_CHUNK)
        ).all()
        if not rows:
            return
        for seq, payload in rows:
            yield seq, decode_command(payload)
        cursor = rows[-1][0]


def save_snapshot(session: Session, journal_seq: int, engine: MatchingEngine) -> None:
    """Store the engine's state as of journal entry `journal_seq`."""
    session.add(
        SnapshotRow(journal_seq=journal_seq, state_hash=engine.state_hash(), payload=encode_snapshot(engine.snapshot()))
    )


def rebuild(session: Session, clock: Clock, config: EngineConfig | None = None) -> tuple[MatchingEngine, int]:
    """The engine as of the last journal entry, and that entry's seq.

    Starts from the newest snapshot (checked against its stored hash) and replays the rest.
    """
    newest = session.scalars(select(SnapshotRow).order_by(SnapshotRow.journal_seq.desc()).limit(1)).first()
    start = 0
    if newest is None:
        engine = MatchingEngine(clock, config)
    else:
        engine = MatchingEngine.restore(decode_snapshot(newest.payload), clock, config)
        if engine.state_hash() != newest.state_hash:
            raise SnapshotFormatError(f"snapshot at journal seq {newest.journal_seq} does not match its hash")
        start = newest.journal_seq
    last = start
    for seq, command in entries(session, after=start):
        engine.apply(command)
        last = seq
    return engine, last
