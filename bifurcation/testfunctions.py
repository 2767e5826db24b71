"""Test functions for bifurcations of equilibria.

Along an equilibrium branch ``u = (x, p)``, ``F(u) = f(x, p)``, with unit tangent ``t``:

- fold (LP): ``psi_LP = t_p``, the parameter component of the tangent (changes sign where the
  branch turns back);
- branch point (BP): ``psi_BP = det [[f_x, f_p], [t^T]]``, the determinant of the bordered
  Jacobian, which changes sign at a simple branch point but not at a fold; evaluated as
  ``sign * exp(log|det| - ref)`` to stay finite for large ``n``;
- Hopf (HB): the eigenvalues of ``f_x``. A Hopf point is reported when the number of
  eigenvalues with ``Re > 0`` and ``|Im| > im_tol`` changes (a complex pair crosses the
  imaginary axis); it is located as the zero of ``Re lambda_c``, the real part of the tracked
  critical eigenvalue. A real pair ``lambda, -lambda`` (a neutral saddle) has zero imaginary
  part and is therefore never counted — unlike the bialternate-product test
  ``prod_{i<j} (lambda_i + lambda_j)``, which vanishes at neutral saddles too; that product is
  also stored (``"hb_pairs"``) for small systems, for information.
"""

from __future__ import annotations

import numpy as np

__all__ = ["eigen_nearest", "eigen_summary", "bordered_logdet", "pair_product", "track_crossing",
           "track_crossings", "nearest_eigenvalue", "complex_mask"]


def complex_mask(lam, im_tol):
    """Mask of eigenvalues counted as complex: ``|Im λ| > im_tol · max(1, |λ|)``."""
    return np.abs(lam.imag) > im_tol * np.maximum(1.0, np.abs(lam))


def eigen_summary(lam, im_tol, stability_tol=0.0):
    """Counts of unstable real / complex eigenvalues and the stability flag."""
    cm = complex_mask(lam, im_tol)
    unstable = lam.real > stability_tol
    return {
        "n_unstable_real": int(np.sum(unstable & ~cm)),
        "n_unstable_complex": int(np.sum(unstable & cm)),
        "stable": bool(np.all(lam.real < stability_tol) if stability_tol == 0.0
                       else np.all(lam.real <= stability_tol)),
    }


def bordered_logdet(Fu, t):
    """``(sign, log|det|)`` of ``[[Fu], [t^T]]``."""
    M = np.vstack([np.asarray(Fu), t[None, :]])
    return np.linalg.slogdet(M)


def pair_product(lam):
    """``prod_{i<j} (lambda_i + lambda_j)`` (real for real matrices), the bialternate test."""
    n = len(lam)
    if n < 2:
        return np.nan
    i, j = np.triu_indices(n, 1)
    return float(np.real(np.prod(lam[i] + lam[j])))


def track_crossing(lam_a, lam_b, im_tol, exclude=None):
    """Critical complex eigenvalues crossing the imaginary axis between two points.

    Returns ``(la, lb)``: eigenvalues with ``Im > 0`` at the two points, with real parts of
    opposite sign, chosen nearest to each other; ``None`` if there is none.
    """
    ca = lam_a[(lam_a.imag > 0) & complex_mask(lam_a, im_tol)]
    cb = lam_b[(lam_b.imag > 0) & complex_mask(lam_b, im_tol)]
    best = None
    for a in ca:
        for b in cb:
            if np.sign(a.real) == np.sign(b.real):
                continue
            d = abs(a - b)
            if best is None or d < best[0]:
                best = (d, a, b)
    return None if best is None else (best[1], best[2])


def track_crossings(lam_a, lam_b, im_tol):
    """All complex pairs crossing the imaginary axis between two points.

    Each eigenvalue with ``Im > 0`` at the first point is matched to the nearest unmatched one
    at the second (greedy, closest pairs first); matched pairs whose real parts have opposite
    signs are returned as ``[(la, lb), ...]``. Unlike counting unstable eigenvalues, this also
    sees two pairs crossing in opposite directions within one step.
    """
    ca = lam_a[(lam_a.imag > 0) & complex_mask(lam_a, im_tol)]
    cb = lam_b[(lam_b.imag > 0) & complex_mask(lam_b, im_tol)]
    if len(ca) == 0 or len(cb) == 0:
        return []
    d = np.abs(ca[:, None] - cb[None, :])
    pairs, used_a, used_b = [], set(), set()
    for flat in np.argsort(d, axis=None):
        i, j = np.unravel_index(flat, d.shape)
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        if np.sign(ca[i].real) != np.sign(cb[j].real):
            pairs.append((ca[i], cb[j]))
    return pairs


def nearest_eigenvalue(lam, ref, upper=True):
    """The eigenvalue (with ``Im >= 0`` if ``upper``) nearest to ``ref``."""
    c = lam[lam.imag >= 0] if upper else lam
    if len(c) == 0:
        c = lam
    return c[np.argmin(np.abs(c - ref))]


def eigen_nearest(J, sigma, tol=1e-13, max_iter=30):
    """The eigenvalue of ``J`` nearest to the complex shift ``sigma``, by inverse iteration.

    One complex LU of ``J - sigma I`` and a few solves (Rayleigh quotient as the estimate);
    much cheaper than a full eigen-decomposition for large ``n``. Falls back to
    ``numpy.linalg.eigvals`` when the iteration does not settle.
    """
    import scipy.linalg as sla

    n = J.shape[0]
    A = J.astype(complex) - sigma * np.eye(n)
    try:
        lu = sla.lu_factor(A, check_finite=False)
    except (ValueError, np.linalg.LinAlgError):
        lam = np.linalg.eigvals(J)
        return lam[np.argmin(np.abs(lam - sigma))]
    rng = np.random.default_rng(12345)
    v = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    v /= np.linalg.norm(v)
    mu_old = None
    for _ in range(max_iter):
        w = sla.lu_solve(lu, v, check_finite=False)
        nw = np.linalg.norm(w)
        if not np.isfinite(nw) or nw == 0:
            break
        v = w / nw
        mu = np.vdot(v, J @ v)
        if mu_old is not None and abs(mu - mu_old) <= tol * max(1.0, abs(mu)):
            if np.linalg.norm(J @ v - mu * v) <= 1e-8 * max(1.0, np.linalg.norm(J, 1)):
                return mu
        mu_old = mu
    lam = np.linalg.eigvals(J)
    return lam[np.argmin(np.abs(lam - sigma))]
