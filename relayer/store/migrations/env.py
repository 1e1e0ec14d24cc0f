"""Alembic environment: migrates the connection `relayer.store.migrate` hands over.

Run programmatically (`upgrade(url)`); with no connection in the config attributes it opens
`sqlalchemy.url` itself through `relayer.store.database.connect`, so the SQLite pragmas apply.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from relayer.store.database import connect
from relayer.store.models import Base


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _migrate(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no connection and no sqlalchemy.url to migrate")
    engine = connect(url)
    try:
        with engine.begin() as connection:
            _migrate(connection)
    finally:
        engine.dispose()


_run()
