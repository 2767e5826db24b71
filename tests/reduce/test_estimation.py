"""Transition-rate estimator on synthetic chains with known rates (models.md §3).

References are independent of the estimator: the exact transition matrix expm(G τ) of the
generator used to simulate, the generator itself (event logs), a plain-NumPy count, and
scikit-learn's PoissonRegressor for the regression.
"""

import pickle
import warnings

import numpy as np
import pytest
from scipy.linalg import expm

from reduce.estimation import (
    BaseGate,
    FittedMarkovModel,
    LowCountWarning,
    ModelFileError,
    TransitionRateEstimator,
    VoltageBins,
)
from reduce.estimation.counting import (
    event_totals,
    numpy_total_counts,
    snapshot_counts,
    snapshot_sample_counts,
    snapshot_totals,
)
from reduce.estimation.regression import fit_columns, fit_sklearn
from reduce.estimation.synthetic import loglinear_generator, synthetic_trajectory
from simulate.validation import ParameterError

NINF = -np.inf
# 3 states: 0, 1 (voltage bins), 2 = R; rates per ms
A3 = np.log(np.array([[np.nan, 0.5, 0.05], [0.2, np.nan, 1.0], [0.25, np.nan, np.nan]]))
A3[np.isnan(A3)] = NINF
G3 = loglinear_generator(A3)
TRUE_PAIRS = [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0)]


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


@pytest.fixture(scope="module")
def snap_traj():
    return synthetic_trajectory({"E": G3, "I": G3}, {"E": 200, "I": 100}, 600.0,
                                record_dt=0.1, seed=3)


# ------------------------------------------------------------------------------ counting
def test_counting_matches_numpy_peer(snap_traj):
    raw = snap_traj["coarse"]
    lut = VoltageBins().lookup(snap_traj["bins/coarse"])
    pop = np.repeat([0, 1], [200, 100])
    for lag in (1, 3):
        tot, occ = snapshot_totals(raw, lut, pop, lag, 2, 3)
        ref = numpy_total_counts(raw, lut, pop, lag, 2, 3)
        np.testing.assert_array_equal(tot, ref)
        # occupancies: every neuron somewhere, per population
        np.testing.assert_array_equal(occ.sum(axis=2), np.tile([200, 100], (len(raw), 1)))
        col = -np.ones((2, 3, 3), np.int64)
        keys = np.argwhere(tot > 0)
        for c, k in enumerate(keys):
            col[tuple(k)] = c
        C = snapshot_sample_counts(raw, lut, pop, lag, col)
        np.testing.assert_array_equal(C.sum(axis=0), [tot[tuple(k)] for k in keys])
        # one-pass counting: same per-sample counts, columns in order of first occurrence
        C1, keys1, occ1 = snapshot_counts(raw, lut, pop, lag, 2, 3)
        np.testing.assert_array_equal(occ1, occ)
        for j, k in enumerate(keys1):
            np.testing.assert_array_equal(C1[:, j], C[:, col[tuple(k)]])
        assert len(keys1) == len(keys)


def test_merged_bins_count_the_sum_of_fine_transitions():
    # 5 raw states (4 bins + R) merged to 2 bins + R: merged counts = sums over fine pairs
    a = np.full((5, 5), NINF)
    for i in range(4):
        a[i, i + 1] = np.log(0.6)
    a[4, 0] = np.log(0.3)
    a[0, 4] = np.log(0.02)
    tr = synthetic_trajectory({"E": loglinear_generator(a)}, {"E": 150}, 300.0, seed=1)
    raw, pop = tr["coarse"], np.zeros(150, np.int64)
    fine, _ = snapshot_totals(raw, VoltageBins().lookup(tr["bins/coarse"]), pop, 1, 1, 5)
    cg = VoltageBins([0.0, 2.0, 4.0])
    lut = cg.lookup(tr["bins/coarse"])
    assert lut.tolist() == [0, 0, 1, 1, 2]
    merged, _ = snapshot_totals(raw, lut, pop, 1, 1, 3)
    for A in range(3):
        for B in range(3):
            if A != B:
                ref = sum(fine[0, i, j] for i in range(5) for j in range(5)
                          if lut[i] == A and lut[j] == B)
                assert merged[0, A, B] == ref


