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

import asyncio
import contextlib
import gc
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, or_, select
from sqlalchemy.orm import Session, aliased

from relayer import recovery
from relayer.batching import PendingRow, cut_batch
from relayer.cancels import (
    ALL_SERIES,
    MAX_CANCEL_HASHES,
    CancelAfter,
    CancelAll,
    CancelOrders,
    SignedCancel,
    cancel_digest,
    recover_cancel_signer,
)
from relayer.chainstate import ChainCancel, ChainState, SeriesTerms, StoreIndexerStore
from relayer.config import VenueConfig
from relayer.engine import (
    Cancelled,
    CancelOrder,
    CancelReason,
    Command,
    Event,
    Expired,
    ExpireOrders,
    Fill,
    OrderSpec,
    PlaceOrder,
    Rejected,
    Rested,
    RestoreOrder,
    TimeInForce,
)
from relayer.intake.collateral import MAX_AMOUNT, max_price
from relayer.intake.errors import CancelRejected, IntakeError, RejectCode
from relayer.intake.reservations import Holding, Reservations, holding
from relayer.intake.verify import SignatureVerifier
from relayer.one_shot import SpendTracker, well_formed_nonce
from relayer.operator_key import RotatableSubmitter
from relayer.reconcile import skip_name, verdict
from relayer.recovery import OrderInfo, Recovered
from relayer.store.bulk import GroupWrite
from relayer.store.database import connect
from relayer.store.errors import CommitFailed, StoreClosed
from relayer.store.group_commit import GroupCommitter
from relayer.store.migrate import upgrade
from relayer.store.models import BatchRow, BatchStatus, DeadManRow, FillRow, FillStatus, OrderRow, OrderStatus
from relayer.store.records import SignedOrder as StoreOrder
from relayer.stream import BatchUpdate, BookDelta, FillUpdate, OrderUpdate, StreamHub, Subscription, TradeUpdate, Update
from relayer.views import (
    BatchState,
    BatchView,
    BookView,
    FillState,
    FillView,
    Health,
    Level,
    OrderResult,
    OrderState,
    OrderView,
    Page,
    SeriesView,
)
from settlement._hashing import checksum_address
from settlement.batch import Batch
from settlement.batch import Fill as SettleFill
from settlement.chain import Chain
from settlement.errors import ChainError, SettlementError
from settlement.indexer import Indexer
from settlement.journal import SQLiteSubmitJournal
from settlement.order import ONE_SHOT_FLAG, ONE_SHOT_SEQ_MASK, Order, SignedOrder, struct_preimage
from settlement.submitter import SubmitResult, Submitter

log = logging.getLogger(__name__)

#: order ids kept in memory for duplicate detection (older ones are checked in the store by key).
_RECENT_IDS = 100_000
#: allocations between young-generation collections once the venue runs (CPython's default is 700).
_GC_THRESHOLD0 = 50_000
#: ids per primary-key lookup statement.
_LOOKUP_CHUNK = 500


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


@dataclass
class _Candidate:
    index: int
    sub: OrderSubmission
    signed: SignedOrder | None = None
    maker: bytes = b""
    preimage: bytes = b""
    order_id: bytes | None = None
    signer: bytes | None = None
    #: the signer, when intake accepted it as a live delegate of the maker
    delegate: bytes | None = None
    result: OrderResult | None = None

    def reject(self, code: RejectCode, message: str) -> None:
        self.result = OrderResult(
            self.order_id, OrderState.REJECTED, 0, code.value, message, client_id=self.sub.client_id
        )


@dataclass
class _Input:
    """One applied engine input and the store writes that go with it."""

    seq: int
    command: Command
    events: list[Event]
    insert: StoreOrder | None = None
    client_id: str | None = None
    cancel: tuple[bytes, str, str, bytes | None] | None = None


def _order_view(row: OrderRow) -> OrderView:
    return OrderView(
        row.order_id,
        row.maker,
        row.series,
        row.is_buy,
        row.price,
        row.amount,
        row.max_fee,
        row.nonce,
        row.expiry,
        row.signature,
        TimeInForce(row.tif),
        OrderState(row.status),
        row.remaining,
        row.cancel_reason,
        row.client_id,
        row.created_seq,
        row.updated_seq,
    )


def _signed_from_row(row: OrderRow) -> SignedOrder:
    order = Order(
        maker=checksum_address(row.maker),
        series=row.series,
        is_buy=row.is_buy,
        price=row.price,
        amount=row.amount,
        max_fee=row.max_fee,
        nonce=row.nonce,
        expiry=row.expiry,
    )
    return SignedOrder(order, row.signature)


#: time in force a one-shot order may have: it must never rest (docs/PROTOCOL.md, "One-shot orders").
_IMMEDIATE = (TimeInForce.IOC, TimeInForce.FOK)


def _spends_of(recovered: Recovered) -> SpendTracker:
    """The one-shot spends of the recovered unsettled fills (their batches may still apply)."""
    spends = SpendTracker()
    for f in recovered.pending_fills:
        for oid in (f.maker_order_id, f.taker_order_id):
            info = recovered.orders.get(oid)
            if info is not None and info.nonce >= ONE_SHOT_FLAG:
                spends.spend(info.maker, info.series, info.nonce & ONE_SHOT_SEQ_MASK)
    return spends


def tune_gc() -> None:
    """Freeze what start-up built (recovered books, caches, modules) out of the collector's reach,
    and collect the young generation less often: intake allocates many short-lived objects per
    order, and a full collection over a large book is a pause the engine's p99 cannot afford.
    Objects still reachable are never freed by a collection anyway; cycles are rare here.
    """
    gc.collect()
    gc.freeze()
    threshold0, threshold1, threshold2 = gc.get_threshold()
    gc.set_threshold(max(threshold0, _GC_THRESHOLD0), threshold1, max(threshold2, 100))


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise IntakeError("invalid_cursor", f"bad cursor {value!r}") from None


