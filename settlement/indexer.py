"""The event indexer: every event of the suite, decoded, in block order, with reorgs undone.

Each `poll` re-reads the last `reorg_depth` blocks below the cursor together with the new ones, so
a log that vanished in a reorg is reported in `retracted` and a log that appeared in `added`.
The cursor and the logs of that window live in an `IndexerStore` (SQLite file here; the relayer's
store implements the same interface) and are updated in one transaction with each poll's result.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ._hashing import Address
from .abi import ContractABI, contract_abi
from .chain import Chain, Log
from .errors import ChainError, IndexerError
from .manifest import Manifest


@dataclass(frozen=True)
class Event:
    """One decoded event. `key` identifies the log in its block: (block hash, log index)."""

    contract: str
    name: str
    args: dict[str, Any]
    address: Address
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    log_index: int

    @property
    def key(self) -> tuple[bytes, int]:
        return (self.block_hash, self.log_index)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "name": self.name,
            "args": {k: _jsonable(v) for k, v in self.args.items()},
            "address": self.address,
            "blockNumber": self.block_number,
            "blockHash": "0x" + self.block_hash.hex(),
            "txHash": "0x" + self.tx_hash.hex(),
            "logIndex": self.log_index,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return {"$int": str(value)}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, dict) and "$bytes" in value:
        return bytes.fromhex(value["$bytes"])
    if isinstance(value, dict) and "$int" in value:
        return int(value["$int"])
    if isinstance(value, list):
        return [_from_jsonable(v) for v in value]
    return value


def event_from_json(obj: dict[str, Any]) -> Event:
    return Event(
        contract=obj["contract"],
        name=obj["name"],
        args={k: _from_jsonable(v) for k, v in obj["args"].items()},
        address=obj["address"],
        block_number=obj["blockNumber"],
        block_hash=bytes.fromhex(obj["blockHash"][2:]),
        tx_hash=bytes.fromhex(obj["txHash"][2:]),
        log_index=obj["logIndex"],
    )


@dataclass(frozen=True)
class IndexerUpdate:
    """The result of one poll: events added (block order) and retracted (reorged out), new cursor."""

    added: tuple[Event, ...]
    retracted: tuple[Event, ...]
    next_block: int


class IndexerStore(Protocol):
    """Persists the cursor (next block to read) and the events of the reorg window."""

    def next_block(self) -> int | None: ...

    def window_events(self, from_block: int) -> list[Event]: ...

    def apply(self, added: Iterable[Event], retracted: Iterable[Event], next_block: int, keep_from: int) -> None: ...


class SQLiteIndexerStore:
    """`IndexerStore` in one SQLite file (WAL, synchronous=FULL)."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), next_block INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS window (
                block_hash BLOB NOT NULL, log_index INTEGER NOT NULL, block_number INTEGER NOT NULL,
                event TEXT NOT NULL, PRIMARY KEY (block_hash, log_index));
            """
        )

    def close(self) -> None:
        self._db.close()

    def next_block(self) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT next_block FROM cursor WHERE id = 1").fetchone()
            return None if row is None else int(row[0])

    def window_events(self, from_block: int) -> list[Event]:
        with self._lock:
            rows = self._db.execute(
                "SELECT event FROM window WHERE block_number >= ? ORDER BY block_number, log_index", (from_block,)
            ).fetchall()
            return [event_from_json(json.loads(r[0])) for r in rows]

    def apply(self, added: Iterable[Event], retracted: Iterable[Event], next_block: int, keep_from: int) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for e in retracted:
                    self._db.execute("DELETE FROM window WHERE block_hash = ? AND log_index = ?", e.key)
                for e in added:
                    self._db.execute(
                        "INSERT OR REPLACE INTO window VALUES (?, ?, ?, ?)",
                        (e.block_hash, e.log_index, e.block_number, json.dumps(e.to_json_dict())),
                    )
                self._db.execute("DELETE FROM window WHERE block_number < ?", (keep_from,))
                self._db.execute("INSERT OR REPLACE INTO cursor (id, next_block) VALUES (1, ?)", (next_block,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise


class Indexer:
    """Reads and decodes the suite's logs from `start_block` on, `batch_blocks` blocks per request."""

    def __init__(
        self,
        chain: Chain,
        contracts: dict[str, Address],
        store: IndexerStore,
        *,
        start_block: int,
        reorg_depth: int = 12,
        batch_blocks: int = 2_000,
    ) -> None:
        if reorg_depth < 1 or batch_blocks < 1:
            raise IndexerError("reorg_depth and batch_blocks must be positive")
        self.chain = chain
        self.store = store
        self.start_block = start_block
        self.reorg_depth = reorg_depth
        self.batch_blocks = batch_blocks
        self._by_address: dict[str, tuple[str, ContractABI]] = {
            address.lower(): (name, contract_abi(name)) for name, address in contracts.items()
        }

    @classmethod
    def for_manifest(cls, chain: Chain, manifest: Manifest, store: IndexerStore, **kwargs: Any) -> Indexer:
        return cls(chain, manifest.contracts, store, start_block=manifest.deployment_block, **kwargs)

    def decode(self, log: Log) -> Event | None:
        """The typed event of `log`, or None when the log is not one of the suite's events."""
        entry = self._by_address.get(log.address.lower())
        if entry is None:
            return None
        name, abi = entry
        decoded = abi.decode_log(list(log.topics), log.data)
        if decoded is None:
            return None
        event_name, args = decoded
        return Event(name, event_name, args, log.address, log.block_number, log.block_hash, log.tx_hash, log.log_index)

    def poll(self, to_block: int | None = None) -> IndexerUpdate:
        """Read up to `to_block` (default: head); returns added and retracted events."""
        try:
            head = self.chain.block_number() if to_block is None else to_block
            cursor = self.store.next_block()
            cursor = self.start_block if cursor is None else cursor
            window_from = max(self.start_block, cursor - self.reorg_depth)
            if head < window_from:
                # the chain got shorter than the window (deep reorg or node reset): re-read from its head
                window_from = max(self.start_block, head - self.reorg_depth + 1)
            known = {e.key: e for e in self.store.window_events(window_from)}
            fresh: dict[tuple[bytes, int], Event] = {}
            start = window_from
            while start <= head:
                end = min(head, start + self.batch_blocks - 1)
                for log in self.chain.logs(start, end, list(self._by_address)):
                    if log.removed:
                        continue
                    event = self.decode(log)
                    if event is not None:
                        fresh[event.key] = event
                start = end + 1
        except ChainError as exc:
            raise IndexerError(f"reading logs failed: {exc}") from exc
        retracted = sorted((e for k, e in known.items() if k not in fresh), key=lambda e: (e.block_number, e.log_index))
        added = sorted((e for k, e in fresh.items() if k not in known), key=lambda e: (e.block_number, e.log_index))
        next_block = max(head + 1, window_from)
        self.store.apply(added, retracted, next_block, keep_from=next_block - self.reorg_depth)
        return IndexerUpdate(tuple(added), tuple(retracted), next_block)