def test_event_exposure_is_exact():
    tr = synthetic_trajectory({"E": G3}, {"E": 50}, 50.0, record_dt=0.5, seed=2, mode="events")
    lut = VoltageBins().lookup(tr["bins/coarse"])
    pop = np.zeros(50, np.int64)
    _, occ = snapshot_totals(tr["coarse"], lut, pop, 1, 1, 3)
    tot, E = event_totals(tr["samples/t"], occ, tr["events/t"], tr["events/i"],
                          tr["events/from"], tr["events/to"], lut, pop, 1, 3)
    # every neuron is somewhere all the time: exposures sum to N * interval
    np.testing.assert_allclose(E.sum(axis=2)[:, 0], 50 * 0.5, rtol=1e-12)
    assert tot.sum() == len(tr["events/t"])
    # independent check: per-neuron piecewise-constant occupation integral for one interval
    k = 7
    t0, t1 = tr["samples/t"][k], tr["samples/t"][k + 1]
    ref = np.zeros(3)
    for n in range(50):
        sel = (tr["events/i"] == n) & (tr["events/t"] >= t0) & (tr["events/t"] < t1)
        ts = np.concatenate([[t0], tr["events/t"][sel], [t1]])
        states = np.concatenate([[tr["coarse"][k, n]], tr["events/to"][sel]])
        for s, a, b in zip(states, ts[:-1], ts[1:]):
            ref[s] += b - a
    np.testing.assert_allclose(E[k, 0], ref, atol=1e-9)


# ------------------------------------------------------------------------------ recovery
@pytest.mark.parametrize("lag_samples", [1, 2, 5])
def test_constant_rates_matrix_estimand_at_several_lags(snap_traj, lag_samples):
    lag = 0.1 * lag_samples
    m = _quiet(TransitionRateEstimator("trajectory", lag=lag).fit, [snap_traj]).fetch_model()
    P = expm(G3(0.0) * lag)   # exact transition matrix at the lag: the estimand
    for q in ("E", "I"):
        for a, b in TRUE_PAIRS:
            c = m._col(q, a, b)
            n_a = m.exposure[c] / lag          # origin visits (overlapping windows)
            p = P[a, b]
            # binomial SE of P_ab from n_a visits, inflated by lag_samples because the
            # overlapping windows reuse each jump up to lag_samples times
            se = np.sqrt(p * (1 - p) / n_a * lag_samples) / lag
            assert abs(m.rate(q, a, b) - p / lag) < 4.5 * se, (q, a, b, lag)


def test_feature_dependent_rates_generator_estimand():
    b = np.zeros((3, 3))
    b[0, 1], b[1, 2], b[2, 0] = 0.8, -0.5, 0.3       # log-rate slopes per unit of x
    G = loglinear_generator(A3, b)
    tr = synthetic_trajectory({"E": G}, {"E": 200}, 1000.0, record_dt=0.5, seed=5,
                              mode="events", feature=lambda t: np.sin(2 * np.pi * t / 37.0)
                              + 0.3 * np.cos(2 * np.pi * t / 11.0))
    est = TransitionRateEstimator("trajectory", features=["kick_mean/EE"],
                                  estimand="generator", alpha=0.0)
    m = _quiet(est.fit, [tr]).fetch_model()
    for a, bb in TRUE_PAIRS:
        c = m._col("E", a, bb)
        co = m.coefficients("E", a, bb)
        slope = co.get("kick_mean/EE", 0.0)
        # Wald SE of the raw slope from the observed information (exact CTMC likelihood)
        cov = np.linalg.inv(m.hessian[c])
        se_slope = np.sqrt(cov[1, 1]) / m.feature_sd[0]
        assert abs(slope - b[a, bb]) < 4.5 * se_slope, (a, bb, slope, b[a, bb])
        # rate at x = 0.5 inside its Wald interval-ish (4.5 sigma, one-at-a-time)
        lo, hi = m.rate_ci("E", a, bb, {"kick_mean/EE": 0.5}, level=0.99999)
        assert lo < np.exp(A3[a, bb] + b[a, bb] * 0.5) < hi


def test_newton_solver_matches_scikit_learn():
    rng = np.random.default_rng(0)
    T = 4000
    x = rng.normal(size=(T, 2))
    e = rng.uniform(0.5, 5.0, T)
    y = rng.poisson(e * np.exp(-1.0 + 0.4 * x[:, 0] - 0.2 * x[:, 1]))
    X = np.column_stack([np.ones(T), x])
    for alpha in (0.0, 1e-3):
        b, _, ok = fit_columns(X, y[:, None].astype(np.int32), e[:, None], alpha=alpha)
        ref = fit_sklearn(x, y.astype(float), e, alpha=alpha)
        assert ok[0]
        np.testing.assert_allclose(b[0], ref, rtol=1e-5, atol=1e-6)


def test_wald_coverage_over_repeated_experiments():
    """95% Wald intervals of the generator estimand cover the true rate at nominal rate.

    100 independent experiments x 5 rates; per rate the number of covering experiments is
    Binomial(100, 0.95) when the intervals are exact: mean 95, sd 2.18; we require >= 88
    (3.2 sd) per rate and a pooled coverage in [0.92, 0.98] (500 trials: sd 0.0097, 3 sd).
    """
    hits = np.zeros(len(TRUE_PAIRS))
    n_rep = 100
    for rep in range(n_rep):
        tr = synthetic_trajectory({"E": G3}, {"E": 20}, 40.0, record_dt=1.0, seed=100 + rep,
                                  mode="events")
        m = _quiet(TransitionRateEstimator("trajectory", estimand="generator",
                                           min_count=1).fit, [tr]).fetch_model()
        for i, (a, b) in enumerate(TRUE_PAIRS):
            lo, hi = m.rate_ci("E", a, b, method="wald", level=0.95)
            hits[i] += lo <= np.exp(A3[a, b]) <= hi
    print("wald coverage per rate:", hits)
    assert np.all(hits >= 88), hits
    assert 0.92 <= hits.sum() / (n_rep * len(TRUE_PAIRS)) <= 0.98, hits


