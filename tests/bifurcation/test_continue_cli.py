"""``snnreduce continue`` on a user's own module (a Brusselator: Hopf at B = 1 + A^2)."""

import json
import textwrap

import numpy as np

from case_studies.cli.main import main

MODEL = textwrap.dedent('''
    import numpy as np
    from bifurcation import ODESystem

    def bruss(x, p):
        A, B = p
        return np.array([A - (B + 1) * x[0] + x[0] ** 2 * x[1], B * x[0] - x[0] ** 2 * x[1]])

    def make():
        return ODESystem(bruss, 2, {"A": 1.0, "B": 1.5})
''')


def test_continue_cli_json_out_plot(tmp_path, capsys):
    mod = tmp_path / "mymodel.py"
    mod.write_text(MODEL)
    out, png = tmp_path / "b.h5", tmp_path / "d.png"
    rc = main(["continue", "--system", f"{mod}:make", "--param", "B", "--bounds", "0.5", "4",
               "--set", "A=1.5", "--set", "B=2.0", "--x0", "1.5", "1.3", "--codim2", "A", "1",
               "2", "--out", str(out), "--plot", str(png), "--json"])
    assert rc == 0
    s = json.loads(capsys.readouterr().out)
    (hb,) = s["branch"]["special_points"]
    assert hb["kind"] == "HB" and abs(hb["params"]["B"] - (1 + 1.5 ** 2)) < 1e-6
    assert abs(hb["omega"] - 1.5) < 1e-6
    curve = s["curve"]
    assert curve["kind"] == "HB-curve" and curve["success"]
    assert out.exists() and png.stat().st_size > 1000
    from bifurcation.io import load_branch
    c = load_branch(s["out"][1])
    np.testing.assert_allclose(c.params["B"], 1 + c.params["A"] ** 2, rtol=1e-8)


def test_continue_cli_integrates_for_a_guess_and_reports_errors(tmp_path, capsys):
    mod = tmp_path / "m2.py"
    mod.write_text(MODEL)
    rc = main(["continue", "--system", f"{mod}:make", "--param", "B", "--bounds", "0.5", "4",
               "--t-integrate", "50"])
    assert rc == 0
    assert "HB" in capsys.readouterr().out
    assert main(["continue", "--system", f"{mod}:make", "--param", "C", "--bounds", "0",
                 "1"]) == 2
    assert "not a parameter" in capsys.readouterr().err
    assert main(["continue", "--system", f"{mod}:nothing", "--param", "B", "--bounds", "0",
                 "1"]) == 2
    assert main(["continue", "--system", f"{mod}:make", "--param", "B", "--bounds", "0",
                 "4", "--opt", "dss=1"]) == 2
    assert "unknown continuation setting" in capsys.readouterr().err
