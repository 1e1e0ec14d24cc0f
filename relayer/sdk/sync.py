"""A thin synchronous wrapper: the async client driven on a private event loop in a daemon thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

from keys.signer import Signer
from relayer.sdk.client import AsyncClient, BookState, FillEvent, OrderAck, Page
from settlement.order import Order, SignedOrder

T = TypeVar("T")


async def _next(stream: AsyncIterator[T]) -> T:
    return await stream.__anext__()


class Client:
    """Blocking twin of `AsyncClient` (same methods, same arguments, same exceptions)."""

    def __init__(self, base_url: str, signer: Signer | None = None, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="strikebook-sdk", daemon=True)
        self._thread.start()
        self.aio = AsyncClient(base_url, signer, **kwargs)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        self._run(self.aio.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def info(self) -> dict[str, Any]:
        return self._run(self.aio.info())

    def series(self) -> list[dict[str, Any]]:
        return self._run(self.aio.series())

    def book(self, series: bytes | str, depth: int = 20) -> BookState:
        return self._run(self.aio.book(series, depth))

    def order(self, order_hash: bytes | str) -> dict[str, Any]:
        return self._run(self.aio.order(order_hash))

    def orders(self, **filters: Any) -> Page:
        return self._run(self.aio.orders(**filters))

    def fills(self, **filters: Any) -> Page:
        return self._run(self.aio.fills(**filters))

    def batch(self, seq: int) -> dict[str, Any]:
        return self._run(self.aio.batch(seq))

    def health(self) -> dict[str, Any]:
        return self._run(self.aio.health())

    def build_order(self, series: bytes | str, **fields: Any) -> Order:
        return self.aio.build_order(series, **fields)

    def next_one_shot_seq(self) -> int:
        return self.aio.next_one_shot_seq()

    def place(self, series: bytes | str, **fields: Any) -> OrderAck:
        """Build, sign and submit one order (IOC/FOK orders are one-shot by default: see `AsyncClient`)."""
        return self._run(self.aio.place(series, **fields))

    def cancel_one_shot(self, series: bytes | str, seqs: Sequence[int]) -> bytes:
        return self._run(self.aio.cancel_one_shot(series, seqs))

    def is_one_shot_spent(self, series: bytes | str, seq: int) -> bool:
        return self._run(self.aio.is_one_shot_spent(series, seq))

    def sign(self, order: Order) -> SignedOrder:
        return self._run(self.aio.sign(order))

    def submit(self, order: Order | SignedOrder, **kwargs: Any) -> OrderAck:
        return self._run(self.aio.submit(order, **kwargs))

    def submit_many(self, orders: Sequence[Order | SignedOrder], **kwargs: Any) -> list[OrderAck]:
        return self._run(self.aio.submit_many(orders, **kwargs))

    def cancel(self, order_hash: bytes | str) -> dict[str, Any]:
        return self._run(self.aio.cancel(order_hash))

    def cancel_all(self, series: bytes | str | None = None) -> list[bytes]:
        return self._run(self.aio.cancel_all(series))

    def cancel_after(self, timeout_ms: int) -> int | None:
        return self._run(self.aio.cancel_after(timeout_ms))

    def deposit(self, asset: str, amount: int) -> bytes:
        return self._run(self.aio.deposit(asset, amount))

    def withdraw(self, asset: str, amount: int) -> bytes:
        return self._run(self.aio.withdraw(asset, amount))

    def balance(self, asset: str) -> tuple[int, int]:
        return self._run(self.aio.balance(asset))

    @property
    def maker_address(self) -> str:
        return self.aio.maker_address

    def register_delegate(self, key: str | Signer, expiry: int) -> bytes:
        return self._run(self.aio.register_delegate(key, expiry))

    def revoke_delegate(self, key: str | Signer, *, cancel_resting: bool = True) -> list[bytes]:
        return self._run(self.aio.revoke_delegate(key, cancel_resting=cancel_resting))

    def delegate_expiry(self, key: str | Signer) -> int:
        return self._run(self.aio.delegate_expiry(key))

    def cancel_signed_by(self, key: str) -> list[bytes]:
        return self._run(self.aio.cancel_signed_by(key))

    def _iterate(self, stream: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield asyncio.run_coroutine_threadsafe(_next(stream), self._loop).result()
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                self._run(aclose())

    def stream_book(self, series: bytes | str, depth: int = 100) -> Iterator[BookState]:
        return self._iterate(self.aio.stream_book(series, depth))

    def stream_fills(self, address: str | None = None) -> Iterator[FillEvent]:
        return self._iterate(self.aio.stream_fills(address))
