"""Venue test fixtures: a deployed suite on a fresh Anvil with funded makers."""

from __future__ import annotations

import pytest

from tests.settlement.venue import Venue as ChainVenue
from tests.settlement.venue import setup_venue
from tests.support.chain import ChainNode
from tests.venue.support import Maker


@pytest.fixture
def deployed(anvil: ChainNode) -> ChainVenue:
    return setup_venue(anvil, n_traders=4)


@pytest.fixture
def makers(deployed: ChainVenue) -> list[Maker]:
    return [Maker(deployed, t) for t in deployed.traders]
