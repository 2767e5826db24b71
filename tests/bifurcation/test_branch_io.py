"""Branch save/load round trip, damaged/foreign files, and plotting of diagrams."""

import h5py
import matplotlib
import numpy as np
import pytest

from bifurcation import ODESystem, continue_codim2, continue_equilibria
from bifurcation.io import BranchFileError, load_branch, save_branch
from bifurcation.plotting import plot_branch

matplotlib.use("Agg")


def brusselator(x, p):  # module level: picklable
    A, B = p
    return np.array([A - (B + 1) * x[0] + x[0] ** 2 * x[1], B * x[0] - x[0] ** 2 * x[1]])


def rate(x, p):
    return x[0] * x[1]


@pytest.fixture(scope="module")
def branches():
    sys = ODESystem(brusselator, 2, {"A": 1.0, "B": 1.5}, outputs={"xy": rate},
                    state_names=["X", "Y"])
    br = continue_equilibria(sys, [1.0, 1.5], "B", (0.5, 4.0))
    curve = continue_codim2(br.points("HB")[0], ("A", "B"), {"A": (0.5, 2), "B": (0, 6)})
    return br, curve


def test_round_trip(tmp_path, branches):
    for br in branches:
        path = save_branch(br, tmp_path / f"{br.kind}.h5")
        back = load_branch(path)
        assert back.kind == br.kind and back.param == br.param
        assert back.status == br.status and back.message == br.message
        np.testing.assert_array_equal(back.states, br.states)
        np.testing.assert_array_equal(back.eigenvalues, br.eigenvalues)
        np.testing.assert_array_equal(back.stable, br.stable)
        for k in br.params:
            np.testing.assert_array_equal(back.params[k], br.params[k])
        for k in br.outputs:
            np.testing.assert_array_equal(back.outputs[k], br.outputs[k])
        assert [s.kind for s in back.special_points] == [s.kind for s in br.special_points]
        for s0, s1 in zip(br.special_points, back.special_points):
            assert s1.params == s0.params and s1.branch is back
            np.testing.assert_array_equal(s1.x, s0.x)
            for k, v in s0.data.items():
                if isinstance(v, np.ndarray):
                    np.testing.assert_array_equal(s1.data[k], v)
        assert [e.reason for e in back.endpoints] == [e.reason for e in br.endpoints]
        assert back.data["system_restored"] is True
        # the restored system works: the loaded HB point starts a new computation
        np.testing.assert_allclose(back.system.rhs(back.states[3], back.system.param_vector(
            **{k: v[3] for k, v in back.params.items()})), 0, atol=1e-9)
    hb = load_branch(tmp_path / "EP.h5").points("HB")[0]
    assert abs(hb.data["omega"] - 1.0) < 1e-9 and np.iscomplexobj(hb.data["q"])
    curve = continue_codim2(hb, ("A", "B"), {"A": (0.8, 1.2), "B": (0, 6)})
    np.testing.assert_allclose(curve.params["B"], 1 + curve.params["A"] ** 2, rtol=1e-9)


def test_unpicklable_system_gets_placeholder(tmp_path):
    sys = ODESystem(lambda x, p: np.array([p[0] - x[0] ** 2]), 1, {"m": 1.0})
    br = continue_equilibria(sys, [1.0], "m", (0.5, 2.0))
    back = load_branch(save_branch(br, tmp_path / "b.h5"))
    assert back.data["system_restored"] is False
    np.testing.assert_array_equal(back.states, br.states)
    with pytest.raises(RuntimeError, match="could not be restored"):
        back.system.rhs(np.zeros(1), np.ones(1))


def test_foreign_and_damaged_files(tmp_path):
    p = tmp_path / "foreign.h5"
    with h5py.File(p, "w") as f:
        f.attrs["format"] = "something-else"
    with pytest.raises(BranchFileError, match="not a branch file"):
        load_branch(p)
    q = tmp_path / "junk.h5"
    q.write_bytes(b"not hdf5 at all")
    with pytest.raises(BranchFileError, match="not a readable HDF5"):
        load_branch(q)
    r = tmp_path / "future.h5"
    with h5py.File(r, "w") as f:
        f.attrs["format"] = "snnreduce.branch"
        f.attrs["format_version"] = 99
    with pytest.raises(BranchFileError, match="version 99"):
        load_branch(r)
    with pytest.raises(FileNotFoundError):
        load_branch(tmp_path / "missing.h5")


def test_plots(tmp_path, branches):
    br, curve = branches
    ax = plot_branch(br, y="X")
    styles = {ln.get_linestyle() for ln in ax.get_lines() if len(ln.get_xdata()) > 1}
    assert styles == {"-", "--"}  # stable solid, unstable dashed
    assert [t.get_text() for t in ax.texts] == ["HB"]
    plot_branch(br, y="xy", ax=ax)
    ax2 = plot_branch(curve)
    assert ax2.get_xlabel() == "A" and ax2.get_ylabel() == "B"
    ax2.figure.savefig(tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_cycle_branch_round_trip_and_plot(tmp_path):
    """A CycleBranch (as the cycles module builds it) saves, loads and plots as an envelope."""
    from bifurcation import CycleBranch

    sys = ODESystem(brusselator, 2, {"A": 1.0, "B": 2.0}, state_names=["X", "Y"])
    N = 6
    B = np.linspace(2.0, 2.5, N)
    t = np.linspace(0, 2 * np.pi, 21)
    orbits = [(t * (1 + 0.1 * i), np.c_[1 + 0.1 * i * np.cos(t), 2 + 0.1 * i * np.sin(t)])
              for i in range(N)]
    k = np.arange(N)
    cyc = CycleBranch("PO", sys, "B", {"A": np.ones(N), "B": B}, np.c_[np.ones(N), B],
                      np.ones(N, bool), np.ones((N, 2), complex),
                      periods=2 * np.pi * (1 + 0.1 * k), multipliers=np.ones((N, 2), complex),
                      state_min=np.c_[1 - 0.1 * k, B], state_max=np.c_[1 + 0.1 * k, B],
                      amplitude=0.2 * k, orbits=orbits)
    back = load_branch(save_branch(cyc, tmp_path / "po.h5"))
    assert isinstance(back, CycleBranch)
    np.testing.assert_array_equal(back.periods, cyc.periods)
    np.testing.assert_array_equal(back.orbit(3)[1], cyc.orbit(3)[1])
    ax = plot_branch(back, y="X")
    assert len([ln for ln in ax.get_lines() if len(ln.get_xdata()) > 1]) == 2  # min and max
    plot_branch(back, y="period", ax=ax)
