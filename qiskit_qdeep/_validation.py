# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Argument checks shared by the whole package (one place for their error messages)."""

from __future__ import annotations

import numpy as np

from .exceptions import QDeepValueError


def check_int(name: str, value, minimum: int = 1) -> int:
    """Returns ``value`` as an ``int`` if it is an integer (not a bool) ``>= minimum``.

    Raises:
        QDeepValueError: Naming ``name``, the minimum and the value given.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise QDeepValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_shots(value) -> int | None:
    """``None`` (exact or the primitive's default) or a positive integer number of shots.

    Raises:
        QDeepValueError: Naming ``shots`` and the value given.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise QDeepValueError(f"shots must be a positive integer or None, got {value!r}.")
    return int(value)


def check_precision(value) -> float | None:
    """``None`` (the estimator's default) or a finite estimator precision ``>= 0``.

    Raises:
        QDeepValueError: Naming ``precision`` and the value given.
    """
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not (np.isfinite(value) and value >= 0)
    ):
        raise QDeepValueError(f"precision must be a finite number >= 0 or None, got {value!r}.")
    return float(value)


def check_pair(name: str, value, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints (as ``torch.nn.Conv2d`` takes), each ``>= minimum``.

    Raises:
        QDeepValueError: Naming ``name`` for a wrong type, length or value.
    """
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or any(
        isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in items
    ):
        raise QDeepValueError(f"{name} must be an int or a pair of ints, got {value!r}.")
    if any(v < minimum for v in items):
        raise QDeepValueError(f"{name} must be >= {minimum}, got {value!r}.")
    return int(items[0]), int(items[1])
