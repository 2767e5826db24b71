"""``MarkovApproximation``: the analytic Markov approximation of a Markov IF network.

See models.md §2 and docs/markov_approx.md. Built from a :class:`simulate.MarkovIFNetwork`
(or its parameter dict), for any list of populations (E, I or E1, E2, I).
"""

from __future__ import annotations

import numpy as np

from simulate.validation import ParameterError, check_choice, check_number

from .bins import make_layout
from .closure import CLOSURES, lobatto
from .ode import RHS, Flux, Jacobian, RateOutput
from .state import StateLayout, StateView

__all__ = ["MarkovApproximation", "VARIANCES"]

#: Variance choices (models.md §2): the published white-noise form and the shot-noise plus
#: quasi-static form.
VARIANCES = {"published": 0, "shot-noise": 1}


def _network(network):
    from simulate.markov_if.network import MarkovIFNetwork

    if network is None:
        return MarkovIFNetwork()
    if isinstance(network, MarkovIFNetwork):
        return network
    if isinstance(network, dict):
        return MarkovIFNetwork(**network)
    raise ParameterError(
        f"network must be a simulate.MarkovIFNetwork or its parameter dict, got "
        f"{type(network).__name__}")


class MarkovApproximation:
    r"""The Markov approximation (models.md §2) of a Markov IF network.

    Parameters
    ----------
    network : simulate.MarkovIFNetwork or dict, optional
        The network (default: the published defaults).
    bins : None, float or array_like
        Bin layout: ``None`` the published one (width 4 on [-40, 100], lowest widened to
        [-M_r, -36)), a number a width, or explicit edges from ``-M_r`` to ``M``.
    h : float
        Horizon of the Gaussian-increment construction, ms (a model parameter, > 0).
    variance : {"published", "shot-noise"}
        ``σ² = λh + h S² s/τ²`` (published) or ``λh + h S² m/τ + h² S² s/τ²``.
    closure : {"maxent", "uniform-widest"}
        Within-bin density: the smooth maximum-entropy (truncated-exponential, Lobatto
        discretised) one, or the published widest-sub-interval uniform one (not smooth; its
        ODE uses a finite-difference Jacobian).
    closure_nodes : int
        Number of Gauss–Lobatto nodes of the maxent closure (default 5).
    eps : float
        Regularisation of the in-bin mean ``V̄ = c + Z n/(n² + ε²)`` (neurons, default 1e-3;
        valid range (0, 0.1]). It sets the occupancy scale below which a bin's mean is pulled
        to its centre, and with it the smoothness scale of the field: with ε = 1e-6 finite
        differences of f agree with J·v only for steps ≤ 1e-6 near the default equilibrium;
        with ε = 1e-3 they converge as O(step²) for steps up to 1e-4, and rates change by
        < 2e-6 relative (docs/markov_approx.md, "The smoothness scale set by ε").

    Examples
    --------
    >>> import simulate, reduce
    >>> ma = reduce.MarkovApproximation(simulate.MarkovIFNetwork(p_ei=0.8))
    >>> ode = ma.ode()
    >>> ode.n_states
    148
    """

    def __init__(self, network=None, bins=None, h: float = 0.1, variance: str = "published",
                 closure: str = "maxent", closure_nodes: int = 5, eps: float = 1e-3):
        net = _network(network)
        self.network = net
        self.net_params = dict(net.params)
        self.spec = net.spec
        self.h = check_number("h", h, 0.0, 10.0, lo_open=True, unit="ms",
                              hint="h is the horizon of the Gaussian increments (0.1 ms "
                                   "published)")
        self.variance = check_choice("variance", variance, tuple(VARIANCES))
        self.closure = check_choice("closure", closure, tuple(CLOSURES))
        self.closure_nodes = int(check_number("closure_nodes", closure_nodes, 2, 20,
                                              integer=True))
        self.eps = check_number("eps", eps, 0.0, 0.1, lo_open=True, unit="neurons")
        if np.any(self.spec.lam <= 0):
            raise ParameterError(
                f"lam = {self.spec.lam.tolist()} must be > 0 for the Markov approximation "
                "(the external input sets the minimal variance of the Gaussian increment)")
        self.M, self.M_r = float(self.spec.M), float(self.spec.M_r)
        self.bins = make_layout(bins, self.M, self.M_r)
        self.nodes, self.beta = lobatto(self.closure_nodes)
        self.layout = StateLayout(self.spec.populations, self.bins.n_bins, self.bins.centres,
                                  self.bins.widths, self.spec.sizes, self.eps)
        self._build_params()

    # ------------------------------------------------------------------ parameters
    def _build_params(self):
        v = self.net_params
        pops = self.spec.populations
        P = len(pops)
        if v["topology"] == "ei":
            pn = [["p_ee", "p_ei"], ["p_ie", "p_ii"]]
            sn = [["s_ee", "s_ei"], ["s_ie", "s_ii"]]
            tn = [["tau_ee", "tau_ei"], ["tau_ie", "tau_ii"]]
            lamn = ["lam_e", "lam_i"]
        else:
            pn = [["p_ee", "p_ee_x", "p_ei"], ["p_ee_x", "p_ee", "p_ei"],
                  ["p_ie", "p_ie", "p_ii"]]
            sn = [["s_ee", "s_ee_x", "s_ei"], ["s_ee_x", "s_ee", "s_ei"],
                  ["s_ie", "s_ie", "s_ii"]]
            tn = [["tau_ee", "tau_ee", "tau_ei"], ["tau_ee", "tau_ee", "tau_ei"],
                  ["tau_ie", "tau_ie", "tau_ii"]]
            lamn = ["lam_e", "lam_e", "lam_i"]
        params: dict = {}
        if v["lam_e"] == v["lam_i"]:
            params["lam"] = v["lam_e"]
            lam_names = ["lam"] * P
        else:
            params["lam_e"] = v["lam_e"]
            params["lam_i"] = v["lam_i"]
            lam_names = lamn
        for grid in (pn, sn, tn):
            for row in grid:
                for name in row:
                    params.setdefault(name, float(v[name]))
        params["tau_r"] = float(v["tau_r"])
        params["h"] = float(self.h)
        params["tau_m"] = float(v["tau_m"])
        self.params = params
        names = list(params)
        idx = {k: i for i, k in enumerate(names)}
        raw_p = np.array([[v[n] for n in row] for row in pn], float)
        raw_S = np.array([[v[n] for n in row] for row in sn], float)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_fac = np.where(raw_p > 0, self.spec.p / np.where(raw_p > 0, raw_p, 1), 1.0)
            S_fac = np.where(raw_S > 0, self.spec.S / np.where(raw_S > 0, raw_S, 1), 1.0)
        # factors of zero entries follow the size-scaling rule of the source population
        ref = np.array([v["n_e_ref"] if e else v["n_i_ref"] for e in self.spec.excitatory],
                       float) / self.spec.sizes
        if v["size_scaling"] == "S":
            S_fac = np.where(raw_S > 0, S_fac, ref[None, :])
        elif v["size_scaling"] == "p":
            p_fac = np.where(raw_p > 0, p_fac, ref[None, :])
        lam_fac = np.array([self.spec.lam[q] / v["lam_e" if self.spec.excitatory[q] else
                                                 "lam_i"] if self.spec.lam[q] > 0 else 1.0
                            for q in range(P)])
        self._idx = dict(
            lam_idx=np.array([idx[n] for n in lam_names], np.int64),
            lam_fac=lam_fac.astype(float),
            p_idx=np.array([[idx[n] for n in row] for row in pn], np.int64),
            p_fac=np.ascontiguousarray(p_fac, float),
            S_idx=np.array([[idx[n] for n in row] for row in sn], np.int64),
            S_fac=np.ascontiguousarray(S_fac, float),
            tau_idx=np.array([[idx[n] for n in row] for row in tn], np.int64),
            sc_idx=np.array([idx["tau_r"], idx["h"], idx["tau_m"]], np.int64),
        )

    def param_vector(self, params: dict | None = None) -> np.ndarray:
        """Parameter vector ordered as ``list(ma.params)`` with some values replaced."""
        p = np.array(list(self.params.values()), float)
        for k, val in (params or {}).items():
            if k not in self.params:
                raise ParameterError(
                    f"unknown parameter {k!r}; the Markov approximation has "
                    f"{', '.join(self.params)}")
            p[list(self.params).index(k)] = float(val)
        self._check_p(p)
        return p

    def _check_p(self, p):
        for k, val in zip(self.params, p):
            if k.startswith("p_"):
                check_number(k, val, 0.0, 1.0)
            elif k == "h":
                check_number("h", val, 0.0, 10.0, lo_open=True, unit="ms")
            elif k.startswith("tau_m"):
                check_number(k, val, 0.0, None, unit="ms (0 = no leak)")
            elif k.startswith("tau"):
                check_number(k, val, 0.0, None, lo_open=True, unit="ms")
            elif k.startswith("lam"):
                check_number(k, val, 0.0, 100.0, lo_open=True, unit="kicks per ms")
            else:
                check_number(k, val, 0.0, None)

    def network_arrays(self, params: dict | np.ndarray | None = None) -> dict:
        """Resolved arrays (lam, p, S, tau, tau_r, h, tau_m) at the given parameters."""
        from .ode import unpack

        p = params if isinstance(params, np.ndarray) else self.param_vector(params)
        i = self._idx
        lam, pm, S, tau, tau_r, h, tau_m = unpack(
            p, self.layout.P, i["lam_idx"], i["lam_fac"], i["p_idx"], i["p_fac"], i["S_idx"],
            i["S_fac"], i["tau_idx"], i["sc_idx"])
        return dict(lam=lam, p=pm, S=S, tau=tau, tau_r=tau_r, h=h, tau_m=tau_m)

    def kernel_arrays(self, closure: str | None = None) -> tuple:
        """The model arrays passed to the compiled kernels after ``(x, p)``."""
        ck = CLOSURES[closure or self.closure]
        i = self._idx
        return (
            self.layout.P, self.layout.K, self.spec.sizes.astype(np.float64),
            self.bins.edges, self.spec.excitatory.astype(np.bool_), self.bins.reset_bin,
            self.bins.v_reset, self.M, self.M_r, self.eps, VARIANCES[self.variance], ck,
            self.nodes, self.beta, i["lam_idx"], i["lam_fac"], i["p_idx"], i["p_fac"],
            i["S_idx"], i["S_fac"], i["tau_idx"], i["sc_idx"],
        )

    # ------------------------------------------------------------------ states
    def state_view(self, x) -> StateView:
        """Named view of an ODE (148) or map (152) state, e.g. ``view.E.occupancy``."""
        return StateView(self.layout, x)

    def state_names(self, form: str = "ode") -> list:
        """Names of the state components in ``"ode"`` or ``"map"`` form (:meth:`StateLayout.names`).
        """
        return self.layout.names(form)

    def initial_state(self, form: str = "ode", spread: str = "uniform") -> np.ndarray:
        """A quiet admissible start: neurons spread over the bins in [0, M), none refractory,
        no pending kicks. ``form="map"`` appends R = 0 and F = 0."""
        check_choice("form", form, ("ode", "map"))
        lay = self.layout
        x = np.zeros(lay.n_map if form == "map" else lay.n_ode)
        c = self.bins.centres
        sel = (self.bins.edges[:-1] >= 0.0)
        wts = sel * self.bins.widths
        wts = wts / wts.sum()
        for q in range(lay.P):
            x[lay.occ(q)] = self.spec.sizes[q] * wts
        del c
        return x

    def to_map_state(self, x, params=None) -> np.ndarray:
        """ODE state -> map state (R = N - Σ n, F = current flux)."""
        x = np.asarray(x, float)
        lay = self.layout
        if x.shape[-1] == lay.n_map:
            return x.copy()
        flux = Flux(self.kernel_arrays(), lay.n_ode)(x, self.param_vector(params))
        R = self.spec.sizes - np.array([x[lay.occ(q)].sum() for q in range(lay.P)])
        return np.concatenate([x, R, flux])

    def to_ode_state(self, xm) -> np.ndarray:
        """Map state -> ODE state: a copy of the first ``n_ode`` components (drops R and F)."""
        return np.asarray(xm, float)[..., : self.layout.n_ode].copy()

    # ------------------------------------------------------------------ forms
    def ode(self, jacobian: str = "analytic"):
        """The continuous-time MA as a :class:`bifurcation.ODESystem` in reduced coordinates.

        Parameters
        ----------
        jacobian : {"analytic", "fd"}
            The compiled analytic Jacobian (maxent closure only) or central differences.

        Outputs: ``rate_<Q>`` in Hz per neuron for every population (and ``rate_E`` for all
        excitatory neurons together in the two-assembly topology), ``flux_<Q>`` in spikes/ms.
        """
        from bifurcation.system import ODESystem

        check_choice("jacobian", jacobian, ("analytic", "fd"))
        arrays = self.kernel_arrays()
        names = self.state_names("ode")
        n = self.layout.n_ode
        rhs = RHS(arrays, n, names)
        jac = None
        if jacobian == "analytic" and self.closure == "maxent":
            jac = Jacobian(arrays, n, names)
        flux = Flux(arrays, n, names)
        outputs = {}
        for q, pop in enumerate(self.spec.populations):
            outputs[f"rate_{pop}"] = RateOutput(flux, q, self.spec.sizes[q])
        if "E" not in self.spec.populations:
            outputs["rate_E"] = _CombinedRate(flux, np.flatnonzero(self.spec.excitatory),
                                              self.spec.sizes)
        sysm = ODESystem(rhs, n, self.params, jac=jac, outputs=outputs, state_names=names,
                         name="markov-approx")
        sysm.markov_approx = self
        return sysm

    def flux(self, x, params=None) -> np.ndarray:
        """Spike flux F_q (spikes per ms) at an ODE state."""
        return Flux(self.kernel_arrays(), self.layout.n_ode)(x, self.param_vector(params))

    def rates_hz(self, x, params=None) -> dict:
        """Population rates (Hz per neuron) at an ODE state."""
        F = self.flux(np.asarray(x, float)[: self.layout.n_ode], params)
        out = {q: 1000.0 * F[i] / self.spec.sizes[i]
               for i, q in enumerate(self.spec.populations)}
        if "E" not in out:
            e = np.flatnonzero(self.spec.excitatory)
            out["E"] = 1000.0 * F[e].sum() / self.spec.sizes[e].sum()
        return out

    def simulate(self, t_end: float, form: str = "ode", x0=None, **kw):
        """Integrate the ODE or iterate the map; see :func:`reduce.markov_approx.simulate.run`."""
        from .simulate import run

        return run(self, t_end, form=form, x0=x0, **kw)

    def equilibrium(self, p=None, t_settle: float = 100.0, x0=None, tol: float = 1e-10,
                    max_iter: int = 60, check: bool = True, **simulate_kw):
        """Equilibrium of the ODE form: damped Newton from the time average of a short run.

        ``x̄ = (1/T)∫_0^T x(t) dt`` over ``T = t_settle`` ms of ``ma.simulate`` (quiet start
        or ``x0``), then Newton on ``f(x, p) = 0`` with the analytic Jacobian until
        ``max|f| ≤ tol`` (:mod:`reduce.markov_approx.equilibrium`).

        Parameters
        ----------
        p : dict or ndarray, optional
            Parameter overrides by name, or a full parameter vector (order of ``ma.params``).
        t_settle : float
            Length of the averaged run, ms (default 100; 0 = start Newton at ``x0``).
        x0 : ndarray, optional
            Start of the run (default the quiet start).
        tol, max_iter : float, int
            Newton tolerance (max|f| per ms) and iteration limit.
        check : bool
            Raise :class:`~reduce.markov_approx.equilibrium.EquilibriumNotFound` if Newton
            does not converge (default); otherwise return the result with
            ``converged=False``.
        **simulate_kw
            Passed to :meth:`simulate` (e.g. ``method="LSODA"``).

        Returns
        -------
        MAEquilibrium
            ``.x`` (reduced-coordinate state), ``.converged``, ``.residual``,
            ``.iterations``, ``.rates_hz``, ``.params``.

        Examples
        --------
        >>> import reduce
        >>> eq = reduce.MarkovApproximation().equilibrium()
        >>> eq.converged, round(eq.rates_hz["E"], 2)
        (True, 40.52)
        """
        from .equilibrium import find_equilibrium

        return find_equilibrium(self, p, t_settle=t_settle, x0=x0, tol=tol,
                                max_iter=max_iter, check=check, **simulate_kw)

    def transitions(self, x, params=None, closure: str | None = None, drop_mass=False,
                    deriv=False):
        """The transition construction at an ODE state: ``(P, D)`` per population
        (and derivative arrays when ``deriv``); see :mod:`transitions`."""
        from .ode import _split
        from .transitions import construct

        x = np.ascontiguousarray(x, float)[: self.layout.n_ode]
        a = self.network_arrays(params)
        n, Z, mom = _split(x, self.layout.P, self.layout.K)
        P, K = self.layout.P, self.layout.K
        Pm = np.empty((P, K, K + 1))
        Dm = np.empty((P, K, K))
        dP = np.empty((P, K, K + 1, 3)) if deriv else np.empty((1, 1, 1, 1))
        dD = np.empty((P, K, K, 3)) if deriv else np.empty((1, 1, 1, 1))
        coef = np.empty((P, K, 2 + 3 * P)) if deriv else np.empty((1, 1, 1))
        construct(n, Z, mom, self.bins.edges, a["lam"], a["S"], a["tau"],
                  self.spec.excitatory.astype(np.bool_), a["h"], a["tau_m"], self.M, self.M_r,
                  self.eps, VARIANCES[self.variance], CLOSURES[closure or self.closure],
                  bool(drop_mass), self.nodes, self.beta, bool(deriv), Pm, Dm, dP, dD, coef)
        if deriv:
            return Pm, Dm, dP, dD, coef
        return Pm, Dm

    def __repr__(self) -> str:
        return (f"MarkovApproximation(populations={self.spec.populations}, K={self.layout.K}, "
                f"h={self.h:g}, variance={self.variance!r}, closure={self.closure!r})")


class _CombinedRate:
    def __init__(self, flux, idx, sizes):
        self.flux, self.idx, self.size = flux, np.asarray(idx), float(np.sum(sizes[idx]))

    def __call__(self, x, p):
        return 1000.0 * float(self.flux(x, p)[self.idx].sum()) / self.size
