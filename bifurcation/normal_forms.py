"""Multilinear forms by finite differences, and normal-form coefficients.

For ``f(x)`` (parameters fixed) write the Taylor expansion at an equilibrium ``x0``

.. math::

    f(x_0 + y) = A y + \\tfrac12 B(y, y) + \\tfrac16 C(y, y, y) + O(|y|^4),

with ``A`` the Jacobian, ``B`` and ``C`` the symmetric bilinear and trilinear forms. They are
evaluated by central differences of the Jacobian when the system has an analytic ``jac``
(``B(u, v) = [A(x+hv) - A(x-hv)] u / 2h``, ``C(u, v, w) = [A(x+h(v+w)) - A(x+h(v-w))
- A(x-h(v-w)) + A(x-h(v+w))] u / 4h^2``), otherwise by mixed central differences of ``f``;
complex arguments by multilinearity.

Coefficients (Kuznetsov, *Elements of Applied Bifurcation Theory*, 3rd ed., §3.5, §8.7):

- fold: ``A q = 0``, ``A^T p = 0``, ``|q| = 1``, ``p . q = 1``; ``a = (1/2) p . B(q, q)``.
- Hopf: ``A q = i w q``, ``A^T p = -i w p``, ``<q, q> = 1``, ``<p, q> = 1`` with
  ``<u, v> = conj(u) . v``; first Lyapunov coefficient

  .. math::

     l_1 = \\frac{1}{2\\omega} \\mathrm{Re}\\big[ \\langle p, C(q,q,\\bar q)\\rangle
       - 2 \\langle p, B(q, A^{-1} B(q, \\bar q))\\rangle
       + \\langle p, B(\\bar q, (2 i\\omega I - A)^{-1} B(q, q))\\rangle \\big].

  With this normalisation (``|q| = 1``), a planar system ``x' = -w y + F, y' = w x + G``
  has ``l1 = 2 a_GH / w`` where ``a_GH`` is the Guckenheimer–Holmes coefficient
  (tested in ``tests/bifurcation/test_equilibria.py``). ``l1 < 0``: supercritical
  (stable cycles born), ``l1 > 0``: subcritical.
- cusp: ``c = (1/6) p . [C(q,q,q) + 3 B(q, h2)]``, ``A h2 = -B(q, q)`` with ``p . h2 = 0``.
- Bogdanov–Takens: Jordan chain ``A q0 = 0, A q1 = q0, A^T p1 = 0, A^T p0 = p1``,
  ``p0.q0 = p1.q1 = 1``, ``p0.q1 = p1.q0 = 0``; ``a = (1/2) p1 . B(q0, q0)``,
  ``b = p0 . B(q0, q0) + p1 . B(q0, q1)``. Reversing ``q0`` reverses both signs; we orient
  ``q0`` with its largest component positive, so ``x' = y, y' = x^2 + xy`` gives
  ``a = b = 1``; the sign of ``a b`` is invariant.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Multilinear", "fold_coefficient", "hopf_vectors", "first_lyapunov",
           "cusp_coefficient", "bt_coefficients"]


class Multilinear:
    """Bilinear and trilinear forms of ``f(., p)`` at ``x0`` by finite differences."""

    def __init__(self, system, x0, p, h=1e-4):
        self.system = system
        self.x0 = np.asarray(x0, float)
        self.p = np.asarray(p, float)
        scale = 1.0 + np.max(np.abs(self.x0))
        self.use_jac = system.jac_func is not None
        # base steps of the Richardson-extrapolated differences (errors O(h^4))
        self.h2 = 10 * h * scale
        self.h3 = (40 * h if not self.use_jac else 20 * h) * scale

    def _f(self, d):
        return self.system.rhs(self.x0 + d, self.p)

    def _J(self, d):
        return self.system.jacobian(self.x0 + d, self.p)

    def _B(self, u, v, h):
        if self.use_jac:
            return (self._J(h * v) - self._J(-h * v)) @ u / (2 * h)
        return (self._f(h * (u + v)) - self._f(h * (u - v)) - self._f(h * (v - u))
                + self._f(-h * (u + v))) / (4 * h * h)

    def _C(self, u, v, w, h):
        if self.use_jac:
            return (self._J(h * (v + w)) - self._J(h * (v - w)) - self._J(h * (w - v))
                    + self._J(-h * (v + w))) @ u / (4 * h * h)
        out = 0.0
        for s1 in (1, -1):
            for s2 in (1, -1):
                for s3 in (1, -1):
                    out = out + s1 * s2 * s3 * self._f(h * (s1 * u + s2 * v + s3 * w))
        return out / (8 * h ** 3)

    # real forms: central differences with one Richardson extrapolation (h and h/2)
    def B(self, u, v):
        """Second derivative ``B(u, v) = Σ_jk ∂²f/∂x_j∂x_k u_j v_k`` by Richardson-extrapolated
        central differences (error O(h⁴))."""
        u = np.asarray(u, float)
        v = np.asarray(v, float)
        h = self.h2
        return (4 * self._B(u, v, h / 2) - self._B(u, v, h)) / 3

    def C(self, u, v, w):
        """Third derivative ``C(u, v, w)`` by Richardson-extrapolated central differences."""
        u = np.asarray(u, float)
        v = np.asarray(v, float)
        w = np.asarray(w, float)
        h = self.h3
        return (4 * self._C(u, v, w, h / 2) - self._C(u, v, w, h)) / 3

    # complex forms by multilinearity
    def Bc(self, u, v):
        """``B(u, v)`` for complex vectors, by bilinearity from real evaluations."""
        u = np.asarray(u, complex)
        v = np.asarray(v, complex)
        ur, ui, vr, vi = u.real, u.imag, v.real, v.imag
        out = self.B(ur, vr).astype(complex)
        if np.any(ui) and np.any(vi):
            out = out - self.B(ui, vi)
        if np.any(vi):
            out = out + 1j * self.B(ur, vi)
        if np.any(ui):
            out = out + 1j * self.B(ui, vr)
        return out

    def Cc(self, u, v, w):
        """``C(u, v, w)`` for complex vectors, by trilinearity from real evaluations (the
        common ``C(q, q, q̄)`` with four real evaluations)."""
        u, v, w = (np.asarray(a, complex) for a in (u, v, w))
        if np.array_equal(u, v) and np.array_equal(w, np.conj(u)):
            # C(q, q, conj q) with q = a + ib: C(a,a,a) + C(a,b,b) + i [C(a,a,b) + C(b,b,b)]
            a, b = u.real, u.imag
            return (self.C(a, a, a) + self.C(a, b, b)
                    + 1j * (self.C(a, a, b) + self.C(b, b, b)))
        parts = [(np.asarray(a, complex).real, np.asarray(a, complex).imag) for a in (u, v, w)]
        out = np.zeros(len(self.x0), complex)
        for a in (0, 1):
            for b in (0, 1):
                for c in (0, 1):
                    x1, x2, x3 = parts[0][a], parts[1][b], parts[2][c]
                    if not (np.any(x1) and np.any(x2) and np.any(x3)):
                        continue
                    out = out + (1j ** (a + b + c)) * self.C(x1, x2, x3)
        return out


def _null_vectors(A):
    """Unit right and left null vectors of a (nearly) singular matrix, by SVD."""
    U, s, Vt = np.linalg.svd(A)
    return Vt[-1], U[:, -1], s


def fold_coefficient(system, x, p, A=None, h=1e-4):
    """Normal-form coefficient ``a = (1/2) p . B(q, q)`` of a fold (``|q| = 1``, ``p.q = 1``).

    Returns ``(a, q, p_left)``; ``a`` is NaN when ``p.q`` vanishes (a Bogdanov–Takens point).
    """
    A = system.jacobian(x, p) if A is None else A
    q, w, _ = _null_vectors(A)
    d = w @ q
    if abs(d) < 1e-10:
        return np.nan, q, w
    w = w / d
    ml = Multilinear(system, x, p, h)
    return 0.5 * float(w @ ml.B(q, q)), q, w


def hopf_vectors(A, omega_guess=None):
    """Critical eigenvalue, right and left eigenvectors of a Hopf point.

    Returns ``(omega, q, p)`` with ``A q = i omega q``, ``A^T p = -i omega p`` (so
    ``conj(p) . A = i omega conj(p)``), ``conj(q) . q = 1``, ``conj(p) . q = 1``, and the
    phase of ``q`` chosen so that ``Re q . Im q = 0`` and ``|Re q| >= |Im q|``.
    """
    lam, V = np.linalg.eig(A)
    cand = np.flatnonzero(lam.imag > 0)
    if len(cand) == 0:
        raise ValueError("no eigenvalue with positive imaginary part")
    if omega_guess is None:
        i = cand[np.argmin(np.abs(lam[cand].real))]
    else:
        i = cand[np.argmin(np.abs(lam[cand] - 1j * omega_guess))]
    omega = float(lam[i].imag)
    q = V[:, i] / np.linalg.norm(V[:, i])
    # phase: Re q . Im q = 0
    a, b = q.real, q.imag
    phi = 0.5 * np.arctan2(-2 * (a @ b), (a @ a) - (b @ b))
    q = q * np.exp(1j * phi)
    if np.linalg.norm(q.real) < np.linalg.norm(q.imag):
        q = q * 1j
    # left eigenvector: A^T p = -i omega p  <=>  A^H p' = ... use eig of A^T
    lamT, W = np.linalg.eig(A.T)
    j = np.argmin(np.abs(lamT + 1j * omega))
    pv = W[:, j]
    pv = pv / np.conj(np.conj(pv) @ q)
    return omega, q, pv


def first_lyapunov(system, x, p, A=None, omega=None, h=1e-4):
    """First Lyapunov coefficient ``l1`` of a Hopf point (Kuznetsov's invariant formula).

    Parameters
    ----------
    system : ODESystem
    x, p : ndarray
        Equilibrium and full parameter vector at the Hopf point.
    A : ndarray, optional
        Jacobian at (x, p).
    omega : float, optional
        Expected frequency (selects the critical pair when several are near the axis).

    Returns
    -------
    l1, omega, q, p_left
    """
    A = system.jacobian(x, p) if A is None else A
    omega, q, pl = hopf_vectors(A, omega)
    ml = Multilinear(system, x, p, h)
    qb = np.conj(q)
    n = len(x)
    Bqq = ml.Bc(q, q)
    Bqqb = ml.Bc(q, qb)
    h11 = np.linalg.solve(A, Bqqb).real
    h20 = np.linalg.solve(2j * omega * np.eye(n) - A, Bqq)
    g = (np.conj(pl) @ ml.Cc(q, q, qb) - 2 * np.conj(pl) @ ml.Bc(q, h11)
         + np.conj(pl) @ ml.Bc(qb, h20))
    l1 = float(g.real / (2 * omega))
    return l1, omega, q, pl


def cusp_coefficient(system, x, p, A=None, h=1e-4):
    """Cusp normal-form coefficient ``c = (1/6) p.[C(q,q,q) + 3 B(q, h2)]``."""
    A = system.jacobian(x, p) if A is None else A
    q, w, _ = _null_vectors(A)
    d = w @ q
    if abs(d) < 1e-10:
        return np.nan
    w = w / d
    ml = Multilinear(system, x, p, h)
    Bqq = ml.B(q, q)
    n = len(x)
    M = np.zeros((n + 1, n + 1))
    M[:n, :n] = A
    M[:n, n] = w
    M[n, :n] = q
    h2 = np.linalg.solve(M, np.append(-(Bqq - (w @ Bqq) * q / (q @ q)), 0.0))[:n]
    h2 = h2 - (w @ h2) * q
    return float(w @ (ml.C(q, q, q) + 3 * ml.B(q, h2)) / 6.0)


def bt_coefficients(system, x, p, A=None, h=1e-4):
    """Bogdanov–Takens normal-form coefficients ``(a, b)`` (see module docstring)."""
    A = system.jacobian(x, p) if A is None else A
    n = len(x)
    q0, p1, _ = _null_vectors(A)
    q0 = q0 * np.sign(q0[np.argmax(np.abs(q0))])  # orientation: largest component positive
    M = np.zeros((n + 1, n + 1))
    M[:n, :n] = A
    M[:n, n] = p1
    M[n, :n] = q0
    q1 = np.linalg.solve(M, np.append(q0, 0.0))[:n]
    MT = np.zeros((n + 1, n + 1))
    MT[:n, :n] = A.T
    MT[:n, n] = q0
    MT[n, :n] = p1
    p0 = np.linalg.solve(MT, np.append(p1, 0.0))[:n]
    # normalise: p1.q1 = 1 (then p0.q0 = p1.q1), p0.q1 = 0
    s = p1 @ q1
    p1 = p1 / s
    p0 = p0 / s
    p0 = p0 - (p0 @ q1) * p1
    ml = Multilinear(system, x, p, h)
    B00 = ml.B(q0, q0)
    a = 0.5 * float(p1 @ B00)
    b = float(p0 @ B00 + p1 @ ml.B(q0, q1))
    return a, b
