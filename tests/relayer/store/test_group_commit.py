"""Group commit: one transaction carries many writes; nobody is acknowledged before it commits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from relayer.engine import ExpireOrders
from relayer.store import CommitFailed, GroupCommitter, JournalRow, StoreClosed, journal


def _count_commits(engine: Engine) -> list[int]:
    """A one-element list holding how many transactions `engine` has committed so far."""
    counter = [0]

    def on_commit(_conn: object) -> None:
        counter[0] += 1

    event.listen(engine, "commit", on_commit)
    return counter


def _append(seq: int) -> Callable[[Session], int]:
    def write(session: Session) -> int:
        journal.append(session, seq, ExpireOrders(seq))
        return seq

    return write


def _journal_seqs(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return list(session.scalars(select(JournalRow.seq).order_by(JournalRow.seq)))


async def test_concurrent_writes_share_one_commit_and_each_gets_its_result(db: Engine) -> None:
    commits = _count_commits(db)
    async with GroupCommitter(db) as committer:
        results = await asyncio.gather(*(committer.submit(_append(seq)) for seq in range(1, 51)))

        assert results == list(range(1, 51))
        assert (committer.commits, committer.committed_writes) == (1, 50)
    assert commits[0] == 1
    assert _journal_seqs(db) == list(range(1, 51))


async def test_writes_arriving_during_a_commit_ride_the_next_one(db: Engine) -> None:
    async with GroupCommitter(db) as committer:
        first = asyncio.ensure_future(committer.submit(_append(1)))
        await asyncio.sleep(0)  # the worker takes the first write alone
        rest = [asyncio.ensure_future(committer.submit(_append(seq))) for seq in range(2, 31)]
        await asyncio.gather(first, *rest)

        assert committer.committed_writes == 30
        assert committer.commits == 2
    assert _journal_seqs(db) == list(range(1, 31))


async def test_a_failing_group_fails_every_waiter_and_persists_nothing(db: Engine) -> None:
    commits = _count_commits(db)

    def duplicate(session: Session) -> None:
        journal.append(session, 3, ExpireOrders(0))  # seq 3 is also written by another waiter

    async with GroupCommitter(db) as committer:
        writes: list[Callable[[Session], object]] = [_append(seq) for seq in range(1, 11)]
        writes.insert(5, duplicate)
        outcomes = await asyncio.gather(*(committer.submit(w) for w in writes), return_exceptions=True)

        assert all(isinstance(o, CommitFailed) for o in outcomes)
        assert (committer.commits, committer.failed_commits) == (0, 1)
        assert _journal_seqs(db) == []
        assert commits[0] == 0

        assert await committer.submit(_append(42)) == 42
    assert _journal_seqs(db) == [42]


async def test_a_write_that_raises_fails_its_whole_group(db: Engine) -> None:
    def broken(_session: Session) -> None:
        raise RuntimeError("bad write")

    async with GroupCommitter(db) as committer:
        outcomes = await asyncio.gather(
            committer.submit(_append(1)),
            committer.submit(broken),
            return_exceptions=True,
        )

    assert [type(o) for o in outcomes] == [CommitFailed, CommitFailed]
    assert isinstance(outcomes[1], CommitFailed) and isinstance(outcomes[1].__cause__, RuntimeError)
    with Session(db) as session:
        assert session.scalar(select(func.count()).select_from(JournalRow)) == 0


async def test_a_closed_committer_refuses_writes(db: Engine) -> None:
    committer = GroupCommitter(db)

    with pytest.raises(StoreClosed):
        await committer.submit(_append(1))
