# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""Classical least-squares SVM with the same system and outputs as QLSSVM (baseline only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..exceptions import QDeepTypeError, QDeepValueError

__all__ = ["ClassicalLSSVM"]


class ClassicalLSSVM(ClassifierMixin, BaseEstimator):
    r"""Classical LS-SVM solving :class:`~qiskit_qdeep.svm.QLSSVM`'s system with ``numpy``.

    A **classical reference** for benchmarks and tests: it is never used inside the quantum
    estimators. It builds the same matrix

    .. math::

        F = \begin{pmatrix} 0 & 1^T \\ 1 & K + I/\gamma \end{pmatrix}, \qquad
        F \begin{pmatrix} b \\ \alpha \end{pmatrix} = \begin{pmatrix} 0 \\ y \end{pmatrix},

    with the same kernel (the trace-normalised linear kernel
    :math:`K_{kl} = x_k \cdot x_l / \operatorname{tr}(XX^T)` by default, or a callable /
    qiskit-machine-learning kernel), solves it with :func:`numpy.linalg.solve` and returns the
    value the quantum Hadamard test of :class:`~qiskit_qdeep.svm.QLSSVM` estimates, the overlap
    of the normalised training and query states,

    .. math::

        f(x) = \frac{b + \sum_k \alpha_k K(x_k, x)}{\|u\|\,\|\tilde x\|},

    with :math:`\|u\|^2 = b^2 + \sum_k \alpha_k^2 |x_k|^2`,
    :math:`\|\tilde x\|^2 = 1 + M |x|^2 / \operatorname{tr}(XX^T)^2` (linear kernel) or
    :math:`\|u\|^2 = b^2 + \sum_k \alpha_k^2`, :math:`\|\tilde x\|^2 = 1 + \sum_k K(x_k, x)^2`
    (other kernels). Its sign is the LS-SVM decision; positive means ``classes_[1]``. So a model
    with ``binary_estimator=ClassicalLSSVM()`` is the exact, noise-free classical twin of the
    same model with :class:`~qiskit_qdeep.svm.QLSSVM`.

    Args:
        gamma: Regularisation :math:`\gamma > 0`.
        kernel: ``None``/``"linear"``, a kernel with ``evaluate(x_vec, y_vec)`` or a callable
            ``kernel(A, B)``.
    """

    def __init__(self, gamma: float = 1.0, *, kernel: Any = None) -> None:
        self.gamma = gamma
        self.kernel = kernel

    def _kernel(self) -> tuple[bool, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
        kernel = self.kernel
        if kernel is None or (isinstance(kernel, str) and kernel == "linear"):
            return True, lambda a, b: a @ b.T
        if isinstance(kernel, str):
            raise QDeepValueError(f"kernel must be None, 'linear' or callable, got {kernel!r}.")
        if hasattr(kernel, "evaluate") and callable(kernel.evaluate):
            return False, lambda a, b: np.asarray(kernel.evaluate(a, b), dtype=float)
        if callable(kernel):
            return False, lambda a, b: np.asarray(kernel(a, b), dtype=float)
        raise QDeepTypeError(
            f"kernel must be None, 'linear', a kernel with evaluate or a callable, got "
            f"{type(kernel).__name__}."
        )

    def fit(self, X: Any, y: Any) -> ClassicalLSSVM:
        """Solves the LS-SVM system classically.

        Args:
            X: Training data ``(n_samples, n_features)``.
            y: Labels with exactly two classes.

        Returns:
            ``self``.

        Raises:
            QDeepValueError: For a bad ``gamma``, not two classes or a zero linear kernel.
        """
        X, y = validate_data(self, X, y, dtype=float)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) != 2:
            raise QDeepValueError(
                f"ClassicalLSSVM is binary: y must contain 2 classes, got {len(classes)}."
            )
        if isinstance(self.gamma, bool) or not (
            isinstance(self.gamma, (int, float, np.integer, np.floating)) and self.gamma > 0
        ):
            raise QDeepValueError(f"gamma must be a number > 0, got {self.gamma!r}.")
        linear, function = self._kernel()
        scale = 1.0
        if linear:
            trace = float(np.trace(X @ X.T))
            if trace <= 0:
                raise QDeepValueError("The linear kernel is zero: X must not be all zeros.")
            scale = 1.0 / trace
        kernel_matrix = scale * function(X, X)
        num_points = len(X)
        matrix = np.zeros((num_points + 1, num_points + 1))
        matrix[0, 1:] = matrix[1:, 0] = 1.0
        matrix[1:, 1:] = kernel_matrix + np.eye(num_points) / float(self.gamma)
        rhs = np.concatenate([[0.0], np.where(y == classes[1], 1.0, -1.0)])
        solution = np.linalg.solve(matrix, rhs)
        self.classes_ = classes
        self.bias_ = float(solution[0])
        self.alpha_ = solution[1:]
        self.support_vectors_ = X.copy()
        self.kernel_scale_ = scale
        self.lssvm_matrix_ = matrix
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Normalised LS-SVM value (the overlap QLSSVM estimates), shape ``(n_samples,)``.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=float, reset=False)
        linear, function = self._kernel()
        kernel_values = self.kernel_scale_ * function(X, self.support_vectors_)  # (n, M)
        raw = self.bias_ + kernel_values @ self.alpha_
        if linear:
            u_norm2 = self.bias_**2 + np.sum(self.alpha_**2 * np.sum(self.support_vectors_**2, 1))
            x_norm2 = 1.0 + len(self.alpha_) * (self.kernel_scale_**2) * np.sum(X**2, axis=1)
        else:
            u_norm2 = self.bias_**2 + np.sum(self.alpha_**2)
            x_norm2 = 1.0 + np.sum(kernel_values**2, axis=1)
        return raw / np.sqrt(u_norm2 * x_norm2)

    def predict(self, X: Any) -> np.ndarray:
        """Labels ``classes_[decision > 0]``.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        return self.classes_[(self.decision_function(X) > 0).astype(int)]
