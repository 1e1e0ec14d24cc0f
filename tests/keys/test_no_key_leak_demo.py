"""Issue 8: key material is never printed or logged. Run the demo flow (`scripts/demo.py`, a real
subprocess: Anvil, deploy, relayer, makers, takers, batches, oracle, settlement, audit) and scan
all its output and every file its run directory keeps for every private key it uses.

Keys: the demo derives every account (deployer, operator, oracle signers, makers, takers) from
its mnemonic (`scripts/demo_chain.py`); this test derives more accounts than the run uses from
that mnemonic, and also looks for the mnemonic itself. Forms: hex with and without 0x, any case,
base64 (standard and URL-safe) and the key as a decimal integer.
The demo has no log-level option; the relayer it starts logs at INFO.
"""

from __future__ import annotations

import ast
import base64
from pathlib import Path

from eth_account import Account

from tests.support.demo import run_demo

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
#: accounts derived and searched for: more than a small run uses (2 + 3 oracle + makers + takers).
ACCOUNTS = 16


def _demo_mnemonic() -> str:
    """The `MNEMONIC = "..."` constant of scripts/demo_chain.py, read from its source."""
    tree = ast.parse((SCRIPTS / "demo_chain.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "MNEMONIC" for t in node.targets):
            value = ast.literal_eval(node.value)
            assert isinstance(value, str)
            return value
    raise AssertionError("scripts/demo_chain.py no longer defines MNEMONIC: update this test")


def _needles(mnemonic: str) -> dict[str, str]:
    """Lowercased text forms of each key -> a label naming the account (never the key)."""
    Account.enable_unaudited_hdwallet_features()
    out: dict[str, str] = {mnemonic.lower(): "the mnemonic"}
    for i in range(ACCOUNTS):
        key = bytes(Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").key)
        label = f"private key of account {i}"
        out[key.hex()] = label  # covers 0x-prefixed and any case: haystacks are lowercased
        out[base64.b64encode(key).decode().lower()] = label + " (base64)"
        out[base64.urlsafe_b64encode(key).decode().rstrip("=").lower()] = label + " (base64url)"
        out[str(int.from_bytes(key, "big"))] = label + " (decimal)"
    return out


def test_the_demo_never_prints_or_logs_a_private_key(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = [
        "--duration",
        "3",
        "--makers",
        "1",
        "--takers",
        "1",
        "--taker-rate",
        "2",
        "--seed",
        "5",
        "--run-dir",
        str(run_dir),
        "--summary-json",
        str(tmp_path / "summary.json"),
    ]
    run = run_demo(tmp_path, args, timeout=120)
    out, err = run.stdout, run.stderr
    assert run.returncode == 0, (out + err).decode(errors="replace")[-3000:]

    haystacks = {"demo stdout": out, "demo stderr": err}
    files = sorted(p for p in run_dir.rglob("*") if p.is_file())
    assert any(p.suffix == ".log" for p in files), "the run left no log files to scan"
    for path in files:
        haystacks[str(path.relative_to(run_dir))] = path.read_bytes()
    needles = _needles(_demo_mnemonic())
    found = sorted(
        {
            f"{label} in {where}"
            for where, data in haystacks.items()
            for text in [data.decode("latin-1").lower()]
            for needle, label in needles.items()
            if needle in text
        }
    )
    assert found == [], f"key material leaked ({len(found)} places): {found}"
