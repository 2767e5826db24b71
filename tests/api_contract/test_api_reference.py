"""The API reference is generated from docstrings: every public module, class and function has
one, and every binding name of design.md appears in the generated pages.

``docs/generate_api.py`` walks the four packages; this test uses its collector, so a public name
(module, class, function or method) added without a docstring fails here, and so does a
committed ``docs/api/`` that no longer matches the docstrings (regenerate with
``python docs/generate_api.py``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("generate_api", ROOT / "docs" / "generate_api.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["generate_api"] = mod   # dataclasses need their module registered
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def collected(generator):
    return generator.collect()


def test_every_public_module_class_function_and_method_has_a_docstring(generator, collected):
    missing = generator.missing_docstrings(collected, methods=True)
    assert not missing, "no docstring: " + ", ".join(missing)


def test_the_committed_reference_is_current(generator, collected):
    pages = generator.render_all(collected)
    stale = [name for name, text in pages.items()
             if not (generator.API_DIR / name).exists()
             or (generator.API_DIR / name).read_text() != text]
    assert not stale, f"docs/api is stale ({stale}); run python docs/generate_api.py"


def test_binding_names_are_in_the_reference(generator, collected):
    pages = generator.render_all(collected)
    text = "\n".join(pages.values())
    for name in ("MarkovIFNetwork", "Trajectory", "PopulationActivity", "MarkovApproximation",
                 "TransitionRateEstimator", "ODESystem", "Branch", "CycleBranch",
                 "continue_equilibria", "continue_codim2", "continue_cycles", "OrbitGuess",
                 "attractor_census", "run_case"):
        assert f"`{name}" in text or f".{name}" in text, name


def test_the_generator_detects_a_missing_docstring(generator):
    mod = generator.ModuleDoc("pkg.mod", "doc", [
        generator.Entry("f", "function", "()", ""),
        generator.Entry("C", "class", "()", "doc", [generator.Entry("C.m", "method", "()", "")]),
    ])
    assert generator.missing_docstrings({"pkg": [mod]}) == ["pkg.mod.f", "pkg.mod.C.m"]
    assert generator.missing_docstrings({"pkg": [mod]}, methods=False) == ["pkg.mod.f"]
