"""Equilibria of the MA ODE over p_EI by Newton + natural-parameter stepping (analytic
Jacobian): rates, leading eigenvalues, smallest singular value.

Usage::

    python benchmarks/ma_equilibria.py [--out benchmarks/results/ma_equilibria.json]
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def newton(ode, x, p, tol=1e-10, maxit=40):
    for _ in range(maxit):
        f = ode.rhs(x, p)
        r = np.linalg.norm(f)
        if r < tol:
            return x, r, True
        dx = np.linalg.solve(ode.jacobian(x, p), -f)
        lam = 1.0
        while lam > 1e-4:
            xn = x + lam * dx
            if np.linalg.norm(ode.rhs(xn, p)) < (1 - 0.1 * lam) * r:
                break
            lam /= 2
        x = xn
    return x, np.linalg.norm(ode.rhs(x, p)), False


def main(argv=None):
    import reduce

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/results/ma_equilibria.json")
    a = ap.parse_args(argv)
    ma = reduce.MarkovApproximation()
    ode = ma.ode()
    x0 = ma.simulate(200.0, form="map", closure="maxent").x[500:, : ma.layout.n_ode].mean(0)
    grid_dn = np.round(np.arange(0.8, 0.4999, -0.05), 2)
    grid_up = np.round(np.arange(0.85, 1.0001, 0.05), 2)
    rows = []
    for grid in (grid_dn, grid_up):
        x = x0.copy()
        for pe in grid:
            p = ode.param_vector(p_ei=float(pe))
            x, res, ok = newton(ode, x, p)
            J = ode.jacobian(x, p)
            ev = np.linalg.eigvals(J)
            ev = ev[np.argsort(-ev.real)]
            sv = np.linalg.svd(J, compute_uv=False)
            rates = ode.eval_outputs(x, p)
            rows.append({"p_ei": float(pe), "converged": ok, "residual": float(res),
                         "rate_E": rates["rate_E"], "rate_I": rates["rate_I"],
                         "lead_eig": [float(ev[0].real), float(abs(ev[0].imag))],
                         "n_unstable": int(np.sum(ev.real > 0)),
                         "sigma_min": float(sv[-1]), "cond": float(sv[0] / sv[-1])})
            print(json.dumps(rows[-1]), flush=True)
            if pe == grid[0]:
                x0 = x.copy() if grid is grid_dn else x0
    rows.sort(key=lambda r: r["p_ei"])
    with open(a.out, "w") as fh:
        json.dump(rows, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
