"""``snnreduce reduce markov-approx``: the analytic Markov approximation (models.md §2).

Example::

    snnreduce reduce markov-approx --form map --set p_ei=0.8 --json
    snnreduce reduce markov-approx --form ode --set p_ei=0.9 --set h=0.1 --save ma.pkl --json

``--set`` takes the network's parameter names (``p_ei``, ``s_ee``, ``tau_ee``, ``lam``, ...)
and the approximation's own (``h``, ``variance``, ``closure``, ``closure_nodes``, ``eps``,
``bin_width``); the map uses the published closure unless ``closure`` is set, and
``--drop-mass`` reproduces the released code's lost mass. The summary reports
``rates_hz`` (mean over [t_burn, t_end]) and
``attractor`` = {"kind": "equilibrium" | "cycle" | "irregular", "period_ms": ...} of the form
chosen (``map``, the published one, by default).

Finite size (issue 9, docs/finite_size.md)::

    snnreduce reduce markov-approx --finite-n --scheme multinomial --seed 1 --json
    snnreduce reduce markov-approx --finite-n --scheme exact --seed 1 --json
    snnreduce reduce markov-approx --spectrum --set p_ei=0.95 --json

``--finite-n`` also simulates the finite-N chain with the network's population sizes for
``--t-end`` ms and reports its rates, 1-ms rate variance and gamma peak (20–200 Hz);
``--spectrum`` adds the linear-noise approximation around the ODE equilibrium (rate, 1-ms
binned rate variance, spectral peak, |transfer| to ``lam`` at the peak), or the reason it is
not available (no stable equilibrium).
"""

from __future__ import annotations

import pickle
import time

from simulate.validation import ParameterError

from .common import add_common, emit, parse_sets
from .systems import split_ma_keywords


def register(sub) -> None:
    """Add ``snnreduce reduce markov-approx`` (map, ODE, finite-N chain) to the subparsers
    ``sub``."""
    p = sub.add_parser(
        "markov-approx", help="the analytic Markov approximation (map or ODE)",
        description="Build the Markov approximation of the Markov IF network, integrate the "
        "chosen form and report rates and the attractor. Example: snnreduce reduce "
        "markov-approx --form ode --set p_ei=0.8 --json",
    )
    p.add_argument("--form", choices=("map", "ode"), default="map",
                   help="published discrete-time map (default) or the smooth ODE")
    p.add_argument("--t-end", type=float, default=2000.0, help="integration time, ms")
    p.add_argument("--t-burn", type=float, default=200.0,
                   help="start of the window for the mean rates, ms (default 200)")
    p.add_argument("--drop-mass", action="store_true",
                   help="map only: lose the mass below -M_r as the released code does")
    p.add_argument("--save", default=None, metavar="FILE.pkl",
                   help="pickle the ODE system (bifurcation.ODESystem) to this file")
    p.add_argument("--finite-n", action="store_true",
                   help="also simulate the finite-N stochastic chain (network sizes)")
    p.add_argument("--scheme", choices=("multinomial", "langevin", "exact"),
                   default="multinomial",
                   help="finite-N scheme: integer tau-leap at dt = h (default, fast), chemical "
                        "Langevin, or exact event-driven simulation of the chain (about 5x "
                        "slower at the defaults)")
    p.add_argument("--seed", type=int, default=0, help="seed of the finite-N chain")
    p.add_argument("--spectrum", action="store_true",
                   help="linear-noise spectrum and transfer function around the equilibrium")
    add_common(p, out=False)
    p.set_defaults(func=run)


