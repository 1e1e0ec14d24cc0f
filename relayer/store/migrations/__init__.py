"""Alembic environment of the store; run it through `relayer.store.migrate.upgrade`."""
