"""The audit report: one result per check (pass/fail, how many items it checked, evidence), the
JSON form written by `--json`, and the rich table the CLI prints.

JSON shape (integers that can exceed 2**53 are decimal strings inside evidence):

    {
      "version": 1,
      "passed": false,
      "chainId": 31337,
      "contracts": {"Exchange": "0x…", …},
      "fromBlock": 1, "toBlock": 812, "blockHash": "0x…",
      "relayer": "http://…" | null,
      "stats": {"blocksScanned": 12, "logsRead": 40, "transactionsFetched": 2, "callsMade": 310,
                "cache": "hit" | "miss" | "stale" | "off", "replayedFromBlock": 801, "seconds": 1.2},
      "summary": {"batches": 7, "trades": 31, "skippedFills": 4, "accounts": 5, "series": 2, "orders": 60,
                  "events": 140},
      "checks": [
        {"name": "signatures_verify", "description": "…", "passed": true, "checked": 62, "failures": 0,
         "evidence": [{"message": "…", "block": 9, "tx": "0x…", "account": "0x…",
                       "expected": "…", "found": "…"}]}
      ]
    }

`evidence` keeps at most `MAX_EVIDENCE` entries per check; `failures` counts them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

REPORT_VERSION = 1
MAX_EVIDENCE = 50

#: Every check, in report order: name -> what passing proves.
CHECKS: dict[str, str] = {
    "rebuilt_state_matches_storage": "balances, positions, fees, order states, one-shot windows, nonces, "
    "delegates and lastSeq rebuilt from events equal the contracts' view calls",
    "vault_solvency": "per token, the vault's ERC-20 balance equals Σ free + Σ locked + accrued fees + "
    "settlement balance, and no balance ever went negative in replay",
    "positions_net_zero": "per series, Σ open positions + Σ settled positions (settledPosition) is zero",
    "locked_equals_required": "per account and asset, locked collateral equals required(positions)",
    "signatures_verify": "both orders of every Trade carry a valid signature (maker key, live delegate, or ERC-1271)",
    "trades_match_calldata": "every Trade event matches its fill in the settleBatch calldata (orders, amount, "
    "price, premium, fees within caps)",
    "orders_not_overfilled": "no order filled beyond its amount (a one-shot order: within its one batch)",
    "no_fill_after_cancel_or_expiry": "no fill after its order's cancel (by hash or nonce; a one-shot order: "
    "after its number was spent, or outside the batch that first filled it) or expiry, or its series' expiry",
    "batch_seqs_contiguous": "batches are 1, 2, 3, … with no gap or repeat, each accounting for all its fills",
    "expiry_settlement": "every expired series with a final price is settled, each at the right payoff",
    "relayer_fills_on_chain": "every fill the relayer reports as settled exists on-chain with identical fields",
    "relayer_trades_known": "every on-chain trade is known to the relayer",
    "relayer_batches": "the relayer reports every on-chain batch as the chain has it, and no other",
}


@dataclass(frozen=True)
class Evidence:
    """Why a check failed, located on-chain where possible. Values are strings for exactness."""

    message: str
    block: int | None = None
    tx: str | None = None
    account: str | None = None
    expected: str | None = None
    found: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        for key in ("block", "tx", "account", "expected", "found"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_json_dict(cls, obj: dict[str, Any]) -> Evidence:
        return cls(
            obj["message"], obj.get("block"), obj.get("tx"), obj.get("account"), obj.get("expected"), obj.get("found")
        )


@dataclass
class CheckResult:
    """One check: passed iff `failures == 0`."""

    name: str
    checked: int = 0
    failures: int = 0
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.failures == 0

    @property
    def description(self) -> str:
        return CHECKS[self.name]

    def ok(self, n: int = 1) -> None:
        """Count `n` items checked."""
        self.checked += n

    def fail(self, evidence: Evidence) -> None:
        self.failures += 1
        if len(self.evidence) < MAX_EVIDENCE:
            self.evidence.append(evidence)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "passed": self.passed,
            "checked": self.checked,
            "failures": self.failures,
            "evidence": [e.to_json_dict() for e in self.evidence],
        }

    @classmethod
    def from_json_dict(cls, obj: dict[str, Any]) -> CheckResult:
        return cls(obj["name"], obj["checked"], obj["failures"], [Evidence.from_json_dict(e) for e in obj["evidence"]])


@dataclass
class AuditReport:
    """The outcome of one audit run."""

    chain_id: int
    contracts: dict[str, str]
    from_block: int
    to_block: int
    block_hash: str
    checks: list[CheckResult]
    stats: dict[str, Any]
    summary: dict[str, int]
    relayer: str | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def check(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def failed(self) -> list[str]:
        """Names of the failed checks."""
        return [c.name for c in self.checks if not c.passed]

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "passed": self.passed,
            "chainId": self.chain_id,
            "contracts": dict(self.contracts),
            "fromBlock": self.from_block,
            "toBlock": self.to_block,
            "blockHash": self.block_hash,
            "relayer": self.relayer,
            "stats": dict(self.stats),
            "summary": dict(self.summary),
            "checks": [c.to_json_dict() for c in self.checks],
        }

    def render(self, console: Console, max_evidence: int = 5) -> None:
        """Print the checks table, then the first evidence rows of each failed check."""
        title = (
            f"Strikebook audit: chain {self.chain_id}, blocks {self.from_block}..{self.to_block} "
            f"({self.summary.get('batches', 0)} batches, {self.summary.get('trades', 0)} trades)"
        )
        table = Table(title=title)
        table.add_column("check")
        table.add_column("result")
        table.add_column("checked", justify="right")
        table.add_column("failures", justify="right")
        table.add_column("what it proves", overflow="fold")
        for c in self.checks:
            result = "[green]pass[/green]" if c.passed else "[bold red]FAIL[/bold red]"
            table.add_row(c.name, result, f"{c.checked:,}", f"{c.failures:,}", c.description)
        console.print(table)
        for c in self.checks:
            if c.passed:
                continue
            ev = Table(title=f"{c.name}: evidence ({min(len(c.evidence), max_evidence)} of {c.failures})")
            for col in ("message", "block", "tx", "account", "expected", "found"):
                ev.add_column(col, overflow="fold")
            for e in c.evidence[:max_evidence]:
                ev.add_row(
                    e.message,
                    "" if e.block is None else str(e.block),
                    e.tx or "",
                    e.account or "",
                    e.expected or "",
                    e.found or "",
                )
            console.print(ev)
        verdict = "[green]all checks passed[/green]" if self.passed else f"[bold red]FAILED: {', '.join(self.failed)}"
        console.print(verdict)
