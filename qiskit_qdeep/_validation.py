# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Argument checks shared by the whole package (one place for their error messages)."""

from __future__ import annotations

import numpy as np

from .exceptions import QDeepTypeError, QDeepValueError


def _is_integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def check_int(name: str, value, minimum: int = 1) -> int:
    """Returns ``value`` as an ``int`` if it is an integer (not a bool) ``>= minimum``.

    Raises:
        QDeepTypeError: For a bool or a non-integer (``2.5``, ``"3"``, NaN), naming ``name``.
        QDeepValueError: For an integer below ``minimum``, naming ``name``, the minimum and the
            value given.
    """
    if not _is_integer(value):
        raise QDeepTypeError(
            f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})."
        )
    if value < minimum:
        raise QDeepValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_shots(value, name: str = "shots") -> int | None:
    """``None`` (exact or the primitive's default) or a positive integer number of shots.

    Raises:
        QDeepTypeError: For a bool or a non-integer (``2.5``, ``"100"``, NaN), naming ``name``.
        QDeepValueError: For an integer ``< 1``, naming ``name`` and the value given.
    """
    if value is None:
        return None
    if not _is_integer(value):
        raise QDeepTypeError(
            f"{name} must be a positive integer or None, got {value!r} ({type(value).__name__})."
        )
    if value < 1:
        raise QDeepValueError(f"{name} must be a positive integer or None, got {value!r}.")
    return int(value)


def check_precision(value, name: str = "precision") -> float | None:
    """``None`` (the estimator's default) or a finite estimator precision ``>= 0``.

    Raises:
        QDeepTypeError: For a bool or a non-number (``"high"``, a complex number), naming
            ``name``.
        QDeepValueError: For a negative, NaN or infinite precision, naming ``name`` and the
            value given.
    """
    if value is None:
        return None
    if not _is_real(value):
        raise QDeepTypeError(
            f"{name} must be a finite number >= 0 or None, got {value!r} ({type(value).__name__})."
        )
    if not (np.isfinite(value) and value >= 0):
        raise QDeepValueError(f"{name} must be a finite number >= 0 or None, got {value!r}.")
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
