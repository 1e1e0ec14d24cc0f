"""Every series listed on-chain, read from the registry's `SeriesListed` events.

The venue's own series cache holds only the series its orders touched; `GET /v1/series` must
list what is tradeable, so this catalog scans the registry from the deployment block and then
incrementally (at most once per `min_interval_s`), reading each new series' terms once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from relayer.chainstate import ChainState
from relayer.views import SeriesView
from settlement.abi import contract_abi
from settlement.chain import Chain
from settlement.manifest import Manifest

_REGISTRY = contract_abi("SeriesRegistry")
_LISTED = _REGISTRY.event_topic("SeriesListed")
#: Blocks per eth_getLogs request (node limits).
_SPAN = 10_000


class SeriesCatalog:
    """Listed series by id; `refresh` is cheap when called often (throttled, incremental)."""

    def __init__(
        self,
        chain: Chain,
        manifest: Manifest,
        *,
        min_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chain = chain
        self._manifest = manifest
        self._state = ChainState(chain, manifest)
        self._next_block = manifest.deployment_block
        self._series: dict[bytes, SeriesView] = {}
        self._min_interval = min_interval_s
        self._clock = clock
        self._last = -1e18
        self._lock = asyncio.Lock()

    def get(self, series: bytes) -> SeriesView | None:
        return self._series.get(series)

    def all(self) -> list[SeriesView]:
        return sorted(self._series.values(), key=lambda s: (s.expiry, s.series))

    async def refresh(self, force: bool = False) -> None:
        async with self._lock:
            if not force and self._clock() - self._last < self._min_interval:
                return
            await asyncio.to_thread(self._scan)
            self._last = self._clock()

    async def lookup(self, series: bytes) -> SeriesView | None:
        """The series, refreshing once if it is not known yet."""
        found = self._series.get(series)
        if found is None:
            await self.refresh()
            found = self._series.get(series)
        return found

    def _scan(self) -> None:
        head = self._chain.block_number()
        start = self._next_block
        while start <= head:
            end = min(head, start + _SPAN - 1)
            for log in self._chain.logs(start, end, [self._manifest.registry], [["0x" + _LISTED.hex()]]):
                decoded = _REGISTRY.decode_log(list(log.topics), log.data)
                if decoded is None:
                    continue
                series = bytes(decoded[1]["id"])
                if series in self._series:
                    continue
                terms = self._state.read_series(series)
                if terms is not None:
                    self._series[series] = SeriesView(
                        terms.series,
                        terms.underlying,
                        terms.quote,
                        terms.strike,
                        terms.expiry,
                        terms.is_call,
                        terms.unit,
                    )
            start = end + 1
        self._next_block = start