class Venue:
    """Intake, matching, persistence, batching, chain reconciliation and streaming of one deployment."""

    def __init__(self, config: VenueConfig, db: Engine, chain: Chain, recovered: Recovered) -> None:
        self.config = config
        self._db = db
        self._sqlite = db.dialect.name == "sqlite"
        self._chain = chain
        self._clock = config.clock_ms
        self._domain = config.manifest.domain
        self._engine = recovered.engine
        self._seq = recovered.journal_seq
        self._snapshot_seq = recovered.snapshot_seq
        #: resting orders in the last snapshot taken (see `_snapshot_if_due`).
        self._snapshot_size = recovered.engine.resting_count()
        self._orders: dict[bytes, OrderInfo] = dict(recovered.orders)
        #: resting delegate-signed orders by (maker, delegate key); ids that left the book are
        #: dropped lazily (see `_forget_if_done`, `_cancel_delegated`)
        self._delegated: dict[tuple[bytes, bytes], set[bytes]] = {}
        self._track_delegated()
        #: ids of recently accepted orders, oldest first (bounded; older ones are looked up in the store).
        self._recent: set[bytes] = set()
        self._recent_order: deque[bytes] = deque()
        self._accepted_total = 0
        #: True while `_recent` holds the id of every stored order (loaded at open, nothing evicted
        #: since): duplicate detection then needs no store lookups (see `_load_recent_ids`).
        self._recent_complete = False
        self._soft_cancelled: set[tuple[bytes, bytes]] = set(recovered.soft_cancelled)
        #: orders with unsettled fills that their maker pulled (cancel-all, dead-man's switch,
        #: operator drain), with the cancel's reason: a skipped fill never restores them (see
        #: `_cancel_ids`); dropped with the order once its fills are final (`_forget_if_done`)
        self._pulled: dict[bytes, CancelReason] = dict(recovered.pulled)
        self._inflight_batches = list(recovered.inflight_batches)
        self._last_batch_seq = recovered.last_batch_seq
        self._pending_fills = list(recovered.pending_fills)
        #: one-shot orders this venue filled whose batches may not have applied yet (see `relayer.one_shot`)
        self._one_shot_spends = _spends_of(recovered)
        self.state = ChainState(chain, config.manifest)
        self.state.cancelled |= recovered.onchain_cancelled
        self._reservations = Reservations()
        self._fill_refs: dict[bytes, int] = {}
        self._committer = GroupCommitter(db, halt_on_failure=True)
        self._verifier = SignatureVerifier(config.verify_workers, config.verify_chunk, config.inline_verify_max)
        self._hub = StreamHub()
        self._inflight: dict[bytes, asyncio.Future[None]] = {}
        self._paused: str | None = None
        self._rebuilding = False
        self._commits_in_flight = 0
        self._cancel_ts: dict[tuple[bytes, str], int] = {}
        #: the timestamp each accepted cancel replaced in `_cancel_ts`, until its commit is known
        self._cancel_prev: dict[tuple[bytes, str, int], int] = {}
        self._started_ms = self._clock()
        self._dead_man: dict[bytes, int] = dict(recovered.dead_man)
        self._fills_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._submit_journal = SQLiteSubmitJournal(config.data_dir / "submit-journal.sqlite")
        #: the batch submitter; `operator_key.replace(signer)` swaps its key between batches (admin rotation)
        self.operator_key = RotatableSubmitter(
            Submitter(chain, config.operator, config.manifest.exchange, self._submit_journal, config.submitter)
        )
        self._submitter = self.operator_key
        #: the cursor advances in the commit that stores the polled events' effects (see `_chain_loop`)
        self._indexer_store = StoreIndexerStore(db, deferred=True)
        self._indexer = Indexer.for_manifest(
            chain, config.manifest, self._indexer_store, reorg_depth=config.reorg_depth
        )
        self._batch_error: str | None = None
        self._stopping = False
        self._call_caps = {bytes.fromhex(k[2:]): v for k, v in config.call_price_cap.items()}

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(cls, config: VenueConfig) -> Venue:
        """Migrate the store, rebuild books and reservations, read chain state, reconcile batches."""
        config.data_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(upgrade, config.db_url)
        db = connect(config.db_url)
        chain = Chain.from_url(config.rpc_url)
        await asyncio.to_thread(config.manifest.check_chain, chain)
        recovered = await asyncio.to_thread(recovery.load, db, config.clock_ms, config.engine_config())
        venue = cls(config, db, chain, recovered)
        await venue._load_recent_ids()
        await venue._restore_reservations()
        await venue._read_delegates()
        await asyncio.to_thread(venue.state.refresh_head)
        return venue

    async def _restore_reservations(self) -> None:
        self._reservations = Reservations()
        self._fill_refs = {}
        await self.state.prefetch(series={o.series for o in self._orders.values()})
        for r in self._engine.open_orders():
            info = self._orders.get(r.order_id)
            if info is not None:
                self._reserve_order(info, r.remaining)
        for f in self._pending_fills:
            self._hold_fill(f.series, f.book_seq, f.maker_order_id, f.taker_order_id, f.amount)

    async def start(self) -> None:
        """Start the background tasks: chain poller, batcher, expiry sweeps, dead-man's switches."""
        self._committer.start()
        await asyncio.to_thread(self._verifier.start)
        tune_gc()
        loop = asyncio.get_running_loop()
        for name, coro in (
            ("chain", self._chain_loop()),
            ("batcher", self._batch_loop()),
            ("timers", self._timer_loop()),
        ):
            self._tasks.append(loop.create_task(coro, name=f"venue-{name}"))

    async def stop(self) -> None:
        """Stop accepting input, finish in-flight commits and the current batch step, close everything."""
        self._stopping = True
        self._paused = self._paused or "stopping"
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self._committer.close()
        self._verifier.close()
        self._hub.close()
        self._submit_journal.close()
        self._db.dispose()

    # ------------------------------------------------------------------ reservations

    def _terms(self, series: bytes) -> SeriesTerms | None:
        return self.state.series.get(series)

    def _reserve_order(self, info: OrderInfo, remaining: int) -> None:
        terms = self._terms(info.series)
        if terms is None or remaining <= 0:
            self._reservations.release_order(info.order_id)
            return
        self._reservations.set_order(
            info.order_id, holding(info.maker, terms, info.is_buy, info.price, remaining, info.max_fee)
        )

    def _hold_fill(self, series: bytes, seq: int, maker_id: bytes, taker_id: bytes, amount: int) -> None:
        terms = self._terms(series)
        mk, tk = self._orders.get(maker_id), self._orders.get(taker_id)
        if terms is not None and mk is not None and tk is not None:
            self._reservations.hold_fill(
                (series, seq),
                holding(mk.maker, terms, mk.is_buy, mk.price, amount, mk.max_fee)
                + holding(tk.maker, terms, tk.is_buy, tk.price, amount, tk.max_fee),
            )
        for oid in (maker_id, taker_id):
            self._fill_refs[oid] = self._fill_refs.get(oid, 0) + 1

    def _release_fill(self, series: bytes, seq: int, maker_id: bytes, taker_id: bytes) -> None:
        self._reservations.release_fill((series, seq))
        for oid in (maker_id, taker_id):
            left = self._fill_refs.get(oid, 1) - 1
            if left > 0:
                self._fill_refs[oid] = left
            else:
                self._fill_refs.pop(oid, None)
                self._forget_if_done(oid)

    def _forget_if_done(self, order_id: bytes) -> None:
        if self._engine.order(order_id) is None:
            if self._delegated:
                info = self._orders.get(order_id)
                if info is not None and info.delegate is not None:
                    self._untrack_delegated(info)
            if order_id not in self._fill_refs:
                self._orders.pop(order_id, None)
                self._pulled.pop(order_id, None)

    def reserved(self, maker: bytes, asset: bytes) -> int:
        """What `maker`'s resting orders and unsettled fills reserve of `asset` (base units)."""
        return self._reservations.reserved(maker, asset)

    # ------------------------------------------------------------------ delegate-signed orders

    def _delegate_deadline_ms(self, expiry: int) -> int:
        """The first unix ms at which orders signed by a delegate whose `delegateExpiry` is `expiry`
        no longer match (nor are accepted): the exchange takes them while `block.timestamp <
        expiry`, i.e. up to `expiry - 1`, which the venue treats as it treats an order's own expiry
        (its clock against `EngineConfig.expires_at_ms`, margin included). 0 (revoked) is long past.
        """
        return self.config.engine.expires_at_ms(expiry - 1)

    def _track_delegated(self) -> None:
        """Index the resting delegate-signed orders of `_orders` (at open and after a rebuild)."""
        self._delegated = {}
        for oid, info in self._orders.items():
            if info.delegate is not None and self._engine.order(oid) is not None:
                self._delegated.setdefault((info.maker, info.delegate), set()).add(oid)

    def _untrack_delegated(self, info: OrderInfo) -> None:
        assert info.delegate is not None
        pair = (info.maker, info.delegate)
        ids = self._delegated.get(pair)
        if ids is not None:
            ids.discard(info.order_id)
            if not ids:
                del self._delegated[pair]

    async def _read_delegates(self) -> None:
        """Read `delegateExpiry` of the tracked (maker, key) pairs the chain cache lacks (start-up, reorgs)."""
        missing = [pair for pair in self._delegated if pair not in self.state.delegates]
        if missing:
            await self.state.prefetch(delegates=missing)

    def _below_nonce_floor(self, info: OrderInfo) -> bool:
        """Whether `info`'s nonce is below its maker's on-chain floor (`cancelAllBelow`, event
        `NoncesCancelled`) as the venue knows it: the order is cancelled on-chain, as the chain
        effects cancel such resting orders (`_chain_effects`) and intake refuses them. A one-shot
        nonce (bit 255) never is: the exchange caps the floor at 2**255."""
        return info.nonce < self.state.min_nonce.get(info.maker, 0)

    def _delegate_death(self, info: OrderInfo, now_ms: int) -> CancelReason | None:
        """`delegate_revoked`/`delegate_expired` if `info` was signed by a delegate that no longer
        signs at `now_ms` (as far as the chain cache knows), else None."""
        if info.delegate is None:
            return None
        expiry = self.state.delegates.get((info.maker, info.delegate))
        if expiry is None or self._delegate_deadline_ms(expiry) > now_ms:
            return None
        return CancelReason.DELEGATE_REVOKED if expiry == 0 else CancelReason.DELEGATE_EXPIRED

    def _dead_delegates(self, now_ms: int) -> list[tuple[tuple[bytes, bytes], CancelReason]]:
        """The tracked (maker, key) pairs whose key no longer signs at `now_ms`, with the cancel reason.

        The chain cache decides: `delegateExpiry` 0 means revoked (`setDelegate` never sets 0),
        anything else expired. A pair the cache lacks is skipped until the chain loop re-reads it.
        """
        delegates = self.state.delegates
        deadline = self._delegate_deadline_ms
        dead: list[tuple[tuple[bytes, bytes], CancelReason]] = []
        for pair in self._delegated:
            expiry = delegates.get(pair)
            if expiry is not None and deadline(expiry) <= now_ms:
                dead.append((pair, CancelReason.DELEGATE_REVOKED if expiry == 0 else CancelReason.DELEGATE_EXPIRED))
        return dead

    def _cancel_delegated(
        self, dead: Iterable[tuple[tuple[bytes, bytes], CancelReason]], now_ms: int
    ) -> tuple[list[_Input], list[Update]]:
        """Cancel every resting order signed by each dead (maker, key), in arrival order, with its reason.

        Applied to the engine and memory here; the caller commits the returned inputs (the journal
        entries, and `cancels` rows of kind "delegate" whose signature column holds maker + key)
        before publishing the updates. The orders also count as soft-cancelled, here and after a
        restart (`recovery.load`): a skipped fill never restores them, even once the key is
        registered again, and their ids stay refused.
        """
        inputs: list[_Input] = []
        updates: list[Update] = []
        for (maker, key), reason in dead:
            ids = self._delegated.pop((maker, key), None)
            if not ids:
                continue
            resting = sorted((r for oid in ids if (r := self._engine.order(oid)) is not None), key=lambda r: r.arrival)
            for r in resting:
                command = CancelOrder(r.order_id, reason, now_ms)
                seq, events, ups = self._apply(command, now_ms)
                self._soft_cancelled.add((maker, r.order_id))
                inputs.append(_Input(seq, command, events, cancel=(r.order_id, "delegate", reason.value, maker + key)))
                updates.extend(ups)
        return inputs, updates

    # ------------------------------------------------------------------ applying inputs

    def _apply(
        self, command: Command, now_ms: int, placed: tuple[OrderInfo, Holding] | None = None
    ) -> tuple[int, list[Event], list[Update]]:
        """Apply one input to the engine (sync, single writer) and to the in-memory state.

        `placed`: the order a `PlaceOrder` places and its full-amount holding (already computed
        by the collateral check). Stream updates are built only while someone is subscribed: a
        subscriber sees every change applied after it subscribed (it reads the book after that).
        """
        self._seq += 1
        events = self._engine.apply(command)
        stream = self._hub.subscribers > 0
        updates: list[Update] = []
        for e in events:
            kind = type(e)
            if kind is Rested:
                assert isinstance(e, Rested)
                if placed is not None and placed[0].order_id == e.order_id:
                    info: OrderInfo | None = placed[0]
                    if e.remaining == placed[0].amount:
                        self._reservations.set_order(e.order_id, placed[1])
                    else:
                        self._reserve_order(placed[0], e.remaining)
                else:
                    info = self._orders.get(e.order_id)
                    if info is not None:
                        self._reserve_order(info, e.remaining)
                if info is not None and info.delegate is not None:
                    self._delegated.setdefault((info.maker, info.delegate), set()).add(e.order_id)
                if stream:
                    if info is not None:
                        updates.append(
                            OrderUpdate(info.maker, e.order_id, e.series, OrderState.OPEN, e.remaining, None, now_ms)
                        )
                    updates.append(self._delta(e.series, e.seq, e.is_buy, e.price))
            elif kind is Fill:
                assert isinstance(e, Fill)
                mk = self._orders.get(e.maker_id)
                if mk is not None:
                    self._reserve_order(mk, e.maker_remaining)
                self._hold_fill(e.series, e.seq, e.maker_id, e.taker_id, e.amount)
                if stream:
                    updates.append(self._delta(e.series, e.seq, not e.taker_is_buy, e.price))
                    updates.append(TradeUpdate(e.series, e.seq, e.price, e.amount, e.taker_is_buy, now_ms))
                    for oid, who, rem in (
                        (e.maker_id, e.maker, e.maker_remaining),
                        (e.taker_id, e.taker, e.taker_remaining),
                    ):
                        status = OrderState.OPEN if rem else OrderState.FILLED
                        updates.append(OrderUpdate(who, oid, e.series, status, rem, None, now_ms))
            elif isinstance(e, Cancelled | Expired):
                info = self._orders.get(e.order_id)
                if isinstance(e, Expired) or e.resting:
                    self._reservations.release_order(e.order_id)
                    if stream and info is not None:
                        updates.append(self._delta(e.series, e.seq, info.is_buy, info.price))
                    self._forget_if_done(e.order_id)
                if stream and info is not None:
                    state = OrderState.EXPIRED if isinstance(e, Expired) else OrderState.CANCELLED
                    reason = None if isinstance(e, Expired) else e.reason.value
                    updates.append(OrderUpdate(info.maker, e.order_id, e.series, state, e.remaining, reason, now_ms))
        return self._seq, events, updates

    def _delta(self, series: bytes, seq: int, is_bid: bool, price: int) -> BookDelta:
        return BookDelta(series, seq, is_bid, price, self._engine.level_total(series, is_bid, price))

    def _write_for(self, inputs: list[_Input], now_ms: int) -> GroupWrite:
        """The store rows of `inputs` (already applied, in journal order), plus a snapshot when due."""
        write = GroupWrite(sqlite=self._sqlite)
        self._add_inputs(write, inputs, now_ms)
        if inputs:
            self._snapshot_if_due(write)
        return write

    @staticmethod
    def _add_inputs(write: GroupWrite, inputs: list[_Input], now_ms: int) -> None:
        """Add the store rows of `inputs` (already applied, in journal order) to `write`."""
        for item in inputs:
            if item.insert is not None:
                write.place(item.insert, item.seq, item.client_id, item.command)
            else:
                write.command(item.seq, item.command)
            write.events(item.seq, item.events)
            if item.cancel is not None:
                oid, kind, reason, sig = item.cancel
                write.cancel(oid, kind, reason, sig, item.seq, now_ms)

    def _snapshot_if_due(self, write: GroupWrite) -> None:
        """Add a snapshot to `write` once `config.snapshot_every` entries, and at least as many
        entries as the previous snapshot held resting orders, were journaled since it.

        A snapshot costs O(resting orders) (views here, hashing and encoding on the commit
        thread), so with a fixed interval a deep book makes every order pay for re-snapshotting
        the whole book; spacing them by the last snapshot's size bounds that to one resting
        order's worth per entry, while a rebuild still replays at most max(snapshot_every,
        book size) entries after restoring a snapshot of that size (the same order of work).
        """
        # the views are taken here (the state as of `_seq`); hashing and encoding run on the commit thread
        if self._seq - self._snapshot_seq >= max(self.config.snapshot_every, self._snapshot_size):
            write.snapshot(self._seq, self._engine.snapshot())
            self._snapshot_seq = self._seq
            self._snapshot_size = self._engine.resting_count()

    async def _commit(self, write: Callable[[Session], Any], updates: list[Update]) -> bool:
        """Commit `write` (already submitted order: see `_apply`); publish `updates` once durable."""
        self._commits_in_flight += 1
        try:
            await self._committer.submit(write)
        except (CommitFailed, StoreClosed) as exc:
            log.error("commit failed, rebuilding from the store: %s", exc)
            self._commits_in_flight -= 1
            await self._rebuild()
            return False
        self._commits_in_flight -= 1
        self._hub.publish(updates)
        return True

    async def _rebuild(self) -> None:
        """After a failed commit: forget memory, reload everything from the store, resume."""
        if self._rebuilding:
            while self._rebuilding:
                await asyncio.sleep(0.01)
            return
        self._rebuilding = True
        try:
            while self._commits_in_flight:
                await asyncio.sleep(0.01)
            while True:
                try:
                    recovered = await asyncio.to_thread(
                        recovery.load, self._db, self._clock, self.config.engine_config()
                    )
                    # ids of a failed commit are not orders; committed ones are in the store
                    await self._load_recent_ids()
                    break
                except Exception as exc:
                    log.error("store unavailable during rebuild: %s", exc)
                    await asyncio.sleep(0.5)
            self._engine = recovered.engine
            self._seq = recovered.journal_seq
            self._snapshot_seq = recovered.snapshot_seq
            self._snapshot_size = recovered.engine.resting_count()
            self._orders = dict(recovered.orders)
            self._track_delegated()
            self._dead_man = dict(recovered.dead_man)
            self._soft_cancelled = set(recovered.soft_cancelled)
            self._pulled = dict(recovered.pulled)
            self._pending_fills = list(recovered.pending_fills)
            self._one_shot_spends = _spends_of(recovered)
            self.state.one_shot.clear()  # re-read: spends of batches settled meanwhile are on-chain now
            await self._restore_reservations()
            self._committer.resume()
        finally:
            self._rebuilding = False

    def _refusal(self) -> RejectCode | None:
        if self._rebuilding:
            return RejectCode.STORE_UNAVAILABLE
        if self._paused is not None:
            return RejectCode.INTAKE_PAUSED
        return None

    # ------------------------------------------------------------------ orders

    async def submit_orders(self, orders: Sequence[OrderSubmission]) -> list[OrderResult]:
        """Validate, match and store `orders`; one result per order, in order.

        Returns after the commit holding the accepted ones. A known order id returns the stored
        order with `duplicate=True`. Raises `IntakeError(invalid_schema)` for more than
        `config.max_orders_per_request` orders.
        """
        if len(orders) > self.config.max_orders_per_request:
            raise IntakeError(
                RejectCode.INVALID_SCHEMA.value, f"at most {self.config.max_orders_per_request} orders per request"
            )
        cands = [_Candidate(i, sub) for i, sub in enumerate(orders)]
        refusal = self._refusal()
        if refusal is not None:
            for c in cands:
                c.reject(refusal, "intake is paused" if refusal is RejectCode.INTAKE_PAUSED else "store rebuilding")
            return [c.result for c in cands if c.result is not None]
        try:
            await self._validate(cands)
        except ChainError as exc:
            for c in cands:
                if c.result is None:
                    c.reject(RejectCode.CHAIN_UNAVAILABLE, f"chain read failed: {exc}")
        return await self._accept(cands)

    async def _validate(self, cands: list[_Candidate]) -> None:
        """Steps 1-4 and the chain reads steps 5-8 need (the rest runs synchronously in `_accept`)."""
        domain = self._domain
        live: list[_Candidate] = []
        for c in cands:
            sub = c.sub
            # 1. schema
            try:
                c.signed = (
                    sub.order if isinstance(sub.order, SignedOrder) else SignedOrder.from_json_dict(dict(sub.order))
                )
            except (SettlementError, TypeError, ValueError) as exc:
                c.reject(RejectCode.INVALID_SCHEMA, str(exc))
                continue
            o = c.signed.order
            c.maker = bytes.fromhex(o.maker[2:])
            if not 0 < o.amount <= MAX_AMOUNT:
                c.reject(RejectCode.INVALID_SCHEMA, f"amount must be in 1..{MAX_AMOUNT}")
                continue
            if not isinstance(sub.tif, TimeInForce) or (sub.client_id is not None and len(sub.client_id) > 64):
                c.reject(RejectCode.INVALID_SCHEMA, "bad time in force or client id longer than 64 characters")
                continue
            if o.is_one_shot:
                if not well_formed_nonce(o.nonce):
                    c.reject(RejectCode.BAD_ONE_SHOT_NONCE, "a one-shot nonce (bit 255) must have bits 64..254 zero")
                    continue
                if sub.tif not in _IMMEDIATE:
                    c.reject(
                        RejectCode.ONE_SHOT_MUST_BE_IMMEDIATE,
                        f"a one-shot order (nonce bit 255 set) cannot rest: send it IOC or FOK, not {sub.tif.value}",
                    )
                    continue
            # 2. domain
            if sub.chain_id is not None and sub.chain_id != domain.chain_id:
                c.reject(RejectCode.WRONG_DOMAIN, f"this venue is chain {domain.chain_id}, not {sub.chain_id}")
                continue
            if (
                sub.verifying_contract is not None
                and sub.verifying_contract.lower() != domain.verifying_contract.lower()
            ):
                c.reject(RejectCode.WRONG_DOMAIN, f"orders are signed for exchange {domain.verifying_contract}")
                continue
            c.preimage = struct_preimage(o)
            live.append(c)
        if not live:
            return
        # 3. signature (process pool for large requests)
        recovered = await self._verifier.recover(
            domain.separator, [(c.preimage, c.signed.signature) for c in live if c.signed]
        )
        need_code: list[_Candidate] = []
        for c, (digest, signer) in zip(live, recovered, strict=True):
            c.order_id, c.signer = digest, signer
            if signer != c.maker:
                need_code.append(c)
        if need_code:
            await self.state.prefetch(
                codes={c.maker for c in need_code},
                delegates={(c.maker, c.signer) for c in need_code if c.signer is not None},
            )
            now_ms = self._clock()
            for c in need_code:
                is_contract = self.state.has_code.get(c.maker, False)
                if c.signer is None and not is_contract:
                    c.reject(RejectCode.INVALID_SIGNATURE, "not a 65-byte low-s ECDSA signature with v in {27, 28}")
                    continue
                # 4. signer: a live delegate (live as an order is: see `_delegate_deadline_ms`),
                # else the exchange's own check (ERC-1271 wallets)
                if (
                    c.signer is not None
                    and self._delegate_deadline_ms(self.state.delegates.get((c.maker, c.signer), 0)) > now_ms
                ):
                    c.delegate = c.signer
                    continue
                assert c.signed is not None
                if is_contract and await asyncio.to_thread(
                    self.state.is_valid_signature_onchain, c.signed.order.as_tuple(), c.signed.signature
                ):
                    continue
                c.reject(RejectCode.UNAUTHORIZED_SIGNER, "signer is neither the maker nor a live delegate")
        pending = [c for c in live if c.result is None and c.signed is not None]
        series = {c.signed.order.series for c in pending if c.signed}
        await self.state.prefetch(
            series=series,
            makers={c.maker for c in pending},
            one_shot={(c.maker, c.signed.order.series) for c in pending if c.signed and c.signed.order.is_one_shot},
        )
        balances: set[tuple[bytes, bytes]] = set()
        for c in pending:
            assert c.signed is not None
            terms = self.state.series.get(c.signed.order.series)
            if terms is not None:
                balances.add((c.maker, terms.quote))
                balances.add((c.maker, terms.underlying))
        await self.state.prefetch(balances=balances)

    async def _stored_ids(self, ids: list[bytes]) -> set[bytes]:
        """Which of `ids` the store holds as orders (primary-key lookups, a few round trips per request)."""
        if not ids:
            return set()

        def read() -> set[bytes]:
            found: set[bytes] = set()
            with self._db.connect() as conn:
                for i in range(0, len(ids), _LOOKUP_CHUNK):
                    chunk = ids[i : i + _LOOKUP_CHUNK]
                    found.update(conn.execute(select(OrderRow.order_id).where(OrderRow.order_id.in_(chunk))).scalars())
            return found

        return await asyncio.to_thread(read)

    async def _load_recent_ids(self) -> None:
        """Fill `_recent` with the newest stored order ids, oldest first; if the store holds no
        more than `_RECENT_IDS` orders, that is all of them and `_recent_complete` is set.
        """

        def read() -> list[bytes]:
            with self._db.connect() as conn:
                rows = conn.execute(
                    select(OrderRow.order_id).order_by(OrderRow.created_seq.desc()).limit(_RECENT_IDS + 1)
                ).scalars()
                return list(rows)

        newest = await asyncio.to_thread(read)
        complete = len(newest) <= _RECENT_IDS
        oldest_first = newest[:_RECENT_IDS][::-1]
        self._recent = set(oldest_first)
        self._recent_order = deque(oldest_first)
        self._recent_complete = complete

    async def _known_ids(self, ids: list[bytes]) -> set[bytes]:
        """Which of `ids` are orders already: recent ones from memory, older ones from the store.

        Call it right before a synchronous section that uses the answer: memory only forgets an id
        once its commit is durable and `_RECENT_IDS` newer orders were accepted, so an id accepted
        while the store is read is still in memory afterwards (the read is retried otherwise).
        """
        if self._recent_complete:
            recent = self._recent
            return {i for i in ids if i in recent}
        while True:
            mark = self._accepted_total
            stored = await self._stored_ids([i for i in ids if i not in self._recent])
            if self._accepted_total - mark < _RECENT_IDS // 2:
                return stored | {i for i in ids if i in self._recent}

    def _remember(self, ids: list[bytes]) -> None:
        self._recent.update(ids)
        self._recent_order.extend(ids)
        self._accepted_total += len(ids)

    def _forget_old_ids(self) -> None:
        """After a durable commit: keep at most `_RECENT_IDS` ids in memory (the oldest are stored)."""
        while len(self._recent_order) > _RECENT_IDS:
            self._recent_complete = False
            self._recent.discard(self._recent_order.popleft())

    async def _accept(self, cands: list[_Candidate]) -> list[OrderResult]:
        known = await self._known_ids([c.order_id for c in cands if c.result is None and c.order_id is not None])
        now_ms = self._clock()
        now_s = now_ms // 1000
        write = GroupWrite(sqlite=self._sqlite)
        updates: list[Update] = []
        accepted: list[_Candidate] = []
        duplicates: list[_Candidate] = []
        mine: list[bytes] = []
        any_fill = False
        state = self.state
        reserved = self._reservations.reserved
        balances = state.balances
        expires_at_ms = self.config.engine.expires_at_ms
        spends = self._one_shot_spends
        # ---- synchronous section: checks against the latest memory, then the engine (no awaits)
        if self._delegated:
            # orders of delegates that died since the last timer sweep leave the book before anything matches
            dead = self._dead_delegates(now_ms)
            if dead:
                inputs, ups = self._cancel_delegated(dead, now_ms)
                self._add_inputs(write, inputs, now_ms)
                updates.extend(ups)
        for c in cands:
            if c.result is not None or c.signed is None or c.order_id is None:
                continue
            o = c.signed.order
            oid = c.order_id
            terms = state.series.get(o.series)
            # 5. series
            if terms is None:
                c.reject(RejectCode.UNKNOWN_SERIES, "series is not listed")
                continue
            if now_s >= terms.expiry:
                c.reject(RejectCode.SERIES_EXPIRED, "series has expired")
                continue
            # 6. duplicates, expiry, cancels
            if oid in known or oid in self._recent:
                duplicates.append(c)
                continue
            if expires_at_ms(o.expiry) <= now_ms:
                c.reject(RejectCode.ORDER_EXPIRED, "order has expired")
                continue
            if oid in state.cancelled or (c.maker, oid) in self._soft_cancelled:
                c.reject(RejectCode.ORDER_CANCELLED, "order was cancelled")
                continue
            if c.delegate is not None and (
                (delegate_expiry := state.delegates.get((c.maker, c.delegate))) is not None
                and self._delegate_deadline_ms(delegate_expiry) <= now_ms
            ):
                # revoked (event applied) or expired since step 4
                c.reject(RejectCode.UNAUTHORIZED_SIGNER, "signer is neither the maker nor a live delegate")
                continue
            seq = o.one_shot_seq
            if seq is None:
                if o.nonce < state.min_nonce.get(c.maker, 0):
                    c.reject(RejectCode.NONCE_CANCELLED, "nonce is below the maker's on-chain minNonce")
                    continue
            elif state.one_shot_spent(c.maker, o.series, seq) or spends.spent(c.maker, o.series, seq):
                # minNonce never reaches a one-shot nonce; its spend window does (cancelOneShot, an
                # earlier fill of this sequence number, or one 64 or more above it)
                c.reject(RejectCode.ONE_SHOT_SPENT, f"one-shot sequence number {seq} is spent for this series")
                continue
            # 7. price bounds
            cap = self._call_caps.get(terms.underlying) if terms.is_call else None
            if not 0 < o.price <= max_price(terms, cap):
                c.reject(RejectCode.PRICE_OUT_OF_BOUNDS, f"price must be in 1..{max_price(terms, cap)}")
                continue
            # 8. collateral
            need = holding(c.maker, terms, o.is_buy, o.price, o.amount, o.max_fee)
            short = None
            for key, amount in need:
                if balances.get(key, 0) - reserved(*key) < amount:
                    short = key
                    break
            if short is not None:
                c.reject(
                    RejectCode.INSUFFICIENT_COLLATERAL,
                    f"free {checksum_address(short[1])} minus reservations does not cover {dict(need)[short]}",
                )
                continue
            # accepted: journal and match
            info = OrderInfo(
                oid,
                c.maker,
                o.series,
                o.is_buy,
                o.price,
                o.amount,
                o.max_fee,
                o.nonce,
                o.expiry,
                c.sub.tif,
                now_ms,
                c.delegate,
            )
            self._orders[oid] = info
            command = PlaceOrder(
                OrderSpec(oid, c.maker, o.series, o.is_buy, o.price, o.amount, o.expiry), c.sub.tif, now_ms
            )
            jseq, events, ups = self._apply(command, now_ms, (info, need))
            write.place_signed(
                oid, c.maker, o, c.signed.signature, c.sub.tif.value, jseq, c.sub.client_id, command, c.delegate
            )
            write.events(jseq, events)
            if ups:
                updates.extend(ups)
            if len(events) == 2 and type(events[1]) is Rested:  # the common case: accepted, rests whole
                c.result = OrderResult(oid, OrderState.OPEN, o.amount, client_id=c.sub.client_id)
            else:
                c.result = self._outcome(c, events)
                filled = any(type(e) is Fill for e in events)
                any_fill = any_fill or filled
                if filled and seq is not None:
                    # its batch spends it (and every number 64 or more below it): refuse those from now on
                    spends.spend(c.maker, o.series, seq)
                self._forget_if_done(oid)
            accepted.append(c)
            mine.append(oid)
        self._remember(mine)
        done: asyncio.Future[None] | None = None
        if write:  # accepted orders, or cancels of dead delegates' orders
            self._snapshot_if_due(write)
            done = asyncio.get_running_loop().create_future()
            inflight = self._inflight
            for oid in mine:
                inflight[oid] = done
            ok = await self._commit(write, updates)
            for oid in mine:
                inflight.pop(oid, None)
            done.set_result(None)
            if ok:
                self._forget_old_ids()
                if any_fill:
                    self._fills_ready.set()
            else:
                for c in accepted:
                    c.reject(RejectCode.STORE_UNAVAILABLE, "the store did not commit; nothing was accepted, retry")
        for c in duplicates:
            assert c.order_id is not None
            c.result = await self._existing(c)
        return [
            c.result if c.result is not None else OrderResult(None, OrderState.REJECTED, 0, "internal", "")
            for c in cands
        ]

    def _outcome(self, c: _Candidate, events: list[Event]) -> OrderResult:
        oid = c.order_id
        assert oid is not None and c.signed is not None
        remaining = c.signed.order.amount
        status = OrderState.OPEN
        for e in events:
            if isinstance(e, Fill) and e.taker_id == oid:
                remaining = e.taker_remaining
                status = OrderState.FILLED if not remaining else OrderState.OPEN
            elif isinstance(e, Rested) and e.order_id == oid:
                status, remaining = OrderState.OPEN, e.remaining
            elif isinstance(e, Cancelled) and e.order_id == oid:
                return OrderResult(
                    oid, OrderState.CANCELLED, e.remaining, None, e.reason.value, client_id=c.sub.client_id
                )
            elif isinstance(e, Rejected) and e.order_id == oid:
                return OrderResult(
                    oid, OrderState.REJECTED, 0, e.code.value, "refused by the engine", client_id=c.sub.client_id
                )
        return OrderResult(oid, status, remaining, client_id=c.sub.client_id)

    async def _existing(self, c: _Candidate) -> OrderResult:
        assert c.order_id is not None
        waiting = self._inflight.get(c.order_id)
        if waiting is not None:
            await waiting
        view = await self.get_order(c.order_id)
        if view is None:
            c.reject(RejectCode.STORE_UNAVAILABLE, "the order is being stored; retry")
            assert c.result is not None
            return c.result
        return OrderResult(
            view.order_id, view.status, view.remaining, None, None, duplicate=True, client_id=view.client_id
        )

    # ------------------------------------------------------------------ cancels

    async def _check_cancel(self, signed: SignedCancel, kind: str) -> bytes:
        """The maker of an acceptable signed cancel; raises `CancelRejected` otherwise."""
        msg = signed.message
        now = self._clock()
        if abs(now - msg.timestamp) > self.config.cancel_window_ms or msg.timestamp < self._started_ms:
            raise CancelRejected("cancel_stale", "timestamp is outside the accepted window")
        last = self._cancel_ts.get((msg.maker, kind), 0)
        if msg.timestamp <= last:
            raise CancelRejected("cancel_replayed", "timestamp is not above the last accepted one")
        signer = recover_cancel_signer(signed, self._domain)
        if signer != msg.maker:
            ok = False
            try:
                if signer is not None:
                    await self.state.prefetch(delegates={(msg.maker, signer)})
                    ok = self.state.delegates.get((msg.maker, signer), 0) > now // 1000
                if not ok:
                    await self.state.prefetch(codes={msg.maker})
                    if self.state.has_code.get(msg.maker):
                        digest = cancel_digest(msg, self._domain)
                        ok = await asyncio.to_thread(self.state.erc1271_accepts, msg.maker, digest, signed.signature)
            except ChainError as exc:
                raise CancelRejected(RejectCode.CHAIN_UNAVAILABLE.value, str(exc)) from exc
            if not ok:
                raise CancelRejected("cancel_unauthorized", "signer is neither the maker nor a live delegate")
        self._cancel_ts[(msg.maker, kind)] = msg.timestamp
        self._cancel_prev[(msg.maker, kind, msg.timestamp)] = last
        return msg.maker

    def _cancel_not_stored(self, signed: SignedCancel, kind: str) -> None:
        """A cancel `_check_cancel` accepted did not commit: the replay guard forgets it again, so
        the client may retry the same signed message (unless a later one was accepted meanwhile)."""
        msg = signed.message
        key = (msg.maker, kind)
        prev = self._cancel_prev.pop((msg.maker, kind, msg.timestamp), 0)
        if self._cancel_ts.get(key) == msg.timestamp:
            self._cancel_ts[key] = prev

    def _cancel_stored(self, signed: SignedCancel, kind: str) -> None:
        self._cancel_prev.pop((signed.message.maker, kind, signed.message.timestamp), None)

    def _cancel_outcome(self, signed: SignedCancel, kind: str, results: list[OrderResult]) -> list[OrderResult]:
        """`results` of `_cancel_ids`, after settling the replay guard on whether they were stored."""
        if any(r.error_code == RejectCode.STORE_UNAVAILABLE.value for r in results):
            self._cancel_not_stored(signed, kind)
        else:
            self._cancel_stored(signed, kind)
        return results

    async def _cancel_ids(
        self,
        maker: bytes,
        ids: Iterable[bytes],
        reason: CancelReason,
        kind: str,
        sig: bytes | None,
        also: Callable[[Session], None] | None = None,
        off_book: Iterable[bytes] = (),
    ) -> list[OrderResult]:
        """Cancel the resting orders of `maker` among `ids` (one result per id), in one commit.

        The ids in `off_book` (not resting) get their own `cancels` row in that same commit, so
        `recovery.load` rebuilds their mark; they yield no result. For a pull
        (`recovery.PULL_KINDS`: cancel-all, dead-man's switch, drain) they are the maker's orders
        off the book with fills not final yet (see `_settling_of`), and they and the cancelled
        ones with fills not final are marked pulled: a skipped fill of theirs is never restored.
        For a signed cancel by hash (`cancel`) they are the hashes never seen and the maker's
        known orders off the book (soft-cancelled). If the commit fails nothing is acknowledged:
        every result is `store_unavailable` (retry) and memory is rebuilt from the store.
        """
        now_ms = self._clock()
        pull = kind in recovery.PULL_KINDS
        inputs: list[_Input] = []
        updates: list[Update] = []
        results: list[OrderResult] = []
        for oid in ids:
            info = self._orders.get(oid)
            resting = self._engine.order(oid)
            if resting is not None and info is not None and info.maker == maker:
                command = CancelOrder(oid, reason, now_ms)
                seq, events, ups = self._apply(command, now_ms)
                inputs.append(_Input(seq, command, events, cancel=(oid, kind, reason.value, sig)))
                updates.extend(ups)
                results.append(OrderResult(oid, OrderState.CANCELLED, resting.remaining, None, reason.value))
                if pull and oid in self._fill_refs:
                    self._pulled[oid] = reason
            else:
                results.append(OrderResult(oid, OrderState.REJECTED, 0, "not_open", "no open order of this maker"))
        write = self._write_for(inputs, now_ms)
        for oid in off_book:
            if pull:
                self._pulled[oid] = reason
            write.cancel(oid, kind, reason.value, sig, self._seq, now_ms)
        if also is not None:
            write.after.append(also)
        if write and not await self._commit(write, updates):
            return [
                OrderResult(r.order_id, OrderState.REJECTED, 0, RejectCode.STORE_UNAVAILABLE.value, "retry")
                for r in results
            ]
        return results

    async def cancel(self, signed: SignedCancel) -> list[OrderResult]:
        """Apply a signed `CancelOrders`: one result per listed hash (already final orders are returned as they are).

        Raises `CancelRejected` (code `cancel_rejected`) if the signature, maker or timestamp is not acceptable.
        """
        msg = signed.message
        if not isinstance(msg, CancelOrders) or not 0 < len(msg.order_hashes) <= MAX_CANCEL_HASHES:
            raise CancelRejected("cancel_invalid", f"expected CancelOrders with 1..{MAX_CANCEL_HASHES} hashes")
        maker = await self._check_cancel(signed, "orders")
        tag = maker + signed.signature
        known = await self._known_ids(list(msg.order_hashes))
        # besides the resting orders it cancels, the cancel records (in the same commit, so that
        # recovery rebuilds the marks) hashes not seen yet, refused if they arrive later, and the
        # maker's known orders off the book (fully matched, fills still settling), never put back
        # on the book by a skipped fill
        off_book = [
            h
            for h in dict.fromkeys(msg.order_hashes)
            if h not in known
            or ((info := self._orders.get(h)) is not None and info.maker == maker and self._engine.order(h) is None)
        ]
        for h in msg.order_hashes:
            self._soft_cancelled.add((maker, h))
        results = await self._cancel_ids(
            maker, msg.order_hashes, CancelReason.REQUESTED, "signed", tag, off_book=off_book
        )
        return self._cancel_outcome(signed, "orders", results)

    def _settling_of(self, maker: bytes, series: bytes | None = None, before_ms: int | None = None) -> list[bytes]:
        """The orders of `maker` (of `series`, received before `before_ms`, if given) that are off
        the book with fills not final yet and that a skipped fill would put back (GTC, post-only),
        not marked pulled yet: what a pull covers besides the resting orders (see `_cancel_ids`)."""
        out: list[bytes] = []
        for oid in self._fill_refs:
            info = self._orders.get(oid)
            if (
                info is not None
                and info.maker == maker
                and (series is None or info.series == series)
                and (before_ms is None or info.received_ms < before_ms)
                and info.tif in (TimeInForce.GTC, TimeInForce.POST_ONLY)
                and oid not in self._pulled
                and self._engine.order(oid) is None
            ):
                out.append(oid)
        return out

    async def cancel_all(self, signed: SignedCancel) -> list[OrderResult]:
        """Apply a signed `CancelAll`: cancel the maker's open orders (of one series or all) received before it.

        Its orders received before it that are off the book with fills still settling are covered
        too: a skipped fill of theirs is not restored (they are not in the results).
        """
        msg = signed.message
        if not isinstance(msg, CancelAll):
            raise CancelRejected("cancel_invalid", "expected CancelAll")
        maker = await self._check_cancel(signed, "all")
        series = None if msg.series == ALL_SERIES else msg.series
        ids = [
            r.order_id
            for r in self._engine.open_orders(series)
            if r.maker == maker
            and (info := self._orders.get(r.order_id)) is not None
            and info.received_ms < msg.timestamp
        ]
        settling = self._settling_of(maker, series, msg.timestamp)
        results = await self._cancel_ids(maker, ids, CancelReason.REQUESTED, "cancel_all", None, off_book=settling)
        return self._cancel_outcome(signed, "all", results)

    async def cancel_after(self, signed: SignedCancel) -> int | None:
        """Arm (or with timeout 0 disarm) the maker's dead-man's switch; returns its deadline (unix ms) or None."""
        msg = signed.message
        if not isinstance(msg, CancelAfter):
            raise CancelRejected("cancel_invalid", "expected CancelAfter")
        maker = await self._check_cancel(signed, "after")
        now = self._clock()
        deadline = now + msg.timeout_ms if msg.timeout_ms else None

        def write(session: Session) -> None:
            if deadline is None:
                session.execute(delete(DeadManRow).where(DeadManRow.maker == maker))
            else:
                session.merge(DeadManRow(maker=maker, deadline_ms=deadline, armed_ms=now))

        # persisted before the acknowledgement: an armed switch survives a crash
        if not await self._commit(write, []):
            self._cancel_not_stored(signed, "after")
            raise CancelRejected(RejectCode.STORE_UNAVAILABLE.value, "the store did not commit; retry")
        self._cancel_stored(signed, "after")
        if deadline is None:
            self._dead_man.pop(maker, None)
        else:
            self._dead_man[maker] = deadline
        return deadline

    # ------------------------------------------------------------------ reads

    async def get_order(self, order_id: bytes) -> OrderView | None:
        """The stored order, or None."""

        def read() -> OrderView | None:
            with Session(self._db) as session:
                row = session.get(OrderRow, order_id)
                return None if row is None else _order_view(row)

        return await asyncio.to_thread(read)

    async def list_orders(
        self,
        *,
        maker: bytes | None = None,
        series: bytes | None = None,
        status: OrderState | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[OrderView]:
        """Orders filtered by maker/series/status, newest first, `limit` <= 1000 per page.

        The cursor is the `created_seq` of the last order of the previous page.
        """
        limit = max(1, min(limit, 1000))
        before = _cursor(cursor)

        def read() -> Page[OrderView]:
            q = select(OrderRow)
            if maker is not None:
                q = q.where(OrderRow.maker == maker)
            if series is not None:
                q = q.where(OrderRow.series == series)
            if status is not None:
                q = q.where(OrderRow.status == status.value)
            if before is not None:
                q = q.where(OrderRow.created_seq < before)
            with Session(self._db) as session:
                rows = session.scalars(q.order_by(OrderRow.created_seq.desc()).limit(limit + 1)).all()
                items = tuple(_order_view(r) for r in rows[:limit])
            nxt = str(items[-1].created_seq) if len(rows) > limit else None
            return Page(items, nxt)

        return await asyncio.to_thread(read)

    def book(self, series: bytes, depth: int = 20) -> BookView:
        """Aggregated top `depth` levels per side and the book seq (an empty book for an unknown series)."""
        bids, asks = self._engine.depth(series, max(1, depth))
        return BookView(
            series,
            self._engine.book_seq(series),
            tuple(Level(p, a) for p, a in bids),
            tuple(Level(p, a) for p, a in asks),
        )

    def list_series(self) -> list[SeriesView]:
        """Series the venue has seen listed (chain state), expired ones included, sorted by expiry then id."""
        return [
            SeriesView(t.series, t.underlying, t.quote, t.strike, t.expiry, t.is_call, t.unit)
            for t in sorted(self.state.series.values(), key=lambda t: (t.expiry, t.series))
        ]

    async def list_fills(
        self,
        *,
        maker: bytes | None = None,
        series: bytes | None = None,
        batch: int | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[FillView]:
        """Fills filtered by maker (either side), series or batch, newest first (cursor: last fill id)."""
        limit = max(1, min(limit, 1000))
        before = _cursor(cursor)

        def read() -> Page[FillView]:
            mk = aliased(OrderRow)
            tk = aliased(OrderRow)
            q = (
                select(FillRow, mk.maker, tk.maker)
                .join(mk, FillRow.maker_order_id == mk.order_id)
                .join(tk, FillRow.taker_order_id == tk.order_id)
            )
            if maker is not None:
                q = q.where(or_(mk.maker == maker, tk.maker == maker))
            if series is not None:
                q = q.where(FillRow.series == series)
            if batch is not None:
                q = q.where(FillRow.batch_seq == batch)
            if before is not None:
                q = q.where(FillRow.id < before)
            with Session(self._db) as session:
                rows = session.execute(q.order_by(FillRow.id.desc()).limit(limit + 1)).all()
                items = tuple(_fill_view(f, m, t) for f, m, t in rows[:limit])
            return Page(items, str(items[-1].id) if len(rows) > limit else None)

        return await asyncio.to_thread(read)

    async def get_batch(self, seq: int) -> BatchView | None:
        """Batch `seq`, or None."""

        def read() -> BatchView | None:
            with Session(self._db) as session:
                row = session.get(BatchRow, seq)
                if row is None:
                    return None
                ids = session.scalars(select(FillRow.id).where(FillRow.batch_seq == seq).order_by(FillRow.id)).all()
                return BatchView(
                    row.seq,
                    BatchState(row.status),
                    row.tx_hash,
                    row.created_ms,
                    row.submitted_ms,
                    row.settled_block,
                    tuple(ids),
                )

        return await asyncio.to_thread(read)

    def health(self) -> Health:
        """Liveness figures."""
        return Health(
            ok=self._batch_error is None and not self._rebuilding,
            intake_paused=self._paused is not None,
            pause_reason=self._paused,
            journal_seq=self._seq,
            open_orders=self._engine.resting_count(),
            pending_fills=self._reservations.fills_held,
            last_batch_seq=self._last_batch_seq,
            chain_head=self.state.head,
            indexed_block=self._indexed_block,
            subscribers=self._hub.subscribers,
            detail=self._batch_error or "",
        )

    _indexed_block = 0

    def state_hash(self) -> tuple[int, bytes]:
        """(journal seq, engine state hash) as of now (in memory; see `durable_state_hash`)."""
        return self._seq, self._engine.state_hash()

    async def durable_state_hash(self) -> tuple[int, bytes]:
        """(journal seq, state hash) once every journal entry up to that seq is committed."""
        seq, digest = self.state_hash()
        await self._committer.submit(lambda session: None)
        return seq, digest

    # ------------------------------------------------------------------ streaming

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        """A bounded stream of every update (book deltas, trades, order/fill/batch updates).

        Filter per channel/maker in the consumer. A consumer `maxsize` updates behind is dropped.
        """
        return self._hub.subscribe(maxsize)

    # ------------------------------------------------------------------ admin

    async def pause_intake(self, reason: str) -> None:
        """Refuse new orders with `intake_paused` (cancels still work)."""
        self._paused = reason or "paused"

    async def resume_intake(self) -> None:
        """Accept orders again."""
        if not self._stopping:
            self._paused = None

    async def drain_maker(self, maker: bytes, reason: str = "operator") -> list[OrderResult]:
        """Cancel every open order of `maker` (operator action); one result per cancelled order.

        Its orders off the book with fills still settling are covered too: a skipped fill of
        theirs is not restored (they are not in the results).
        """
        ids = [r.order_id for r in self._engine.open_orders() if r.maker == maker]
        settling = self._settling_of(maker)
        return await self._cancel_ids(maker, ids, CancelReason.OPERATOR, "operator", None, off_book=settling)

    # ------------------------------------------------------------------ background: timers

    async def _timer_loop(self) -> None:
        interval = self.config.expire_interval_ms / 1000
        while True:
            await asyncio.sleep(min(interval, 0.1))
            now = self._clock()
            if self._rebuilding:
                continue
            for maker, deadline in list(self._dead_man.items()):
                if deadline <= now:
                    self._dead_man.pop(maker, None)
                    ids = [r.order_id for r in self._engine.open_orders() if r.maker == maker]

                    def disarm(session: Session, maker: bytes = maker, deadline: int = deadline) -> None:
                        # only the switch that fired: a later re-arm committed before this stays
                        session.execute(
                            delete(DeadManRow).where(DeadManRow.maker == maker, DeadManRow.deadline_ms <= deadline)
                        )

                    settling = self._settling_of(maker)
                    await self._cancel_ids(
                        maker, ids, CancelReason.DEAD_MAN_SWITCH, "dead_man", None, disarm, off_book=settling
                    )
            if self._delegated and self._dead_delegates(now):
                await self._sweep_delegated(now)
            nxt = self._engine.next_expiry_ms()
            if nxt is not None and nxt <= now:
                command = ExpireOrders(now)
                seq, events, ups = self._apply(command, now)
                await self._commit(self._write_for([_Input(seq, command, events)], now), ups)

    async def _sweep_delegated(self, now: int) -> None:
        """Cancel the resting orders of delegates dead at `now` (`delegate_revoked` / `delegate_expired`).

        An expiry is confirmed on-chain first (one `eth_call` per expired key): a `setDelegate`
        that extended the key may be mined but not polled yet. Revocations are final. Without the
        chain, the cache decides (cancelling a live key's orders is the safe mistake).
        """
        expired = [pair for pair, reason in self._dead_delegates(now) if reason is CancelReason.DELEGATE_EXPIRED]
        if expired:
            try:
                await self.state.prefetch(delegates=expired)
            except ChainError as exc:
                log.warning("re-reading expired delegates failed, cancelling per the cache: %s", exc)
        if self._rebuilding:
            return
        inputs, updates = self._cancel_delegated(self._dead_delegates(now), now)
        if inputs:
            await self._commit(self._write_for(inputs, now), updates)

    # ------------------------------------------------------------------ background: chain

    async def _chain_loop(self) -> None:
        while True:
            try:
                update = await asyncio.to_thread(self._indexer.poll)
                self.state.retract(update.retracted)
                cancels = self.state.apply_events(update.added)
                await asyncio.to_thread(self.state.refresh_head)
                # the cursor moves only together with the events' effects (a crash in between
                # re-reads the blocks); while rebuilding, nothing is stored and the next poll re-reads
                if not self._rebuilding and await self._chain_effects(cancels):
                    self._indexed_block = update.next_block
                # delegates of resting orders a reorg dropped from the cache (read at start-up otherwise)
                await self._read_delegates()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("chain poll failed: %s", exc)
            finally:
                self._indexer_store.discard()
            await asyncio.sleep(self.config.chain_poll_s)

    async def _chain_effects(self, cancels: list[ChainCancel]) -> bool:
        """Apply on-chain cancels and delegate revocations and advance the indexer cursor, in one
        commit; True once durable."""
        now_ms = self._clock()
        inputs: list[_Input] = []
        updates: list[Update] = []
        unknown: list[bytes] = []
        for maker, order_hash, min_nonce, delegate in cancels:
            if delegate is not None:
                # every resting order the key signed, even if a later event registers it again
                ins, ups = self._cancel_delegated([((maker, delegate), CancelReason.DELEGATE_REVOKED)], now_ms)
                inputs.extend(ins)
                updates.extend(ups)
                continue
            if order_hash is not None:
                ids = [order_hash]
                kind = "onchain"
            else:
                assert min_nonce is not None
                kind = "onchain_nonce"
                ids = [
                    r.order_id
                    for r in self._engine.open_orders()
                    if r.maker == maker and (i := self._orders.get(r.order_id)) is not None and i.nonce < min_nonce
                ]
            for oid in ids:
                if self._engine.order(oid) is None:
                    if order_hash is not None:
                        unknown.append(oid)  # remembered so the order is refused (and known after a restart)
                    continue
                command = CancelOrder(oid, CancelReason.ONCHAIN_CANCEL, now_ms)
                seq, events, ups = self._apply(command, now_ms)
                inputs.append(_Input(seq, command, events, cancel=(oid, kind, "onchain_cancel", None)))
                updates.extend(ups)
        write = self._write_for(inputs, now_ms)
        for oid in unknown:
            write.cancel(oid, "onchain", "onchain_cancel", None, self._seq, now_ms)
        cursor = self._indexer_store.staged_write()
        if cursor is not None:
            write.after.append(cursor)
        if not write:
            return True
        return await self._commit(write, updates)

    # ------------------------------------------------------------------ background: batches

    async def _batch_loop(self) -> None:
        # in-flight batches first: the submitter resumes or sends each exactly once
        for seq in list(self._inflight_batches):
            await self._settle_batch_until_done(seq)
        self._inflight_batches.clear()
        while True:
            rows, full = await asyncio.to_thread(self._pending_fill_ids, self.config.batch_size)
            if not rows:
                self._fills_ready.clear()
                # not asyncio.wait_for: on 3.11 it swallows a cancel that arrives as the event is set
                # (a fill right before `stop`), and the batcher then never stops
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        await self._fills_ready.wait()
                continue
            if not full:
                await asyncio.sleep(self.config.batch_ms / 1000)
                rows, full = await asyncio.to_thread(self._pending_fill_ids, self.config.batch_size)
            seq = self._last_batch_seq + 1
            if not await self._cut_batch(seq, rows):
                await asyncio.sleep(0.2)
                continue
            self._last_batch_seq = seq
            await self._settle_batch_until_done(seq)

    def _pending_fill_ids(self, limit: int) -> tuple[list[int], bool]:
        """The ids of the next batch (`relayer.batching.cut_batch`: the oldest pending fills, at most
        `limit`, never part of a one-shot order's fills) and whether `limit` fills were pending."""
        pending = FillStatus.PENDING.value
        mk, tk = aliased(OrderRow), aliased(OrderRow)
        with Session(self._db) as session:
            found = session.execute(
                select(FillRow.id, FillRow.maker_order_id, mk.nonce, FillRow.taker_order_id, tk.nonce)
                .join(mk, FillRow.maker_order_id == mk.order_id)
                .join(tk, FillRow.taker_order_id == tk.order_id)
                .where(FillRow.status == pending)
                .order_by(FillRow.id)
                .limit(limit)
            ).all()
            window = [
                PendingRow(fid, tuple(o for o, n in ((m, m_nonce), (t, t_nonce)) if n >= ONE_SHOT_FLAG))
                for fid, m, m_nonce, t, t_nonce in found
            ]
            one_shot = {o for r in window for o in r.one_shot}
            fills_of: dict[bytes, list[int]] = {}
            if one_shot:
                for fid, m, t in session.execute(
                    select(FillRow.id, FillRow.maker_order_id, FillRow.taker_order_id)
                    .where(
                        FillRow.status == pending,
                        or_(FillRow.taker_order_id.in_(one_shot), FillRow.maker_order_id.in_(one_shot)),
                    )
                    .order_by(FillRow.id)
                ).all():
                    for o in (m, t):
                        if o in one_shot:
                            fills_of.setdefault(o, []).append(fid)
        return cut_batch(window, fills_of, limit), len(found) >= limit

    async def _cut_batch(self, seq: int, fill_ids: list[int]) -> bool:
        now = self._clock()
        fees = self.config.fees

        def write(session: Session) -> None:
            session.add(
                BatchRow(
                    seq=seq,
                    status=BatchStatus.OPEN.value,
                    tx_hash=None,
                    created_ms=now,
                    submitted_ms=None,
                    settled_block=None,
                )
            )
            session.flush()
            for fill in session.scalars(select(FillRow).where(FillRow.id.in_(fill_ids))).all():
                mk = session.get(OrderRow, fill.maker_order_id)
                tk = session.get(OrderRow, fill.taker_order_id)
                assert mk is not None and tk is not None
                fill.status = FillStatus.BATCHED.value
                fill.batch_seq = seq
                fill.maker_fee = fees.maker(mk.max_fee)
                fill.taker_fee = fees.taker(tk.max_fee)

        try:
            await self._committer.submit(write)
        except (CommitFailed, StoreClosed) as exc:
            log.error("cutting batch %d failed: %s", seq, exc)
            await self._rebuild()
            return False
        self._hub.publish([BatchUpdate(seq, BatchState.OPEN, None, 0, 0, now)])
        return True

    def _load_batch(self, seq: int) -> tuple[Batch, list[FillRow]]:
        with Session(self._db, expire_on_commit=False) as session:
            fills = list(session.scalars(select(FillRow).where(FillRow.batch_seq == seq).order_by(FillRow.id)).all())
            out = []
            for f in fills:
                mk = session.get(OrderRow, f.maker_order_id)
                tk = session.get(OrderRow, f.taker_order_id)
                assert mk is not None and tk is not None
                out.append(
                    SettleFill(_signed_from_row(mk), _signed_from_row(tk), f.amount, f.maker_fee or 0, f.taker_fee or 0)
                )
                session.expunge(f)
            return Batch(seq, out), fills

    async def _settle_batch_until_done(self, seq: int) -> None:
        delay = 0.2
        while True:
            try:
                batch, fills = await asyncio.to_thread(self._load_batch, seq)
                await self._mark_submitted(seq)
                result = await asyncio.to_thread(self._submitter.submit, batch)
                self._batch_error = None
                await self._reconcile(seq, result, fills)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._batch_error = f"batch {seq}: {exc}"
                log.warning("batch %d not settled yet: %s", seq, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _mark_submitted(self, seq: int) -> None:
        now = self._clock()

        def write(session: Session) -> None:
            row = session.get(BatchRow, seq)
            if row is not None and row.status == BatchStatus.OPEN.value:
                row.status = BatchStatus.SUBMITTED.value
                row.submitted_ms = now

        await self._committer.submit(write)

    async def _reconcile(self, seq: int, result: SubmitResult, fills: list[FillRow]) -> None:
        """Apply a settled batch: Trade → fill final; FillSkipped → cancel / restore per `reconcile.verdict`."""
        # post-trade balances first, so releasing a fill's reservation never over-credits its parties
        parties = {
            i.maker
            for f in fills
            for i in (self._orders.get(f.maker_order_id), self._orders.get(f.taker_order_id))
            if i
        }
        while True:
            try:
                await self.state.refresh_balances(parties)
                # nonce floors not cached (after a restart or a reorg): see `_below_nonce_floor`
                await self.state.prefetch(makers=parties)
                break
            except ChainError as exc:
                log.warning("refreshing balances after batch %d failed: %s", seq, exc)
                await asyncio.sleep(0.2)
        now_ms = self._clock()
        inputs: list[_Input] = []
        updates: list[Update] = []
        statuses: dict[int, tuple[str, str | None]] = {}
        #: orders whose skipped amount is not restored: (id, amount, reason if it had counted as filled)
        unfilled: list[tuple[bytes, int, str]] = []
        for index, f in enumerate(fills):
            mk, tk = self._orders.get(f.maker_order_id), self._orders.get(f.taker_order_id)
            if index in result.skipped:
                code = result.skipped[index]
                statuses[f.id] = (FillStatus.SKIPPED.value, skip_name(code))
                v = verdict(code)
                for oid, info, cancel, restore in (
                    (f.maker_order_id, mk, v.cancel_maker, v.restore_maker),
                    (f.taker_order_id, tk, v.cancel_taker, v.restore_taker),
                ):
                    if info is None:
                        continue
                    command: Command | None = None
                    # an order cancelled meanwhile is never put back, and the amount stays unfilled
                    # with the cancel's reason: pulled by its maker (cancel-all, dead-man's switch,
                    # drain), its delegate key dead (it could not settle), cancelled by hash with a
                    # signed cancel, or on-chain by hash or below the maker's nonce floor
                    held = (
                        self._pulled.get(oid)
                        or self._delegate_death(info, now_ms)
                        or (CancelReason.REQUESTED if (info.maker, oid) in self._soft_cancelled else None)
                        or (
                            CancelReason.ONCHAIN_CANCEL
                            if oid in self.state.cancelled or self._below_nonce_floor(info)
                            else None
                        )
                    )
                    if cancel and self._engine.order(oid) is not None:
                        command = CancelOrder(oid, v.reason, now_ms)
                    elif restore and info.tif in (TimeInForce.GTC, TimeInForce.POST_ONLY) and held is None:
                        spec = OrderSpec(oid, info.maker, info.series, info.is_buy, info.price, f.amount, info.expiry)
                        command = RestoreOrder(spec, now_ms)
                    if command is not None:
                        s, events, ups = self._apply(command, now_ms)
                        inputs.append(_Input(s, command, events))
                        updates.extend(ups)
                    if not isinstance(command, RestoreOrder):
                        # the amount never traded: the stored order says so (an innocent IOC/FOK
                        # order, or one cancelled meanwhile, keeps it unfilled rather than "filled")
                        why = v.reason if cancel else held or CancelReason.SETTLEMENT_FAILED
                        unfilled.append((oid, f.amount, why.value))
            else:
                statuses[f.id] = (FillStatus.SETTLED.value, None)
            self._release_fill(f.series, f.book_seq, f.maker_order_id, f.taker_order_id)
            status, reason = statuses[f.id]
            for info, oid in ((mk, f.maker_order_id), (tk, f.taker_order_id)):
                if info is not None:
                    updates.append(
                        FillUpdate(
                            info.maker,
                            f.id,
                            oid,
                            f.series,
                            info.is_buy,
                            f.price,
                            f.amount,
                            FillState(status),
                            seq,
                            reason,
                            now_ms,
                        )
                    )
        last_seq = self._seq
        updates.append(
            BatchUpdate(seq, BatchState.SETTLED, result.tx_hash, len(result.filled), len(result.skipped), now_ms)
        )
        write = self._write_for(inputs, now_ms)

        def finish(session: Session) -> None:
            row = session.get(BatchRow, seq)
            assert row is not None
            row.status = BatchStatus.SETTLED.value
            row.tx_hash = result.tx_hash
            row.settled_block = result.block_number
            for fill in session.scalars(select(FillRow).where(FillRow.batch_seq == seq)).all():
                fill.status, fill.skip_reason = statuses[fill.id]
            for oid, amount, why in unfilled:
                order = session.get(OrderRow, oid)
                if order is None:
                    continue
                order.remaining += amount
                order.updated_seq = last_seq
                if order.status == OrderStatus.FILLED.value:
                    order.status, order.cancel_reason = OrderStatus.CANCELLED.value, why

        write.after.append(finish)
        await self._commit(write, updates)


def _fill_view(f: FillRow, maker: bytes, taker: bytes) -> FillView:
    return FillView(
        f.id,
        f.series,
        f.book_seq,
        f.maker_order_id,
        f.taker_order_id,
        maker,
        taker,
        f.taker_is_buy,
        f.price,
        f.amount,
        f.maker_fee or 0,
        f.taker_fee or 0,
        FillState(f.status),
        f.batch_seq,
        f.skip_reason,
    )
