#!/usr/bin/env python3
"""Benchmark pricing/ against reference implementations measured in the same run.

Prints per-option timings and ratios (reference time / our time, so > 1 means we are faster)
for implied volatility (QuantLib, py_vollib, py_vollib_vectorized, scipy brentq), Black
price accuracy in the wings (QuantLib blackFormula against mpmath), and Heston 100-strike
timing and error against a Lewis-integral reference. References that are not installed
(the optional ``bench`` extra) are reported as "not installed". ``--json PATH`` writes the
figures for ``make bench``.

Run from the repository root: ``python scripts/bench_pricing.py [--quick] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import cmath
import importlib
import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import integrate, optimize, special

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pricing import bs_price, heston_price, implied_vol

NOT_INSTALLED = "not installed"


def _best_time(fn: Callable[[], object], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def make_set(n: int, seed: int, hard: bool) -> dict[str, np.ndarray]:
    """The issue's accuracy sets: standard (|z|<=3) or hard out-of-the-money (|z|<=8)."""
    rng = np.random.default_rng(seed)
    if hard:
        T, sigma, z = rng.uniform(1 / 365, 5.0, n), rng.uniform(0.01, 2.0, n), rng.uniform(-8.0, 8.0, n)
    else:
        T, sigma, z = rng.uniform(0.01, 2.0, n), rng.uniform(0.05, 1.0, n), rng.uniform(-3.0, 3.0, n)
    S = np.full(n, 100.0)
    r = np.full(n, 0.0)
    K = S * np.exp(z * sigma * np.sqrt(T))
    is_call = K >= S if hard else rng.random(n) < 0.5
    price = np.asarray(bs_price(S, K, T, r, sigma, is_call), dtype=np.float64)
    return {"S": S, "K": K, "T": T, "r": r, "sigma": sigma, "is_call": is_call, "price": price}


def _bs_scalar(S: float, K: float, T: float, r: float, sigma: float, is_call: bool) -> float:
    s = sigma * math.sqrt(T)
    d1 = math.log(S / K) / s + 0.5 * s + r * T / s
    d2 = d1 - s
    theta = 1.0 if is_call else -1.0
    return float(theta * (S * special.ndtr(theta * d1) - K * math.exp(-r * T) * special.ndtr(theta * d2)))


