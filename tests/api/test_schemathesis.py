"""Schemathesis against /v1/openapi.json: generated requests never get a 5xx, every answer matches the schema.

The server (a real Venue on Anvil + SQLite behind aiohttp on loopback) runs on its own event loop
in a thread, because schemathesis drives requests synchronously.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from relayer.api.server import bound_port, create_app, serve
from relayer.venue import Venue
from settlement.signing import sign_order
from tests.api.support import api_config
from tests.settlement.venue import Venue as ChainVenue
from tests.settlement.venue import _key
from tests.venue.support import config_for

EXAMPLES_PER_OPERATION = 50
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


class ThreadedServer:
    """Venue + API on a private loop in a daemon thread."""

    def __init__(self, chain: ChainVenue, tmp: Path) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._chain = chain
        self._tmp = tmp
        self.base = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(120)

    async def _start(self) -> str:
        self.venue = await Venue.open(config_for(self._chain, self._tmp))
        await self.venue.start()
        self.runner = await serve(create_app(self.venue, api_config()), "127.0.0.1", 0)
        return f"http://127.0.0.1:{bound_port(self.runner)}"

    async def _stop(self) -> None:
        await self.runner.cleanup()
        await self.venue.stop()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def server(deployed: ChainVenue, tmp_path: Path) -> Iterator[ThreadedServer]:
    srv = ThreadedServer(deployed, tmp_path)
    try:
        yield srv
    finally:
        srv.close()


def test_generated_requests_never_get_a_5xx_and_every_answer_matches_the_schema(
    server: ThreadedServer, deployed: ChainVenue
) -> None:
    schema = schemathesis.openapi.from_url(server.base + "/v1/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # every operation of the document is valid OpenAPI
        operations.append(result.ok())
    assert len(operations) >= 17
    # one real order up front, so lookups and listings also see data
    maker_order = deployed.order(deployed.traders[0], is_buy=True, price=10**6)
    signed = sign_order(maker_order, deployed.manifest.domain, _key(deployed.traders[0]))
    assert (
        requests.post(server.base + "/v1/orders", json={"order": signed.to_json_dict()}, timeout=30).status_code == 201
    )
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def run(case: Case[Any]) -> None:
            response = case.call(base_url=server.base, timeout=30)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's first failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
