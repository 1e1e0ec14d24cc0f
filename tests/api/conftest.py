"""API test fixtures: one deployed suite on a real Anvil per module, a fresh venue + server per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.api.support import Rig, api_rig
from tests.settlement.venue import Venue as ChainVenue
from tests.settlement.venue import setup_venue
from tests.support.chain import run_anvil


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainVenue]:
    """Contracts, a listed put and four funded traders on an Anvil shared by one test module."""
    with run_anvil(tmp_path_factory.mktemp("anvil")) as node:
        yield setup_venue(node, n_traders=4)


@pytest.fixture
async def rig(deployed: ChainVenue, tmp_path: Path) -> AsyncIterator[Rig]:
    async with api_rig(deployed, tmp_path) as r:
        yield r
