"""The store suite runs twice: on a SQLite file and on a real PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from relayer.store import connect, sqlite_url, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty database: a SQLite file in tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "relayer.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def db(store_url: str) -> Iterator[Engine]:
    """A migrated store on each backend."""
    upgrade(store_url)
    engine = connect(store_url)
    try:
        yield engine
    finally:
        engine.dispose()
