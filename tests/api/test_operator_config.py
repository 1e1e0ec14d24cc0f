"""`strikebook --config` / STRIKEBOOK_* defaults: shared settings only reach options of the same meaning."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from relayer.cli import cli
from relayer.operator_config import default_map


def test_strikebook_api_sets_api_urls_but_not_the_relayer_start_api_flag() -> None:
    # regression: STRIKEBOOK_API (a URL) became the default of `relayer start --api/--no-api`,
    # and click refused it as "not a valid boolean", so the relayer could not start with it set
    env = {"STRIKEBOOK_API": "http://127.0.0.1:18080", "STRIKEBOOK_RPC": "http://127.0.0.1:18545"}
    defaults = default_map(cli, {"api": "http://127.0.0.1:18081"}, env)
    assert "api" not in defaults["relayer"]["start"]
    assert defaults["relayer"]["start"]["rpc"] == "http://127.0.0.1:18545"
    assert defaults["relayer"]["status"]["api"] == "http://127.0.0.1:18080"
    assert defaults["batches"]["list"]["api"] == "http://127.0.0.1:18080"


def test_relayer_start_parses_its_options_with_strikebook_api_set(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["relayer", "start", "--manifest", str(tmp_path / "missing.json"), "--data-dir", str(tmp_path)],
        env={"STRIKEBOOK_API": "http://127.0.0.1:18080"},
    )
    # options parse; the command then stops at the missing manifest, not at --api
    assert "not a valid boolean" not in result.output
    assert "missing.json" in str(result.exception) + result.output


def _start_with_limits(tmp_path: Path, batch_size: int, max_fills: int) -> Result:
    """`relayer start` with the two batching limits and a manifest that does not exist."""
    args = ["relayer", "start", "--manifest", str(tmp_path / "missing.json"), "--data-dir", str(tmp_path)]
    limits = ["--batch-size", str(batch_size), "--max-fills-per-order", str(max_fills)]
    return CliRunner().invoke(cli, args + limits)


def test_relayer_start_refuses_a_fill_limit_above_the_batch_size(tmp_path: Path) -> None:
    result = _start_with_limits(tmp_path, 8, 9)
    # refused before anything is opened, with a usage error that names both settings
    assert result.exit_code == 2
    assert "max_fills_per_order (9) exceeds batch_size (8)" in result.output
    assert not (tmp_path / "relayer.sqlite").exists()


def test_relayer_start_accepts_a_fill_limit_within_the_batch_size(tmp_path: Path) -> None:
    result = _start_with_limits(tmp_path, 8, 3)
    # the limits pass; the command then stops at the missing manifest
    assert "max_fills_per_order" not in result.output
    assert "missing.json" in str(result.exception) + result.output


def test_relayer_start_help_documents_the_fill_limit() -> None:
    result = CliRunner().invoke(cli, ["relayer", "start", "--help"])
    assert result.exit_code == 0
    assert "--max-fills-per-order" in result.output
    assert "fill_limit" in result.output