def bench_implied_vol(n: int, sub: int, repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, hard in (("standard", False), ("hard_otm", True)):
        o = make_set(n, 1 if hard else 0, hard)
        vols, status = implied_vol(o["price"], o["S"], o["K"], o["T"], o["r"], o["is_call"], return_status=True)
        out[f"max_abs_vol_error_{label}"] = float(np.nanmax(np.abs(vols - o["sigma"])))
        out[f"failures_{label}"] = int(np.count_nonzero(status != 0))
    o = make_set(n, 2, False)
    args = (o["price"], o["S"], o["K"], o["T"], o["r"], o["is_call"])
    ours = _best_time(lambda: implied_vol(*args), repeats) / n * 1e6
    out["ours_us_per_option"] = ours
    refs: dict[str, Any] = {}
    idx = np.arange(min(sub, n))

    def per_option(fn: Callable[[int], float]) -> tuple[float, float]:
        start = time.perf_counter()
        vals = np.array([fn(int(i)) for i in idx])
        elapsed = (time.perf_counter() - start) / idx.size * 1e6
        return elapsed, float(np.nanmax(np.abs(vals - o["sigma"][idx])))

    def brentq_one(i: int) -> float:
        S, K, T, r, c, p = (o[key][i] for key in ("S", "K", "T", "r", "is_call", "price"))
        try:
            return float(optimize.brentq(lambda v: _bs_scalar(S, K, T, r, v, c) - p, 1e-6, 10.0, xtol=1e-15))
        except ValueError:
            return math.nan

    t, err = per_option(brentq_one)
    refs["scipy_brentq"] = {"us_per_option": t, "ratio": t / ours, "max_abs_vol_error": err}

    vollib = _optional("py_vollib.black_scholes.implied_volatility")
    if vollib is None:
        refs["py_vollib"] = NOT_INSTALLED
    else:

        def vollib_one(i: int) -> float:
            flag = "c" if o["is_call"][i] else "p"
            try:
                return float(vollib.implied_volatility(o["price"][i], o["S"][i], o["K"][i], o["T"][i], o["r"][i], flag))
            except Exception:
                return math.nan

        t, err = per_option(vollib_one)
        refs["py_vollib"] = {"us_per_option": t, "ratio": t / ours, "max_abs_vol_error": err}

    pvv = _optional("py_vollib_vectorized")
    if pvv is None:
        refs["py_vollib_vectorized"] = NOT_INSTALLED
    else:
        flags = np.where(o["is_call"], "c", "p")

        def pvv_run() -> np.ndarray:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.asarray(
                    pvv.vectorized_implied_volatility(
                        o["price"],
                        o["S"],
                        o["K"],
                        o["T"],
                        o["r"],
                        flags,
                        q=0.0,
                        model="black_scholes_merton",
                        return_as="numpy",
                        on_error="ignore",
                    ),
                    dtype=np.float64,
                ).reshape(-1)

        try:
            vals = pvv_run()  # JIT warm-up
        except Exception as exc:  # e.g. its numba code no longer compiles with the installed numba
            refs["py_vollib_vectorized"] = f"failed to run: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        else:
            t = _best_time(pvv_run, repeats) / n * 1e6
            refs["py_vollib_vectorized"] = {
                "us_per_option": t,
                "ratio": t / ours,
                "max_abs_vol_error": float(np.nanmax(np.abs(vals - o["sigma"]))),
                "failures": int(np.count_nonzero(~np.isfinite(vals))),
            }

    ql = _optional("QuantLib")
    if ql is None:
        refs["quantlib"] = NOT_INSTALLED
    else:

        def ql_one(i: int) -> float:
            kind = ql.Option.Call if o["is_call"][i] else ql.Option.Put
            try:
                std = ql.blackFormulaImpliedStdDev(
                    kind,
                    float(o["K"][i]),
                    float(o["S"][i]),
                    float(o["price"][i]),
                    1.0,
                    0.0,
                    0.2 * math.sqrt(o["T"][i]),
                    1e-14,
                    200,
                )
                return float(std / math.sqrt(o["T"][i]))
            except Exception:
                return math.nan

        t, err = per_option(ql_one)
        refs["quantlib"] = {"us_per_option": t, "ratio": t / ours, "max_abs_vol_error": err}
    out["references"] = refs
    return out


def bench_black_price(n: int, repeats: int) -> dict[str, Any]:
    """Our vectorized price time, and wing accuracy of ours and QuantLib's blackFormula vs mpmath."""
    import mpmath as mp

    o = make_set(n, 3, False)
    t = _best_time(lambda: bs_price(o["S"], o["K"], o["T"], o["r"], o["sigma"], o["is_call"]), repeats) / n * 1e6
    rng = np.random.default_rng(4)
    m = 300
    z = rng.uniform(-10.0, 10.0, m)
    sigma = rng.uniform(0.01, 1.0, m)
    T = rng.uniform(1 / 365, 2.0, m)
    F = 100.0
    K = F * np.exp(-z * sigma * np.sqrt(T))
    calls = rng.random(m) < 0.5
    ours = np.asarray(bs_price(F, K, T, 0.0, sigma, calls), dtype=np.float64)
    mp.mp.dps = 40
    refs = []
    for k, v, tt, c in zip(K, sigma, T, calls, strict=True):
        s = mp.mpf(float(v)) * mp.sqrt(mp.mpf(float(tt)))
        d1 = mp.log(mp.mpf(F) / mp.mpf(float(k))) / s + s / 2
        th = 1 if c else -1
        refs.append(th * (F * mp.ncdf(th * d1) - mp.mpf(float(k)) * mp.ncdf(th * (d1 - s))))
    rel = [float(abs((mp.mpf(float(p)) - ref) / ref)) for p, ref in zip(ours, refs, strict=True)]
    result: dict[str, Any] = {"ours_us_per_option": t, "ours_max_rel_error_z10": max(rel)}
    ql = _optional("QuantLib")
    if ql is None:
        result["quantlib_blackFormula_max_rel_error_z10"] = NOT_INSTALLED
    else:
        ql_vals = [
            ql.blackFormula(ql.Option.Call if c else ql.Option.Put, float(k), F, float(v * math.sqrt(tt)), 1.0)
            for k, v, tt, c in zip(K, sigma, T, calls, strict=True)
        ]
        ql_rel = [float(abs((mp.mpf(float(p)) - ref) / ref)) for p, ref in zip(ql_vals, refs, strict=True)]
        result["quantlib_blackFormula_max_rel_error_z10"] = max(ql_rel)
    return result


def _lewis_call(S: float, K: float, T: float, r: float, q: float, params: tuple[float, ...]) -> float:
    v0, kappa, theta, sigma, rho = params

    def cf(u: complex) -> complex:
        iu = 1j * u
        xi = kappa - sigma * rho * iu
        d = cmath.sqrt(xi * xi + sigma * sigma * (u * u + iu))
        g = (xi - d) / (xi + d)
        e = cmath.exp(-d * T)
        c = kappa * theta / sigma**2 * ((xi - d) * T - 2 * cmath.log((1 - g * e) / (1 - g)))
        return cmath.exp(c + (xi - d) / sigma**2 * (1 - e) / (1 - g * e) * v0)

    x = math.log(S / K) + (r - q) * T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        integral = sum(
            integrate.quad(
                lambda u: (cmath.exp(1j * u * x) * cf(u - 0.5j)).real / (u * u + 0.25),
                lo,
                hi,
                epsabs=1e-15,
                epsrel=1e-14,
                limit=400,
            )[0]
            for lo, hi in ((0, 5), (5, 20), (20, 80), (80, 320), (320, math.inf))
        )
    return float(S * math.exp(-q * T) - math.sqrt(S * K) * math.exp(-(r + q) * T / 2) / math.pi * integral)


def bench_heston(repeats: int) -> dict[str, Any]:
    params = (0.04, 1.5, 0.04, 0.5, -0.7)
    S, T, r, q = 100.0, 1.0, 0.02, 0.01
    strikes = np.linspace(60.0, 160.0, 100)
    heston_price(S, strikes, T, r, q, *params, True)
    seconds = _best_time(lambda: heston_price(S, strikes, T, r, q, *params, True), repeats)
    ours = np.asarray(heston_price(S, strikes, T, r, q, *params, True), dtype=np.float64)
    ref = np.array([_lewis_call(S, k, T, r, q, params) for k in strikes])
    short = np.asarray(heston_price(S, S * np.exp(np.linspace(-3, 3, 61)), 1 / 365, r, q, *params, False))
    return {
        "strikes": 100,
        "ms_for_100_strikes": seconds * 1e3,
        "max_abs_error_vs_lewis": float(np.max(np.abs(ours - ref))),
        "min_price_one_day": float(short.min()),
    }


def table_figures(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The `{"name", "value", "unit", "reference", "reference_value", "ratio"}` rows scripts/bench.py prints."""
    iv, bp, h = figures["implied_vol"], figures["black_price"], figures["heston"]
    ours = iv["ours_us_per_option"]
    rows: list[dict[str, Any]] = []
    for name, ref in iv["references"].items():
        row: dict[str, Any] = {"name": f"implied vol vs {name}", "value": ours, "unit": "us/option"}
        if isinstance(ref, str):
            row["reference"] = f"{name}: {ref}"
        else:
            row |= {"reference": name, "reference_value": ref["us_per_option"], "ratio": ref["ratio"]}
        rows.append(row)
    ql_err = bp["quantlib_blackFormula_max_rel_error_z10"]
    row = {"name": "Black price max rel error, |z| <= 10", "value": bp["ours_max_rel_error_z10"], "unit": "rel"}
    if isinstance(ql_err, str):
        row["reference"] = f"QuantLib blackFormula: {ql_err}"
    else:
        row |= {"reference": "QuantLib blackFormula", "reference_value": ql_err}
    rows.append(row)
    rows.append({"name": "Black price", "value": bp["ours_us_per_option"], "unit": "us/option"})
    rows.append(
        {
            "name": "Heston, 100 strikes",
            "value": h["ms_for_100_strikes"],
            "unit": "ms",
            "reference": "max |error| vs Lewis integral",
            "reference_value": h["max_abs_error_vs_lewis"],
        }
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="write the figures to this JSON file")
    parser.add_argument("--quick", action="store_true", help="smaller sets, fewer repeats")
    args = parser.parse_args(argv)
    n, sub, repeats = (20_000, 500, 3) if args.quick else (200_000, 3_000, 5)
    # Our own timings run before any reference is imported: importing py_vollib_vectorized
    # (numba) was seen to slow numpy's complex matrix products in this process fifty-fold.
    heston = bench_heston(repeats * 4)
    figures = {
        "heston": heston,
        "implied_vol": bench_implied_vol(n, sub, repeats),
        "black_price": bench_black_price(n, repeats),
    }
    iv = figures["implied_vol"]
    print(f"implied vol (ours): {iv['ours_us_per_option']:.3f} us/option on {n} options")
    for label in ("standard", "hard_otm"):
        print(f"  {label}: max |vol error| {iv['max_abs_vol_error_' + label]:.3e}, failures {iv['failures_' + label]}")
    for name, ref in iv["references"].items():
        if isinstance(ref, str):
            print(f"  {name}: {ref}")
        else:
            print(
                f"  {name}: {ref['us_per_option']:.3f} us/option, ratio {ref['ratio']:.2f}x, "
                f"max |vol error| {ref['max_abs_vol_error']:.3e}"
            )
    bp = figures["black_price"]
    ql_err = bp["quantlib_blackFormula_max_rel_error_z10"]
    print(
        f"black price (ours): {bp['ours_us_per_option']:.3f} us/option, max rel error |z|<=10 "
        f"{bp['ours_max_rel_error_z10']:.2e}; QuantLib blackFormula: "
        f"{ql_err if isinstance(ql_err, str) else f'{ql_err:.2e}'}"
    )
    h = figures["heston"]
    print(
        f"heston: {h['ms_for_100_strikes']:.3f} ms for 100 strikes, max |error| vs Lewis "
        f"{h['max_abs_error_vs_lewis']:.2e}, min one-day far-strike price {h['min_price_one_day']:.3e}"
    )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        # `figures`: the rows of make bench's table (scripts/bench.py); the detailed results stay beside them
        out = {**figures, "figures": table_figures(figures)}
        args.json.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
