"""Migrations, connection settings and exact uint256 columns on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from relayer.engine import OrderSpec
from relayer.store import (
    UINT256_MAX,
    JournalRow,
    OrderRow,
    StoreError,
    connect,
    current_revision,
    insert_order,
    sqlite_url,
    upgrade,
)
from tests.relayer.store.builders import SERIES, signed


def test_every_sqlite_connection_runs_wal_with_full_sync(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "relayer.db")
    upgrade(url)
    engine = connect(url)
    try:
        with engine.connect() as first, engine.connect() as second:
            for conn in (first, second):
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_migrations_reach_head_and_match_the_models(db: Engine) -> None:
    from relayer.store.models import Base

    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)

    assert current_revision(db) == "0004"
    assert diff == []


def test_upgrading_an_up_to_date_store_changes_nothing(store_url: str, db: Engine) -> None:
    upgrade(store_url)

    assert current_revision(db) == "0004"


def test_uint256_columns_are_exact_and_compare_numerically(db: Engine) -> None:
    prices = [UINT256_MAX, 10, 9, 2**64, 10**40]
    with Session(db) as session, session.begin():
        for i, price in enumerate(prices):
            spec = OrderSpec(i.to_bytes(32, "big"), b"\x01" * 20, SERIES, True, price, UINT256_MAX - i, 2**40)
            insert_order(session, signed(spec, nonce=UINT256_MAX), created_seq=i + 1)

    with Session(db) as session:
        ordered = session.scalars(select(OrderRow.price).order_by(OrderRow.price)).all()
        above = session.scalars(select(OrderRow.price).where(OrderRow.price > 10).order_by(OrderRow.price)).all()
        nonces = set(session.scalars(select(OrderRow.nonce)).all())

    assert ordered == sorted(prices)
    assert above == [p for p in sorted(prices) if p > 10]
    assert nonces == {UINT256_MAX}


def test_a_value_outside_uint256_is_refused(db: Engine) -> None:
    spec = OrderSpec(b"\x01" * 32, b"\x01" * 20, SERIES, True, UINT256_MAX + 1, 1, 1)

    with pytest.raises(Exception, match="not a uint256"), Session(db) as session, session.begin():
        insert_order(session, signed(spec), created_seq=1)


def test_the_journal_refuses_updates_and_deletes(db: Engine) -> None:
    with Session(db) as session, session.begin():
        session.add(JournalRow(seq=1, kind="expire", now_ms=1, payload=b"{}"))

    for statement in (update(JournalRow).values(kind="cancel"), delete(JournalRow)):
        with pytest.raises(DBAPIError, match="append-only"), db.begin() as conn:
            conn.execute(statement)

    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM journal")).scalar() == 1


@pytest.mark.parametrize("url", ["mysql+pymysql://u@localhost/x", "sqlite://", "sqlite:///:memory:"])
def test_unsupported_store_urls_are_refused(url: str) -> None:
    with pytest.raises(StoreError):
        connect(url)
