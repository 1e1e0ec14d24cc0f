"""Load contract ABIs and bytecode from forge's build output (the one compile path)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .errors import ArtifactError

#: `contracts/out` of this checkout; override with `load_artifact(..., out_dir=...)`.
DEFAULT_OUT_DIR = Path(__file__).resolve().parents[1] / "contracts" / "out"


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: its ABI, creation bytecode and deployed bytecode (0x-hex)."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str


@cache
def load_artifact(name: str, source: str | None = None, out_dir: Path = DEFAULT_OUT_DIR) -> Artifact:
    """Read `out/<source>/<name>.json` as forge wrote it; `source` defaults to `<name>.sol`."""
    path = out_dir / (source or f"{name}.sol") / f"{name}.json"
    try:
        data = json.loads(path.read_text())
        abi = data["abi"]
        bytecode = data["bytecode"]["object"]
        deployed = data["deployedBytecode"]["object"]
    except FileNotFoundError as exc:
        raise ArtifactError(f"artifact {path} not found: run `make build` first") from exc
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"artifact {path} is malformed: {exc}") from exc
    if not isinstance(bytecode, str) or not bytecode.startswith("0x") or len(bytecode) <= 2:
        raise ArtifactError(f"artifact {path} has no creation bytecode (abstract contract or interface?)")
    return Artifact(name=name, abi=abi, bytecode=bytecode, deployed_bytecode=deployed)
