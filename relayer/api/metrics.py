"""Prometheus metrics of one API server (its own registry, so several servers can share a process)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from relayer.views import Health


class _HealthCollector(Collector):
    def __init__(self, health: Callable[[], Health]) -> None:
        self._health = health

    def collect(self) -> Iterable[GaugeMetricFamily]:
        h = self._health()
        for name, value, doc in (
            ("strikebook_venue_ok", int(h.ok), "1 when the venue is healthy"),
            ("strikebook_intake_paused", int(h.intake_paused), "1 while intake is paused"),
            ("strikebook_journal_seq", h.journal_seq, "last journal sequence number"),
            ("strikebook_open_orders", h.open_orders, "resting orders"),
            ("strikebook_pending_fills", h.pending_fills, "fills not yet final on-chain"),
            ("strikebook_last_batch_seq", h.last_batch_seq, "last batch sequence number cut"),
            ("strikebook_chain_head", h.chain_head, "chain head block seen by the venue"),
            ("strikebook_indexed_block", h.indexed_block, "next block the indexer reads"),
        ):
            yield GaugeMetricFamily(name, doc, value=value)


class ApiMetrics:
    """Request, order, cancel and WebSocket counters plus venue health gauges."""

    def __init__(self, health: Callable[[], Health]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "strikebook_http_requests", "HTTP requests by route and status", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "strikebook_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=r,
        )
        self.orders = Counter("strikebook_orders", "submitted orders by outcome", ["outcome"], registry=r)
        self.rate_limited = Counter("strikebook_rate_limited", "requests refused by a limit", ["limit"], registry=r)
        self.ws_clients = Gauge("strikebook_ws_clients", "connected WebSocket clients", registry=r)
        self.ws_messages = Counter("strikebook_ws_messages", "WebSocket messages queued to clients", registry=r)
        self.ws_dropped = Counter("strikebook_ws_dropped", "WebSocket clients dropped", ["reason"], registry=r)
        r.register(_HealthCollector(health))

    def render(self) -> bytes:
        return generate_latest(self.registry)
