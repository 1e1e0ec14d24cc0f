"""An append-only, hash-chained admin audit log (JSON lines).

Every line is a JSON object with `seq` (0, 1, 2, ...), `ts` (unix seconds), `prev` (the SHA-256 of
the previous line's bytes; 64 zeros for the first line) and the event's fields. Editing, removing,
inserting or reordering a line breaks the chain at that point, and `verify_audit_log` says where.
Cutting lines off the end cannot be seen from the file alone: record `head` (the hash of the last
line) somewhere else from time to time (a ticket, a chat channel, another host) and compare.

Events never carry secrets: no HMACs, no TOTP codes, no key material.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import AuditLogError, AuditLogTamperedError

GENESIS = "0" * 64
_RESERVED = frozenset({"seq", "ts", "prev"})


def line_hash(line: bytes) -> str:
    """SHA-256 hex of one log line, without its newline."""
    return hashlib.sha256(line).hexdigest()


@dataclass(frozen=True)
class AuditSummary:
    """What a verified log holds: how many entries, and the hash of the last line (its head)."""

    entries: int
    head: str


def _check_line(raw: bytes, number: int, expected_prev: str, expected_seq: int) -> None:
    try:
        record = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AuditLogTamperedError(f"audit log line {number} is not JSON", number) from None
    if not isinstance(record, dict):
        raise AuditLogTamperedError(f"audit log line {number} is not an object", number)
    if record.get("prev") != expected_prev:
        raise AuditLogTamperedError(
            f"audit log line {number} does not chain to line {number - 1} (edited, removed or reordered)", number
        )
    if record.get("seq") != expected_seq:
        found = record.get("seq")
        raise AuditLogTamperedError(f"audit log line {number} has seq {found}, expected {expected_seq}", number)


def verify_audit_log(path: Path) -> AuditSummary:
    """Check every link of the chain; raise `AuditLogTamperedError` at the first broken one."""
    prev = GENESIS
    count = 0
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return AuditSummary(0, GENESIS)
    if data and not data.endswith(b"\n"):
        raise AuditLogTamperedError("audit log ends in a partial line", data.count(b"\n") + 1)
    for number, raw in enumerate(data.splitlines(), start=1):
        _check_line(raw, number, prev, count)
        prev = line_hash(raw)
        count += 1
    return AuditSummary(count, prev)


class AuditLog:
    """Appends events to `path`, each line fsynced before `append` returns (write before act)."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._seq, self._head = self._tail()

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r}, entries={self._seq})"

    def _tail(self) -> tuple[int, str]:
        """(next seq, head hash) from the last line, so a restarted process continues the chain."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return 0, GENESIS
        if not data:
            return 0, GENESIS
        if not data.endswith(b"\n"):
            raise AuditLogError(f"{self.path} ends in a partial line; inspect it (verify_audit_log) before appending")
        last = data.splitlines()[-1]
        try:
            seq = int(json.loads(last)["seq"])
        except (ValueError, KeyError, TypeError):
            raise AuditLogError(f"the last line of {self.path} is not an audit record") from None
        return seq + 1, line_hash(last)

    @property
    def head(self) -> str:
        """SHA-256 of the last line written (64 zeros while empty): record it elsewhere to detect truncation."""
        return self._head

    def append(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Write one event and return the full record as written."""
        clash = _RESERVED & event.keys()
        if clash:
            raise AuditLogError(f"audit events may not set {sorted(clash)}")
        with self._lock:
            record = {"seq": self._seq, "ts": round(self._clock(), 3), "prev": self._head, **event}
            line = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if os.write(fd, line + b"\n") != len(line) + 1:
                    raise OSError(0, "short write")
                os.fsync(fd)
            except OSError as exc:
                raise AuditLogError(f"cannot write audit log {self.path}: {exc.strerror}") from None
            finally:
                os.close(fd)
            self._seq += 1
            self._head = line_hash(line)
            return record
