"""Opening the store: SQLite (WAL, synchronous=FULL) by default, PostgreSQL by URL.

Every SQLite connection gets `journal_mode=WAL` and `synchronous=FULL` when it opens: with
NORMAL a power loss can undo transactions that WAL mode had already reported committed,
and an acknowledged order must never be lost. PostgreSQL URLs use psycopg 3
(`postgresql+psycopg://`); a bare `postgresql://` is mapped to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from relayer.store.errors import StoreError

#: Statements run on every new SQLite connection, in order.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of a SQLite database file."""
    return f"sqlite:///{Path(path)}"


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def connect(url: str, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine for `url` with the store's connection settings."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise StoreError("the store needs a SQLite file, not an in-memory database")
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    raise StoreError(f"unsupported store backend {backend!r}: use sqlite or postgresql")
