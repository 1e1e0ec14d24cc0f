"""Group commit: many writers, one transaction, every writer acknowledged after that commit.

Writers `await committer.submit(write)`, where `write(session)` adds its rows. A single
worker drains everything pending into one transaction on one dedicated database thread,
commits, and only then resolves each writer's future with `write`'s return value. While a
commit is in flight new writes queue up and ride the next one, so the commit rate adapts to
the load (one fsync for many orders, as LMAX and SQLite's WAL advice suggest).

If anything in a group fails (a write raises, or the commit does), the transaction is rolled
back and every writer of that group gets `CommitFailed`: nothing in it is persisted and nothing
is acknowledged. The committer keeps running for later writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from relayer.store.errors import CommitFailed, StoreClosed

T = TypeVar("T")

#: A unit of work run inside the shared transaction; its return value is the writer's result.
Write = Callable[[Session], Any]


class GroupCommitter:
    """Gathers concurrent writes into shared transactions on `engine`.

    `max_group` caps the writes per transaction (bounds a transaction's size and latency).
    Use as `async with GroupCommitter(engine) as committer:` or call `start()`/`close()`.
    """

    def __init__(self, engine: Engine, *, max_group: int = 4096, halt_on_failure: bool = False) -> None:
        if max_group < 1:
            raise ValueError("max_group must be at least 1")
        self._engine = engine
        self._max_group = max_group
        #: With `halt_on_failure`, a failed group also fails everything queued behind it and
        #: every later submit until `resume()`: writers whose in-memory effects built on the
        #: failed group (the engine's next inputs) can then never commit without it.
        self._halt_on_failure = halt_on_failure
        self.halted = False
        self._pending: list[tuple[Write, asyncio.Future[Any]]] = []
        self._wakeup = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._closing = False
        #: Successful commits and the writes they carried, for metrics and tests.
        self.commits = 0
        self.committed_writes = 0
        self.failed_commits = 0

    async def __aenter__(self) -> GroupCommitter:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def start(self) -> None:
        """Start the worker on the running event loop."""
        if self._worker is not None:
            return
        self._closing = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-commit")
        self._worker = asyncio.get_running_loop().create_task(self._run(), name="store-group-commit")

    async def close(self) -> None:
        """Commit what is pending, then stop the worker and its thread."""
        if self._worker is None:
            return
        self._closing = True
        self._wakeup.set()
        await self._worker
        self._worker = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def resume(self) -> None:
        """Accept writes again after a halt (the caller has rebuilt its state from the store)."""
        self.halted = False

    async def submit(self, write: Callable[[Session], T]) -> T:
        """Run `write` in the next group transaction; return its result once that commit is durable."""
        if self._worker is None or self._closing:
            raise StoreClosed("the group committer is not running")
        if self.halted:
            raise CommitFailed("the group committer halted after a failed commit")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((write, future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                group = self._pending[: self._max_group]
                del self._pending[: self._max_group]
                writes = [write for write, _ in group]
                try:
                    results = await loop.run_in_executor(self._executor, self._commit, writes)
                except Exception as exc:
                    self.failed_commits += 1
                    if self._halt_on_failure:
                        self.halted = True
                        group = group + self._pending
                        self._pending = []
                    for _, future in group:
                        if not future.done():
                            failure = CommitFailed(f"group commit of {len(group)} writes failed: {exc}")
                            failure.__cause__ = exc
                            future.set_exception(failure)
                    continue
                self.commits += 1
                self.committed_writes += len(group)
                for (_, future), result in zip(group, results, strict=True):
                    if not future.done():
                        future.set_result(result)
            if self._closing:
                return

    def _commit(self, writes: list[Write]) -> list[Any]:
        """On the database thread: run every write in one transaction and commit it."""
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            return [write(session) for write in writes]