def run(args) -> int:
    """Execute ``snnreduce reduce markov-approx`` with parsed ``args``; return the exit status
    (0 on success; bad input raises ``ParameterError``, reported by ``main`` with status 2)."""
    import reduce
    import simulate

    sets, ma_kw = split_ma_keywords(parse_sets(args.set))
    if args.t_burn < 0:
        raise ParameterError(f"t-burn = {args.t_burn:g} is outside the valid range [0, inf) ms")
    net = simulate.MarkovIFNetwork(**sets)
    ma = reduce.MarkovApproximation(net, **ma_kw)
    t0 = time.perf_counter()
    kw = {}
    if args.form == "map":
        # the map uses the published closure unless one is set explicitly
        kw = {"closure": ma_kw.get("closure", "uniform-widest"), "drop_mass": args.drop_mass}
    res = ma.simulate(args.t_end, form=args.form, t_burn=args.t_burn, **kw)
    summary = {
        "model": "markov-approx",
        "form": args.form,
        "closure": getattr(res, "closure", ma.closure),
        "variance": ma.variance,
        "drop_mass": bool(args.drop_mass) if args.form == "map" else None,
        "h": ma.h,
        "n_states": ma.layout.n_ode if args.form == "ode" else ma.layout.n_map,
        "params": {k: v for k, v in sets.items()},
        "t_end": args.t_end,
        "t_burn": args.t_burn,
        "rates_hz": res.rates_hz,
        "attractor": res.attractor(),
        "wall_time_s": time.perf_counter() - t0,
    }
    if args.form == "ode":
        summary["integrator"] = {"method": res.method, "rtol": res.rtol, "atol": res.atol,
                                 "nfev": res.nfev, "success": res.success}
    if getattr(args, "finite_n", False):
        summary["finite_n"] = _finite_n(ma, args)
    if getattr(args, "spectrum", False):
        summary["lna"] = _lna(ma)
    if args.save:
        with open(args.save, "wb") as fh:
            pickle.dump(ma.ode(), fh)
        summary["saved"] = str(args.save)
    emit(summary, args.json)
    return 0


def _finite_n(ma, args) -> dict:
    from reduce.finite_size import FiniteMAChain
    from simulate import observables as obs

    res = FiniteMAChain(ma, scheme=args.scheme).run(args.t_end, seed=args.seed)
    t_burn = args.t_burn if args.t_end > args.t_burn else 0.0
    out = {"scheme": args.scheme, "seed": args.seed, "sizes": ma.spec.sizes.tolist(),
           "rates_hz": obs.firing_rates(res, t_burn=t_burn),
           "var_E_1ms_hz2": obs.rate_variance(res, "E", bin_ms=1.0, t_burn=t_burn),
           "wall_time_s": res.wall_time_s}
    if args.scheme == "exact":
        out["n_events"] = res.n_events
    if args.t_end - t_burn >= 250.0:
        pk = obs.gamma_peak(obs.power_spectrum(res, segment_ms=250.0, t_burn=t_burn),
                            band=(20.0, 200.0))
        out["peak_hz"], out["peak_psd"] = pk.frequency_hz, pk.psd
    return out


def _lna(ma) -> dict:
    import numpy as np

    from reduce.finite_size import MALinearNoise, find_equilibrium

    eq = find_equilibrium(ma)
    ev = eq["eigenvalues"][0]
    out = {"converged": eq["converged"], "stable": eq["stable"],
           "rates_hz": {k: float(v) for k, v in eq["rates_hz"].items()},
           "leading_eigenvalue_per_ms": [float(ev.real), float(abs(ev.imag))]}
    if not eq["stable"]:
        out["error"] = "no stable equilibrium: the linear-noise approximation does not apply"
        return out
    lna = MALinearNoise(ma, eq["x"])
    pk = lna.peak((20.0, 200.0))
    par = "lam" if "lam" in ma.params else "lam_e"
    out.update({"var_E_1ms_hz2": lna.binned_rate_variance("E", 1.0),
                "peak_hz": pk["frequency_hz"], "peak_psd": pk["psd"],
                "transfer_param": par,
                "transfer_abs_at_peak": float(np.abs(lna.transfer([pk["frequency_hz"]],
                                                                  param=par)[0])),
                "transfer_abs_at_0": float(np.abs(lna.transfer([0.0], param=par)[0]))})
    return out
