"""Parameter validation at the boundary of the toolkit.

Every public constructor checks its parameters with these helpers, so that bad input gives an
error that names the parameter, the value and the valid range, never a silent NaN later on.

Examples
--------
>>> check_number("lam", 7.0, lo=0.0, lo_open=True, hi=100.0)
7.0
>>> check_number("p_ei", 1.5, lo=0.0, hi=1.0)
Traceback (most recent call last):
...
simulate.validation.ParameterError: p_ei = 1.5 is outside the valid range [0, 1]
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping

__all__ = [
    "ParameterError",
    "check_number",
    "check_probability",
    "check_choice",
    "check_known",
    "check_positive_int",
]


class ParameterError(ValueError):
    """A parameter value outside its valid range, of the wrong type, or unknown."""


def _fmt(v: float) -> str:
    if v == math.inf:
        return "inf"
    if v == -math.inf:
        return "-inf"
    return f"{v:g}"


def _range_text(lo, hi, lo_open, hi_open) -> str:
    left = "(" if (lo_open or lo is None) else "["
    right = ")" if (hi_open or hi is None) else "]"
    a = "-inf" if lo is None else _fmt(lo)
    b = "inf" if hi is None else _fmt(hi)
    return f"{left}{a}, {b}{right}"


def check_number(
    name: str,
    value,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    integer: bool = False,
    unit: str | None = None,
    hint: str | None = None,
    suspicious_above: float | None = None,
    suspicious_hint: str | None = None,
) -> float:
    """Check that ``value`` is a finite number in the given range and return it.

    Parameters
    ----------
    name : str
        Parameter name as the user typed it (shown in the message).
    value : float or int
        The value to check.
    lo, hi : float, optional
        Bounds of the valid range (None: unbounded).
    lo_open, hi_open : bool
        Whether the bound itself is excluded.
    integer : bool
        Require an integral value (returned as ``int``).
    unit : str, optional
        Unit shown in the message ("ms", "kicks per ms", ...).
    hint : str, optional
        Extra advice appended to the message.
    suspicious_above : float, optional
        Values above this are rejected as "looks like the wrong unit".
    suspicious_hint : str, optional
        Message for a suspicious value.

    Returns
    -------
    float or int
    """
    unit_txt = f" {unit}" if unit else ""
    rng = _range_text(lo, hi, lo_open, hi_open)
    try:
        if isinstance(value, bool):
            raise TypeError
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name} = {value!r} is not a number; expected a value in {rng}{unit_txt}"
        ) from None
    if not math.isfinite(v):
        raise ParameterError(f"{name} = {value!r} is not finite; valid range {rng}{unit_txt}")
    if integer and v != int(v):
        raise ParameterError(f"{name} = {value!r} must be a whole number in {rng}")
    bad = (
        (lo is not None and (v < lo or (lo_open and v == lo)))
        or (hi is not None and (v > hi or (hi_open and v == hi)))
    )
    if bad:
        msg = f"{name} = {_fmt(v)} is outside the valid range {rng}{unit_txt}"
        if hint:
            msg += f"; {hint}"
        raise ParameterError(msg)
    if suspicious_above is not None and v > suspicious_above:
        msg = f"{name} = {_fmt(v)} looks like the wrong unit"
        msg += f" ({suspicious_hint})" if suspicious_hint else ""
        msg += f"; expected a value in {rng}{unit_txt}, at most {_fmt(suspicious_above)}"
        raise ParameterError(msg)
    return int(v) if integer else v


def check_probability(name: str, value) -> float:
    """Check a probability: a finite number in [0, 1]."""
    return check_number(name, value, 0.0, 1.0)


def check_positive_int(name: str, value, lo: int = 1, hi: int | None = None) -> int:
    """Check a whole number >= ``lo`` (and <= ``hi``)."""
    return check_number(name, value, lo, hi, integer=True)


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of ``choices`` (strings)."""
    choices = list(choices)
    if value not in choices:
        raise ParameterError(
            f"{name} = {value!r} is not one of {', '.join(repr(c) for c in choices)}"
        )
    return value


def check_known(given: Mapping | Iterable[str], known: Iterable[str], where: str) -> None:
    """Reject parameter names that ``where`` does not know, suggesting the closest one."""
    known = list(known)
    for key in given:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            tip = f"; did you mean {close[0]!r}?" if close else ""
            raise ParameterError(
                f"unknown parameter {key!r} for {where}{tip} Known parameters: "
                + ", ".join(sorted(known))
            )
