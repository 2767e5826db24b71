r"""Linear-noise approximation (LNA) of the finite-N Markov approximation (issue 9).

Around a stable equilibrium x* of ``ma.ode()`` (reduced coordinates: occupancies n, centred
totals Z, kick moments m, s), the fluctuations of the continuous-time redraw chain of
:mod:`reduce.finite_size.ma_chain` obey ``dξ = A ξ dt + ν dη`` with

* ``A = ∂f/∂x (x*)``: the analytic Jacobian of the ODE;
* channels c (one per transition of the construction), propensity ``a_c`` and jump ``ν_c``:

  - bin k → bin j (j may equal k: the voltage is redrawn in place), ``a = n_k P_{kj}/h``,
    ``ν = e_{n_j} − e_{n_k} + d_{kj} e_{Z_j} − z̄_k e_{Z_k}``, ``d_{kj} = D_{kj}/P_{kj}``,
    ``z̄_k = Z_k/n_k`` (the share of a neuron of bin k; channels of bins with n_k ≤ 0 are
    omitted);
  - bin k fires, ``a = n_k P_{k,fire}/h``, ``ν = −e_{n_k} − z̄_k e_{Z_k}
    + Σ_{q'} (p_{q'q} e_{m_{q'q}} + p_{q'q}(1 − p_{q'q}) e_{s_{q'q}})``;
  - refractory exit, ``a = R/τ_R``, ``ν = e_{n_{j0}} + (V_reset − c_{j0}) e_{Z_{j0}}``;

  η_c are independent centred Poisson increments (``⟨dη_c dη_c⟩ = a_c dt``), so the diffusion
  matrix is ``D = Σ_c a_c ν_c ν_cᵀ``; ``Σ_c a_c ν_c`` plus the deterministic decay of the kick
  moments is exactly the ODE field (tested).

Noise sources included: landing bins, firing and refractory exits of individual neurons, the
voltage-total jumps that go with them, and the spike-driven jumps of the kick moments. Not
included: quenched connectivity, the spread of the pending kicks across neurons beyond s.

Quantities (counts, not fractions, so no 1/N scaling is applied):

* ``Σ`` solves ``AΣ + ΣAᵀ + D = 0``;
* spike-count flux ``J_q`` of population q (spikes per ms) = ``g_q·ξ + Σ_{fire channels of q}
  dη_c/dt`` with ``g_q = ∇F_q``; its two-sided spectrum
  ``S_J(ω) = Σ_c a_c |u(ω)·ν_c + w_c|²``, ``u = g_q (iω − A)^{-1}``, ``w_c = 1`` on the fire
  channels of q (``kind="spikes"``; ``kind="flux"`` drops w: the spectrum of F_q(x));
* the one-sided PSD of the rate ``1000 J/N`` in Hz²/Hz at f Hz, the convention of
  :func:`simulate.observables.power_spectrum`:
  ``PSD(f) = 2 (1000/N)² S_J(2π f/1000) / 1000`` (Poisson check: ``S_J = F`` gives ``2ν/N``);
* linear response of the rate to ``p(t) = p* + Re(δp e^{iωt})``:
  ``H(ω) = (1000/N)[g (iω − A)^{-1} ∂f/∂p + ∂F/∂p]`` (Hz per unit of p).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from simulate.validation import ParameterError, check_choice

from .lna import stationary_covariance

__all__ = ["find_equilibrium", "ma_channels", "MALinearNoise", "newton"]


def newton(ode, x, p, tol: float = 1e-10, maxit: int = 40):
    """Damped Newton on ``ode.rhs(x, p) = 0`` with the analytic Jacobian.

    Returns ``(x, residual, converged)``.
    """
    x = np.array(x, float)
    for _ in range(maxit):
        f = ode.rhs(x, p)
        r = float(np.linalg.norm(f))
        if r < tol:
            return x, r, True
        dx = np.linalg.solve(ode.jacobian(x, p), -f)
        lam = 1.0
        xn = x + dx
        while lam > 1e-4:
            xn = x + lam * dx
            if np.linalg.norm(ode.rhs(xn, p)) < (1 - 0.1 * lam) * r:
                break
            lam /= 2
        x = xn
    r = float(np.linalg.norm(ode.rhs(x, p)))
    return x, r, r < tol


def find_equilibrium(ma, params: dict | None = None, x0=None, t_int: float = 300.0,
                     tol: float = 1e-10) -> dict:
    """Equilibrium of ``ma.ode()``: iterate ``t_int`` ms (from ``x0`` or the quiet start),
    average the second half, then Newton (the map form with the model's closure is
    used for the integration, as in ``benchmarks/ma_equilibria.py``).

    Returns a dict ``x, residual, converged, eigenvalues (sorted by real part, descending),
    stable, rates_hz``.
    """
    ode = ma.ode()
    p = ma.param_vector(params)
    res = ma.simulate(t_int, form="map", x0=x0, params=params, closure=ma.closure)
    X = res.x[:, : ma.layout.n_ode]
    xg = X[len(X) // 2:].mean(0)
    x, r, ok = newton(ode, xg, p, tol=tol)
    ev = np.linalg.eigvals(ode.jacobian(x, p))
    ev = ev[np.argsort(-ev.real)]
    return {"x": x, "residual": r, "converged": bool(ok), "eigenvalues": ev,
            "stable": bool(ok and ev[0].real < 0), "rates_hz": ma.rates_hz(x, params)}


def ma_channels(ma, x, params: dict | None = None, with_groups: bool = False):
    """Propensities ``a`` (C,), jump matrix ``ν`` (sparse, n × C) and the fire-channel
    population index (C,; −1 for non-fire channels) of the redraw chain at ODE state x.

    With ``with_groups`` also the source group of each channel (one group per occupied bin
    and per refractory pool) and the group sizes (n_k or R)."""
    lay = ma.layout
    P, K = lay.P, lay.K
    x = np.asarray(x, float)
    Pm, Dm = ma.transitions(x, params)
    arr = ma.network_arrays(params)
    h, tau_r, pm = float(arr["h"]), float(arr["tau_r"]), arr["p"]
    edges = ma.bins.edges
    j0 = ma.bins.reset_bin
    cj0 = 0.5 * (edges[j0] + edges[j0 + 1])
    rows, cols, vals, rates, firepop, group, gsize = [], [], [], [], [], [], []
    c = 0

    def add(entries, rate, fq=-1):
        nonlocal c
        for i, v in entries:
            rows.append(i)
            cols.append(c)
            vals.append(v)
        rates.append(rate)
        firepop.append(fq)
        group.append(len(gsize) - 1)
        c += 1

    for q in range(P):
        on = lay.occ(q).start
        oz = lay.ztot(q).start
        n = x[lay.occ(q)]
        Z = x[lay.ztot(q)]
        for k in range(K):
            nk = n[k]
            if nk <= 0.0:
                continue
            zbar = Z[k] / nk
            gsize.append(nk)
            for j in range(K):
                pj = Pm[q, k, j]
                if pj <= 0.0:
                    continue
                d = Dm[q, k, j] / pj
                if j == k:
                    add([(oz + k, d - zbar)], nk * pj / h)
                else:
                    add([(on + j, 1.0), (on + k, -1.0), (oz + j, d), (oz + k, -zbar)],
                        nk * pj / h)
            pf = Pm[q, k, K]
            if pf > 0.0:
                ent = [(on + k, -1.0), (oz + k, -zbar)]
                for q2 in range(P):
                    im = lay.mom(q2, q)
                    pp = pm[q2, q]
                    ent += [(im, pp), (im + 1, pp * (1.0 - pp))]
                add(ent, nk * pf / h, q)
        R = float(ma.spec.sizes[q] - n.sum())
        gsize.append(max(R, 0.0))
        add([(on + j0, 1.0), (oz + j0, ma.bins.v_reset - cj0)], max(R, 0.0) / tau_r)
    nu = sp.csc_matrix((vals, (rows, cols)), shape=(lay.n_ode, c))
    if with_groups:
        return (np.array(rates), nu, np.array(firepop, np.int64), np.array(group, np.int64),
                np.array(gsize))
    return np.array(rates), nu, np.array(firepop, np.int64)


class MALinearNoise:
    """The linear-noise approximation of the finite-N MA around an equilibrium.

    Parameters
    ----------
    ma : reduce.MarkovApproximation
    x_eq : ndarray, optional
        A stable equilibrium of ``ma.ode()`` (default: :func:`find_equilibrium`).
    params : dict, optional

    Attributes
    ----------
    A : (n, n) Jacobian;  D : (n, n) diffusion matrix;  a, nu, firepop : the channels;
    grad : (P, n) gradients of the spike fluxes F_q (spikes/ms).

    Examples
    --------
    >>> import simulate, reduce
    >>> from reduce.finite_size import MALinearNoise
    >>> lna = MALinearNoise(reduce.MarkovApproximation(simulate.MarkovIFNetwork(p_ei=0.95)))
    >>> round(lna.peak()["frequency_hz"])   # doctest: +SKIP
    """

    def __init__(self, ma, x_eq=None, params: dict | None = None):
        self.ma = ma
        self.params = dict(params or {})
        self.ode = ma.ode()
        self.p = ma.param_vector(params)
        if x_eq is None:
            eq = find_equilibrium(ma, params)
            if not eq["converged"]:
                raise ParameterError(
                    f"no equilibrium found (Newton residual {eq['residual']:.3g})")
            x_eq = eq["x"]
        self.x = np.asarray(x_eq, float)
        self.A = self.ode.jacobian(self.x, self.p)
        ev = np.linalg.eigvals(self.A)
        self.eigenvalues = ev[np.argsort(-ev.real)]
        if self.eigenvalues[0].real >= 0:
            raise ParameterError(
                f"the equilibrium is not stable: leading eigenvalue "
                f"{self.eigenvalues[0]:.4g} per ms has real part >= 0; the linear-noise "
                "approximation needs a stable equilibrium")
        self.a, self.nu, self.firepop, self.group, self.gsize = ma_channels(
            ma, self.x, params, with_groups=True)
        self.D = np.asarray((self.nu @ sp.diags(self.a) @ self.nu.T).todense())
        self.grad = self._flux_gradients()
        self._Sigma = None
        self._eig = None
        self._modal_cache = {}

    # ------------------------------------------------------------------ pieces
    def _flux_gradients(self):
        """∇F_r from the kick-moment rows of the Jacobian:
        ``J[m_qr] = p_qr ∇F_r − e_{m_qr}/τ_qr``."""
        lay = self.ma.layout
        arr = self.ma.network_arrays(self.p)
        G = np.zeros((lay.P, lay.n_ode))
        for r in range(lay.P):
            q = int(np.argmax(arr["p"][:, r]))
            pp = arr["p"][q, r]
            if pp <= 0:
                raise ParameterError(f"population {lay.populations[r]} projects nowhere; "
                                     "its flux gradient cannot be read from the Jacobian")
            im = lay.mom(q, r)
            row = self.A[im].copy()
            row[im] += 1.0 / arr["tau"][q, r]
            G[r] = row / pp
        return G

    def _pop(self, pop):
        pops = list(self.ma.spec.populations)
        check_choice("pop", pop, tuple(pops) + (("E",) if "E" not in pops else ()))
        if pop in pops:
            idx = [pops.index(pop)]
        else:
            idx = list(np.flatnonzero(self.ma.spec.excitatory))
        return idx, float(self.ma.spec.sizes[idx].sum())

    @property
    def covariance(self) -> np.ndarray:
        """Stationary covariance Σ of the state (counts; AΣ + ΣAᵀ + D = 0)."""
        if self._Sigma is None:
            self._Sigma = stationary_covariance(self.A, self.D)
        return self._Sigma

    def step_covariance(self, dt: float) -> np.ndarray:
        """Covariance of one step of the multinomial tau-leap (:mod:`ma_chain`) at x*:
        each of the n_g neurons of a group (bin or refractory pool) independently takes
        channel c with probability ``dt a_c/n_g`` (else stays), so
        ``Q_dt = dt D − dt² Σ_g f_g f_gᵀ / n_g``, ``f_g = Σ_{c∈g} a_c ν_c``."""
        F = np.asarray((self.nu @ sp.csc_matrix(
            (self.a, (np.arange(len(self.a)), self.group)),
            shape=(len(self.a), len(self.gsize)))).todense())
        w = np.where(self.gsize > 0, 1.0 / np.where(self.gsize > 0, self.gsize, 1.0), 0.0)
        return dt * self.D - dt * dt * (F * w) @ F.T

    def discrete_covariance(self, dt: float) -> np.ndarray:
        """Stationary covariance of the linearised tau-leap with step dt:
        ``Σ = (I + dt A) Σ (I + dt A)ᵀ + Q_dt`` (→ the continuous Σ as dt → 0)."""
        from scipy.linalg import solve_discrete_lyapunov

        B = np.eye(len(self.x)) + dt * self.A
        rho = float(np.max(np.abs(np.linalg.eigvals(B))))
        if rho >= 1.0:
            raise ParameterError(f"dt = {dt:g}: the linearised step I + dt A has spectral "
                                 f"radius {rho:.4g} >= 1; use a smaller step")
        S = solve_discrete_lyapunov(B, self.step_covariance(dt))
        return 0.5 * (S + S.T)

    def flux_variance_hz2(self, pop: str = "E") -> float:
        """Variance of the instantaneous rate ``1000 F(x)/N`` (Hz²), ``g Σ gᵀ``."""
        idx, N = self._pop(pop)
        g = self.grad[idx].sum(0)
        return float((1000.0 / N) ** 2 * g @ self.covariance @ g)

    def _modal(self, idx, kind):
        """Modal form ``A = V Λ V⁻¹``: with ``y(ω) = (g V)/(iω − λ)`` the spectrum is
        ``S(ω) = y Q yᴴ + 2 Re(y·b) + Σ_w a``, ``Q = M diag(a) Mᴴ``, ``b = M (a w)``,
        ``M = V⁻¹ ν`` (precomputed once per output)."""
        key = (tuple(idx), kind)
        if key not in self._modal_cache:
            if self._eig is None:
                lam, V = np.linalg.eig(self.A)
                self._eig = (lam, V, np.linalg.inv(V))
            lam, V, Vi = self._eig
            g = self.grad[idx].sum(0)
            M = np.asarray((self.nu.T @ Vi.T).T)          # V⁻¹ ν, (n, C)
            Q = (M * self.a) @ M.conj().T
            w = np.isin(self.firepop, idx).astype(float) if kind == "spikes" else \
                np.zeros(len(self.a))
            b = M @ (self.a * w)
            self._modal_cache[key] = (lam, g @ V, Q, b, float(np.sum(self.a * w * w)))
        return self._modal_cache[key]

    def _S_omega(self, omega, idx, kind):
        lam, gV, Q, b, white = self._modal(idx, kind)
        Y = gV[None, :] / (1j * np.asarray(omega, float)[:, None] - lam[None, :])
        S = np.real(np.einsum("fi,ij,fj->f", Y, Q, Y.conj())) + 2 * np.real(Y @ b) + white
        return S

    def spectrum(self, freqs_hz, pop: str = "E", kind: str = "spikes") -> np.ndarray:
        """One-sided PSD of the population rate (Hz per neuron), Hz²/Hz, at ``freqs_hz``.

        ``kind="spikes"``: the rate of the spike counts (includes the shot noise of the fire
        events; compare with :func:`simulate.observables.power_spectrum` of a network);
        ``"flux"``: the rate ``1000 F(x)/N`` as a function of the state.
        """
        check_choice("kind", kind, ("spikes", "flux"))
        idx, N = self._pop(pop)
        om = 2 * np.pi * np.asarray(freqs_hz, float) / 1000.0
        return 2.0 * (1000.0 / N) ** 2 * self._S_omega(om, idx, kind) / 1000.0

    def peak(self, band=(20.0, 200.0), pop: str = "E", df: float = 0.5) -> dict:
        """Frequency (Hz) and PSD of the largest spectral value in ``band``."""
        f = np.arange(band[0], band[1] + df / 2, df)
        s = self.spectrum(f, pop)
        i = int(np.argmax(s))
        return {"frequency_hz": float(f[i]), "psd": float(s[i])}

    def binned_rate_variance(self, pop: str = "E", bin_ms: float = 1.0,
                             n_freq: int = 4000) -> float:
        """Variance (Hz²) of the spike-count rate in bins of ``bin_ms``:
        ``(1/2π)∫ S_J(ω) sinc²(ωT/2) dω (1000/N)²``, the white fire-channel part
        ``Σ a_w / T`` exactly, the rest numerically on ω ∈ [0, 80π/T]."""
        idx, N = self._pop(pop)
        T = float(bin_ms)
        om = np.linspace(0.0, 80 * np.pi / T, n_freq)
        full = self._S_omega(om, idx, "spikes")
        white = float(self.a[np.isin(self.firepop, idx)].sum())
        sinc2 = np.sinc(om * T / (2 * np.pi)) ** 2
        rest = np.trapezoid((full - white) * sinc2, om) / np.pi
        var_counts_rate = white / T + rest
        return float((1000.0 / N) ** 2 * var_counts_rate)

    def transfer(self, freqs_hz, pop: str = "E", param: str = "lam") -> np.ndarray:
        """Linear response H(f) of the rate (Hz per neuron) to a modulation of ``param``
        (Hz per unit of the parameter); ``H(0)`` is the slope of the equilibrium rate."""
        idx, N = self._pop(pop)
        if param not in self.ma.params:
            raise ParameterError(f"unknown parameter {param!r}; valid: {list(self.ma.params)}")
        b = self.ode.dfdp(self.x, self.p, [param]).reshape(-1)
        i = list(self.ma.params).index(param)
        dp = 1e-6 * max(1.0, abs(self.p[i]))
        pp, pm_ = self.p.copy(), self.p.copy()
        pp[i] += dp
        pm_[i] -= dp
        from reduce.markov_approx.ode import flux_core

        arrays = self.ma.kernel_arrays()
        dF = (flux_core(self.x, pp, *arrays)[idx].sum()
              - flux_core(self.x, pm_, *arrays)[idx].sum()) / (2 * dp)
        g = self.grad[idx].sum(0)
        om = 2 * np.pi * np.asarray(freqs_hz, float) / 1000.0
        eye = np.eye(len(g))
        H = np.array([g @ np.linalg.solve(1j * w * eye - self.A, b.astype(complex)) + dF
                      for w in np.atleast_1d(om)])
        return 1000.0 / N * H
