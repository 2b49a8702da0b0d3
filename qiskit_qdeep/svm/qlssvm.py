# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""Quantum least-squares support vector machine (Rebentrost, Mohseni, Lloyd 2014)."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from qiskit import QuantumCircuit
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseSamplerV2
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..circuit.library.hhl import _state_pair_layout, state_pair_template
from ..circuit.library.swap_test import amplitude_encoding_angles
from ..exceptions import QDeepTypeError, QDeepValueError, QubitLimitError
from ..linear_solvers import HHL, HHL_MAX_QUBITS
from ..primitives import SamplerRunner
from ..primitives.factory import sampler_runner

__all__ = ["QLSSVM", "QLSSVM_MAX_TRAINING_POINTS"]

#: Largest training set of :class:`QLSSVM`: the LS-SVM matrix of ``M`` points has size
#: ``M + 1``, i.e. ``ceil(log2(M + 1)) <= 6`` HHL system qubits.
QLSSVM_MAX_TRAINING_POINTS = 63


def _check_matrix(name: str, X: Any) -> np.ndarray:
    if np.iscomplexobj(X):
        raise QDeepValueError(f"{name} must be real; complex values are not supported.")
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise QDeepValueError(f"{name} must be a numeric array, got {type(X).__name__}.") from exc
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise QDeepValueError(f"{name} must have shape (n_samples, n_features), got {X.shape}.")
    if not np.all(np.isfinite(X)):
        raise QDeepValueError(f"{name} contains NaN or inf values.")
    return X


def _num_qubits(size: int) -> int:
    return max(1, (size - 1).bit_length())


def _decisions_from_probabilities(probs: np.ndarray) -> np.ndarray:
    """Hadamard-test decision values ``1 - 2 P(-)`` from ancilla probabilities ``(n, 2)``."""
    return 1.0 - 2.0 * np.asarray(probs)[:, 1]


class _DecisionRequest(NamedTuple):
    """A sampled Hadamard test not yet submitted (see ``QLSSVM._sampled_decision_request``)."""

    runner: SamplerRunner
    """Runner of the measured Hadamard-test template on the model's sampler."""
    values: np.ndarray
    """Parameter bindings ``(n_samples, num_parameters)``, one per query point."""
    decode: Callable[[np.ndarray], np.ndarray]
    """Maps the runner's probabilities ``(n_samples, 2)`` to decision values ``(n_samples,)``."""


