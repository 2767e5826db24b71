r"""G-PCCA: metastable sets of a (non-reversible) transition matrix from its Schur vectors.

Our implementation of generalised PCCA+ (Röblitz & Weber 2013, *Adv. Data Anal. Classif.* 7,
147; Reuter, Weber, Fackeldey, Röblitz, Garcia 2018, *J. Chem. Theory Comput.* 14, 3579).
Given a row-stochastic matrix T (n × n), a weighting distribution η (uniform by default) and a
number m of metastable sets:

1. **Schur decomposition.** With ``D = diag(η)``, the real Schur form
   ``D^{1/2} T D^{-1/2} = Q R Qᵀ`` is sorted so that the m eigenvalues of largest modulus come
   first (a complex pair is never split); ``X = D^{-1/2} Q[:, :m]`` spans a T-invariant
   subspace, η-orthonormal (``Xᵀ D X = I``). For a non-reversible T the eigenvectors may be
   complex; the real Schur vectors are real and still span the dominant invariant subspace.
2. **Constant first vector.** Since T1 = 1 the subspace contains the constant vector; the basis
   is rotated so that ``X[:, 0] = 1`` and the other columns are η-orthogonal to it.
3. **Memberships.** ``χ = X A`` with the m × m matrix A chosen so that χ is a fuzzy partition,

       χ_{lj} ≥ 0,   Σ_j χ_{lj} = 1,

   which fixes the first row and column of A from the others (A 1 = e₁ for the partition of
   unity; the first row is the smallest making every column of χ non-negative, then scaled);
   the free (m − 1)² entries maximise the **crispness**

       f(A) = (1/m) Σ_j ⟨χ_j, χ_j⟩_η / ⟨χ_j, 1⟩_η = (1/m) Σ_j (AᵀA)_{jj} / A_{1j}  ∈ (0, 1],

   equal to 1 exactly for a crisp (0/1) partition. Start: the inner-simplex algorithm (the m
   rows of X that span the largest simplex); optimiser: Nelder–Mead.
4. **Coarse-grained chain** ``T_c = (χᵀ D χ)^{-1} χᵀ D T χ``, an m × m matrix on the
   metastable sets (rows sum to 1).

From a trajectory, :func:`transition_matrix` estimates T from microstate labels (e.g. k-means
clusters of the coarse population state): counts ``C_ij`` of transitions i → j at lag τ,
``T = C / rowsum(C)`` (no detailed balance imposed, so it stays non-reversible).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulate.validation import ParameterError, check_number

__all__ = ["gpcca", "GPCCAResult", "transition_matrix", "microstates"]


@dataclass
class GPCCAResult:
    """Result of :func:`gpcca`.

    Attributes
    ----------
    chi : ndarray (n, m)
        Membership of every state in every metastable set (rows sum to 1, entries ≥ 0).
    assignment : ndarray (n,) of int
        Crisp assignment ``argmax_j χ_{lj}``.
    crispness : float
        f(A) of the module docstring, in (0, 1]; 1 for a crisp partition.
    coarse_T : ndarray (m, m)
        Coarse-grained transition matrix on the metastable sets.
    eigenvalues : ndarray (m,)
        The m selected eigenvalues of T (complex for a rotating, non-reversible chain).
    schur_vectors : ndarray (n, m)
        η-orthonormal Schur basis with constant first column.
    rotation : ndarray (m, m)
        A with χ = X A.
    """

    chi: np.ndarray
    assignment: np.ndarray
    crispness: float
    coarse_T: np.ndarray
    eigenvalues: np.ndarray
    schur_vectors: np.ndarray
    rotation: np.ndarray


def _check_stochastic(T):
    T = np.asarray(T, float)
    if T.ndim != 2 or T.shape[0] != T.shape[1]:
        raise ParameterError(f"T has shape {T.shape}; a square (n, n) matrix is needed")
    if np.any(T < -1e-12) or np.max(np.abs(T.sum(axis=1) - 1.0)) > 1e-8:
        raise ParameterError("T must be row-stochastic: entries >= 0 and rows summing to 1")
    return T


def _sorted_schur(Tw, m):
    """Real Schur vectors of the m eigenvalues of largest modulus (pairs kept whole)."""
    from scipy.linalg import schur

    ev = np.linalg.eigvals(Tw)
    mod = np.sort(np.abs(ev))[::-1]
    if m < len(mod) and mod[m - 1] - mod[m] < 1e-10 * max(mod[0], 1.0):
        raise ParameterError(
            f"m = {m} splits a group of eigenvalues of equal modulus |λ| = {mod[m - 1]:.6g} "
            "(a complex-conjugate pair or a degenerate eigenvalue); choose m one larger or "
            "smaller")
    cut = 0.5 * (mod[m - 1] + mod[m]) if m < len(mod) else -1.0
    R, Q, sdim = schur(Tw, output="real", sort=lambda re, im: np.hypot(re, im) > cut)
    if sdim != m:
        raise ParameterError(f"the Schur sort selected {sdim} eigenvalues, expected m = {m}")
    lam = np.linalg.eigvals(R[:m, :m])
    return Q[:, :m], lam[np.argsort(-np.abs(lam))]


def _constant_first(X, eta):
    """Rotate the basis of span(X) so that column 0 is 1 and all columns are η-orthonormal."""
    sq = np.sqrt(eta)
    one = np.ones(X.shape[0])
    c = (eta @ X)                       # η-projection of the columns on 1 (‖1‖_η = 1)
    rest = X - np.outer(one, c)         # η-orthogonal to 1, rank m - 1
    U, s, _ = np.linalg.svd(sq[:, None] * rest, full_matrices=False)
    m = X.shape[1]
    if s[0] <= 0 or (m > 1 and s[m - 2] < 1e-10 * s[0]):
        raise ParameterError("the dominant Schur subspace does not contain a usable basis "
                             "besides the constant vector")
    return np.column_stack([one, U[:, : m - 1] / sq[:, None]])


def _fill(A_free, X):
    """Feasible A from its free block A[1:, 1:] (partition of unity and positivity)."""
    m = X.shape[1]
    A = np.zeros((m, m))
    A[1:, 1:] = A_free
    A[1:, 0] = -A[1:, 1:].sum(axis=1)
    A[0, :] = np.max(-X[:, 1:] @ A[1:, :], axis=0)
    A /= A[0, :].sum()
    return A


def _crispness(A):
    m = A.shape[0]
    return float(np.sum(np.sum(A * A, axis=0) / A[0, :]) / m)


def _inner_simplex(X):
    """Indices of the m rows of X that span the largest simplex (greedy)."""
    n, m = X.shape
    Y = X[:, 1:] - X[:, 1:].mean(axis=0) if m > 1 else X.copy()
    idx = [int(np.argmax(np.linalg.norm(Y, axis=1)))]
    Y = Y - Y[idx[0]]
    for _ in range(1, m):
        d = np.linalg.norm(Y, axis=1)
        j = int(np.argmax(d))
        idx.append(j)
        v = Y[j] / d[j]
        Y = Y - np.outer(Y @ v, v)
    return idx


def gpcca(T, m: int, eta=None, optimize: bool = True) -> GPCCAResult:
    """Metastable sets of the chain T by G-PCCA (module docstring).

    Parameters
    ----------
    T : ndarray (n, n)
        Row-stochastic transition matrix (need not satisfy detailed balance).
    m : int
        Number of metastable sets, 2 ≤ m < n; must not split a complex pair of eigenvalues.
    eta : ndarray (n,), optional
        Weighting distribution (default uniform), all entries > 0.
    optimize : bool
        Maximise the crispness (Nelder–Mead); False keeps the inner-simplex start.

    Returns
    -------
    GPCCAResult
    """
    from scipy.optimize import minimize

    T = _check_stochastic(T)
    n = T.shape[0]
    m = int(check_number("m", m, 2, n - 1, integer=True))
    eta = np.full(n, 1.0 / n) if eta is None else np.asarray(eta, float)
    if eta.shape != (n,) or np.any(eta <= 0):
        raise ParameterError(f"eta must have shape ({n},) with entries > 0")
    eta = eta / eta.sum()
    sq = np.sqrt(eta)
    Q, lam = _sorted_schur(sq[:, None] * T / sq[None, :], m)
    X = _constant_first(Q / sq[:, None], eta)
    A0 = np.linalg.inv(X[_inner_simplex(X), :])
    A = _fill(A0[1:, 1:], X)
    if optimize:
        res = minimize(lambda a: -_crispness(_fill(a.reshape(m - 1, m - 1), X)),
                       A[1:, 1:].ravel(), method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000 * m * m})
        A_opt = _fill(res.x.reshape(m - 1, m - 1), X)
        if _crispness(A_opt) > _crispness(A):
            A = A_opt
    chi = X @ A
    chi = np.clip(chi, 0.0, None)       # round-off below zero
    chi /= chi.sum(axis=1, keepdims=True)
    D = eta[:, None]
    W = chi.T @ (D * chi)
    coarse = np.linalg.solve(W, chi.T @ (D * (T @ chi)))
    return GPCCAResult(chi, np.argmax(chi, axis=1), _crispness(A), coarse, lam, X, A)


def transition_matrix(labels, n_states: int | None = None, lag: int = 1):
    """Row-stochastic transition matrix estimated from a label sequence.

    ``C_ij`` = number of times ``labels[t] = i`` and ``labels[t + lag] = j``;
    ``T_ij = C_ij / Σ_j C_ij`` (no symmetrisation: a non-reversible estimate). States never
    left (rows of zeros) raise an error naming them.

    Returns
    -------
    T : ndarray (S, S)
    counts : ndarray (S, S)
    """
    labels = np.asarray(labels, dtype=np.int64)
    lag = int(check_number("lag", lag, 1, max(1, len(labels) - 1), integer=True))
    S = int(labels.max()) + 1 if n_states is None else int(n_states)
    C = np.zeros((S, S))
    np.add.at(C, (labels[:-lag], labels[lag:]), 1.0)
    rows = C.sum(axis=1)
    if np.any(rows == 0):
        raise ParameterError(
            f"states {np.flatnonzero(rows == 0).tolist()} are never left within the record; "
            "use fewer microstates or a longer trajectory")
    return C / rows[:, None], C


def microstates(features, n_micro: int = 30, seed: int = 0):
    """k-means microstates of (standardised) features: ``(labels, centres)``."""
    from sklearn.cluster import KMeans

    X = np.asarray(features, float)
    if X.ndim == 1:
        X = X[:, None]
    n_micro = int(check_number("n_micro", n_micro, 2, max(2, len(X) // 10), integer=True,
                               hint="need at least 10 points per microstate"))
    sd = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    km = KMeans(n_clusters=n_micro, n_init=4, random_state=seed).fit(Z)
    return km.labels_.astype(np.int64), km.cluster_centers_