def test_bootstrap_coverage_time_blocks():
    """95% time-block bootstrap intervals at lag 2 samples (overlapping windows, where Wald
    intervals would be too narrow) cover P(τ)/τ in >= 85 of 100 experiments per rate.

    Percentile-bootstrap intervals from 20 blocks are known to undercover slightly (a
    systematic few %); the bound 85 is Binomial(100, 0.93) minus 3 sd (2.55).
    """
    hits = np.zeros(len(TRUE_PAIRS))
    lag = 0.2
    P = expm(G3(0.0) * lag)
    for rep in range(100):
        tr = synthetic_trajectory({"E": G3}, {"E": 20}, 100.0, record_dt=0.1, seed=500 + rep)
        m = _quiet(TransitionRateEstimator("trajectory", lag=lag, bootstrap=100, block=5.0,
                                           min_count=1, seed=rep).fit, [tr]).fetch_model()
        for i, (a, b) in enumerate(TRUE_PAIRS):
            lo, hi = m.rate_ci("E", a, b, level=0.95)
            hits[i] += lo <= P[a, b] / lag <= hi
    print("bootstrap coverage per rate:", hits)
    assert np.all(hits >= 85), hits


def test_bootstrap_over_trials_and_samples_are_models():
    trajs = [synthetic_trajectory({"E": G3}, {"E": 30}, 50.0, seed=s) for s in range(5)]
    m = _quiet(TransitionRateEstimator("trajectory", bootstrap=10, min_count=1).fit,
               trajs).fetch_model()
    assert m.provenance["bootstrap_unit"] == "trajectories"
    assert len(m.samples) == 10 and isinstance(m.samples[0], FittedMarkovModel)
    assert m.samples[0].samples == []
    r = [s.rate("E", 0, 1) for s in m.samples]
    assert np.std(r) > 0


# ------------------------------------------------------------------------------ bad input
def test_bad_inputs_give_clear_errors(snap_traj):
    from simulate import Trajectory

    arrays = {k: v for k, v in snap_traj.arrays.items() if k != "coarse"}
    no_coarse = Trajectory("x", {}, 0, ["E", "I"], snap_traj.sizes, 10.0, arrays,
                           snap_traj.meta)
    with pytest.raises(ParameterError, match="coarse"):
        TransitionRateEstimator().fit([no_coarse])
    other = dict(snap_traj.arrays)
    other["bins/coarse"] = np.array([0.0, 1.5, 2.0])
    bad_bins = Trajectory("synthetic-chain", {}, 0, ["E", "I"], snap_traj.sizes, 10.0, other,
                          snap_traj.meta)
    with pytest.raises(ParameterError, match="bin layout"):
        TransitionRateEstimator().fit([snap_traj, bad_bins])
    t1 = synthetic_trajectory({"E": G3}, {"E": 10}, 5.0, params={"s_ee": 0.95, "p_ei": 0.8})
    t2 = synthetic_trajectory({"E": G3}, {"E": 10}, 5.0, params={"s_ee": 1.5, "p_ei": 0.7})
    with pytest.raises(ParameterError, match="s_ee"):
        TransitionRateEstimator().fit([t1, t2])
    with pytest.raises(ParameterError, match="not an edge"):
        VoltageBins([0.0, 0.5, 2.0]).lookup(snap_traj["bins/coarse"])
    with pytest.raises(ParameterError, match="multiple"):
        TransitionRateEstimator(lag=0.15).fit([snap_traj])
    with pytest.raises(ParameterError, match="events"):
        TransitionRateEstimator(estimand="generator").fit([snap_traj])
    with pytest.raises(ParameterError, match="estimand"):
        TransitionRateEstimator(estimand="reversible")
    with pytest.raises(ParameterError, match="feature"):
        TransitionRateEstimator(features=["kick_mean/EE", "nonsense"]).fit([snap_traj])


def test_too_few_transitions_warn_with_names_not_zero():
    a = A3.copy()
    a[1, 0] = np.log(0.002)     # rare: a handful of counts in a short run
    tr = synthetic_trajectory({"E": loglinear_generator(a)}, {"E": 30}, 30.0, seed=4)
    with pytest.warns(LowCountWarning, match=r"E: \[1,2\) -> \[0,1\)"):
        m = TransitionRateEstimator(min_count=50).fit([tr]).fetch_model()
    c = m._col("E", 1, 0)
    assert m.low_count[c] and m.rate("E", 1, 0) > 0
    # a jump that never happens (R -> [1,2) has rate 0) has no fitted rate at all
    tr = synthetic_trajectory({"E": G3}, {"E": 30}, 30.0, seed=4, mode="events")
    m = _quiet(TransitionRateEstimator(estimand="generator").fit, [tr]).fetch_model()
    with pytest.raises(ParameterError, match="never observed"):
        m.rate("E", 2, 1)


