#!/usr/bin/env python3
"""Run every benchmark script and print one table; write bench/results.json.

Each `scripts/bench_*.py` accepts `--json PATH` and writes
`{"figures": [{"name", "value", "unit", "reference", "reference_value", "ratio", "target"}]}`
(keys other than name/value/unit are optional). Ratios compare against a reference measured in
the same run, so the numbers stay meaningful on any machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def run_one(script: Path, console: Console) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script), "--json", str(out)], cwd=ROOT, check=False)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0 or not out.exists():
            console.print(f"[red]{script.name} failed (exit {proc.returncode})[/red]")
            return {"script": script.name, "ok": False, "seconds": elapsed, "figures": []}
        data = json.loads(out.read_text())
        return {"script": script.name, "ok": True, "seconds": elapsed, "figures": data.get("figures", [])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], help="run only scripts whose name contains this")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json", help="where to write JSON")
    args = parser.parse_args()

    console = Console()
    if not console.is_terminal:  # piped or under make: a readable table, not an 80-column squeeze
        console = Console(width=200)
    scripts = sorted((ROOT / "scripts").glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if any(o in s.name for o in args.only)]
    results = [run_one(s, console) for s in scripts]

    table = Table(title="Strikebook benchmarks")
    for col in ("benchmark", "figure", "value", "unit", "reference", "ratio", "target"):
        table.add_column(col, justify="right" if col in {"value", "ratio"} else "left")
    for res in results:
        for fig in res["figures"]:
            ratio = fig.get("ratio")
            table.add_row(
                res["script"].removeprefix("bench_").removesuffix(".py"),
                str(fig.get("name", "")),
                _fmt(fig.get("value")),
                str(fig.get("unit", "")),
                f"{fig.get('reference', '')} {_fmt(fig.get('reference_value'))}".strip(),
                f"{ratio:.2f}x" if isinstance(ratio, int | float) else "",
                str(fig.get("target", "")),
            )
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"results": results}, indent=2) + "\n")
    console.print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
