"""Markov IF engine: recording layout, reproducibility, streaming, bad input (fast tests)."""

import numpy as np
import pytest

import simulate
from simulate import ParameterError, Trajectory
from simulate.markov_if.engine import default_hist_edges

METHODS = ["fixed-step", "tau-leap", "exact"]


def _run(method, t_end=100.0, seed=0, **kw):
    params = kw.pop("params", {})
    voltages = kw.pop("voltages", "real")
    net = simulate.MarkovIFNetwork(method=method, voltages=voltages, **params)
    return net.run(t_end=t_end, seed=seed, progress=False, **kw)


def test_default_edges_are_the_ma_layout():
    e = default_hist_edges()
    assert e[0] == -66.0 and e[1] == -36.0 and e[-1] == 100.0
    assert np.allclose(np.diff(e[1:]), 4.0)
    assert len(e) - 1 == 35          # models.md §2: 35 bins


@pytest.mark.parametrize("method", METHODS)
def test_layout_and_conservation(method):
    tr = _run(method, t_end=60.0, coarse=True)
    N = {"E": 300, "I": 100}
    T = len(tr["samples/t"])
    assert T == 61 and np.allclose(tr["samples/t"], np.arange(61.0))
    assert len(tr["rate/t"]) == 600 and np.isclose(tr.meta["rate_dt"], 0.1)
    for q in ("E", "I"):
        h = tr[f"samples/hist/{q}"]
        assert h.shape == (T, 35)
        # every neuron is either in a voltage bin or refractory, at every sample
        assert np.all(h.sum(1) + tr[f"samples/refractory/{q}"] == N[q])
        assert np.array_equal(tr[f"bins/{q}"], default_hist_edges())
    # the rate arrays count exactly the recorded spikes
    # (fixed-step methods stamp a spike with the end of its step, (k+1)*dt, and count it in
    # the rate bin of the step [k*dt, (k+1)*dt))
    st, si = tr["spikes/t"], tr["spikes/i"]
    inside = (st <= 60.0) if method != "exact" else (st < 60.0)
    assert tr["rate/E"].sum() == np.sum((si < 300) & inside)
    assert tr["rate/I"].sum() == np.sum((si >= 300) & inside)
    for pw in ("EE", "EI", "IE", "II"):
        assert tr[f"samples/kick_mean/{pw}"].shape == (T,)
        assert np.all(tr[f"samples/kick_var/{pw}"] >= 0)
    # coarse state agrees with the histogram
    c = tr["coarse"]
    assert c.shape == (T, 400) and c.dtype == np.int16
    for k in (0, T // 2, T - 1):
        assert np.array_equal(np.bincount(c[k, :300], minlength=36)[:35], tr["samples/hist/E"][k])
        assert np.sum(c[k, :300] == 35) == tr["samples/refractory/E"][k]
    for key in ("method", "dt", "voltages", "rate_dt", "record_dt", "compile_s", "wall_s"):
        assert key in tr.meta
    assert tr.meta["method"] == method
    # initial condition: V uniform in [0, M): all in the bins from 0 to 100, nobody refractory
    assert tr["samples/refractory/E"][0] == 0
    assert tr["samples/hist/E"][0][:9].sum() == 0


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_same_trajectory_and_chunking_invariance(method):
    a = _run(method, t_end=80.0, seed=7)
    b = _run(method, t_end=80.0, seed=7, chunk_ms=13.0 if method == "exact" else 1.3)
    c = _run(method, t_end=80.0, seed=8)
    assert sorted(a.arrays) == sorted(b.arrays)
    for k in a.arrays:
        assert np.array_equal(a[k], b[k]), k
    assert not np.array_equal(a["spikes/t"], c["spikes/t"])


@pytest.mark.parametrize("method", ["fixed-step", "exact"])
def test_streaming_to_file_equals_memory(tmp_path, method):
    path = tmp_path / "run.h5"
    mem = _run(method, t_end=70.0, seed=3, coarse=True)
    light = _run(method, t_end=70.0, seed=3, coarse=True, out=path, chunk_ms=9.0
                 if method == "exact" else 0.9)
    assert path.exists() and not list(tmp_path.glob("*.tmp"))
    assert "spikes/t" not in light and "rate/E" in light
    assert light.rates_hz == pytest.approx(mem.rates_hz)
    full = Trajectory.load(path)
    assert sorted(full.arrays) == sorted(mem.arrays)
    for k in mem.arrays:
        assert np.array_equal(mem[k], full[k]), k
    assert full.meta["method"] == method
    everything = _run(method, t_end=70.0, seed=3, out=tmp_path / "b.h5", load="all")
    assert "spikes/t" in everything
    nothing = _run(method, t_end=70.0, seed=3, out=tmp_path / "c.h5", load="none")
    assert nothing.arrays == {} and nothing.meta["out"] == str(tmp_path / "c.h5")


def test_event_log_replays_the_coarse_samples():
    tr = _run("exact", t_end=20.0, seed=2, coarse=True, events=True)
    c = tr["coarse"]
    state = c[0].astype(np.int64).copy()
    et, ei, ef, eto = tr["events/t"], tr["events/i"], tr["events/from"], tr["events/to"]
    assert np.all(np.diff(et) >= 0)
    k = 1
    for n in range(len(et)):
        while k < len(c) and et[n] > tr["samples/t"][k]:
            assert np.array_equal(state, c[k]), k
            k += 1
        assert state[ei[n]] == ef[n]
        assert ef[n] != eto[n]
        state[ei[n]] = eto[n]
    assert k >= len(c) - 1


@pytest.mark.parametrize("method", METHODS)
def test_other_topologies_and_options(method):
    tr = _run(method, t_end=50.0, params={"topology": "two-assembly", "n_e": 100, "n_i": 50,
                                          "p_ee_x": 0.1, "s_ee_x": 0.5})
    assert tr.populations == ["E1", "E2", "I"]
    assert "samples/kick_mean/E2E1" in tr and "rate/E2" in tr
    assert set(tr.rates_hz) >= {"E1", "E2", "I", "E"}
    fixed = _run(method, t_end=50.0, params={"connectivity": "fixed", "conn_seed": 3})
    assert fixed.rates_hz["E"] > 0
    leak = _run(method, t_end=50.0, params={"tau_m": 20.0})
    assert leak.rates_hz["E"] >= 0


def test_integer_voltages_stay_integer():
    """Drive the event kernel directly and inspect its voltages (engine internals)."""
    from simulate.markov_if.engine import _initial_state
    from simulate.markov_if.kernels_exact import ExactState

    net = simulate.MarkovIFNetwork(method="exact", voltages="integer")
    spec = net.spec
    st = _initial_state(spec, "integer", 3)
    ks = ExactState(spec, st["V"], st["pop"], st["conn"], 3, True)
    edges = default_hist_edges()
    P = spec.n_pop
    counts = np.zeros((400, P), np.int64)
    buf = lambda *shape, dt=float: np.zeros(shape, dt)
    status = 1
    while status != 0:
        status, *_ = ks.advance(
            30.0, 0, 0.1, counts, 1, 0, 0, 1.0, edges, buf(1, P, 35, dt=np.int32),
            buf(1, P, dt=np.int32), buf(1, P * P), buf(1, P * P), False, edges,
            buf(1, 1, dt=np.int16), buf(100000), buf(100000, dt=np.int64), False, buf(1),
            buf(1, dt=np.int64), buf(1, dt=np.int16), buf(1, dt=np.int16))
        if status == 2:
            ks.grow()
    assert counts.sum() > 100                     # the network fired
    assert np.all(ks.V == np.round(ks.V))         # every voltage is an integer
    assert ks.V.min() >= -spec.M_r and ks.V.max() < spec.M
    assert np.any(ks.V < 0)                       # inhibition (rounded) acted


@pytest.mark.parametrize("kw, match", [
    ({"rate_dt": 0.15}, "rate_dt"),
    ({"record_dt": 0.25}, "record_dt"),
    ({"rate_dt": -1.0}, "rate_dt"),
    ({"events": True}, "events"),
    ({"hist_edges": [0.0, 50.0, 100.0]}, "hist_edges"),
    ({"hist_edges": [-66.0, 10.0, 5.0, 100.0]}, "hist_edges"),
    ({"load": "some"}, "load"),
])
def test_bad_recording_options(kw, match):
    with pytest.raises(ParameterError, match=match):
        _run("fixed-step", t_end=10.0, **kw)


def test_bad_run_arguments(tmp_path):
    net = simulate.MarkovIFNetwork()
    with pytest.raises(ParameterError, match="t_end"):
        net.run(t_end=-5.0, seed=0)
    with pytest.raises(ParameterError, match="t_end"):
        net.run(t_end=10.03, seed=0, progress=False)
    with pytest.raises(ParameterError, match="seed"):
        net.run(t_end=10.0, seed=-1, progress=False)
    with pytest.raises(ParameterError, match="integer"):
        simulate.MarkovIFNetwork(voltages="integer").run(t_end=10.0, seed=0)
    with pytest.raises(ParameterError, match="tau_m"):
        simulate.MarkovIFNetwork(method="exact", tau_m=10.0).run(t_end=10.0, seed=0,
                                                                 events=True)
    missing = tmp_path / "nope" / "run.h5"
    with pytest.raises(ParameterError, match="does not exist"):
        net.run(t_end=10.0, seed=0, out=missing, progress=False)
    assert not (tmp_path / "nope").exists()
    with pytest.raises(ParameterError):
        net.run(t_end=10.0, seed=0, out=tmp_path / "x.h5", progress=False, rate_dt=0.15)
    assert list(tmp_path.iterdir()) == []


def test_failure_during_the_run_leaves_no_file(tmp_path, monkeypatch):
    from simulate.markov_if import engine

    def boom(*args, **kwargs):
        raise RuntimeError("kernel failed")

    monkeypatch.setattr(engine, "_run_stepped", boom)
    with pytest.raises(RuntimeError):
        simulate.MarkovIFNetwork().run(t_end=10.0, seed=0, out=tmp_path / "x.h5",
                                       progress=False)
    assert list(tmp_path.iterdir()) == []


def test_seed_none_is_recorded():
    tr = _run("fixed-step", t_end=5.0, seed=None)
    assert isinstance(tr.seed, int)


def test_exact_buffer_refills_do_not_change_results():
    # one 300-ms chunk overflows the spike buffer (4096) and the event buffer (2**18)
    # (status 1: flush and continue); the result must equal a finely chunked run
    a = _run("exact", t_end=300.0, seed=9, events=True, chunk_ms=300.0)
    b = _run("exact", t_end=300.0, seed=9, events=True, chunk_ms=7.0)
    assert len(a["spikes/t"]) > 4096 and len(a["events/t"]) > 2 * 2**18
    for k in a.arrays:
        assert np.array_equal(a[k], b[k]), k