# ------------------------------------------------------------------------------ ODE
def test_ode_of_constant_rates_has_the_stationary_law_of_P(snap_traj):
    m = _quiet(TransitionRateEstimator("trajectory").fit, [snap_traj]).fetch_model()
    ode = m.ode()
    assert ode.n_states == 4   # (3 - 1) occupancies x 2 populations, R removed
    P = m.transition_matrix("E")
    w, v = np.linalg.eig(P.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    pi /= pi.sum()
    x = np.concatenate([pi[:2], m.x0()[2:]])
    assert np.max(np.abs(ode.rhs(x)[:2])) < 1e-12
    # the rate output is the flux into R: 1000 * sum_k pi_k r_kR
    ref = 1000 * (pi[0] * m.rate("E", 0, 2) + pi[1] * m.rate("E", 1, 2))
    assert ode.eval_outputs(x)["rate_E"] == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(ode.jacobian(x), ode.fd_jacobian(x), atol=1e-8)


def _kick_model():
    b = np.zeros((3, 3))
    b[0, 1], b[1, 2] = 0.6, 0.4
    G = loglinear_generator(A3, b)
    params = {"p_ee": 0.3, "tau_ee": 2.0}
    tr = synthetic_trajectory({"E": G}, {"E": 100}, 300.0, seed=8, params=params,
                              feature=lambda t: 1.0 + 0.5 * np.sin(t / 5.0))
    est = TransitionRateEstimator("trajectory", features=["kick_mean/EE", "occ/E/R"])
    return _quiet(est.fit, [tr]).fetch_model()


def test_ode_with_features_jacobian_params_and_kick_equation():
    m = _kick_model()
    ode = m.ode()
    assert set(ode.params) == {"p_ee", "tau_ee", "n_e"}
    assert ode.params["n_e"] == 100 and ode.params["p_ee"] == 0.3
    assert ode.state_names[-1] == "m_EE"
    x = m.x0()
    np.testing.assert_allclose(ode.jacobian(x), ode.fd_jacobian(x), rtol=1e-6, atol=1e-7)
    # kick equation: dm/dt = -m/tau + p N f with f the per-neuron flux into R
    f = ode.eval_outputs(x)["rate_E"] / 1000.0
    assert ode.rhs(x)[-1] == pytest.approx(-x[-1] / 2.0 + 0.3 * 100 * f, rel=1e-12)
    ode2 = m.ode(p_ee=0.5)
    assert ode2.params["p_ee"] == 0.5
    # picklable (compiled functions rebuilt from arrays)
    ode3 = pickle.loads(pickle.dumps(ode))
    np.testing.assert_array_equal(ode3.rhs(x), ode.rhs(x))


def test_model_is_immutable_and_saves_with_provenance(tmp_path):
    m = _kick_model()
    with pytest.raises(AttributeError):
        m.lag = 3.0
    with pytest.raises(ValueError):
        m.coef[0, 0] = 1.0
    path = m.save(tmp_path / "model.h5")
    m2 = FittedMarkovModel.load(path)
    np.testing.assert_array_equal(m2.coef, m.coef)
    assert m2.provenance["trajectories"][0]["params"]["p_ee"] == 0.3
    assert m2.provenance["settings"]["features"] == ["kick_mean/EE", "occ/E/R"]
    x = m.x0()
    np.testing.assert_array_equal(m2.ode().rhs(x), m.ode().rhs(x))
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(ModelFileError):
        FittedMarkovModel.load(tmp_path / "junk.h5")


def test_inputs_are_not_mutated(snap_traj):
    before = {k: np.array(v, copy=True) for k, v in snap_traj.arrays.items()}
    _quiet(TransitionRateEstimator("trajectory", bootstrap=2).fit, [snap_traj])
    for k, v in before.items():
        np.testing.assert_array_equal(snap_traj.arrays[k], v)


# ------------------------------------------------------------------------------ chain
def test_chain_reproduces_stationary_occupancy_and_rate(snap_traj):
    m = _quiet(TransitionRateEstimator("trajectory").fit, [snap_traj]).fetch_model()
    R = m.rate_matrix("E")
    w, v = np.linalg.eig(R.T)
    pi = np.real(v[:, np.argmin(np.abs(w))])
    pi /= pi.sum()
    run = m.chain({"E": 200, "I": 100}).run(2000.0, seed=1, dt=1.0, t_burn=100.0)
    act = run.activity()
    from simulate.activity import PopulationActivity

    assert isinstance(act, PopulationActivity)
    rate_ref = 1000 * (pi[0] * R[0, 2] + pi[1] * R[1, 2])   # Hz per neuron
    n_spk = rate_ref / 1000 * 200 * 1900
    # spike count of 200 independent renewal-like chains: sd <= sqrt(2 * mean) (Fano <= 2)
    assert abs(run.rates_hz["E"] - rate_ref) < 5 * np.sqrt(2 * n_spk) / (200 * 1.9)
    occ = run.occupancy["E"][100:].mean(axis=0) / 200
    # time-averaged occupancy of 200 chains over 1900 ms with correlation time ~ 5 ms:
    # sd ~ sqrt(pi(1-pi)/(200 * 1900/10)) < 0.006; allow 0.03
    np.testing.assert_allclose(occ, pi, atol=0.03)


def test_step_scheme_map_is_x_times_p_power_k(snap_traj):
    """Constant rates: the deterministic limit of the step scheme is x_k = x_0 P(τ)^k exactly
    (independent reference: NumPy matrix powers of ``transition_matrix``); spikes per step
    N Σ_a x_a(k) P_aR."""
    from reduce.estimation.chain import iterate_map

    m = _quiet(TransitionRateEstimator("trajectory").fit, [snap_traj]).fetch_model()
    act = iterate_map(m, 40)
    x0 = m.structure().expand(m.x0())[:6].reshape(2, 3)
    for qi, q in enumerate(("E", "I")):
        P = m.transition_matrix(q)
        x = x0[qi].copy()
        ref = []
        for _ in range(40):
            ref.append(x @ P[:, 2] - x[2] * P[2, 2])
            x = x @ P
        np.testing.assert_allclose(act.counts[q] / snap_traj.sizes[q], ref, rtol=1e-12,
                                   atol=1e-15)


def test_chains_converge_to_their_deterministic_limits_with_kick_feedback():
    """Rates that depend on the pending-kick mean, with kick feedback p N f (p N = 3, which
    puts the fixed point m = p N f τ ≈ 1 inside the fitted feature range; N = 3000): the
    step chain's mean rate equals that of its map
    (``iterate_map``) and the exact chain's that of the ODE (references computed
    independently of the chains). Kicks enter through Binomial(N, p) per spike and releases
    at rate 1/τ, so a wrong kick law shifts the rate. Statistics: 3000 neurons over 1.5 s at
    ~0.1 spikes/ms give ~5e5 spikes; with feedback the 1.5-s rate still has a relative sd
    below 1 %; allowed 3 % (sd plus the O(1/N) bias)."""
    from reduce.estimation.chain import iterate_map
    from reduce.estimation.validation import integrate_ode

    m = _kick_model()
    N, p = 3000, 0.001
    lim = iterate_map(m, 20000, p_ee=p, n_e=N).mean_rates_hz(500.0)["E"]
    ode = integrate_ode(m.ode(p_ee=p, n_e=N), m.x0(), 2000.0, dt_out=1.0, t_burn=500.0,
                        sizes={"E": N}).rates_hz["E"]
    # the map and the ODE share equilibria (x P = x  <=>  x (P - I)/τ = 0)
    assert lim == pytest.approx(ode, rel=1e-3)
    for scheme, ref in (("step", lim), ("exact", ode)):
        run = m.chain({"E": N}, scheme=scheme, p_ee=p).run(2000.0, seed=2, dt=1.0,
                                                          t_burn=500.0)
        assert run.rates_hz["E"] == pytest.approx(ref, rel=0.03), (scheme, run.rates_hz, ref)
    # without kicks (p = 0) the rates are lower: the feedback is active in this test
    run0 = m.chain({"E": N}, p_ee=0.0).run(2000.0, seed=2, dt=1.0, t_burn=500.0)
    assert run0.rates_hz["E"] < 0.9 * lim


def test_chain_scheme_checks(snap_traj):
    m = _quiet(TransitionRateEstimator("trajectory").fit, [snap_traj]).fetch_model()
    assert m.chain().scheme == "step"
    with pytest.raises(ParameterError, match="scheme"):
        m.chain(scheme="tau-leap")
    with pytest.raises(ParameterError, match="multiple of the step"):
        m.chain().run(10.0, dt=0.25)
    assert m.chain(scheme="exact").run(10.0, dt=0.25).rows_scaled == 0


def test_chain_rejects_features_without_exact_finite_form():
    tr = synthetic_trajectory({"E": G3}, {"E": 20}, 20.0, seed=1)
    tr.arrays["samples/kick_var/EE"] = np.linspace(0, 1, len(tr["samples/t"]))
    m = _quiet(TransitionRateEstimator("trajectory", features=["kick_var/EE"]).fit,
               [tr]).fetch_model()
    with pytest.raises(ParameterError, match="kick_var"):
        m.chain({"E": 20})


def test_base_gate_coarse_graining():
    edges = np.array([-66.0, -36.0, 0.0, 80.0, 84.0, 100.0])
    assert BaseGate(84.0).lookup(edges).tolist() == [0, 0, 0, 0, 1, 2]
    assert BaseGate(84.0).labels(edges) == ["base", "gate", "R"]
    with pytest.raises(ParameterError, match="not an edge"):
        BaseGate(83.0).lookup(edges)


# ------------------------------------------------------------------------------ validation
def test_implied_timescales_and_chapman_kolmogorov_on_a_markov_chain(snap_traj):
    """For a Markov chain the implied timescales are lag-independent and equal -1/Re(mu_i)
    of the generator eigenvalues mu_i; P(k tau) = P(tau)^k within its binomial error."""
    from reduce.estimation.validation import chapman_kolmogorov, implied_timescales

    mu = np.linalg.eigvals(G3(0.0))
    ref = np.sort(-1.0 / np.real(mu[np.abs(mu) > 1e-12]))[::-1]
    its = implied_timescales([snap_traj], "trajectory", lags=(0.1, 0.5, 1.0))
    for q in ("E", "I"):
        # ~6e4 jumps per population: relative error of the slow timescale ~ 1-2%; allow 8%
        np.testing.assert_allclose(its[q][:, 0], ref[0], rtol=0.08)
    ck = chapman_kolmogorov([snap_traj], "trajectory", lag=0.1, multiples=(2, 5))
    for q in ("E", "I"):
        # 9 entries x 2 multiples per population: max |z| of ~18 correlated normals < 4.5
        assert np.all(ck[q]["max_z"] < 4.5), ck[q]["max_z"]


def test_degenerate_bootstrap_samples_half_count_and_no_exposure():
    """A transition with exposure but no count in a (bootstrap) sample gets rate 0.5/S (half
    a count), one with no exposure keeps its starting value."""
    X = np.ones((4, 1))
    Y = np.zeros((4, 2), np.int32)
    E = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0]])
    b, _, _ = fit_columns(X, Y, E, beta_init=np.array([[0.0], [-1.5]]))
    assert b[0, 0] == pytest.approx(np.log(0.5 / 10.0))
    assert b[1, 0] == -1.5


