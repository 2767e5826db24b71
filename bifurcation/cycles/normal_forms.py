"""Periodic normal forms of LPC and PD points, computed on the collocation mesh.

Iooss' periodic normal forms (as in Kuznetsov, Govaerts, Doedel & Dhooge, SIAM J. Numer.
Anal. 43 (2005) 1407–1435), derived here for the conventions of this package. Near a cycle
``u0`` of period ``T`` (time ``t``, ``A(t) = f_x(u0(t))``, ``F(t) = f(u0(t)) = u0'``,
``B``, ``C`` the second and third derivatives of ``f`` at ``u0(t)``), the centre manifold is
``x = u0(τ) + ξ v(τ) + ½ ξ² h2(τ) + …`` with

* **PD** (multiplier −1): ``dτ/dt = 1 + a ξ² + …``, ``dξ/dτ = c ξ³ + …`` with ``v``
  antiperiodic, ``v' = A v``, ``∫_0^T |v|² dt = 1``. Then

  .. math::

      a = ½ ⟨φ^*, B(v, v)⟩,\\quad h_2' − A h_2 = B(v, v) − 2aF\\ (\\text{periodic},
      ⟨φ^*, h_2⟩ = 0),\\quad c = \\tfrac16 ⟨v^*, C(v,v,v) + 3B(v, h_2) − 6a A v⟩,

  with ``φ*`` the periodic adjoint solution (``⟨φ*, F⟩ = 1``) and ``v*`` the antiperiodic one
  (``⟨v*, v⟩ = 1``), ``⟨w, g⟩ = ∫_0^T w·g dt``. ``c < 0``: the doubled cycles are born on the
  side where the period-1 cycle has the multiplier beyond −1 and attract in the ``v``
  direction (**supercritical**); ``c > 0``: subcritical. The doubled orbit has
  ``ξ² ≈ (1 + μ(p)) / (T c)`` for the period-1 multiplier ``μ(p)`` near −1.

* **LPC** (double multiplier 1, Jordan block): ``dτ/dt = 1 − ξ + …``,
  ``dξ/dτ = β(p) + a ξ² + …``, ``v' − A v = F`` periodic (``⟨v, F⟩ = 0``); with the
  periodic adjoint ``φ*`` normalised by ``⟨φ*, v⟩ = 1`` (``⟨φ*, F⟩ = 0`` at an LPC)

  .. math::

      a = ½⟨φ^*, B(v, v)⟩ + ⟨φ^*, A v⟩, \\qquad β_p = ⟨φ^*, f_p(u_0)⟩ .

  Cycles near the fold have ``ξ² = −β_p (p − p_LPC)/a`` and period ``T/(1 − ξ)``, so along the
  branch ``d²p/dT_cyc² = −2a / (β_p T²)`` at the fold (a normalisation-free check).

Discretisation (as in the paper): the continuous operators ``d/dt − A`` are replaced by the
collocation matrix ``L`` of :meth:`Collocation.coll_matrix_u` (periodic, or antiperiodic with
``wrap = −1``); the adjoint functionals ``⟨φ*, g⟩`` are ``y · (T g)`` with ``y`` the left null
vector of ``L`` and ``g`` at the Gauss points, so the solvability conditions hold exactly on
the mesh. Null vectors come from bordered sparse LU solves. ``B`` and ``C`` are central
differences of the system Jacobian (``B(v, w) = [J(u+hw) − J(u−hw)] v / 2h``, ``h = 1e-5``;
``C(x, y, z)`` by the mixed second difference of ``J`` along ``y`` and ``z`` applied to
``x``, steps 1e-3; both relative to the state scale) when the system has an analytic
Jacobian, otherwise of ``f`` (polarisation of the cubic form).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .collocation import Collocation

__all__ = ["pd_normal_form", "lpc_normal_form", "ns_normal_form"]


class _Mesh:
    """Operators of one orbit on its collocation mesh (Gauss-point values, quadrature)."""

    def __init__(self, system, sol):
        self.system = system
        self.sol = sol
        self.coll = Collocation(system, sol.mesh, sol.free)
        c = self.coll
        self.n, self.T, self.p = c.n, float(sol.T), sol.p
        uc, _ = c.at_gauss(sol.U)
        self.ug = uc.reshape(-1, self.n)  # (G, n), G = ntst * ncol
        self.J, _ = c.jacobians(sol.U, sol.p)
        self.Jg = self.J.reshape(-1, self.n, self.n)
        self.F = np.array([system.rhs(u, sol.p) for u in self.ug])
        self.quad = (c.mesh.h[:, None] * c.w[None, :]).ravel()  # ∫_0^1 g dτ ≈ Σ quad g_g
        self.scale = max(1.0, float(np.max(np.abs(sol.U))))
        self.analytic = getattr(system, "jac_func", None) is not None

    def interp(self, X, wrap=1.0):
        """Values at the Gauss points (G, n) of node values ``X`` (M, n)."""
        c = self.coll
        Xl = X[c.idx].copy()
        if wrap != 1.0:
            Xl[-1, -1] *= wrap
        return np.einsum("kl,jli->jki", c.L, Xl).reshape(-1, self.n)

    def interp_matrix(self, wrap=1.0):
        """Sparse (G n, M n) matrix of :meth:`interp`."""
        c = self.coll
        ntst, ncol, n = c.ntst, c.ncol, self.n
        rows, cols, vals = [], [], []
        for j in range(ntst):
            for k in range(ncol):
                for m in range(ncol + 1):
                    v = c.L[k, m] * (wrap if (j == ntst - 1 and m == ncol) else 1.0)
                    rows.append(j * ncol + k)
                    cols.append(c.idx[j, m])
                    vals.append(v)
        P = sp.csr_matrix((vals, (rows, cols)), shape=(ntst * ncol, c.M))
        return sp.kron(P, sp.identity(n), format="csr")

    def operator(self, wrap=1.0):
        """Collocation matrix of ``T (d/dt − A)`` on node values, (G n, M n)."""
        return self.coll.coll_matrix_u(self.J, self.T, wrap=wrap)

    def Av(self, V):
        return np.einsum("gij,gj->gi", self.Jg, V)

    def B(self, V, W):
        """B(u0; v, w) at the Gauss points."""
        out = np.empty_like(V)
        f, jac, p = self.system.rhs, self.system.jacobian, self.p
        for g, (u, v, w) in enumerate(zip(self.ug, V, W)):
            nw = float(np.max(np.abs(w)))
            if nw == 0.0:
                out[g] = 0.0
                continue
            if self.analytic:
                h = 1e-5 * self.scale / nw
                out[g] = (jac(u + h * w, p) - jac(u - h * w, p)) @ v / (2 * h)
            else:
                h = 1e-3 * self.scale / max(nw, float(np.max(np.abs(v))))
                out[g] = (f(u + h * (v + w), p) - f(u + h * (v - w), p)
                          - f(u - h * (v - w), p) + f(u - h * (v + w), p)) / (4 * h * h)
        return out

    def C(self, V):
        """C(u0; v, v, v) at the Gauss points."""
        return self.C3(V, V, V)

    def C3(self, X, Y, Z):
        """C(u0; x, y, z) at the Gauss points (real arguments), by a mixed second difference
        of the Jacobian (or of ``f`` without an analytic Jacobian)."""
        out = np.empty_like(X)
        f, jac, p = self.system.rhs, self.system.jacobian, self.p
        for g, (u, x, y, z) in enumerate(zip(self.ug, X, Y, Z)):
            ny, nz = float(np.max(np.abs(y))), float(np.max(np.abs(z)))
            if ny == 0.0 or nz == 0.0 or not np.any(x):
                out[g] = 0.0
                continue
            if self.analytic:
                hy, hz = 1e-3 * self.scale / ny, 1e-3 * self.scale / nz
                out[g] = (jac(u + hy * y + hz * z, p) - jac(u + hy * y - hz * z, p)
                          - jac(u - hy * y + hz * z, p) + jac(u - hy * y - hz * z, p)) @ x \
                    / (4 * hy * hz)
            else:  # polarisation of the cubic form: C(x,y,z) from f along x ± y ± z
                h = 1e-2 * self.scale / max(float(np.max(np.abs(x))), ny, nz)
                acc = 0.0
                for sy in (1, -1):
                    for sz in (1, -1):
                        w = x + sy * y + sz * z
                        acc = acc + sy * sz * (f(u + 2 * h * w, p) - 2 * f(u + h * w, p)
                                               + 2 * f(u - h * w, p) - f(u - 2 * h * w, p))
                out[g] = acc / (2 * h**3) / 24.0
        return out

    def Bc(self, V, W):
        """B for complex arguments (bilinear)."""
        if not (np.iscomplexobj(V) or np.iscomplexobj(W)):
            return self.B(V, W)
        a, b, c, d = V.real, V.imag, W.real, W.imag
        return (self.B(a, c) - self.B(b, d)) + 1j * (self.B(a, d) + self.B(b, c))

    def integral(self, V, W):
        """∫_0^T v·w dt by the Gauss rule (values at Gauss points)."""
        return self.T * float(np.sum(self.quad[:, None] * V * W))


class _Bordered:
    """LU of ``[[L, b], [c, 0]]`` for right and left null vectors and bordered solves."""

    def __init__(self, L, b, c):
        N = L.shape[0]
        K = sp.bmat([[L, sp.csc_matrix(b.reshape(N, 1))],
                     [sp.csr_matrix(c.reshape(1, N)), None]], format="csc")
        self.N = N
        self.lu = spla.splu(K)

    def solve(self, rhs, last=0.0, trans=False):
        z = self.lu.solve(np.concatenate([rhs, [last]]), trans="T" if trans else "N")
        return z[:-1], z[-1]


def _null_vectors(L, seed=0):
    """Right and left null vectors of a (nearly) singular sparse matrix with a 1-d kernel."""
    rng = np.random.default_rng(seed)
    N = L.shape[0]
    b, c = rng.standard_normal(N), rng.standard_normal(N)
    bo = _Bordered(L, b, c)
    x, _ = bo.solve(np.zeros(N), 1.0)
    y, _ = bo.solve(np.zeros(N), 1.0, trans=True)
    return x, y


def _functional(y, T):
    """``g ↦ y · (T g)``: the discrete ⟨w*, g⟩ for ``g`` at the Gauss points (G, n)."""
    if np.iscomplexobj(y):
        return lambda G: T * complex(y @ G.ravel())
    return lambda G: T * float(y @ G.ravel())


def pd_normal_form(system, sol):
    """PD normal-form coefficients of the orbit ``sol`` (a :class:`CycleSolution` at a PD).

    Returns
    -------
    dict
        ``c`` (criticality: ``c < 0`` supercritical), ``a`` (period correction),
        ``criticality``, and the residual ``kernel_residual`` = ``|L v| / |L| |v|`` of the
        antiperiodic operator (small when the point is a PD).
    """
    m = _Mesh(system, sol)
    n, T, M = m.n, m.T, m.coll.M
    La = m.operator(wrap=-1.0)
    x, y_v = _null_vectors(La)
    V = x.reshape(M, n)
    Vg = m.interp(V, wrap=-1.0)
    nrm = np.sqrt(m.integral(Vg, Vg))
    V, Vg = V / nrm, Vg / nrm
    lv = _functional(y_v, T)
    y_v = y_v / lv(Vg)
    lv = _functional(y_v, T)
    Lp = m.operator()
    _, y_phi = _null_vectors(Lp, seed=1)
    lphi = _functional(y_phi, T)
    y_phi = y_phi / lphi(m.F)
    lphi = _functional(y_phi, T)
    Bvv = m.B(Vg, Vg)
    a = 0.5 * lphi(Bvv)
    # h2: T (d/dt − A) h2 = T (B(v,v) − 2aF), ⟨φ*, h2⟩ = 0 (bordered by φ*'s own functional)
    P = m.interp_matrix()
    row = T * (P.T @ y_phi)
    bo = _Bordered(Lp, y_phi, row)
    h2, _ = bo.solve(T * (Bvv - 2 * a * m.F).ravel(), 0.0)
    H2g = m.interp(h2.reshape(M, n))
    c = (lv(m.C(Vg)) + 3 * lv(m.B(Vg, H2g)) - 6 * a * lv(m.Av(Vg))) / 6.0
    res = float(np.linalg.norm(La @ V.ravel()) / max(spla.norm(La) * np.linalg.norm(V), 1e-300))
    return {"c": float(c), "a": float(a),
            "criticality": "supercritical" if c < 0 else "subcritical",
            "kernel_residual": res}


def lpc_normal_form(system, sol, param=None):
    """LPC normal-form coefficient of the orbit ``sol`` (a :class:`CycleSolution` at a fold).

    Returns
    -------
    dict
        ``a`` (``dξ/dτ = β + a ξ²``), ``beta_p`` = ``⟨φ*, f_p⟩`` (for the free parameter, or
        ``param``), ``d2p_dT2`` = ``−2a/(β_p T²)`` (curvature of the parameter as a function
        of the period along the branch at the fold), ``jordan_defect`` = ``⟨φ*, F⟩/‖·‖``
        (zero at an LPC: the multiplier 1 is a Jordan block).
    """
    m = _Mesh(system, sol)
    n, T, M = m.n, m.T, m.coll.M
    Lp = m.operator()
    _, y = _null_vectors(Lp)
    # v: T (d/dt − A) v = T F, ⟨v, F⟩ = 0 (any fixed complement of the kernel F)
    Fn = np.array([system.rhs(u, sol.p) for u in sol.U])
    wn = sol.mesh.node_weights()
    bo = _Bordered(Lp, y, (wn[:, None] * Fn).ravel())
    v, _ = bo.solve(T * m.F.ravel(), 0.0)
    Vg = m.interp(v.reshape(M, n))
    l0 = _functional(y, T)
    defect = l0(m.F) / max(abs(l0(Vg)), 1e-300) / max(np.sqrt(m.integral(m.F, m.F)), 1e-300)
    y = y / l0(Vg)
    lphi = _functional(y, T)
    a = 0.5 * lphi(m.B(Vg, Vg)) + lphi(m.Av(Vg))
    name = param if param is not None else list(system.params)[sol.free]
    fp = np.array([system.dfdp(u, sol.p, names=[name])[:, 0] for u in m.ug])
    beta = lphi(fp)
    return {"a": float(a), "beta_p": float(beta), "param": name,
            "d2p_dT2": float(-2 * a / (beta * T * T)) if beta != 0 else float("nan"),
            "jordan_defect": float(defect)}


def ns_normal_form(system, sol, theta=None):
    r"""NS normal-form coefficient of the orbit ``sol`` (a :class:`CycleSolution` at an NS point).

    Normal form ``dτ/dt = 1 + a1 |ξ|²``, ``dξ/dτ = iω ξ + d ξ|ξ|²`` with ``ω = θ/T`` (θ the
    angle of the critical multipliers ``e^{±iθ}``); ``x = u0 + ξ v + ξ̄ v̄ + …`` with ``v``
    periodic, ``v' − A v + iω v = 0``, ``∫_0^T v̄·v dt = 1``. With ``φ*`` as for PD
    (``⟨φ*, F⟩ = 1``) and ``v*`` the adjoint of ``d/dt − A + iω`` (``⟨v*, v⟩ = 1``):

    .. math::

        a_1 = ⟨φ^*, B(v, \bar v)⟩,\ h_{11}' − A h_{11} = B(v,\bar v) − a_1 F,\
        h_{20}' − A h_{20} + 2iω h_{20} = B(v, v),

        d = ½⟨v^*, C(v,v,\bar v) + 2B(v,h_{11}) + B(\bar v, h_{20}) − 2a_1(Av − iωv)⟩
            − iω a_1 .

    ``Re d < 0``: supercritical (a stable invariant torus on the side where the cycle is
    unstable); ``Re d > 0``: subcritical.
    """
    m = _Mesh(system, sol)
    n, T, M = m.n, m.T, m.coll.M
    if theta is None:
        from .floquet import floquet

        mu = floquet(m.coll, m.J, T).nontrivial()
        cm = mu[np.abs(mu.imag) > 1e-8 * np.maximum(1.0, np.abs(mu))]
        if cm.size == 0:
            raise ValueError("the orbit has no complex multiplier pair (not an NS point)")
        theta = float(abs(np.angle(cm[np.argmin(np.abs(np.abs(cm) - 1.0))])))
    om = theta / T
    P = m.interp_matrix()
    Lp = m.operator()
    Lc = (Lp + 1j * om * T * P).tocsc()
    x, y_v = _null_vectors(Lc)
    V = x.reshape(M, n)
    Vg = m.interp(V)
    nrm = np.sqrt(T * float(np.sum(m.quad[:, None] * np.abs(Vg) ** 2)))
    V, Vg = V / nrm, Vg / nrm
    lv = _functional(y_v, T)
    y_v = y_v / lv(Vg)
    lv = _functional(y_v, T)
    _, y_phi = _null_vectors(Lp, seed=1)
    y_phi = y_phi / _functional(y_phi, T)(m.F)
    lphi = _functional(y_phi, T)
    Bvvb = m.Bc(Vg, Vg.conj()).real
    a1 = lphi(Bvvb)
    row = T * (P.T @ y_phi)
    h11, _ = _Bordered(Lp, y_phi, row).solve(T * (Bvvb - a1 * m.F).ravel(), 0.0)
    H11 = m.interp(h11.reshape(M, n))
    L2 = (Lp + 2j * om * T * P).tocsc()
    H20 = m.interp(spla.spsolve(L2, T * m.Bc(Vg, Vg).ravel()).reshape(M, n))
    a, b = Vg.real, Vg.imag
    Cvvvb = (m.C3(a, a, a) + m.C3(a, b, b)) + 1j * (m.C3(a, a, b) + m.C3(b, b, b))
    rhs = (Cvvvb + 2 * m.Bc(Vg, H11) + m.Bc(Vg.conj(), H20)
           - 2 * a1 * (m.Av(Vg) - 1j * om * Vg))
    d = 0.5 * lv(rhs) - 1j * om * a1
    return {"d": complex(d), "re_d": float(d.real), "a1": float(a1), "theta": theta,
            "criticality": "supercritical" if d.real < 0 else "subcritical"}
