"""The chain tools the project installs itself (npm packages under node_modules), found by path."""

from __future__ import annotations

import platform
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def find_anvil(root: Path = REPO_ROOT) -> Path | None:
    """Anvil's platform binary inside @foundry-rs/anvil (no node shim in between, so signals reach
    it), else the npm shim; None when `make build` (npm install) has not run."""
    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "amd64")
    for candidate in (
        root / "node_modules" / "@foundry-rs" / f"anvil-linux-{arch}" / "bin" / "anvil",
        root / "node_modules" / ".bin" / "anvil",
    ):
        if candidate.exists():
            return candidate
    return None