def test_three_populations_e1_e2_i():
    """Any list of populations: E1, E2, I with pathway features (e.g. I onto E1)."""
    pops = {"E1": 30, "E2": 30, "I": 20}
    params = {"p_e1i": 0.5, "tau_e1i": 4.5, "p_e2i": 0.5, "tau_e2i": 4.5, "p_ie1": 0.4,
              "tau_ie1": 1.2}
    tr = synthetic_trajectory({q: G3 for q in pops}, pops, 60.0, seed=9, params=params,
                              feature=lambda t: np.cos(t / 3.0))
    for a, b in (("E1", "I"), ("E2", "I"), ("I", "E1")):
        tr.arrays[f"samples/kick_mean/{a}{b}"] = tr.arrays[f"samples/kick_mean/{a}{a}"]
    feats = {"E1": ["kick_mean/E1I"], "E2": ["kick_mean/E2I"], "I": ["kick_mean/IE1"]}
    m = _quiet(TransitionRateEstimator("trajectory", features=feats).fit, [tr]).fetch_model()
    ode = m.ode()
    assert set(ode.params) == {"p_e1i", "tau_e1i", "p_e2i", "tau_e2i", "p_ie1", "tau_ie1",
                               "n_i", "n_e1"}
    assert set(ode.outputs) == {"rate_E1", "rate_E2", "rate_I"}
    x = m.x0()
    np.testing.assert_allclose(ode.jacobian(x), ode.fd_jacobian(x), rtol=1e-6, atol=1e-7)
    run = m.chain().run(20.0, seed=1)
    assert set(run.activity().counts) == {"E1", "E2", "I"}


