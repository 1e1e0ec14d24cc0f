"""``strikebook pricing ...`` commands (registered by relayer.cli with ``cli.add_command(pricing)``)."""

from __future__ import annotations

from pathlib import Path

import click

from pricing.errors import PricingError
from pricing.heston import HestonParams
from pricing.surface import fit_surface, load_quotes_csv, plot_surface, synthetic_heston_quotes


@click.group(name="pricing")
def pricing() -> None:
    """Option pricing tools: volatility surfaces and model checks."""


def _expiries(value: str) -> list[float]:
    try:
        parsed = [float(v) for v in value.split(",") if v.strip()]
    except ValueError as exc:
        raise click.BadParameter(f"not a comma-separated list of years: {value!r}") from exc
    if not parsed or any(t <= 0 for t in parsed):
        raise click.BadParameter("expiries must be positive years")
    return parsed


@pricing.command("surface")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=Path("surface.png"),
              show_default=True, help="PNG file to write.")
@click.option("--input", "input_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CSV of quotes: expiry,strike,iv or expiry,strike,price,is_call. Without it, synthetic "
              "Heston quotes are generated.")
@click.option("--spot", type=float, default=100.0, show_default=True, help="Spot price.")
@click.option("--rate", type=float, default=0.0, show_default=True, help="Continuously compounded rate per year.")
@click.option("--dividend", type=float, default=0.0, show_default=True, help="Continuous yield per year.")
@click.option("--expiries", default="0.05,0.1,0.25,0.5,1,2", show_default=True,
              help="Synthetic quotes: expiries in years, comma-separated.")
@click.option("--strikes", type=click.IntRange(5, 201), default=21, show_default=True,
              help="Synthetic quotes: strikes per expiry.")
@click.option("--v0", type=float, default=0.36, show_default=True, help="Heston initial variance.")
@click.option("--kappa", type=float, default=2.0, show_default=True, help="Heston mean reversion per year.")
@click.option("--theta", type=float, default=0.49, show_default=True, help="Heston long-run variance.")
@click.option("--vol-of-vol", "sigma", type=float, default=1.2, show_default=True, help="Heston vol of variance.")
@click.option("--rho", type=float, default=-0.3, show_default=True, help="Heston spot/variance correlation.")
def surface(
    out: Path, input_csv: Path | None, spot: float, rate: float, dividend: float, expiries: str,
    strikes: int, v0: float, kappa: float, theta: float, sigma: float, rho: float,
) -> None:
    """Fit SVI to each expiry of a quote set and write a PNG of the implied-vol surface."""
    try:
        if input_csv is not None:
            quotes = load_quotes_csv(input_csv, spot, rate, dividend)
            title = f"SVI surface fitted to {input_csv.name}"
        else:
            params = HestonParams(v0=v0, kappa=kappa, theta=theta, sigma=sigma, rho=rho)
            quotes = synthetic_heston_quotes(spot, rate, dividend, params, _expiries(expiries), strikes)
            title = (
                f"SVI fit to Heston quotes (v0={v0:g}, kappa={kappa:g}, theta={theta:g}, "
                f"sigma={sigma:g}, rho={rho:g})"
            )
        fitted = fit_surface(quotes)
        plot_surface(fitted, quotes, out, title)
    except PricingError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"wrote {out} ({len(fitted.slices)} expiries, {quotes.vol.size} quotes; "
        f"butterfly-free={fitted.butterfly_free}, calendar-free={fitted.calendar_free})"
    )
