"""The bulk group write stores exactly the rows the per-row ORM path stores, on both backends."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from relayer.engine import (
    CancelOrder,
    Command,
    Event,
    MatchingEngine,
    PlaceOrder,
    encode_command,
)
from relayer.store import CancelRow, FillRow, JournalRow, OrderRow, insert_cancel, insert_order, journal, record_events
from relayer.store.bulk import GroupWrite
from tests.relayer.store.builders import T0_MS, random_commands, signed


def _applied(n: int, seed: int) -> list[tuple[int, Command, list[Event]]]:
    engine = MatchingEngine(lambda: T0_MS)
    return [(seq, c, engine.apply(c)) for seq, c in enumerate(random_commands(n, seed), start=1)]


def _rows(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    def table(model: Any, *columns: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in session.execute(select(*columns).order_by(*columns[:2])).all()]

    o, f, j, c = OrderRow, FillRow, JournalRow, CancelRow
    return {
        "orders": table(
            o, o.order_id, o.maker, o.series, o.is_buy, o.price, o.amount, o.max_fee, o.nonce, o.expiry,
            o.signature, o.tif, o.status, o.remaining, o.cancel_reason, o.client_id, o.created_seq, o.updated_seq,
            o.delegate_key,
        ),
        "fills": table(
            f, f.journal_seq, f.book_seq, f.series, f.maker_order_id, f.taker_order_id, f.taker_is_buy, f.price,
            f.amount, f.status, f.batch_seq, f.skip_reason,
        ),
        "journal": table(j, j.seq, j.kind, j.now_ms, j.payload),
        "cancels": table(c, c.journal_seq, c.order_id, c.kind, c.reason, c.signature, c.created_ms),
    }  # fmt: skip


def _delegate(seq: int) -> bytes | None:
    """Every third order is signed by one of two delegate keys; the others by their maker."""
    return None if seq % 3 else bytes([0xD0 + seq % 2]) * 20


def test_a_group_write_stores_the_same_rows_as_the_orm_path(db: Engine) -> None:
    applied = _applied(400, seed=11)
    with Session(db) as session:
        session.begin()
        for seq, command, events in applied:
            if isinstance(command, PlaceOrder):
                order = signed(command.order, command.tif, nonce=seq, delegate_key=_delegate(seq))
                insert_order(session, order, seq, client_id=f"c{seq}")
                session.flush()
            journal.append(session, seq, command)
            record_events(session, seq, events)
            if isinstance(command, CancelOrder):
                insert_cancel(
                    session, command.order_id, kind="signed", reason="requested", journal_seq=seq, created_ms=1
                )
            session.flush()
        expected = _rows(session)
        session.rollback()

    # split into several writers of one transaction, as the group committer runs them
    writes = [GroupWrite(sqlite=db.dialect.name == "sqlite") for _ in range(3)]
    for seq, command, events in applied:
        write = writes[seq * 3 // (len(applied) + 1)]
        if isinstance(command, PlaceOrder):
            order = signed(command.order, command.tif, nonce=seq, delegate_key=_delegate(seq))
            write.place(order, seq, f"c{seq}", command)
        else:
            write.command(seq, command)
        write.events(seq, events)
        if isinstance(command, CancelOrder):
            write.cancel(command.order_id, "signed", "requested", None, seq, 1)
    with Session(db) as session, session.begin():
        for write in writes:
            write(session)
    with Session(db) as session:
        stored = _rows(session)

    assert sum(len(rows) for rows in expected.values()) > 400
    assert {r[-1] for r in expected["orders"]} == {None, b"\xd0" * 20, b"\xd1" * 20}
    assert stored == expected


def test_the_fast_place_encoding_is_the_canonical_json_of_the_command() -> None:
    places = [c for _, c, _ in _applied(300, seed=3) if isinstance(c, PlaceOrder)]
    for command in places:
        o = command.order
        doc = {
            "k": "place",
            "now": command.now_ms,
            "tif": command.tif.value,
            "id": o.order_id.hex(),
            "maker": o.maker.hex(),
            "series": o.series.hex(),
            "buy": o.is_buy,
            "price": o.price,
            "amount": o.amount,
            "expiry": o.expiry,
        }
        assert encode_command(command) == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