# ------------------------------------------------------------------------------ products
B_LIN = np.zeros((3, 3))
B_LIN[0, 1], B_LIN[1, 2], B_LIN[2, 0] = 0.6, -0.4, 0.2
C_QUAD = np.zeros((3, 3))
C_QUAD[0, 1], C_QUAD[0, 2], C_QUAD[1, 2] = 0.5, 0.7, -0.3
QUAD = ["kick_mean/EE", "kick_mean/EE*kick_mean/EE"]


@pytest.fixture(scope="module")
def quad_model():
    G = loglinear_generator(A3, B_LIN, C_QUAD)     # log r = a + b x + c x^2
    tr = synthetic_trajectory({"E": G}, {"E": 200}, 800.0, record_dt=0.5, seed=13,
                              mode="events", params={"p_ee": 0.3, "tau_ee": 2.0},
                              feature=lambda t: 1.0 + np.sin(2 * np.pi * t / 37.0)
                              + 0.4 * np.cos(2 * np.pi * t / 11.0))
    est = TransitionRateEstimator("trajectory", features=QUAD, estimand="generator",
                                  alpha=0.0, select="none")
    m = _quiet(est.fit, [tr]).fetch_model()
    est_cv = TransitionRateEstimator("trajectory", features=QUAD, estimand="generator",
                                     alpha=0.0)
    return m, _quiet(est_cv.fit, [tr]).fetch_model()


