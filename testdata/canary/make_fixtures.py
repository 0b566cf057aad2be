#!/usr/bin/python3
"""Reference values for core/canary, computed with SciPy.

Run from the repository root:  /usr/bin/python3 testdata/canary/make_fixtures.py
Writes testdata/canary/fixtures.json. Needs python3-scipy (Debian).
"""
import json
import math

import numpy as np
from scipy import special, stats

GRID = 24
LO, HI = math.log(math.log(1.05)), math.log(math.log(100.0))
DELTAS = [math.exp(LO + (HI - LO) * k / (GRID - 1)) for k in range(GRID)]


HALF_LIFE, PRIOR, PLUGIN_WEIGHT = 40.0, 10.0, 0.5


def regression_log_e(ticks, tolerance):
    """ln of the e-value after each tick, by binomial log-pmfs: half the
    grid mixture, half the plug-in likelihood ratio at the ratio estimated
    from the exponentially weighted earlier events."""
    r0 = 1.0 + tolerance
    rmax = r0 * math.exp(DELTAS[-1])
    logl = np.zeros(GRID)
    logp = 0.0
    ew_e = ew_c = ew_rho = 0.0
    out = []
    for nb, nc, xb, xc in ticks:
        e = xb + xc
        if e > 0 and nb > 0 and nc > 0:
            rho = nc / (nb + nc)
            q0 = rho * r0 / (rho * r0 + 1 - rho)
            for k, d in enumerate(DELTAS):
                r = r0 * math.exp(d)
                q = rho * r / (rho * r + 1 - rho)
                logl[k] += stats.binom.logpmf(xc, e, q) - stats.binom.logpmf(xc, e, q0)
            r_hat = r0
            if ew_e > 0:
                rbar = ew_rho / ew_e
                qbar0 = r0 * rbar / (r0 * rbar + 1 - rbar)
                qh = (ew_c + PRIOR * qbar0) / (ew_e + PRIOR)
                r_hat = rmax if qh >= 1 else min(max(qh * (1 - rbar) / (rbar * (1 - qh)), r0), rmax)
            if r_hat > r0:
                q = rho * r_hat / (rho * r_hat + 1 - rho)
                logp += stats.binom.logpmf(xc, e, q) - stats.binom.logpmf(xc, e, q0)
            decay = 2.0 ** (-e / HALF_LIFE)
            ew_e, ew_c, ew_rho = ew_e * decay + e, ew_c * decay + xc, ew_rho * decay + e * rho
        if not logl.any() and logp == 0.0:
            out.append(0.0)
            continue
        mix = float(special.logsumexp(logl, b=np.full(GRID, 1.0 / GRID)))
        out.append(float(special.logsumexp([logp, mix], b=[PLUGIN_WEIGHT, 1 - PLUGIN_WEIGHT])))
    return out


def main():
    rng = np.random.default_rng(20260817)
    betaln = []
    for a, b in [(0.5, 0.5), (1, 1), (2.5, 7), (3, 40), (9.5, 12), (10, 90), (100, 900), (0.1, 1e5),
                 (5, 1e6), (100.5, 900.25), (12345, 111111), (1e5 + 100, 9e5 + 900), (3e6, 2.7e7),
                 (50, 1e7), (1e-3, 0.7)]:
        betaln.append({"a": a, "b": b, "lnbeta": float(special.betaln(a, b))})

    srm = []
    for pi, c, x, n in [(0.1, 1000, 0, 0), (0.1, 1000, 10, 100), (0.1, 1000, 1000, 10000),
                        (0.1, 1000, 1100, 10000), (0.1, 1000, 9000, 100000), (0.05, 1000, 5300, 100000),
                        (0.5, 1000, 500400, 1000000), (0.25, 100, 31, 100), (0.01, 1000, 1500, 180000),
                        (0.1, 1000, 180000, 1800000), (0.1, 1000, 171000, 1800000)]:
        a, b = c * pi, c * (1 - pi)
        le = special.betaln(a + x, b + n - x) - special.betaln(a, b) - x * math.log(pi) - (n - x) * math.log1p(-pi)
        srm.append({"pi": pi, "concentration": c, "x": x, "n": n, "log_e": float(le) if n else 0.0})

    regression = []
    for name, nb_rate, nc_rate, qb, qc, steps, tol in [
        ("healthy", 90, 10, 0.01, 0.01, 60, 0.0),
        ("double", 90, 10, 0.01, 0.02, 60, 0.0),
        ("tenfold_low", 9, 1, 0.01, 0.1, 120, 0.0),
        ("better", 450, 50, 0.02, 0.01, 40, 0.0),
        ("tolerance", 90, 10, 0.01, 0.015, 60, 0.1),
        ("late_onset", 90, 10, 0.01, 0.01, 60, 0.0),
    ]:
        ticks = []
        for i in range(steps):
            nb, nc = int(rng.poisson(nb_rate)), int(rng.poisson(nc_rate))
            if name == "late_onset" and i >= steps // 2:
                qc = 0.05
            ticks.append([nb, nc, int(rng.binomial(nb, qb)), int(rng.binomial(nc, qc))])
        regression.append({"name": name, "tolerance": tol, "ticks": ticks, "log_e": regression_log_e(ticks, tol)})

    wilson = []
    for k, n in [(0, 2000), (20, 2000), (7, 200), (200, 200), (1, 10), (50, 100)]:
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        wilson.append({"k": k, "n": n, "z": float(stats.norm.ppf(0.975)), "lo": float(ci.low), "hi": float(ci.high)})

    with open("testdata/canary/fixtures.json", "w") as f:
        json.dump({"generator": "testdata/canary/make_fixtures.py", "scipy": __import__("scipy").__version__,
                   "betaln": betaln, "srm": srm, "regression": regression, "wilson": wilson}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
