"""Placeholder while the capability is built (see the issue tracker)."""

from __future__ import annotations


def register(sub) -> None:
    return None
