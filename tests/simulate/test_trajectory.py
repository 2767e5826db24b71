"""Trajectory files: roundtrip, atomic writes, refusal of damaged/foreign/newer files, rates."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from simulate.activity import PopulationActivity, as_activity
from simulate.trajectory import (
    FORMAT_NAME,
    FORMAT_VERSION,
    Trajectory,
    TrajectoryFileError,
    TrajectoryWriter,
)
from simulate.validation import ParameterError

DT = 0.5


def make_traj(t_end=1000.0, pops=("E", "I"), sizes=None, per_bin=None, spikes=True):
    sizes = sizes or {"E": 300, "I": 100}
    per_bin = per_bin or {"E": 3.0, "I": 2.0}
    k = int(t_end / DT)
    arrays = {"rate/t": np.arange(k) * DT}
    for q in pops:
        arrays[f"rate/{q}"] = np.full(k, per_bin[q])
    if spikes:
        arrays["spikes/t"] = np.array([1.0, 2.5, 7.0])
        arrays["spikes/i"] = np.array([0, 310, 5], dtype=np.int32)
    arrays["samples/hist/E"] = np.arange(12.0).reshape(3, 4)
    return Trajectory("markov-if", {"p_ei": 0.8, "method": "fixed-step"}, 7, list(pops),
                      sizes, t_end, arrays, {"rate_dt": DT, "dt": 0.1})


def test_save_load_roundtrip(tmp_path):
    tr = make_traj()
    path = tr.save(tmp_path / "run.h5")
    back = Trajectory.load(path)
    assert back.model == "markov-if" and back.seed == 7 and back.t_end == 1000.0
    assert back.params == tr.params and back.sizes == tr.sizes
    assert back.populations == ["E", "I"] and back.meta["rate_dt"] == DT
    assert back.format_version == FORMAT_VERSION
    assert set(back.arrays) == set(tr.arrays)
    for name in tr.arrays:
        np.testing.assert_array_equal(back[name], tr[name])
    assert back.rates_hz == tr.rates_hz
    assert not [p for p in tmp_path.iterdir() if p.name != "run.h5"], "temporary file left"


def test_seed_none_roundtrip(tmp_path):
    tr = make_traj()
    tr.seed = None
    assert Trajectory.load(tr.save(tmp_path / "a.h5")).seed is None


def test_rates_hz_closed_form_and_t_burn():
    # E: 3 spikes per 0.5-ms bin over 300 neurons = 1000·3/(300·0.5) = 20 Hz; I: 40 Hz
    tr = make_traj()
    assert tr.rates_hz == pytest.approx({"E": 20.0, "I": 40.0})
    # a step in the E count after 200 ms: t_burn decides what is averaged
    tr.arrays["rate/E"] = np.where(tr["rate/t"] < 200.0, 30.0, 3.0)
    assert tr.rates_hz["E"] == pytest.approx(20.0)
    tr.t_burn = 0.0
    assert tr.rates_hz["E"] == pytest.approx(0.2 * 200.0 + 0.8 * 20.0)
    # t_burn beyond the end falls back to the whole run (documented in summary())
    tr.t_burn = 5000.0
    assert tr.summary()["t_burn"] == 0.0


def test_e_key_for_two_assemblies():
    sizes = {"E1": 100, "E2": 200, "I": 100}
    tr = make_traj(pops=("E1", "E2", "I"), sizes=sizes,
                   per_bin={"E1": 1.0, "E2": 4.0, "I": 1.0}, spikes=False)
    r = tr.rates_hz
    assert r["E1"] == pytest.approx(20.0) and r["E2"] == pytest.approx(40.0)
    # all excitatory neurons: 5 spikes per bin over 300 neurons
    assert r["E"] == pytest.approx(1000.0 * 5.0 / (300 * DT))
    assert tr.offsets == {"E1": 0, "E2": 100, "I": 300}


def test_activity_view():
    tr = make_traj()
    act = as_activity(tr)
    assert isinstance(act, PopulationActivity)
    assert act.dt == DT and act.sizes == {"E": 300, "I": 100}
    ts, ids, off = act.spikes
    assert off == {"E": 0, "I": 300} and list(ids) == [0, 310, 5]


def test_writer_is_atomic_on_exception(tmp_path):
    target = tmp_path / "out.h5"
    with pytest.raises(RuntimeError):
        with TrajectoryWriter(target, make_traj()._attrs()) as w:
            w.append("samples/t", np.arange(5.0))
            raise RuntimeError("simulated crash")
    assert list(tmp_path.iterdir()) == []


def test_writer_does_not_replace_existing_file_on_failure(tmp_path):
    target = tmp_path / "out.h5"
    make_traj().save(target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError):
        with TrajectoryWriter(target, {}) as w:
            w.write("x", np.zeros(3))
            raise RuntimeError("boom")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.h5"]


def test_writer_streams_appends(tmp_path):
    tr = make_traj()
    with TrajectoryWriter(tmp_path / "s.h5", tr._attrs()) as w:
        for k in range(4):
            w.append("samples/t", np.arange(3.0) + 3 * k)
            w.append("samples/hist/E", np.ones((3, 2)) * k)
        w.write("rate/t", tr["rate/t"])
        w.write("rate/E", tr["rate/E"])
        w.write("rate/I", tr["rate/I"])
    back = Trajectory.load(tmp_path / "s.h5")
    np.testing.assert_array_equal(back["samples/t"], np.arange(12.0))
    assert back["samples/hist/E"].shape == (12, 2)
    assert back.rates_hz == pytest.approx({"E": 20.0, "I": 40.0})


def test_writer_bad_folder(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        TrajectoryWriter(tmp_path / "missing" / "x.h5")


def test_missing_file(tmp_path):
    with pytest.raises(TrajectoryFileError, match="no trajectory file"):
        Trajectory.load(tmp_path / "nope.h5")


def test_damaged_file(tmp_path):
    p = tmp_path / "bad.h5"
    p.write_bytes(b"this is not hdf5 at all" * 10)
    with pytest.raises(TrajectoryFileError):
        Trajectory.load(p)
    # a truncated real file
    good = make_traj().save(tmp_path / "good.h5")
    data = good.read_bytes()
    (tmp_path / "trunc.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(TrajectoryFileError):
        Trajectory.load(tmp_path / "trunc.h5")


def test_foreign_hdf5_file(tmp_path):
    p = tmp_path / "foreign.h5"
    with h5py.File(p, "w") as f:
        f["data"] = np.arange(3)
        f.attrs["format"] = "something-else"
    with pytest.raises(TrajectoryFileError, match="not a snnreduce trajectory"):
        Trajectory.load(p)


def test_newer_version_refused(tmp_path):
    p = make_traj().save(tmp_path / "v.h5")
    with h5py.File(p, "a") as f:
        f.attrs["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(TrajectoryFileError, match="version"):
        Trajectory.load(p)


def test_missing_attribute_is_damaged(tmp_path):
    p = make_traj().save(tmp_path / "m.h5")
    with h5py.File(p, "a") as f:
        del f.attrs["params"]
    with pytest.raises(TrajectoryFileError, match="damaged"):
        Trajectory.load(p)
    with h5py.File(p, "a") as f:
        f.attrs["params"] = "{not json"
        assert f.attrs["format"] == FORMAT_NAME
    with pytest.raises(TrajectoryFileError):
        Trajectory.load(p)


def test_summary_is_json():
    s = make_traj().summary()
    json.dumps(s)
    assert s["rates_hz"] == pytest.approx({"E": 20.0, "I": 40.0}) and s["t_burn"] == 200.0


def test_getitem_names_available_arrays():
    with pytest.raises(KeyError, match="rate/E"):
        make_traj()["rate/X"]


def test_streamed_datasets_have_large_chunks(tmp_path):
    # ~1 MiB chunks: 1-d float64 -> min(65536, 2^20/8) rows; rows of 4·70 bytes -> 3744 rows.
    # (Regression: `1 << 20 // n` parsed as 1 << (20 // n) gave 1-4 row chunks.)
    with TrajectoryWriter(tmp_path / "c.h5", make_traj()._attrs()) as w:
        w.append("samples/t", np.arange(3.0))
        w.append("samples/hist/E", np.zeros((2, 70), np.float32))
    with h5py.File(tmp_path / "c.h5", "r") as f:
        assert f["samples/t"].chunks[0] == 65536
        assert f["samples/hist/E"].chunks[0] == (1 << 20) // 280
