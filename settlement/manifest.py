"""The deployment manifest: where the suite lives on one chain, from which block, and who holds each role.

Every component (relayer, submitter, indexer, auditor, SDK) reads this one JSON file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._hashing import Address, keccak256, to_address
from .chain import Chain
from .errors import ManifestError
from .order import Domain, make_domain

MANIFEST_VERSION = 1

#: Contracts of the suite, by manifest key. The exchange is also the margin vault (it inherits it).
SUITE = ("SeriesRegistry", "SettlementOracle", "Exchange")


@dataclass(frozen=True)
class TokenInfo:
    """A deployed ERC-20: address, symbol, decimals (one whole token = 10**decimals base units)."""

    address: Address
    symbol: str
    decimals: int


@dataclass(frozen=True)
class Manifest:
    """One deployment of the suite on one chain."""

    chain_id: int
    deployment_block: int
    deployer: Address
    contracts: dict[str, Address]
    code_hashes: dict[str, str]
    roles: dict[str, dict[str, list[Address]]]
    tokens: dict[str, TokenInfo] = field(default_factory=dict)
    oracle_signers: list[Address] = field(default_factory=list)
    oracle_threshold: int = 0

    @property
    def exchange(self) -> Address:
        return self.contracts["Exchange"]

    @property
    def vault(self) -> Address:
        """The margin vault: the exchange contract itself."""
        return self.contracts["Exchange"]

    @property
    def registry(self) -> Address:
        return self.contracts["SeriesRegistry"]

    @property
    def oracle(self) -> Address:
        return self.contracts["SettlementOracle"]

    @property
    def domain(self) -> Domain:
        """The EIP-712 domain orders for this deployment are signed under."""
        return make_domain(self.chain_id, self.exchange)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "chainId": self.chain_id,
            "deploymentBlock": self.deployment_block,
            "deployer": self.deployer,
            "contracts": dict(self.contracts),
            "codeHashes": dict(self.code_hashes),
            "roles": {c: {r: list(h) for r, h in roles.items()} for c, roles in self.roles.items()},
            "tokens": {
                k: {"address": t.address, "symbol": t.symbol, "decimals": t.decimals} for k, t in self.tokens.items()
            },
            "oracle": {"signers": list(self.oracle_signers), "threshold": self.oracle_threshold},
        }

    @classmethod
    def from_json_dict(cls, obj: Any) -> Manifest:
        try:
            if obj["version"] != MANIFEST_VERSION:
                raise ManifestError(f"unsupported manifest version {obj['version']!r}")
            contracts = {k: to_address(v) for k, v in obj["contracts"].items()}
            if missing := set(SUITE) - set(contracts):
                raise ManifestError(f"manifest lacks contracts {sorted(missing)}")
            chain_id, block = obj["chainId"], obj["deploymentBlock"]
            if type(chain_id) is not int or type(block) is not int or chain_id <= 0 or block < 0:
                raise ManifestError("chainId and deploymentBlock must be non-negative integers")
            return cls(
                chain_id=chain_id,
                deployment_block=block,
                deployer=to_address(obj["deployer"]),
                contracts=contracts,
                code_hashes={k: str(v) for k, v in obj.get("codeHashes", {}).items()},
                roles={
                    c: {r: [to_address(a) for a in holders] for r, holders in roles.items()}
                    for c, roles in obj["roles"].items()
                },
                tokens={
                    k: TokenInfo(to_address(t["address"]), str(t["symbol"]), int(t["decimals"]))
                    for k, t in obj.get("tokens", {}).items()
                },
                oracle_signers=[to_address(a) for a in obj.get("oracle", {}).get("signers", [])],
                oracle_threshold=int(obj.get("oracle", {}).get("threshold", 0)),
            )
        except ManifestError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ManifestError(f"malformed manifest: {exc!r}") from None

    def save(self, path: Path) -> None:
        """Write atomically (temp file + fsync + rename) so a reader never sees half a manifest."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(self.to_json_dict(), fh, indent=2)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path | str) -> Manifest:
        try:
            obj = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ManifestError(f"manifest {path} not found: run `strikebook deploy` first") from None
        except (OSError, ValueError) as exc:
            raise ManifestError(f"cannot read manifest {path}: {exc}") from None
        return cls.from_json_dict(obj)

    def check_chain(self, chain: Chain) -> None:
        """Raise `ManifestError` unless `chain` is this manifest's chain and holds the recorded code."""
        actual = chain.chain_id()
        if actual != self.chain_id:
            raise ManifestError(f"manifest is for chain {self.chain_id}, the endpoint is chain {actual}")
        for name, address in self.contracts.items():
            code = chain.code(address)
            if not code:
                raise ManifestError(f"{name} has no code at {address} on chain {actual}")
            expected = self.code_hashes.get(name)
            if expected is not None and "0x" + keccak256(code).hex() != expected:
                raise ManifestError(f"{name} at {address} runs different code than the manifest records")
