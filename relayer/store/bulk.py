"""The hot write path: one group of engine inputs as a handful of bulk statements.

`GroupWrite` collects what a set of engine inputs changes (journal entries, new orders, order
status changes, fills, cancels, a snapshot) as plain parameter tuples while the venue applies
them on the event loop, folding every change of one order into its final state. Called with a
session on the commit thread, it runs one `executemany` per statement kind through the DBAPI
cursor (no ORM objects, no per-row flushes), in an order that satisfies the foreign keys:
orders, order updates, fills, journal, cancels, snapshot.

It writes exactly what `journal.append` + `records.insert_order`/`record_events`/`insert_cancel`
would (the store tests check both paths give the same rows), only faster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from relayer.engine import (
    Cancelled,
    Command,
    EngineSnapshot,
    Event,
    Expired,
    Fill,
    Rejected,
    Rested,
    encode_command,
    encode_snapshot,
    hash_books,
)
from relayer.store.columns import UINT256_MAX
from relayer.store.journal import command_kind
from relayer.store.models import FillStatus, OrderStatus
from relayer.store.records import SignedOrder

_OPEN = OrderStatus.OPEN.value
_FILLED = OrderStatus.FILLED.value
_CANCELLED = OrderStatus.CANCELLED.value
_EXPIRED = OrderStatus.EXPIRED.value
_REJECTED = OrderStatus.REJECTED.value
_PENDING = FillStatus.PENDING.value

_ORDER_COLUMNS = (
    "order_id, maker, series, is_buy, price, amount, max_fee, nonce, expiry, signature, tif, "
    "status, remaining, cancel_reason, client_id, created_seq, updated_seq, delegate_key"
)
_FILL_COLUMNS = "journal_seq, series, book_seq, maker_order_id, taker_order_id, taker_is_buy, price, amount, status"


class OrderFields(Protocol):
    """The signed fields of an order other than its maker (`records.SignedOrder`, `settlement.order.Order`)."""

    @property
    def series(self) -> bytes: ...
    @property
    def is_buy(self) -> bool: ...
    @property
    def price(self) -> int: ...
    @property
    def amount(self) -> int: ...
    @property
    def max_fee(self) -> int: ...
    @property
    def nonce(self) -> int: ...
    @property
    def expiry(self) -> int: ...


def _sql(paramstyle: str, template: str) -> str:
    """`template` with `?` placeholders in the driver's own style (qmark or format)."""
    if paramstyle == "qmark":
        return template
    if paramstyle in ("format", "pyformat"):
        return template.replace("?", "%s")
    raise ValueError(f"unsupported DBAPI paramstyle {paramstyle!r}")


def _marks(n: int) -> str:
    return "(" + ", ".join("?" * n) + ")"