def test_product_features_recover_quadratic_log_rates(quad_model):
    """Truth: log r = a + b x + c x^2 (known); the generator estimand with features x and
    x*x must recover b and c within 4.5 Wald standard errors (exact CTMC likelihood)."""
    m = quad_model[0]
    for a, bb in TRUE_PAIRS:
        c = m._col("E", a, bb)
        co = m.coefficients("E", a, bb)
        cov = np.linalg.inv(m.hessian[c])
        for k, (name, truth) in enumerate([(QUAD[0], B_LIN[a, bb]), (QUAD[1], C_QUAD[a, bb])]):
            se = np.sqrt(cov[k + 1, k + 1]) / m.feature_sd[k]
            assert abs(co[name] - truth) < 4.5 * se, (a, bb, name, co[name], truth, se)
    # the product follows its factor when only the factor is given
    r = m.rate("E", 0, 1, {"kick_mean/EE": 1.5})
    co = m.coefficients("E", 0, 1)
    ref = np.exp(co["intercept_at_mean"]
                 + co[QUAD[0]] * (1.5 - m.feature_mean[0])
                 + co[QUAD[1]] * (2.25 - m.feature_mean[1]))
    assert r == pytest.approx(ref, rel=1e-12)


def test_product_features_ode_jacobian_and_chain_against_ode(quad_model):
    """ODE with a squared kick mean: analytic Jacobian = finite differences; the finite-N
    chain with the same product feature (N = 3000) has the ODE's mean spike rate. Reference:
    the ODE's rate averaged over the same window; with kick feedback (p N f) the chain
    fluctuates, its 1.8-s rate has sd ~ sqrt(rate / (N T)) ~ 0.2 Hz at ~20 Hz, plus an O(1/N)
    bias; allowed: 3 % (~ 3 sd)."""
    from reduce.estimation.validation import integrate_ode

    m = quad_model[0]
    ode = m.ode(p_ee=0.002, n_e=3000)
    x = m.x0()
    np.testing.assert_allclose(ode.jacobian(x), ode.fd_jacobian(x), rtol=1e-6, atol=1e-7)
    run = integrate_ode(ode, x, 2000.0, dt_out=1.0, t_burn=200.0, sizes={"E": 3000})
    ch = m.chain({"E": 3000}, p_ee=0.002).run(2000.0, seed=4, dt=1.0, t_burn=200.0)
    assert ch.rates_hz["E"] == pytest.approx(run.rates_hz["E"], rel=0.03)


def test_cross_validated_selection_keeps_real_curvature(quad_model):
    """select='auto' (products present -> held-out likelihood per transition): the three
    transitions with a true quadratic term (|c| >= 0.3, each worth hundreds of log-likelihood
    units over 800 ms) keep their product feature; the selection is recorded."""
    m = quad_model[1]
    sel = m.provenance["feature_selection"]
    assert sel["n_columns"] == len(TRUE_PAIRS)
    for a, bb in [(0, 1), (0, 2), (1, 2)]:
        assert f"E: {m.labels[a]} -> {m.labels[bb]}" in sel["with_products"], sel
        assert QUAD[1] in m.coefficients("E", a, bb)


def test_product_feature_names_are_checked():
    with pytest.raises(ParameterError, match="product"):
        TransitionRateEstimator("trajectory", features=["kick_mean/EE*"]).fit(
            [synthetic_trajectory({"E": G3}, {"E": 20}, 20.0, seed=1)])
    tr = synthetic_trajectory({"E": G3}, {"E": 20}, 20.0, seed=1)
    with pytest.raises(ParameterError, match="factors"):
        TransitionRateEstimator("trajectory", features=["kick_mean/EE*kick_mean/EE"]).fit([tr])


def test_log_rate_cap_is_identity_below_and_bounded_above():
    """Closed form: cap(η) = η for η ≤ η_0, η_0 + W tanh((η − η_0)/W) above (W = ln 10), its
    derivative 1 − tanh² (checked by central differences), continuous to second order at η_0,
    and the rates of the ODE never exceed e^{η_0 + W} = 10/τ for the matrix estimand."""
    from reduce.estimation.ode_kernels import CAP_WIDTH, log_rate_cap

    eta0 = np.log(10.0)
    for eta in (-30.0, 0.0, eta0):
        assert log_rate_cap(eta, eta0) == (eta, 1.0)
    for eta in (eta0 + 0.01, eta0 + 1.0, eta0 + 50.0):
        v, d = log_rate_cap(eta, eta0)
        assert eta0 < v <= eta0 + CAP_WIDTH
        h = 1e-6
        fd = (log_rate_cap(eta + h, eta0)[0] - log_rate_cap(eta - h, eta0)[0]) / (2 * h)
        assert d == pytest.approx(fd, rel=1e-6)
    # second order at eta0: cap(eta0 + h) - (eta0 + h) = O(h^3)
    h = 1e-2
    assert abs(log_rate_cap(eta0 + h, eta0)[0] - (eta0 + h)) < h**3


