"""The venue façade: the one object the HTTP API and the CLI use.

    venue = await Venue.open(config)      # migrate the store, rebuild books, reconcile batches
    await venue.start()                   # chain poller, batcher, expiry and dead-man timers
    results = await venue.submit_orders([OrderSubmission(signed_order)])
    async for update in venue.subscribe(): ...
    await venue.stop()

Everything is async and runs on one event loop; the matching engine has a single writer (this
object). Acknowledgement = return of `submit_orders`/`cancel*`: it happens only after the group
commit holding the journal entry, so an acknowledged order survives any crash. Rejections are
returned per order (`OrderResult.error_code`, `relayer.intake.RejectCode`), never raised;
requests refused as a whole raise `IntakeError` (its `code` is stable).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from relayer.cancels import SignedCancel
from relayer.config import VenueConfig
from relayer.engine import TimeInForce
from relayer.stream import Subscription
from relayer.views import BatchView, BookView, FillView, Health, OrderResult, OrderState, OrderView, Page, SeriesView
from settlement.order import SignedOrder


@dataclass(frozen=True, slots=True)
class OrderSubmission:
    """One order as a client submits it.

    `order`: a parsed `SignedOrder`, or the canonical JSON object (`SignedOrder.to_json_dict`
    shape) to be parsed by intake's schema step. `tif`: GTC (default), IOC, FOK or POST_ONLY.
    `chain_id`/`verifying_contract`: the domain the client says it signed under (optional;
    a mismatch is rejected with `wrong_domain`). `client_id`: an opaque client tag (<= 64
    chars) stored with the order and echoed in results.
    """

    order: SignedOrder | Mapping[str, Any]
    tif: TimeInForce = TimeInForce.GTC
    chain_id: int | None = None
    verifying_contract: str | None = None
    client_id: str | None = None


class Venue:
    """Intake, matching, persistence, batching, chain reconciliation and streaming of one deployment."""

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(cls, config: VenueConfig) -> Venue:
        """Migrate the store, rebuild books and reservations, read chain state, reconcile batches."""
        raise NotImplementedError

    async def start(self) -> None:
        """Start the background tasks: chain poller, batcher, expiry sweeps, dead-man's switches."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop accepting input, finish in-flight commits and the current batch step, close everything."""
        raise NotImplementedError

    # ------------------------------------------------------------------ orders

    async def submit_orders(self, orders: Sequence[OrderSubmission]) -> list[OrderResult]:
        """Validate, match and store `orders`; one result per order, in order.

        Returns after the commit holding the accepted ones. A known order id returns the stored
        order with `duplicate=True`. Raises `IntakeError(invalid_schema)` for more than
        `config.max_orders_per_request` orders.
        """
        raise NotImplementedError

    async def cancel(self, signed: SignedCancel) -> list[OrderResult]:
        """Apply a signed `CancelOrders`: one result per listed hash (already final orders are returned as they are).

        Raises `CancelRejected` (code `cancel_rejected`) if the signature, maker or timestamp is not acceptable.
        """
        raise NotImplementedError

    async def cancel_all(self, signed: SignedCancel) -> list[OrderResult]:
        """Apply a signed `CancelAll`: cancel the maker's open orders (of one series or all) received before it."""
        raise NotImplementedError

    async def cancel_after(self, signed: SignedCancel) -> int | None:
        """Arm (or with timeout 0 disarm) the maker's dead-man's switch; returns its deadline (unix ms) or None."""
        raise NotImplementedError

    # ------------------------------------------------------------------ reads

    async def get_order(self, order_id: bytes) -> OrderView | None:
        """The stored order, or None."""
        raise NotImplementedError

    async def list_orders(
        self,
        *,
        maker: bytes | None = None,
        series: bytes | None = None,
        status: OrderState | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[OrderView]:
        """Orders filtered by maker/series/status, newest first, `limit` <= 1000 per page."""
        raise NotImplementedError

    def book(self, series: bytes, depth: int = 20) -> BookView:
        """Aggregated top `depth` levels per side and the book seq (an empty book for an unknown series)."""
        raise NotImplementedError

    def list_series(self) -> list[SeriesView]:
        """Listed series (chain state), expired ones included, sorted by expiry then id."""
        raise NotImplementedError

    async def list_fills(
        self,
        *,
        maker: bytes | None = None,
        series: bytes | None = None,
        batch: int | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[FillView]:
        """Fills filtered by maker (either side), series or batch, newest first."""
        raise NotImplementedError

    async def get_batch(self, seq: int) -> BatchView | None:
        """Batch `seq`, or None."""
        raise NotImplementedError

    def health(self) -> Health:
        """Liveness figures."""
        raise NotImplementedError

    # ------------------------------------------------------------------ streaming

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        """A bounded stream of every update (book deltas, trades, order/fill/batch updates).

        Filter per channel/maker in the consumer. A consumer `maxsize` updates behind is dropped.
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ admin

    async def pause_intake(self, reason: str) -> None:
        """Refuse new orders with `intake_paused` (cancels still work)."""
        raise NotImplementedError

    async def resume_intake(self) -> None:
        """Accept orders again."""
        raise NotImplementedError

    async def drain_maker(self, maker: bytes, reason: str = "operator") -> list[OrderResult]:
        """Cancel every open order of `maker` (operator action); one result per cancelled order."""
        raise NotImplementedError
