"""Φ and φ of the closure kernels from one exponential and a piecewise-polynomial erfcx
(``reduce/markov_approx/normal.py``), against mpmath (40 digits) and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erfcx, ndtr

from reduce.markov_approx.normal import _COEF, X_MAX, erfcx_poly, erfcx_table, norm_cdf_pdf


def test_erfcx_polynomial_against_mpmath():
    mp = pytest.importorskip("mpmath")
    with mp.workdps(40):
        x = np.linspace(0.0, X_MAX, 1501, endpoint=False)
        ref = np.array([float(mp.exp(mp.mpf(v) ** 2) * mp.erfc(mp.mpf(v))) for v in x])
    got = np.array([erfcx_poly(v) for v in x])
    # degree-10 interpolant on 0.25-wide intervals: truncation < 1e-17; what remains is the
    # rounding of the coefficients and of Horner's scheme, a few units of 1.1e-16
    assert np.max(np.abs(got / ref - 1.0)) <= 5e-16


def test_table_is_the_documented_interpolant():
    pytest.importorskip("mpmath")
    np.testing.assert_array_equal(erfcx_table(), _COEF)


def test_cdf_and_pdf_against_scipy():
    z = np.linspace(-10.0, 10.0, 4001)
    P = np.array([norm_cdf_pdf(v)[0] for v in z])
    p = np.array([norm_cdf_pdf(v)[1] for v in z])
    ref_p = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    # absolute error: the polynomial's 5e-16 relative times Φ ≤ 1 (and 1 - Φ for z > 0)
    assert np.max(np.abs(P - ndtr(z))) <= 3e-16
    # relative error in the lower tail: the exponential's argument -z²/2 carries a relative
    # rounding error u, i.e. |z²/2|·u ≤ 50·1.1e-16 at |z| = 10, plus scipy's own (same size)
    lower = z <= 0
    assert np.max(np.abs(P[lower] / ndtr(z[lower]) - 1.0)) <= 2e-14
    assert np.max(np.abs(p / ref_p - 1.0)) <= 1e-15
    # scipy's erfcx as a second reference for the polynomial (its own error ≈ 8e-16)
    x = np.abs(z) / np.sqrt(2.0)
    x = x[x < X_MAX]
    assert np.max(np.abs(np.array([erfcx_poly(v) for v in x]) / erfcx(x) - 1.0)) <= 1.5e-15
