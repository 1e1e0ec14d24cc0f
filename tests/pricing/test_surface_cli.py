"""`strikebook pricing surface`: fitted SVI surface written as a real PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from pricing.cli import pricing
from pricing.heston import HestonParams
from pricing.surface import fit_surface, synthetic_heston_quotes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_surface_command_writes_a_png_from_synthetic_heston_quotes(tmp_path: Path) -> None:
    out = tmp_path / "surface.png"
    result = CliRunner().invoke(pricing, ["surface", "--out", str(out), "--expiries", "0.1,0.5,1", "--strikes", "11"])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    assert "3 expiries" in result.output


def test_surface_command_reads_quotes_from_csv(tmp_path: Path) -> None:
    quotes = synthetic_heston_quotes(100.0, 0.01, 0.0, HestonParams(0.04, 1.5, 0.05, 0.5, -0.6), [0.25, 1.0], 9)
    csv_path = tmp_path / "quotes.csv"
    rows = zip(quotes.expiry.tolist(), quotes.strike.tolist(), quotes.vol.tolist(), strict=True)
    lines = ["expiry,strike,iv"] + [f"{t!r},{k!r},{v!r}" for t, k, v in rows]
    csv_path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "fitted.png"
    result = CliRunner().invoke(pricing, ["surface", "--input", str(csv_path), "--rate", "0.01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_surface_command_reports_bad_input_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("when,what\n1,2\n")
    result = CliRunner().invoke(pricing, ["surface", "--input", str(bad), "--out", str(tmp_path / "x.png")])
    assert result.exit_code != 0
    assert "expected columns" in result.output
    assert not (tmp_path / "x.png").exists()


def test_svi_fit_reproduces_heston_smiles_without_arbitrage() -> None:
    quotes = synthetic_heston_quotes(100.0, 0.0, 0.0, HestonParams(0.04, 1.5, 0.05, 0.5, -0.6), [0.25, 0.5, 1.0], 15)
    surface = fit_surface(quotes)
    assert surface.butterfly_free and surface.calendar_free
    k = quotes.log_moneyness()
    for t, raw in surface.slices:
        mask = quotes.expiry == t
        assert np.max(np.abs(raw.implied_vol(k[mask], t) - quotes.vol[mask])) <= 2e-3
