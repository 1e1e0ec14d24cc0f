"""The audit cache: the replayed state through some block, so a second run only replays new blocks.

One SQLite file (by default next to the manifest: `<manifest>.audit-cache.sqlite`). A snapshot is
keyed by the deployment (chain id, deployment block, every manifest address) and stores the block
number and hash it covers. It is used only if the chain still has that hash at that number; after
a reorg below it the audit replays from the deployment block again.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..manifest import Manifest
from .errors import AuditError
from .state import ReplayState


def deployment_key(manifest: Manifest) -> str:
    """sha256 of the chain id, deployment block and sorted contract addresses."""
    ident = {
        "chainId": manifest.chain_id,
        "deploymentBlock": manifest.deployment_block,
        "contracts": sorted((k, v.lower()) for k, v in manifest.contracts.items()),
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


def default_cache_path(manifest_path: Path) -> Path:
    return manifest_path.with_name(manifest_path.name + ".audit-cache.sqlite")


@dataclass(frozen=True)
class Snapshot:
    block: int
    block_hash: str
    state: ReplayState


class AuditCache:
    """Snapshots of `ReplayState` in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(str(self.path))
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS snapshot (key TEXT PRIMARY KEY, block INTEGER NOT NULL, "
                "block_hash TEXT NOT NULL, state BLOB NOT NULL)"
            )
            self._db.commit()
        except sqlite3.Error as exc:
            raise AuditError(
                f"cannot open the audit cache {self.path}: {exc} (pass --cache PATH or --no-cache)"
            ) from exc

    def close(self) -> None:
        self._db.close()

    def load(self, key: str) -> Snapshot | None:
        row = self._db.execute("SELECT block, block_hash, state FROM snapshot WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            state = ReplayState.from_json_dict(json.loads(zlib.decompress(row[2])))
        except (ValueError, KeyError, TypeError, zlib.error):
            return None  # an unreadable or older snapshot is just a miss
        return Snapshot(int(row[0]), str(row[1]), state)

    def save(self, key: str, block: int, block_hash: str, state: ReplayState) -> None:
        blob = zlib.compress(json.dumps(state.to_json_dict(), separators=(",", ":")).encode(), 1)
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO snapshot VALUES (?, ?, ?, ?)", (key, block, block_hash, blob))
