"""Linear-noise approximation (LNA) around a stable equilibrium.

Near a stable equilibrium x* of a density-dependent chain with drift f and diffusion matrix
D (per unit volume), fluctuations ξ = √N (X/N − x*) obey the linear SDE

    dξ = A ξ dt + B dW,     A = ∂f/∂x (x*),   B Bᵀ = D(x*).

- Stationary covariance Σ (of ξ, so the covariance of X/N is Σ/N) solves the Lyapunov
  equation  A Σ + Σ Aᵀ + D = 0.
- Power spectral density matrix (two-sided, ∫ S(ω) dω / 2π = Σ):
  S(ω) = (iωI − A)⁻¹ D (iωI − A)⁻ᴴ; an output y = c·ξ has S_y(ω) = c S(ω) cᵀ.
- Linear response to a small modulation of a parameter p, δp(t) = Re(ε e^{iωt}):
  H(ω) = c (iωI − A)⁻¹ ∂f/∂p.

Frequencies: the functions take angular frequency ω in inverse time units of the system; for
neuron models in ms, f[Hz] = 1000 ω / 2π (helpers below convert).

Examples
--------
Ornstein–Uhlenbeck, dξ = −k ξ dt + √D dW: Σ = D/2k, S(ω) = D/(ω² + k²).

>>> import numpy as np
>>> Sigma = stationary_covariance(np.array([[-2.0]]), np.array([[4.0]]))
>>> float(Sigma[0, 0])
1.0
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_continuous_lyapunov

from simulate.validation import ParameterError

__all__ = [
    "stationary_covariance",
    "spectral_density",
    "output_spectrum",
    "transfer_function",
    "hz_to_omega",
    "omega_to_hz",
]


def _check_stable(A):
    ev = np.linalg.eigvals(A)
    if np.max(ev.real) >= 0:
        raise ParameterError(
            f"the linear-noise approximation needs a stable equilibrium; the Jacobian has an "
            f"eigenvalue with real part {np.max(ev.real):.3g} >= 0"
        )


def stationary_covariance(A, D) -> np.ndarray:
    """Solve A Σ + Σ Aᵀ + D = 0 for the stationary covariance Σ of ξ."""
    A = np.asarray(A, float)
    D = np.asarray(D, float)
    _check_stable(A)
    S = solve_continuous_lyapunov(A, -D)
    return 0.5 * (S + S.T)


def spectral_density(A, D, omega) -> np.ndarray:
    """S(ω) = (iωI − A)⁻¹ D (iωI − A)⁻ᴴ for each ω; shape (len(ω), n, n), complex."""
    A = np.asarray(A, float)
    D = np.asarray(D, float)
    _check_stable(A)
    n = A.shape[0]
    out = np.empty((len(np.atleast_1d(omega)), n, n), complex)
    eye = np.eye(n)
    for k, w in enumerate(np.atleast_1d(omega)):
        G = np.linalg.solve(1j * w * eye - A, eye)
        out[k] = G @ D @ G.conj().T
    return out


def output_spectrum(A, D, c, omega) -> np.ndarray:
    """Two-sided power spectral density of y = c·ξ at angular frequencies ω (real array).

    Solves one linear system per frequency instead of forming the full matrix S(ω), so it
    stays cheap for systems with hundreds of states.
    """
    A = np.asarray(A, float)
    D = np.asarray(D, float)
    c = np.asarray(c, float)
    _check_stable(A)
    n = A.shape[0]
    eye = np.eye(n)
    out = np.empty(len(np.atleast_1d(omega)))
    for k, w in enumerate(np.atleast_1d(omega)):
        # u = c (iωI − A)^{-1}  (row vector)  -> solve (iωI − A)^T u^T = c^T
        u = np.linalg.solve((1j * w * eye - A).T, c.astype(complex))
        out[k] = float(np.real(u @ D @ u.conj()))
    return out


def transfer_function(A, dfdp, c, omega) -> np.ndarray:
    """H(ω) = c (iωI − A)⁻¹ ∂f/∂p: the linear response of y = c·x to modulating p."""
    A = np.asarray(A, float)
    b = np.asarray(dfdp, float).reshape(-1)
    c = np.asarray(c, float)
    n = A.shape[0]
    eye = np.eye(n)
    return np.array([c @ np.linalg.solve(1j * w * eye - A, b.astype(complex))
                     for w in np.atleast_1d(omega)])


def hz_to_omega(f_hz, time_unit_ms: float = 1.0):
    """Angular frequency in inverse time units of a model whose time unit is ``time_unit_ms``."""
    return 2 * np.pi * np.asarray(f_hz, float) * time_unit_ms / 1000.0


def omega_to_hz(omega, time_unit_ms: float = 1.0):
    """Inverse of :func:`hz_to_omega`."""
    return 1000.0 * np.asarray(omega, float) / (2 * np.pi * time_unit_ms)
