"""Siegert rate and CV against independent quadratures; derivatives against differences."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import special

sys.path.insert(0, str(Path(__file__).parent))
from meanfield_reference import cv_scipy, lif_params, rate_grid, rate_scipy  # noqa: E402

from reduce.meanfield import siegert as sg  # noqa: E402
from simulate.validation import ParameterError  # noqa: E402

P = lif_params()


def test_rate_matches_quadpack_over_25_orders_of_magnitude():
    rates = []
    for mu, sig in rate_grid():
        a, b = (P["v_r"] - mu) / sig, (P["theta"] - mu) / sig
        if max(abs(a), abs(b)) > 26:  # the float reference would overflow
            continue
        r = sg.siegert_rate(mu, sig, **P)
        ref = rate_scipy(mu, sig, **P)
        assert r > 0 and math.isfinite(r)
        assert abs(r - ref) <= 1e-8 * ref, (mu, sig, r, ref)
        rates.append(r)
    assert max(rates) / min(rates) > 1e12


def test_rate_matches_mpmath_including_extremes():
    mp = pytest.importorskip("mpmath")
    from meanfield_reference import rate_mpmath

    rates = []
    for mu, sig in [(-30.0, 4.0), (-200.0, 20.0), (0.0, 3.0), (15.0, 5.0), (20.0, 0.5),
                    (200.0, 0.05), (12.0, 40.0)]:
        r = sg.siegert_rate(mu, sig, **P)
        ref = rate_mpmath(mu, sig, **P)
        assert abs(mp.mpf(r) - ref) <= 1e-8 * ref, (mu, sig, r, ref)
        rates.append(r)
    assert max(rates) / min(rates) > 1e60


@pytest.mark.parametrize("mu,sig", [(-10.0, 4.0), (5.0, 3.0), (15.0, 5.0), (18.0, 1.0),
                                    (20.0, 10.0), (25.0, 2.0), (12.0, 40.0)])
def test_cv_matches_nested_quadrature(mu, sig):
    cv = sg.siegert_cv(mu, sig, **P)
    ref = cv_scipy(mu, sig, **P)
    assert abs(cv - ref) <= 1e-8 * ref


def test_cv_limits():
    # deep below threshold: Poisson escape, CV -> 1; far above: regular, CV -> 0
    assert abs(sg.siegert_cv(-20.0, 3.0, **P) - 1.0) < 1e-6
    assert sg.siegert_cv(200.0, 0.5, **P) < 0.01
    # vectorised
    cv = sg.siegert_cv(np.array([0.0, 15.0]), 5.0, **P)
    assert cv.shape == (2,)


@pytest.mark.parametrize("mu,sig", [(-5.0, 4.0), (5.0, 3.0), (15.0, 5.0), (18.0, 1.0),
                                    (25.0, 2.0), (40.0, 1.0), (12.0, 40.0)])
def test_derivatives_match_central_differences(mu, sig):
    nu, dmu, dsig = sg.siegert_rate_derivs(mu, sig, **P)
    cv, cmu, csig = sg.siegert_cv_derivs(mu, sig, **P)
    # central differences: truncation ~h^2 f''' plus rounding ~1e-15 f/h; h = 1e-4 gives
    # relative errors ~1e-7 at these scales (σ ≥ 1)
    h = 1e-4 * sig

    def fd(f, dm, ds):
        return ((f(mu + dm, sig + ds) - f(mu - dm, sig - ds)) / (2 * h))

    r = lambda m, s: sg.siegert_rate(m, s, **P)
    c = lambda m, s: sg.siegert_cv(m, s, **P)
    assert dmu == pytest.approx(fd(r, h, 0), rel=1e-5)
    assert dsig == pytest.approx(fd(r, 0, h), rel=1e-5)
    # the CV comes from adaptive quadrature with relative tolerance 1e-12, so a difference
    # quotient carries an extra noise of up to ~1e-12·CV/h: budgeted (x10) as an absolute term
    noise = 10 * 1e-12 * cv / h
    assert cmu == pytest.approx(fd(c, h, 0), rel=1e-5, abs=noise)
    assert csig == pytest.approx(fd(c, 0, h), rel=1e-5, abs=noise)
    assert nu == pytest.approx(r(mu, sig), rel=1e-14)


def test_kramers_asymptote_deep_subthreshold():
    # 1/ν ≈ τ√π e^{b²}/b (1 + O(1/b²)): relative error ~ 1/(2b²)
    for b in (5.0, 10.0, 20.0):
        sig = 1.0
        mu = P["theta"] - b * sig
        nu = sg.siegert_rate(mu, sig, **P)
        kr = b * math.exp(-b * b) / (P["tau"] * math.sqrt(math.pi))
        assert abs(nu / kr - 1) < 1.0 / b**2


def test_special_functions_match_scipy():
    x = np.concatenate([np.linspace(0, 30, 301), [40.0, 100.0, 1e4]])
    assert np.allclose(sg.erfcx(x), special.erfcx(x), rtol=2e-13, atol=0)
    assert np.allclose(sg.dawson(x), special.dawsn(x), rtol=1e-13, atol=0)
    xn = np.linspace(-20, 0, 41)
    assert np.allclose(sg.erfcx(xn), special.erfcx(xn), rtol=1e-13)


def test_never_nan_over_wide_random_inputs():
    rng = np.random.default_rng(0)
    mu = rng.uniform(-500, 500, 400)
    sig = 10 ** rng.uniform(-3, 3, 400)
    r = sg.siegert_rate(mu, sig, **P)
    cv = sg.siegert_cv(mu[:100], sig[:100], **P)
    assert np.all(np.isfinite(r)) and np.all(r >= 0) and np.all(r <= 1 / P["tau_rp"])
    assert np.all(np.isfinite(cv)) and np.all(cv >= 0)


@pytest.mark.parametrize("kw,match", [
    (dict(mu=1.0, sigma=0.0), "sigma"),
    (dict(mu=1.0, sigma=-1.0), "sigma"),
    (dict(mu=float("nan"), sigma=1.0), "mu"),
    (dict(mu=1.0, sigma=1.0, v_r=25.0), "v_r"),
    (dict(mu=1.0, sigma=1.0, tau=0.0), "tau"),
    (dict(mu=1.0, sigma=1.0, tau_rp=-1.0), "tau_rp"),
])
def test_bad_input_is_a_clear_error(kw, match):
    args = dict(P)
    args.update(kw)
    with pytest.raises(ParameterError, match=match):
        sg.siegert_rate(**args)