_STATEMENTS = {
    "order": f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES {_marks(18)}",
    "update": "UPDATE orders SET remaining = ?, status = ?, updated_seq = ? WHERE order_id = ?",
    "update_reason": (
        "UPDATE orders SET remaining = ?, status = ?, cancel_reason = ?, updated_seq = ? WHERE order_id = ?"
    ),
    "fill": f"INSERT INTO fills ({_FILL_COLUMNS}) VALUES {_marks(9)}",
    "journal": "INSERT INTO journal (seq, kind, now_ms, payload) VALUES (?, ?, ?, ?)",
    "cancel": (
        "INSERT INTO cancels (order_id, kind, reason, signature, journal_seq, created_ms) VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "snapshot": "INSERT INTO snapshots (journal_seq, state_hash, payload) VALUES (?, ?, ?)",
}


def _uint_sqlite(value: int) -> str:
    if not 0 <= value <= UINT256_MAX:
        raise ValueError(f"not a uint256: {value!r}")
    return f"{value:078d}"


def _uint_native(value: int) -> int:
    if not 0 <= value <= UINT256_MAX:
        raise ValueError(f"not a uint256: {value!r}")
    return value


class GroupWrite:
    """The store rows of a run of engine inputs, written in bulk when called with a session.

    `sqlite`: encode Uint256 columns as SQLite's 78-digit strings (else as integers, which
    PostgreSQL stores in NUMERIC(78, 0)). Add inputs in journal order; call at most once.
    """

    __slots__ = ("_cancels", "_changes", "_fills", "_journal", "_new", "_snapshot", "_uint", "after")

    def __init__(self, *, sqlite: bool) -> None:
        self._uint: Callable[[int], Any] = _uint_sqlite if sqlite else _uint_native
        self._journal: list[tuple[int, str, int, bytes]] = []
        #: new orders: id -> [(id, maker, signed fields, signature, tif, delegate key), client_id, created_seq,
        #: status, remaining, reason, updated_seq]
        self._new: dict[bytes, list[Any]] = {}
        #: changes of orders stored before this group: id -> [remaining, status, reason or None, seq, reason set]
        self._changes: dict[bytes, list[Any]] = {}
        self._fills: list[tuple[Any, ...]] = []
        self._cancels: list[tuple[bytes, str, str, bytes | None, int, int]] = []
        self._snapshot: tuple[int, EngineSnapshot] | None = None
        #: further ORM work to run after the bulk statements (rare paths: batch rows, skipped fills).
        self.after: list[Callable[[Session], None]] = []

    def __bool__(self) -> bool:
        return bool(self._journal or self._cancels or self._snapshot or self.after)

    def place(self, order: SignedOrder, seq: int, client_id: str | None, command: Command) -> None:
        """A new order, journaled at `seq` (its events follow through `events`)."""
        self.place_signed(
            order.order_id,
            order.maker,
            order,
            order.signature,
            order.tif.value,
            seq,
            client_id,
            command,
            delegate_key=order.delegate_key,
        )

    def place_signed(
        self,
        order_id: bytes,
        maker: bytes,
        fields: OrderFields,
        signature: bytes,
        tif: str,
        seq: int,
        client_id: str | None,
        command: Command,
        delegate_key: bytes | None = None,
    ) -> None:
        """`place` without building a `records.SignedOrder` first (the intake's hot path).

        `fields`: any object with the order's signed fields (a `settlement.order.Order` does);
        `delegate_key`: the delegate key that signed it (None: the maker's own key or wallet).
        """
        self._journal.append((seq, "place", command.now_ms, encode_command(command)))
        self._new[order_id] = [
            (order_id, maker, fields, signature, tif, delegate_key),
            client_id,
            seq,
            _OPEN,
            fields.amount,
            None,
            seq,
        ]

    def command(self, seq: int, command: Command) -> None:
        """Journal entry `seq` for a command that places no new order."""
        self._journal.append((seq, command_kind(command), command.now_ms, encode_command(command)))

    def _set(
        self, order_id: bytes, seq: int, remaining: int, status: str, reason: str | None, has_reason: bool
    ) -> None:
        new = self._new.get(order_id)
        if new is not None:
            new[3], new[4], new[6] = status, remaining, seq
            if has_reason:
                new[5] = reason
            return
        change = self._changes.get(order_id)
        if change is None:
            self._changes[order_id] = [remaining, status, reason, seq, has_reason]
        else:
            change[0], change[1], change[3] = remaining, status, seq
            if has_reason:
                change[2], change[4] = reason, True

    def events(self, seq: int, events: Sequence[Event]) -> None:
        """The outcome of journal entry `seq` for orders and fills (as `records.record_events`)."""
        for e in events:
            if type(e) is Rested:
                self._set(e.order_id, seq, e.remaining, _OPEN, None, False)
            elif type(e) is Fill:
                u = self._uint
                self._fills.append(
                    (seq, e.series, e.seq, e.maker_id, e.taker_id, e.taker_is_buy, u(e.price), u(e.amount), _PENDING)
                )
                self._set(e.maker_id, seq, e.maker_remaining, _OPEN if e.maker_remaining else _FILLED, None, False)
                self._set(e.taker_id, seq, e.taker_remaining, _OPEN if e.taker_remaining else _FILLED, None, False)
            elif type(e) is Cancelled:
                self._set(e.order_id, seq, e.remaining, _CANCELLED, e.reason.value, True)
            elif type(e) is Expired:
                self._set(e.order_id, seq, e.remaining, _EXPIRED, None, False)
            elif type(e) is Rejected:
                new = self._new.get(e.order_id)
                if new is not None and new[2] == seq:
                    new[3], new[5] = _REJECTED, e.code.value

    def cancel(
        self, order_id: bytes, kind: str, reason: str, signature: bytes | None, journal_seq: int, created_ms: int
    ) -> None:
        """A cancel request row (as `records.insert_cancel`)."""
        self._cancels.append((order_id, kind, reason, signature, journal_seq, created_ms))

    def snapshot(self, journal_seq: int, snapshot: EngineSnapshot) -> None:
        """Store `snapshot` (the engine after entry `journal_seq`); hashed and encoded when written."""
        self._snapshot = (journal_seq, snapshot)

    def __call__(self, session: Session) -> None:
        # earlier writers of the same transaction may have used the ORM: flush their rows first
        session.flush()
        connection = session.connection()
        paramstyle = connection.dialect.paramstyle

        def run(name: str, rows: Sequence[tuple[Any, ...]]) -> None:
            if rows:
                connection.exec_driver_sql(_sql(paramstyle, _STATEMENTS[name]), list(rows))

        u = self._uint
        run(
            "order",
            [
                (
                    order_id,
                    maker,
                    o.series,
                    o.is_buy,
                    u(o.price),
                    u(o.amount),
                    u(o.max_fee),
                    u(o.nonce),
                    u(o.expiry),
                    signature,
                    tif,
                    status,
                    u(remaining),
                    reason,
                    client_id,
                    created,
                    updated,
                    delegate_key,
                )
                for (
                    (order_id, maker, o, signature, tif, delegate_key),
                    client_id,
                    created,
                    status,
                    remaining,
                    reason,
                    updated,
                ) in self._new.values()
            ],
        )
        plain = [(u(c[0]), c[1], c[3], oid) for oid, c in self._changes.items() if not c[4]]
        with_reason = [(u(c[0]), c[1], c[2], c[3], oid) for oid, c in self._changes.items() if c[4]]
        run("update", plain)
        run("update_reason", with_reason)
        run("fill", self._fills)
        run("journal", self._journal)
        run("cancel", self._cancels)
        if self._snapshot is not None:
            seq, snapshot = self._snapshot
            run("snapshot", [(seq, hash_books(snapshot.books), encode_snapshot(snapshot))])
        if session.identity_map:
            session.expire_all()  # ORM objects loaded earlier may predate the statements above
        for extra in self.after:
            extra(session)