class QLSSVM(ClassifierMixin, BaseEstimator):
    r"""Binary least-squares SVM trained with HHL and evaluated with a Hadamard test.

    **Training** (Rebentrost, Mohseni, Lloyd 2014). For ``M`` training points
    :math:`x_k` with labels :math:`y_k = \pm 1` (``classes_[1]`` is :math:`+1`), the LS-SVM
    parameters solve

    .. math::

        F \begin{pmatrix} b \\ \alpha \end{pmatrix} = \begin{pmatrix} 0 \\ y \end{pmatrix},
        \qquad
        F = \begin{pmatrix} 0 & 1^T \\ 1 & K + I/\gamma \end{pmatrix},

    which is solved with :class:`~qiskit_qdeep.linear_solvers.HHL` (never classically; ``F`` is
    indefinite, which HHL's signed eigenvalue clock handles). The HHL estimate
    :math:`(b, \alpha) = \|x\|\,\hat x` (``HHLResult.vector``) gives :attr:`bias_` and
    :attr:`alpha_`. The kernel is, by default, the **normalised linear kernel** of the paper,
    :math:`K_{kl} = x_k \cdot x_l / \operatorname{tr}(X X^T)`; ``kernel`` may instead be any
    qiskit-machine-learning kernel (its ``evaluate(x_vec, y_vec)``, e.g.
    ``FidelityQuantumKernel``) or a callable ``kernel(A, B) -> (len(A), len(B))`` matrix.

    **Classification.** The training state and the query state are

    .. math::

        |u\rangle \propto b\,|0\rangle|0\rangle + \sum_k \alpha_k |x_k|\, |k\rangle|x_k\rangle,
        \qquad
        |\tilde x\rangle \propto |0\rangle|0\rangle
            + \sum_k \frac{|x|}{\operatorname{tr}(XX^T)}\, |k\rangle|x\rangle

    on an index register (``ceil(log2(M + 1))`` qubits, ``|0>`` reserved for the bias) and a
    feature register (``ceil(log2 d))`` qubits, amplitude encoding). Their overlap is
    :math:`\langle u|\tilde x\rangle \propto b + \sum_k \alpha_k K(x_k, x)`, the LS-SVM
    decision value. A Hadamard test measures it: an ancilla in :math:`|+\rangle` prepares
    :math:`(|0\rangle|u\rangle + |1\rangle|\tilde x\rangle)/\sqrt 2`
    (:func:`~qiskit_qdeep.circuit.library.state_pair_circuit`), then is measured in the X
    basis: :math:`P(-) = (1 - \langle u|\tilde x\rangle)/2`, and
    :meth:`decision_function` returns :math:`1 - 2P(-)`; its sign is the class. For a
    non-linear kernel the **kernel expansion** is used: no feature register,
    :math:`|u\rangle \propto b|0\rangle + \sum_k \alpha_k|k\rangle` and
    :math:`|\tilde x\rangle \propto |0\rangle + \sum_k K(x_k, x)|k\rangle`, with the kernel values
    computed by the kernel (for a quantum kernel, on its own primitive).

    **State-preparation oracles.** :math:`|u\rangle` is loaded from the HHL estimate of
    :math:`(b, \alpha)` and :math:`|\tilde x\rangle` from the query data by RY-tree amplitude
    encodings; these loaders stand in for the quantum RAM / HHL-output state of the paper. In
    the Hadamard-test template (:func:`~qiskit_qdeep.circuit.library.state_pair_template`) every
    RY angle is a circuit parameter; its value is an affine function of the query's tree angles
    (the :math:`|u\rangle` angles are fixed after ``fit``), computed for all query points by one
    matrix product, so all query points of a :meth:`predict` call are bindings of **one**
    sampler job.

    **Execution and jobs.** With ``sampler=None`` and ``shots=None``, HHL and the Hadamard test
    are exact statevector simulations (``0`` primitive jobs). Otherwise ``fit`` submits **one**
    sampler job (HHL) and every ``predict``/``decision_function`` call **one** job; the count of
    ``fit`` is :attr:`fit_num_jobs_`.

    **Limits.** At most :data:`QLSSVM_MAX_TRAINING_POINTS` (63) training points; HHL uses
    ``ceil(log2(M + 1)) + n_clock + 1`` qubits (one more when sampled) and the Hadamard test
    ``1 + ceil(log2(M + 1)) + ceil(log2 d)`` qubits (linear kernel; no feature qubits for other
    kernels), each at most :data:`~qiskit_qdeep.linear_solvers.HHL_MAX_QUBITS`.

    **Pickling.** A fitted model pickles without cached runners; a ``sampler`` that cannot be
    pickled (e.g. one bound to a runtime session or the torch sampler's engine cache) is stored
    as ``None``: re-attach it with ``set_params(sampler=...)`` after loading. With the default
    exact simulation the loaded model predicts identically.

    Example:

    .. code-block:: python

        import numpy as np
        from qiskit_qdeep.svm import QLSSVM

        X = np.array([[1.0, 0.2], [0.9, 0.4], [0.2, 1.0], [0.3, 0.8]])
        y = np.array([0, 0, 1, 1])
        model = QLSSVM(gamma=2.0, random_state=0).fit(X, y)
        model.predict([[0.95, 0.3], [0.1, 0.9]])   # array([0, 1])

    Args:
        gamma: Regularisation :math:`\gamma > 0` (the ridge is :math:`I/\gamma`).
        kernel: ``None`` or ``"linear"`` (normalised linear kernel), a qiskit-machine-learning
            kernel with ``evaluate``, or a callable ``kernel(A, B)``.
        num_clock_qubits: HHL clock size; default chosen by HHL from the condition number.
        sampler: A V2 sampler for HHL and the Hadamard test; ``None`` with ``shots=None`` means
            exact simulation.
        pass_manager: Transpiles the templates (needed for hardware backends).
        shots: Shots per binding (sampled path).
        random_state: Seeds the default sampler of the sampled path.

    References:
        P. Rebentrost, M. Mohseni and S. Lloyd, "Quantum support vector machine for big data
        classification", Phys. Rev. Lett. 113, 130503 (2014),
        `arXiv:1307.0471 <https://arxiv.org/abs/1307.0471>`_.
        Z. Li, X. Liu, N. Xu and J. Du, "Experimental realization of a quantum support vector
        machine", Phys. Rev. Lett. 114, 140504 (2015),
        `arXiv:1410.1054 <https://arxiv.org/abs/1410.1054>`_.
    """

    def __init__(
        self,
        gamma: float = 1.0,
        *,
        kernel: Any = None,
        num_clock_qubits: int | None = None,
        sampler: BaseSamplerV2 | None = None,
        pass_manager: BasePassManager | None = None,
        shots: int | None = None,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.gamma = gamma
        self.kernel = kernel
        self.num_clock_qubits = num_clock_qubits
        self.sampler = sampler
        self.pass_manager = pass_manager
        self.shots = shots
        self.random_state = random_state

    # ------------------------------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------------------------------

    @property
    def _exact(self) -> bool:
        return self.sampler is None and self.shots is None

    def _kernel_function(self) -> tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
        kernel = self.kernel
        if kernel is None or (isinstance(kernel, str) and kernel == "linear"):
            return "linear", lambda a, b: a @ b.T
        if isinstance(kernel, str):
            raise QDeepValueError(
                f"kernel must be None, 'linear', a kernel with evaluate() or a callable, got "
                f"{kernel!r}."
            )
        if hasattr(kernel, "evaluate") and callable(kernel.evaluate):
            return "expansion", lambda a, b: np.asarray(kernel.evaluate(a, b), dtype=float)
        if callable(kernel):
            return "expansion", lambda a, b: np.asarray(kernel(a, b), dtype=float)
        raise QDeepTypeError(
            "kernel must be None, 'linear', a qiskit-machine-learning kernel (with evaluate) or "
            f"a callable kernel(A, B), got {type(kernel).__name__}."
        )

    def _kernel_values(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        _, function = self._kernel_function()
        values = function(A, B)
        if values.shape != (len(A), len(B)) or not np.all(np.isfinite(values)):
            raise QDeepValueError(
                f"The kernel must return a finite ({len(A)}, {len(B)}) matrix, got shape "
                f"{values.shape}."
            )
        return values

    def _seeds(self) -> tuple[int, int]:
        rng = check_random_state(self.random_state)
        return int(rng.randint(0, 2**31 - 1)), int(rng.randint(0, 2**31 - 1))

    # ------------------------------------------------------------------------------------------
    # Fit
    # ------------------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> QLSSVM:
        """Solves the LS-SVM system with HHL and prepares the classification template.

        Args:
            X: Training data ``(n_samples, n_features)``.
            y: Labels ``(n_samples,)`` with exactly two distinct values.

        Returns:
            ``self``.

        Raises:
            QDeepValueError: For NaN/inf or badly shaped data, labels that are not two classes,
                a bad ``gamma`` or a zero kernel matrix.
            QubitLimitError: For more than :data:`QLSSVM_MAX_TRAINING_POINTS` points or too many
                features for the qubit limit.
            QDeepTypeError: For a bad ``kernel`` or ``sampler``.
        """
        X = _check_matrix("X", X)
        X, y = validate_data(self, X, y, dtype=float)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) != 2:
            raise QDeepValueError(
                f"QLSSVM is a binary classifier: y must contain exactly 2 classes, got "
                f"{len(classes)} ({classes.tolist()})."
            )
        if isinstance(self.gamma, bool) or not (
            isinstance(self.gamma, (int, float, np.integer, np.floating))
            and np.isfinite(self.gamma)
            and self.gamma > 0
        ):
            raise QDeepValueError(f"gamma must be a finite number > 0, got {self.gamma!r}.")
        num_points, num_features = X.shape
        if num_points > QLSSVM_MAX_TRAINING_POINTS:
            raise QubitLimitError(
                f"QLSSVM supports at most {QLSSVM_MAX_TRAINING_POINTS} training points (the "
                f"(M + 1)x(M + 1) LS-SVM matrix needs ceil(log2(M + 1)) HHL system qubits plus "
                f"the clock), got M = {num_points}."
            )
        mode, _ = self._kernel_function()
        index_qubits = _num_qubits(num_points + 1)
        feature_qubits = _num_qubits(num_features) if mode == "linear" else 0
        test_qubits = 1 + index_qubits + feature_qubits
        if test_qubits > HHL_MAX_QUBITS:
            raise QubitLimitError(
                f"The Hadamard test needs 1 + {index_qubits} + {feature_qubits} = {test_qubits} "
                f"qubits for {num_points} points with {num_features} features, more than "
                f"{HHL_MAX_QUBITS}."
            )
        if mode == "linear":
            gram = X @ X.T
            trace = float(np.trace(gram))
            if trace <= 0:
                raise QDeepValueError("The linear kernel is zero: X must not be all zeros.")
            kernel_matrix = gram / trace
            kernel_scale = 1.0 / trace
        else:
            kernel_matrix = self._kernel_values(X, X)
            kernel_scale = 1.0
        labels = np.where(y == classes[1], 1.0, -1.0)
        matrix = np.zeros((num_points + 1, num_points + 1))
        matrix[0, 1:] = 1.0
        matrix[1:, 0] = 1.0
        matrix[1:, 1:] = kernel_matrix + np.eye(num_points) / float(self.gamma)
        rhs = np.concatenate([[0.0], labels])
        hhl_seed, test_seed = self._seeds()
        solver = HHL(
            num_clock_qubits=self.num_clock_qubits,
            sampler=self.sampler,
            pass_manager=self.pass_manager,
            shots=self.shots,
            seed=hhl_seed,
        )
        result = solver.solve(matrix, rhs)
        params = result.vector
        self.classes_ = classes
        self.hhl_result_ = result
        self.fit_num_jobs_ = int(result.num_jobs)
        self.bias_ = float(params[0])
        self.alpha_ = np.asarray(params[1:], dtype=float)
        self.support_vectors_ = X.copy()
        self.kernel_scale_ = kernel_scale
        self.lssvm_matrix_ = matrix
        self.num_test_qubits_ = test_qubits
        self._test_seed = test_seed
        self._runner_cache = None
        self._angle_map = None
        return self

    # ------------------------------------------------------------------------------------------
    # Classification
    # ------------------------------------------------------------------------------------------

    def _training_state(self) -> np.ndarray:
        """Amplitudes of ``|u>`` (unnormalised), flattened index-major."""
        mode, _ = self._kernel_function()
        num_points, num_features = self.support_vectors_.shape
        index_dim = 1 << _num_qubits(num_points + 1)
        if mode == "linear":
            feature_dim = 1 << _num_qubits(num_features)
            u = np.zeros((index_dim, feature_dim))
            u[0, 0] = self.bias_
            u[1 : num_points + 1, :num_features] = self.alpha_[:, None] * self.support_vectors_
        else:
            u = np.zeros((index_dim, 1))
            u[0, 0] = self.bias_
            u[1 : num_points + 1, 0] = self.alpha_
        # register index = feature + feature_dim * index: index qubits are the high qubits
        return u.ravel()

    def _query_states(self, X: np.ndarray) -> np.ndarray:
        """Amplitudes of ``|x~>`` for every query point, shape ``(n, 2**n_register)``."""
        mode, _ = self._kernel_function()
        num_points, num_features = self.support_vectors_.shape
        index_dim = 1 << _num_qubits(num_points + 1)
        n = len(X)
        if mode == "linear":
            feature_dim = 1 << _num_qubits(num_features)
            q = np.zeros((n, index_dim, feature_dim))
            q[:, 0, 0] = 1.0
            q[:, 1 : num_points + 1, :num_features] = self.kernel_scale_ * X[:, None, :]
        else:
            q = np.zeros((n, index_dim, 1))
            q[:, 0, 0] = 1.0
            q[:, 1 : num_points + 1, 0] = self._kernel_values(X, self.support_vectors_)
        return q.reshape(n, -1)

    def _template(self) -> tuple[QuantumCircuit, list]:
        """The Hadamard-test template; its parameters are the RY angles of the state pair."""
        register = len(self._training_state()).bit_length() - 1
        pair, params, _ = state_pair_template(register, prefix="x")
        qc = QuantumCircuit(1 + register, 1, name="lssvm_hadamard_test")
        qc.h(0)
        qc.compose(pair, range(1 + register), inplace=True)
        qc.h(0)
        return qc, list(params)

    def _query_bindings(self, X: np.ndarray) -> np.ndarray:
        """Template parameter values ``(n_samples, num_parameters)`` for the query points.

        The training state's tree angles are fixed after ``fit``, so the RY angles are an affine
        function of the query's tree angles: one matrix product for the whole batch.
        """
        angle_map = getattr(self, "_angle_map", None)
        if angle_map is None:
            u = self._training_state()
            register = len(u).bit_length() - 1
            _, matrix = _state_pair_layout(register)  # cached; no circuit is built
            count = (1 << register) - 1
            angle_map = (
                matrix[:, count:].T.copy(),
                matrix[:, :count] @ amplitude_encoding_angles(u),
            )
            self._angle_map = angle_map
        query_angles = amplitude_encoding_angles(self._query_states(X))
        return query_angles @ angle_map[0] + angle_map[1]

    def _runner(self):
        cache = getattr(self, "_runner_cache", None)
        key = (id(self.sampler), id(self.pass_manager), self.shots)
        if cache is None or cache[3] != key:  # (re)build after fit or set_params(sampler=...)
            template, params = self._template()
            measured = template.copy()
            measured.measure(0, 0)
            if self._exact:
                runner = sampler_runner(measured, exact=True, parameters=params)
            else:
                runner = sampler_runner(
                    measured,
                    exact=False,
                    parameters=params,
                    sampler=self.sampler,
                    pass_manager=self.pass_manager,
                    shots=self.shots,
                    seed=self._test_seed,
                )
            cache = ("exact" if self._exact else "sampler", runner, params, key)
            self._runner_cache = cache
        return cache

    def _check_query(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = _check_matrix("X", X)
        if X.shape[1] != self.n_features_in_:
            raise QDeepValueError(
                f"X has {X.shape[1]} features, but QLSSVM was fitted with {self.n_features_in_}."
            )
        return X

    def _sampled_decision_request(self, X: Any) -> _DecisionRequest | None:
        """The Hadamard-test job of :meth:`decision_function`, to be run by the caller.

        The hook that lets :class:`~qiskit_qdeep.svm.AllPairQSVM` put the tests of all its
        pairwise models into one :func:`~qiskit_qdeep.primitives.run_sampler_batch` call.

        Args:
            X: Query points ``(n_samples, n_features)``.

        Returns:
            ``None`` on the exact path (call :meth:`decision_function`); otherwise the runner
            (on ``self.sampler``), its parameter bindings ``(n_samples, num_parameters)`` and
            the map from the runner's probabilities to decision values.

        Raises:
            NotFittedError: Before :meth:`fit`.
            QDeepValueError: For NaN/inf or a wrong number of features.
        """
        X = self._check_query(X)
        if self._exact:
            return None
        _, runner, _, _ = self._runner()  # a SamplerRunner: the cache key follows _exact
        angles = self._query_bindings(X)
        return _DecisionRequest(runner, angles, _decisions_from_probabilities)

    def decision_function(self, X: Any) -> np.ndarray:
        r"""Estimated overlap :math:`\langle u|\tilde x\rangle` of every query point.

        Positive values mean ``classes_[1]``. Exact simulation returns the exact overlap; with
        a sampler it is :math:`1 - 2P(-)` estimated from the shots (one sampler job for all
        points).

        Args:
            X: Query points ``(n_samples, n_features)``.

        Returns:
            Array ``(n_samples,)`` in ``[-1, 1]``.

        Raises:
            NotFittedError: Before :meth:`fit`.
            QDeepValueError: For NaN/inf or a wrong number of features.
        """
        request = self._sampled_decision_request(X)
        if request is not None:
            return request.decode(request.runner.run(request.values))
        X = self._check_query(X)
        _, runner, _, _ = self._runner()
        return _decisions_from_probabilities(runner.run(self._query_bindings(X)))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels.

        Args:
            X: Query points ``(n_samples, n_features)``.

        Returns:
            Labels from ``classes_``, shape ``(n_samples,)``.

        Raises:
            NotFittedError: Before :meth:`fit`.
            QDeepValueError: For NaN/inf or a wrong number of features.
        """
        decision = self.decision_function(X)
        return self.classes_[(decision > 0).astype(int)]

    @property
    def predict_num_jobs(self) -> int:
        """Sampler jobs submitted by ``predict``/``decision_function`` since ``fit``."""
        check_is_fitted(self)
        cache = getattr(self, "_runner_cache", None)
        if cache is None or cache[0] == "exact":
            return 0
        return int(cache[1].num_jobs)

    # ------------------------------------------------------------------------------------------
    # Pickling
    # ------------------------------------------------------------------------------------------

    def __getstate__(self) -> dict:
        state = super().__getstate__() if hasattr(super(), "__getstate__") else dict(self.__dict__)
        state = dict(state)
        state.pop("_runner_cache", None)
        for name in ("sampler", "pass_manager"):
            value = state.get(name)
            if value is not None:
                try:
                    pickle.dumps(value)
                except Exception:  # pylint: disable=broad-except
                    state[name] = None
        return state

    def __setstate__(self, state: dict) -> None:
        if hasattr(super(), "__setstate__"):
            super().__setstate__(state)
        else:  # pragma: no cover
            self.__dict__.update(state)
        self._runner_cache = None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = not self._exact
        if tags.classifier_tags is not None:
            tags.classifier_tags.multi_class = False
        return tags
