"""What intake needs to know of the chain: series, free balances, delegates, nonce floors, hard cancels,
one-shot spend windows.

`ChainState` is a cache over the contracts' view functions (`getSeries`, `balanceOf`,
`minNonce`, `delegateExpiry`, `oneShotWindow`, `eth_getCode`), kept fresh by the settlement
`Indexer`'s events: a `Deposited`/`Withdrawn`/`Trade`/`Settled` drops the cached balances of the
accounts it names, `NoncesCancelled`/`DelegateSet`/`DelegateRevoked`/`SeriesListed` update their
entries in place, `OneShotCancelled` spends its sequence number in the cached window, and
`OrderCancelled` adds to the set of hashes cancelled on-chain; `apply_events` also returns the
events that end resting orders (`OrderCancelled`, `NoncesCancelled`, `DelegateRevoked`) as
`ChainCancel`s for the venue to apply to its book. A value read after the event
that changed it is the new value, so a cache entry is never older than the last poll.
One-shot windows are the exception to "never older": a `Trade` that spends a one-shot order does
not say which, so a cached window may miss spends by fills; the venue covers the ones it caused
itself (`relayer.one_shot.SpendTracker`), and spends only ever add, so a stale window is at worst
more lenient than the chain (the exchange then skips the fill as spent, reason 24/25).
Delegates are the exception: `prefetch(delegates=...)` always re-reads `delegateExpiry` at the
latest block, so a revocation refuses the next delegate-signed order as soon as it is mined,
without waiting for the poll.

Lookups are synchronous and never do I/O (intake runs them on the event loop); `prefetch`
reads the missing entries on a worker thread first. The indexer's cursor and reorg window live
in the relayer store (`StoreIndexerStore`, cursor name "indexer").
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from relayer.one_shot import Window
from relayer.store.models import IndexerWindowRow
from relayer.store.records import get_cursor, set_cursor
from settlement._hashing import checksum_address
from settlement.abi import contract_abi
from settlement.chain import Chain
from settlement.indexer import Event, event_from_json
from settlement.manifest import Manifest

_ZERO_HASH = bytes(32)


@dataclass(frozen=True, slots=True)
class SeriesTerms:
    """A listed series. `strike` quote base units per whole underlying; `unit` = 10**underlying decimals."""

    series: bytes
    underlying: bytes
    quote: bytes
    strike: int
    expiry: int
    is_call: bool
    unit: int

    @property
    def collateral_asset(self) -> bytes:
        """What a short locks: the underlying for calls, the quote asset for puts."""
        return self.underlying if self.is_call else self.quote


class StoreIndexerStore:
    """`settlement.indexer.IndexerStore` on the relayer store: cursor row + `indexer_window` table.

    With `deferred=True`, `apply` only stages the new cursor and window: the venue writes them
    with `staged_write()` in the same transaction as the effects of the polled events (cancels of
    resting orders, on-chain cancel rows), so a crash can never leave the cursor past events whose
    effects were not stored; `discard()` drops what is staged (the next poll reads those blocks again).
    """

    def __init__(self, engine: Engine, name: str = "indexer", *, deferred: bool = False) -> None:
        self._engine = engine
        self._name = name
        self._deferred = deferred
        self._staged: tuple[list[Event], list[Event], int, int] | None = None

    def next_block(self) -> int | None:
        with Session(self._engine) as session:
            cursor = get_cursor(session, self._name)
            return None if cursor is None else cursor[0]

    def window_events(self, from_block: int) -> list[Event]:
        with Session(self._engine) as session:
            rows = session.scalars(
                select(IndexerWindowRow.event)
                .where(IndexerWindowRow.block_number >= from_block)
                .order_by(IndexerWindowRow.block_number, IndexerWindowRow.log_index)
            ).all()
            return [event_from_json(json.loads(r)) for r in rows]

    def apply(self, added: Iterable[Event], retracted: Iterable[Event], next_block: int, keep_from: int) -> None:
        staged = (list(added), list(retracted), next_block, keep_from)
        if self._deferred:
            self._staged = staged
            return
        with Session(self._engine) as session, session.begin():
            self._write(session, *staged)

    def staged_write(self) -> Callable[[Session], None] | None:
        """A write that stores what the last `apply` staged (None if nothing is staged)."""
        staged = self._staged
        if staged is None:
            return None
        return lambda session: self._write(session, *staged)

    def discard(self) -> None:
        """Forget what is staged (written or not)."""
        self._staged = None

    def _write(
        self, session: Session, added: list[Event], retracted: list[Event], next_block: int, keep_from: int
    ) -> None:
        for e in retracted:
            row = session.get(IndexerWindowRow, (e.block_hash, e.log_index))
            if row is not None:
                session.delete(row)
        for e in added:
            session.merge(
                IndexerWindowRow(
                    block_hash=e.block_hash,
                    log_index=e.log_index,
                    block_number=e.block_number,
                    event=json.dumps(e.to_json_dict()),
                )
            )
        session.execute(delete(IndexerWindowRow).where(IndexerWindowRow.block_number < keep_from))
        set_cursor(session, self._name, next_block, _ZERO_HASH, time.time_ns() // 1_000_000)


def _raw(address: str) -> bytes:
    return bytes.fromhex(address[2:])


class ChainCancel(NamedTuple):
    """An on-chain event that ends resting orders of `maker`: one order (`order_hash`, from
    `OrderCancelled`), every order below a nonce floor (`min_nonce`, `NoncesCancelled`), or every
    order signed by a revoked delegate key (`delegate`, `DelegateRevoked`). Exactly one is set."""

    maker: bytes
    order_hash: bytes | None = None
    min_nonce: int | None = None
    delegate: bytes | None = None


class ChainState:
    """Cached chain facts for intake; see the module docstring for freshness."""

    def __init__(self, chain: Chain, manifest: Manifest) -> None:
        self.chain = chain
        self.manifest = manifest
        self._exchange = manifest.exchange
        self._registry = manifest.registry
        self.series: dict[bytes, SeriesTerms] = {}
        self._unlisted: set[bytes] = set()
        self.balances: dict[tuple[bytes, bytes], int] = {}
        #: balances an event may have changed: kept (a lookup never misses) but re-read on the next prefetch.
        self._stale: set[tuple[bytes, bytes]] = set()
        self.min_nonce: dict[bytes, int] = {}
        self.delegates: dict[tuple[bytes, bytes], int] = {}
        self.has_code: dict[bytes, bool] = {}
        #: one-shot spend windows per (account, series), as `oneShotWindow` returned them.
        self.one_shot: dict[tuple[bytes, bytes], Window] = {}
        #: order hashes cancelled on-chain (from `OrderCancelled` since start, plus what the store knew).
        self.cancelled: set[bytes] = set()
        self.head = 0
        self.head_timestamp = 0

    # ------------------------------------------------------------------ reads (worker thread)

    def _call(self, to: str, abi_name: str, fn: str, *args: object) -> tuple[object, ...]:
        abi = contract_abi(abi_name)
        return abi.decode_output(fn, self.chain.call(to, abi.encode_call(fn, *args)))

    def read_series(self, series: bytes) -> SeriesTerms | None:
        (raw,) = self._call(self._registry, "SeriesRegistry", "seriesOf", series)
        assert isinstance(raw, tuple)
        underlying, quote, strike, expiry, is_call, unit = raw
        if int(unit) == 0:
            return None
        return SeriesTerms(series, _raw(underlying), _raw(quote), int(strike), int(expiry), bool(is_call), int(unit))

    def read_free(self, account: bytes, asset: bytes) -> int:
        free, _locked = self._call(
            self._exchange, "Exchange", "balanceOf", checksum_address(account), checksum_address(asset)
        )
        assert isinstance(free, int)
        return free

    def read_min_nonce(self, maker: bytes) -> int:
        (value,) = self._call(self._exchange, "Exchange", "minNonce", checksum_address(maker))
        assert isinstance(value, int)
        return value

    def read_one_shot_window(self, account: bytes, series: bytes) -> Window:
        """`Exchange.oneShotWindow(account, series)`: the account's one-shot spend window."""
        base, bits = self._call(self._exchange, "Exchange", "oneShotWindow", checksum_address(account), series)
        assert isinstance(base, int) and isinstance(bits, int)
        return Window(base, bits)

    def is_one_shot_spent(self, account: bytes, series: bytes, seq: int) -> bool:
        """`Exchange.isOneShotSpent(account, series, seq)`, read now (no cache)."""
        (spent,) = self._call(self._exchange, "Exchange", "isOneShotSpent", checksum_address(account), series, seq)
        return bool(spent)

    def one_shot_spent(self, account: bytes, series: bytes, seq: int) -> bool:
        """Whether the cached window (see `prefetch(one_shot=...)`) counts `seq` spent."""
        window = self.one_shot.get((account, series))
        return window is not None and window.spent(seq)

    def read_delegate(self, maker: bytes, key: bytes) -> int:
        (value,) = self._call(
            self._exchange, "Exchange", "delegateExpiry", checksum_address(maker), checksum_address(key)
        )
        assert isinstance(value, int)
        return value

    def read_code(self, account: bytes) -> bool:
        return bool(self.chain.code(checksum_address(account)))

    def is_valid_signature_onchain(self, order_tuple: tuple[object, ...], signature: bytes) -> bool:
        """`Exchange.isValidSignature(order, signature)`: ECDSA maker/delegate or ERC-1271, now."""
        (ok,) = self._call(self._exchange, "Exchange", "isValidSignature", order_tuple, signature)
        return bool(ok)

    def erc1271_accepts(self, account: bytes, digest: bytes, signature: bytes) -> bool:
        """The account's own ERC-1271 `isValidSignature(bytes32,bytes)` returns the magic value."""
        selector = bytes.fromhex("1626ba7e")
        offset = (64).to_bytes(32, "big")
        length = len(signature).to_bytes(32, "big")
        padded = signature + bytes(-len(signature) % 32)
        try:
            out = self.chain.call(checksum_address(account), selector + digest + offset + length + padded)
        except Exception:
            return False
        return out[:4] == selector

    def refresh_head(self) -> None:
        block = self.chain.block("latest")
        if block is not None:
            self.head, self.head_timestamp = block.number, block.timestamp

    # ------------------------------------------------------------------ prefetch

    def _fetch(
        self,
        series: set[bytes],
        balances: set[tuple[bytes, bytes]],
        makers: set[bytes],
        delegates: set[tuple[bytes, bytes]],
        codes: set[bytes],
        one_shot: set[tuple[bytes, bytes]],
    ) -> None:
        for s in series:
            terms = self.read_series(s)
            if terms is None:
                self._unlisted.add(s)
            else:
                self.series[s] = terms
        for key in balances:
            self.balances[key] = self.read_free(*key)
            self._stale.discard(key)
        for m in makers:
            self.min_nonce[m] = self.read_min_nonce(m)
        for pair in delegates:
            self.delegates[pair] = self.read_delegate(*pair)
        for account in codes:
            self.has_code[account] = self.read_code(account)
        for pair in one_shot:
            self.one_shot[pair] = self.read_one_shot_window(*pair)

    async def prefetch(
        self,
        *,
        series: Iterable[bytes] = (),
        balances: Iterable[tuple[bytes, bytes]] = (),
        makers: Iterable[bytes] = (),
        delegates: Iterable[tuple[bytes, bytes]] = (),
        codes: Iterable[bytes] = (),
        one_shot: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        """Read every entry not cached yet, on a worker thread (raises `ChainError` if the node fails).

        `one_shot`: (account, series) pairs whose one-shot spend window intake needs.
        """
        need_series = {s for s in series if s not in self.series and s not in self._unlisted}
        need_balances = {k for k in balances if k not in self.balances or k in self._stale}
        need_makers = {m for m in makers if m not in self.min_nonce}
        # delegates are re-read every time: a revocation must refuse the very next order it signs,
        # not the first one after the next poll (one eth_call per distinct (maker, key) in a request,
        # paid only by orders and cancels signed by a key other than the maker's own)
        need_delegates = set(delegates)
        need_codes = {c for c in codes if c not in self.has_code}
        need_one_shot = {p for p in one_shot if p not in self.one_shot}
        if need_series or need_balances or need_makers or need_delegates or need_codes or need_one_shot:
            await asyncio.to_thread(
                self._fetch, need_series, need_balances, need_makers, need_delegates, need_codes, need_one_shot
            )

    # ------------------------------------------------------------------ events

    def forget_balances(self, account: bytes) -> None:
        """Mark `account`'s cached balances stale (re-read by the next prefetch)."""
        self._stale.update(k for k in self.balances if k[0] == account)

    async def refresh_balances(self, accounts: Iterable[bytes]) -> None:
        """Re-read every cached balance of `accounts` now (before a reservation they back is released)."""
        wanted = set(accounts)
        keys = {k for k in self.balances if k[0] in wanted}
        self._stale.update(keys)
        await self.prefetch(balances=keys)

    def apply_events(self, events: Iterable[Event]) -> list[ChainCancel]:
        """Update the caches; returns the on-chain cancels and delegate revocations, in chain order.

        A revocation is returned even if a later `DelegateSet` of the same poll registers the key
        again: orders it signed before were dead on-chain in between, and stay cancelled.
        """
        cancels: list[ChainCancel] = []
        for e in events:
            name, args = e.name, e.args
            if name in ("Deposited", "Withdrawn", "Settled"):
                self.forget_balances(_raw(args["account"]))
            elif name == "Trade":
                self.forget_balances(_raw(args["maker"]))
                self.forget_balances(_raw(args["taker"]))
            elif name == "OrderCancelled":
                order_hash = bytes(args["orderHash"])
                self.cancelled.add(order_hash)
                cancels.append(ChainCancel(_raw(args["maker"]), order_hash=order_hash))
            elif name == "NoncesCancelled":
                maker = _raw(args["maker"])
                self.min_nonce[maker] = int(args["minNonce"])
                cancels.append(ChainCancel(maker, min_nonce=int(args["minNonce"])))
            elif name == "DelegateSet":
                self.delegates[(_raw(args["maker"]), _raw(args["key"]))] = int(args["expiry"])
            elif name == "DelegateRevoked":
                maker, delegate = _raw(args["maker"]), _raw(args["key"])
                self.delegates[(maker, delegate)] = 0
                cancels.append(ChainCancel(maker, delegate=delegate))
            elif name == "OneShotCancelled":
                key = (_raw(args["maker"]), bytes(args["series"]))
                if key in self.one_shot:
                    self.one_shot[key] = self.one_shot[key].spend(int(args["seq"]))
            elif name == "SeriesListed":
                self._unlisted.discard(bytes(args["id"]))
        return cancels

    def retract(self, events: Iterable[Event]) -> None:
        """Reorged-out events: drop every cache entry they could have changed (re-read on demand)."""
        for e in events:
            for value in e.args.values():
                if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
                    account = _raw(value)
                    self.forget_balances(account)
                    self.min_nonce.pop(account, None)
                    for pair in [p for p in self.delegates if p[0] == account]:
                        del self.delegates[pair]
                    for key in [k for k in self.one_shot if k[0] == account]:
                        del self.one_shot[key]