def test_capped_rates_in_the_ode_jacobian():
    """Matrix estimand at lag 0.1 ms: η_0 = ln(1/τ) = ln 10. One transition's intercept set
    above the cap (η_0 + 0.5, then η_0 + 50): the ODE's flow on it is x_a e^{cap(η)}, so its
    rate saturates below 10/τ = 100 per ms; the analytic Jacobian (with the saturation factor)
    equals finite differences above the cap."""
    m = _kick_model()
    assert m.estimand == "matrix" and m.lag == pytest.approx(0.1)
    eta0 = np.log(1.0 / m.lag)
    c = m._col("E", 0, 1)
    x = m.x0()
    out = []
    for above in (0.5, 50.0):
        coef = np.array(m.coef)
        zf = m._z({})
        coef[c, 0] += eta0 + above - float(m._eta(m.coef, c, zf))  # η = η_0 + above at x0
        mc = m._with_coef(coef)
        ode = mc.ode()
        np.testing.assert_allclose(ode.jacobian(x), ode.fd_jacobian(x), rtol=1e-6, atol=1e-6)
        # dx_0/dt with and without the 0 -> 1 flow: its rate = (difference) / x_0
        coef0 = np.array(coef)
        coef0[c, 0] = -700.0
        diff = ode.rhs(x)[0] - mc._with_coef(coef0).ode().rhs(x)[0]
        out.append(-diff / x[0])
    assert np.exp(eta0) < out[0] < out[1] <= np.exp(eta0 + np.log(10.0)) * (1 + 1e-12)


def test_one_step_check_correct_model_and_negative_control(snap_traj):
    """Correctly specified (constant rates fitted to constant-rate chains): Σ C = Σ μ exactly
    (the Poisson MLE with an intercept reproduces the total count of every transition), the
    per-step dispersion equals its binomial reference 1 − Σμ P/Σμ within 0.08 (6000 samples;
    the SE of a ratio of sums of squared residuals is ~0.02), and summing over 10 samples does
    not change it by more than 0.2 (600 windows: SE ≈ sqrt(2/600) ≈ 0.06, 3 SE). Negative
    control: the same constant-rate fit on chains whose rates follow a slow feature
    (±40 % over 31 ms) leaves a bias that persists in time, so the 10-sample dispersion
    exceeds the one-step value by far more than that."""
    from reduce.estimation.validation import one_step_check

    m = _quiet(TransitionRateEstimator("trajectory", lag=0.1).fit, [snap_traj]).fetch_model()
    chk = one_step_check(snap_traj, m, "E")
    assert chk["mean_observed"] == pytest.approx(chk["mean_predicted"], rel=1e-9)
    d = chk["dispersion"]
    assert abs(d[1] - chk["binomial_reference"]) < 0.08, chk
    assert abs(d[10] - d[1]) < 0.2, chk
    b = np.zeros((3, 3))
    b[0, 2], b[1, 2] = 0.8, 0.8
    tr = synthetic_trajectory({"E": loglinear_generator(A3, b)}, {"E": 200}, 600.0,
                              record_dt=0.1, seed=21,
                              feature=lambda t: 0.5 * np.sin(2 * np.pi * t / 31.0))
    m2 = _quiet(TransitionRateEstimator("trajectory").fit, [tr]).fetch_model()
    d2 = one_step_check(tr, m2, "E")["dispersion"]
    assert d2[10] > d2[1] + 0.5, d2
    # and the model with the feature removes the bias
    m3 = _quiet(TransitionRateEstimator("trajectory", features=["kick_mean/EE"]).fit,
                [tr]).fetch_model()
    d3 = one_step_check(tr, m3, "E", by="kick_mean/EE")
    assert abs(d3["dispersion"][10] - d3["dispersion"][1]) < 0.2, d3


def test_step_vs_continuous_on_a_constant_rate_chain(snap_traj):
    """Constant rates (P ≤ 0.1 per step): the step prediction equals ``one_step_check``'s
    (observed / predicted identical, every sample used), and the continuous chain's one-step
    spikes are below the step's by O(P): expm(τQ)_aR = P_aR (1 − s_a/2 + …) + paths through
    other states, so the ratio lies in (1 − max_a s_a, 1 + max_a s_a)."""
    from reduce.estimation.validation import one_step_check, step_vs_continuous

    m = _quiet(TransitionRateEstimator("trajectory").fit, [snap_traj]).fetch_model()
    chk = one_step_check(snap_traj, m, "E")
    d = step_vs_continuous(snap_traj, m, "E", every=1)
    assert d["observed_over_step_all"] == pytest.approx(
        chk["mean_observed"] / chk["mean_predicted"], rel=1e-9)
    P = m.transition_matrix("E")
    s_max = float((P.sum(axis=1) - np.diag(P)).max())
    assert 1 - s_max < d["continuous_over_step_all"] < 1 + s_max
    assert d["share_of_neuron_steps_s_gt_1"] == 0.0
