# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""scikit-learn's bundled 8x8 digits: the embedded dataset for quick demos (no download)."""

from __future__ import annotations

import numpy as np

from ..exceptions import QDeepValueError


def load_digits_dataset(
    *,
    n_class: int = 10,
    scale: bool = True,
    test_size: float | int = 0.2,
    random_state: int | np.random.RandomState | np.random.Generator | None = 0,
    flatten: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Loads scikit-learn's 8x8 digits (1,797 images) with a stratified train/test split.

    The images ship with scikit-learn (:func:`sklearn.datasets.load_digits`), so this works
    offline. Pixels are integers from 0 to 16 in the original data.

    Example:
        .. code-block:: python

            from qiskit_qdeep.datasets import load_digits_dataset

            x_train, x_test, y_train, y_test = load_digits_dataset(n_class=2)

    Args:
        n_class: Keep the digits ``0 .. n_class - 1`` (2 to 10).
        scale: Divide the pixels by 16 so they lie in ``[0, 1]``; otherwise keep ``0 .. 16``.
        test_size: Fraction (in ``(0, 1)``) or number of samples in the test set.
        random_state: Seed of the split (as in scikit-learn); a numpy ``Generator`` is turned
            into an integer seed.
        flatten: Return images as ``(n, 64)`` feature vectors instead of ``(n, 8, 8)``.

    Returns:
        ``(x_train, x_test, y_train, y_test)``: float32 images of shape ``(n, 8, 8)`` (or
        ``(n, 64)``) and int64 labels, each class in the same proportion in both sets.

    Raises:
        QDeepValueError: If ``n_class`` or ``test_size`` is out of range.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if isinstance(n_class, bool) or not isinstance(n_class, (int, np.integer)):
        raise QDeepValueError(f"n_class must be an integer from 2 to 10, got {n_class!r}.")
    if not 2 <= n_class <= 10:
        raise QDeepValueError(f"n_class must be from 2 to 10, got {n_class}.")
    if isinstance(test_size, bool) or not isinstance(
        test_size, (int, float, np.integer, np.floating)
    ):
        raise QDeepValueError(f"test_size must be a float or an int, got {test_size!r}.")
    if isinstance(test_size, (float, np.floating)) and not 0.0 < test_size < 1.0:
        raise QDeepValueError(f"A fractional test_size must lie in (0, 1), got {test_size}.")
    if isinstance(random_state, np.random.Generator):
        random_state = int(random_state.integers(2**31 - 1))

    bunch = load_digits(n_class=n_class)
    images = bunch.images.astype(np.float32)
    if scale:
        images /= np.float32(16.0)
    if flatten:
        images = images.reshape(len(images), -1)
    targets = bunch.target.astype(np.int64)
    if (
        isinstance(test_size, (int, np.integer))
        and not n_class <= test_size <= len(targets) - n_class
    ):
        raise QDeepValueError(
            f"An integer test_size must be from {n_class} to {len(targets) - n_class} so that "
            f"every class appears in both sets, got {test_size}."
        )
    try:
        x_train, x_test, y_train, y_test = train_test_split(
            images, targets, test_size=test_size, random_state=random_state, stratify=targets
        )
    except ValueError as exc:  # e.g. a test set too small to hold every class
        raise QDeepValueError(f"Cannot split the digits with test_size={test_size}: {exc}") from exc
    return x_train, x_test, y_train, y_test
