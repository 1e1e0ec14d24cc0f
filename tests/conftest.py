"""Shared pytest fixtures: real Anvil and Ganache nodes, a throwaway PostgreSQL cluster.

Every fixture starts a real server on a free loopback port and stops it afterwards. When a
test fails, the logs of the nodes it used are attached to its report.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.chain import ChainNode, run_anvil, run_ganache
from tests.support.postgres import PostgresServer, run_postgres

_LOGS_KEY = pytest.StashKey[list[tuple[str, Path]]]()


def _attach_log(request: pytest.FixtureRequest, name: str, path: Path) -> None:
    request.node.stash.setdefault(_LOGS_KEY, []).append((name, path))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for name, path in item.stash.get(_LOGS_KEY, []):
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-200:]
                report.sections.append((f"{name} log ({path})", "\n".join(lines)))
    return report


@pytest.fixture
def anvil(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChainNode]:
    """A fresh Anvil node for one test (starts in well under a second)."""
    with run_anvil(tmp_path) as node:
        _attach_log(request, "anvil", node.log_path)
        yield node


@pytest.fixture
def ganache(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChainNode]:
    """A fresh Ganache 7.9.2 node (Shanghai) for one test."""
    with run_ganache(tmp_path) as node:
        _attach_log(request, "ganache", node.log_path)
        yield node


@pytest.fixture(params=["anvil", "ganache"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChainNode]:
    """The same test on both local chains the design names."""
    runner = run_anvil if request.param == "anvil" else run_ganache
    with runner(tmp_path) as node:
        _attach_log(request, node.kind, node.log_path)
        yield node


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the whole session."""
    with run_postgres() as server:
        yield server


_db_counter = iter(range(1_000_000))


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, postgres_server: PostgresServer) -> Iterator[str]:
    """A SQLAlchemy URL to a fresh, empty database on the session's cluster."""
    _attach_log(request, "postgres", postgres_server.log_path)
    name = f"t{next(_db_counter)}"
    admin = create_engine(postgres_server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_server.url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
