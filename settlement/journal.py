"""The submitter's write-ahead journal: every signed transaction is recorded before it is broadcast.

After a crash the submitter reads it back to rebroadcast, wait for or replace what it sent,
never picking a new nonce for a batch whose earlier transaction could still land.
`SubmitJournal` is the interface; `SQLiteSubmitJournal` keeps it in one SQLite file (WAL,
synchronous=FULL so a committed record survives power loss).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .errors import SubmitError
from .transactions import Fees


@dataclass(frozen=True)
class Attempt:
    """One signed transaction for a batch: its hash, raw bytes, fees and nonce."""

    tx_hash: bytes
    raw: bytes
    nonce: int
    fees: Fees
    gas: int


@dataclass
class BatchRecord:
    """What was sent for batch `seq` (content `fingerprint`); `final` once confirmed to depth."""

    seq: int
    fingerprint: bytes
    attempts: list[Attempt] = field(default_factory=list)
    final: bool = False
    applied_tx: bytes | None = None

    @property
    def latest(self) -> Attempt:
        return self.attempts[-1]


class SubmitJournal(Protocol):
    def get(self, seq: int) -> BatchRecord | None: ...

    def unfinished(self) -> list[BatchRecord]: ...

    def add_attempt(self, seq: int, fingerprint: bytes, attempt: Attempt) -> None: ...

    def mark_final(self, seq: int, tx_hash: bytes) -> None: ...

    def max_nonce(self) -> int | None: ...


class SQLiteSubmitJournal:
    """`SubmitJournal` in a SQLite file (or ":memory:")."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS batches (
                seq INTEGER PRIMARY KEY, fingerprint BLOB NOT NULL,
                final INTEGER NOT NULL DEFAULT 0, applied_tx BLOB);
            CREATE TABLE IF NOT EXISTS attempts (
                id INTEGER PRIMARY KEY AUTOINCREMENT, seq INTEGER NOT NULL REFERENCES batches(seq),
                tx_hash BLOB NOT NULL UNIQUE, raw BLOB NOT NULL, nonce INTEGER NOT NULL,
                fees TEXT NOT NULL, gas INTEGER NOT NULL);
            """
        )

    def close(self) -> None:
        self._db.close()

    def _record(self, seq: int, fingerprint: bytes, final: int, applied: bytes | None) -> BatchRecord:
        rows = self._db.execute(
            "SELECT tx_hash, raw, nonce, fees, gas FROM attempts WHERE seq = ? ORDER BY id", (seq,)
        ).fetchall()
        attempts = [Attempt(bytes(h), bytes(r), n, Fees.from_json(json.loads(f)), g) for h, r, n, f, g in rows]
        return BatchRecord(seq, bytes(fingerprint), attempts, bool(final), None if applied is None else bytes(applied))

    def get(self, seq: int) -> BatchRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT fingerprint, final, applied_tx FROM batches WHERE seq = ?", (seq,)
            ).fetchone()
            return None if row is None else self._record(seq, row[0], row[1], row[2])

    def unfinished(self) -> list[BatchRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, fingerprint, final, applied_tx FROM batches WHERE final = 0 ORDER BY seq"
            ).fetchall()
            return [self._record(*row) for row in rows]

    def add_attempt(self, seq: int, fingerprint: bytes, attempt: Attempt) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT fingerprint FROM batches WHERE seq = ?", (seq,)).fetchone()
                if row is None:
                    self._db.execute("INSERT INTO batches (seq, fingerprint) VALUES (?, ?)", (seq, fingerprint))
                elif bytes(row[0]) != fingerprint:
                    raise SubmitError(f"batch {seq} was already sent with different content")
                self._db.execute(
                    "INSERT OR IGNORE INTO attempts (seq, tx_hash, raw, nonce, fees, gas) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        seq,
                        attempt.tx_hash,
                        attempt.raw,
                        attempt.nonce,
                        json.dumps(attempt.fees.to_json()),
                        attempt.gas,
                    ),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def mark_final(self, seq: int, tx_hash: bytes) -> None:
        with self._lock:
            self._db.execute("UPDATE batches SET final = 1, applied_tx = ? WHERE seq = ?", (tx_hash, seq))

    def max_nonce(self) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT MAX(nonce) FROM attempts").fetchone()
            return None if row is None or row[0] is None else int(row[0])
