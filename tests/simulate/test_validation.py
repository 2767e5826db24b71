"""Parameter validation: every error names the parameter, the value and the valid range."""

from __future__ import annotations

import math

import pytest

from simulate.validation import (
    ParameterError,
    check_choice,
    check_known,
    check_number,
    check_positive_int,
    check_probability,
)


def test_check_number_accepts_and_converts():
    assert check_number("lam", 7, 0.0, 100.0) == 7.0
    assert isinstance(check_number("n", 3.0, 1, integer=True), int)
    assert check_number("x", 0.0, 0.0) == 0.0                     # closed bound included


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"value": 1.5, "lo": 0.0, "hi": 1.0}, r"p = 1.5 is outside the valid range \[0, 1\]"),
        ({"value": 0.0, "lo": 0.0, "lo_open": True}, r"p = 0 is outside the valid range \(0, inf"),
        ({"value": 2.0, "hi": 2.0, "hi_open": True}, r"\(-inf, 2\)"),
        ({"value": math.nan}, "not finite"),
        ({"value": math.inf, "lo": 0.0}, "not finite"),
        ({"value": "abc", "lo": 0.0}, "'abc' is not a number"),
        ({"value": None}, "is not a number"),
        ({"value": True}, "is not a number"),
        ({"value": 2.5, "lo": 1, "integer": True}, "whole number"),
    ],
)
def test_check_number_rejects(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        check_number("p", **kwargs)


def test_check_number_unit_hint_and_suspicious():
    with pytest.raises(ParameterError, match="ms; try a positive value"):
        check_number("tau", -1.0, 0.0, unit="ms", hint="try a positive value")
    with pytest.raises(ParameterError, match="looks like the wrong unit .*per ms"):
        check_number("lam", 7000.0, 0.0, suspicious_above=1000.0,
                     suspicious_hint="lam is in kicks per ms")


def test_parameter_error_is_value_error():
    assert issubclass(ParameterError, ValueError)


def test_probability_and_positive_int():
    assert check_probability("p_ei", 1.0) == 1.0
    with pytest.raises(ParameterError, match=r"p_ei = -0.1 .*\[0, 1\]"):
        check_probability("p_ei", -0.1)
    assert check_positive_int("n_e", 300) == 300
    with pytest.raises(ParameterError, match=r"n_e = 0 .*\[1, inf\)"):
        check_positive_int("n_e", 0)
    with pytest.raises(ParameterError, match=r"\[2, 5\]"):
        check_positive_int("k", 6, lo=2, hi=5)


def test_check_choice():
    assert check_choice("method", "exact", ("exact", "fixed-step")) == "exact"
    msg = "method = 'euler' is not one of 'exact', 'fixed-step'"
    with pytest.raises(ParameterError, match=msg):
        check_choice("method", "euler", ("exact", "fixed-step"))


def test_check_known_suggests():
    check_known({"p_ei": 1}, ["p_ei", "p_ee"], "MarkovIFNetwork")
    with pytest.raises(ParameterError, match="unknown parameter 'p_ie_' .*did you mean 'p_ie'"):
        check_known({"p_ie_": 1}, ["p_ei", "p_ie"], "MarkovIFNetwork")
    with pytest.raises(ParameterError, match="Known parameters: a, b"):
        check_known(["zzz"], ["b", "a"], "X")
