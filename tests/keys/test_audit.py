"""The admin audit log: append-only, hash-chained, and tampering is found at the line it happened."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from keys.audit import GENESIS, AuditLog, line_hash, verify_audit_log
from keys.errors import AuditLogError, AuditLogTamperedError


def _write_three(path: Path) -> AuditLog:
    log = AuditLog(path, clock=lambda: 1000.0)
    for i in range(3):
        log.append({"event": "admin_request", "action": "pause", "n": i})
    return log


def test_entries_chain_and_verify(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = _write_three(path)

    summary = verify_audit_log(path)
    lines = path.read_bytes().splitlines()

    assert summary.entries == 3
    assert summary.head == log.head == line_hash(lines[-1])
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [0, 1, 2]
    assert records[0]["prev"] == GENESIS
    assert records[2]["prev"] == line_hash(lines[1])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_restarted_writer_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_three(path)

    AuditLog(path).append({"event": "after restart"})

    assert verify_audit_log(path).entries == 4


def test_missing_log_verifies_as_empty(tmp_path: Path) -> None:
    assert verify_audit_log(tmp_path / "none.jsonl").entries == 0


@pytest.mark.parametrize(
    ("tamper", "bad_line"),
    [
        ("edit-field", 3),  # the edited line is self-consistent; the next one no longer chains to it
        ("delete-line", 2),
        ("swap-lines", 1),
        ("insert-line", 2),
        ("not-json", 3),
    ],
)
def test_tampering_is_detected_at_the_right_line(tmp_path: Path, tamper: str, bad_line: int) -> None:
    path = tmp_path / "audit.jsonl"
    _write_three(path)
    lines = path.read_bytes().splitlines()
    if tamper == "edit-field":
        lines[1] = lines[1].replace(b'"n":1', b'"n":9')
    elif tamper == "delete-line":
        del lines[1]
    elif tamper == "swap-lines":
        lines[0], lines[1] = lines[1], lines[0]
    elif tamper == "insert-line":
        forged = json.loads(lines[0])
        forged["n"] = 99
        lines.insert(1, json.dumps(forged).encode())
    elif tamper == "not-json":
        lines[2] = b"garbage"
    path.write_bytes(b"\n".join(lines) + b"\n")

    with pytest.raises(AuditLogTamperedError) as excinfo:
        verify_audit_log(path)

    assert excinfo.value.line_number == bad_line


def test_a_rewritten_first_line_breaks_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_three(path)
    lines = path.read_bytes().splitlines()
    lines[0] = lines[0].replace(b'"n":0', b'"n":5')
    path.write_bytes(b"\n".join(lines) + b"\n")

    with pytest.raises(AuditLogTamperedError, match="line 2"):
        verify_audit_log(path)


def test_partial_last_line_is_reported_and_not_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_three(path)
    with path.open("ab") as f:
        f.write(b'{"seq":3,')

    with pytest.raises(AuditLogTamperedError, match="partial"):
        verify_audit_log(path)
    with pytest.raises(AuditLogError, match="partial"):
        AuditLog(path)


def test_events_may_not_forge_chain_fields(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl")

    with pytest.raises(AuditLogError, match="prev"):
        log.append({"prev": GENESIS})
