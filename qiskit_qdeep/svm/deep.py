# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""Quantum deep SVM: layers of all-pair multiclass QSVMs whose decision values feed the next."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

import numpy as np
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseSamplerV2
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..exceptions import QDeepValueError
from .allpair import VOTING_METHODS, AllPairQSVM, AllPairVote, _execute_decision_plans

__all__ = ["DeepQSVM"]


class DeepQSVM(ClassifierMixin, BaseEstimator):
    r"""Layered multiclass quantum SVM (section 4 of the paper, Fig. 2).

    **Architecture.** ``hidden_layers[l]`` hidden units in layer ``l``, each a multiclass
    :class:`~qiskit_qdeep.svm.AllPairQSVM` (``k (k - 1) / 2`` binary QSVMs). The activation of
    a unit is the vector of its binary classifiers' decision values
    (:meth:`AllPairQSVM.pairwise_decisions`, for the default
    :class:`~qiskit_qdeep.svm.QLSSVM` the Hadamard-test overlap
    :math:`\langle u|\tilde x\rangle \in [-1, 1]`, i.e. the paper's activations
    :math:`\sum_i \alpha_i K(x_i, x)` up to the bias and the state normalisation), so layer
    ``l`` outputs ``hidden_layers[l] * k (k - 1) / 2`` features. These, standardised with the
    training set's mean and standard deviation (stored in :attr:`hidden_`) and concatenated with
    the layer's input when ``concatenate_input=True``, are the input of the next layer. The last
    layer is an all-pair QSVM whose vote (Grover or classical) predicts the class.

    **Training** is greedy, layer by layer, as in Wiering & Schomaker's multi-layer SVM: every
    hidden unit is trained on the **true labels**, made diverse by

    * a bootstrap sample of the training points (``bootstrap=True``: drawn with replacement,
      duplicates removed, at least two points per class), and
    * a random subset of ``ceil(feature_fraction * n_inputs)`` of the layer's input features;

    then the training set is pushed through the trained layer to train the next one; the output
    unit uses all training points and all of its inputs. Units are independent random views
    of the data, so the hidden layer acts as a learned, non-linear (the overlaps are normalised)
    feature map for the output QSVM.

    **Budget.** ``(sum(hidden_layers) + 1) * k (k - 1) / 2`` binary fits (HHL solves for
    QLSSVM), each on at most the training points of one pair of classes. With a sampler,
    prediction sends **one** sampler job per layer for the Hadamard tests of all units, pairs
    and query points (the units' QLSSVMs share the sampler), one for the output unit's pairs
    and the Grover vote's rounds (``voting="grover"``); exact simulation sends none.
    :attr:`fit_num_jobs_` sums the binary estimators' fit jobs and the jobs of pushing the
    training set through the hidden layers, :attr:`predict_num_jobs` counts
    the prediction jobs since ``fit``.

    Example:

    .. code-block:: python

        from qiskit_qdeep.svm import DeepQSVM, QLSSVM

        model = DeepQSVM((3,), binary_estimator=QLSSVM(gamma=2.0), random_state=0)
        model.fit(X_train, y_train).score(X_test, y_test)

    Args:
        hidden_layers: Number of hidden units per hidden layer (``()`` gives a single
            :class:`AllPairQSVM`).
        binary_estimator: Binary classifier of every unit (cloned); ``None`` is
            :class:`~qiskit_qdeep.svm.QLSSVM` with ``sampler``/``pass_manager``/``shots``.
        feature_fraction: Fraction of a layer's inputs each hidden unit sees, in ``(0, 1]``.
        bootstrap: Train each hidden unit on a bootstrap sample of the points.
        concatenate_input: Append a layer's input features to its activations for the next
            layer.
        voting: ``"grover"`` or ``"classical"``, the vote of the output unit.
        sampler: V2 sampler of the vote and of the default binary estimator.
        pass_manager: Pass manager of the same.
        shots: Shots of the default binary estimator.
        random_state: Seeds the bootstrap samples, feature subsets, binary estimators and vote.

    References:
        [1] A. K. Bishwas, A. Mani, V. Palade, quantum deep SVM formulation (section 4) and
        *An all-pair quantum SVM approach for big data multiclass classification*,
        `arXiv:1704.07664 <https://arxiv.org/abs/1704.07664>`_.

        [2] M. A. Wiering, L. R. B. Schomaker, *Multi-layer support vector machines*, in
        Regularization, Optimization, Kernels, and Support Vector Machines (2014).
    """

    def __init__(
        self,
        hidden_layers: Sequence[int] = (3,),
        *,
        binary_estimator: Any = None,
        feature_fraction: float = 0.75,
        bootstrap: bool = True,
        concatenate_input: bool = True,
        voting: str = "grover",
        sampler: BaseSamplerV2 | None = None,
        pass_manager: BasePassManager | None = None,
        shots: int | None = None,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.hidden_layers = hidden_layers
        self.binary_estimator = binary_estimator
        self.feature_fraction = feature_fraction
        self.bootstrap = bootstrap
        self.concatenate_input = concatenate_input
        self.voting = voting
        self.sampler = sampler
        self.pass_manager = pass_manager
        self.shots = shots
        self.random_state = random_state

    # ------------------------------------------------------------------------------------------
    # Validation
    # ------------------------------------------------------------------------------------------
    def _check_params(self) -> tuple[int, ...]:
        layers = self.hidden_layers
        if isinstance(layers, (int, np.integer)) and not isinstance(layers, bool):
            layers = (int(layers),)
        try:
            layers = tuple(layers)
        except TypeError as exc:
            raise QDeepValueError(
                f"hidden_layers must be a sequence of positive ints, got {self.hidden_layers!r}."
            ) from exc
        if any(
            isinstance(u, bool) or not isinstance(u, (int, np.integer)) or u < 1 for u in layers
        ):
            raise QDeepValueError(
                f"hidden_layers must be a sequence of positive ints, got {self.hidden_layers!r}."
            )
        fraction = self.feature_fraction
        if isinstance(fraction, bool) or not (
            isinstance(fraction, (int, float, np.integer, np.floating)) and 0 < fraction <= 1
        ):
            raise QDeepValueError(f"feature_fraction must lie in (0, 1], got {fraction!r}.")
        if self.voting not in VOTING_METHODS:
            raise QDeepValueError(f"voting must be one of {VOTING_METHODS}, got {self.voting!r}.")
        return tuple(int(u) for u in layers)

    # ------------------------------------------------------------------------------------------
    # Fit
    # ------------------------------------------------------------------------------------------
    def _unit(self, voting: str, seed: int) -> AllPairQSVM:
        return AllPairQSVM(
            self.binary_estimator,
            voting=voting,
            sampler=self.sampler,
            pass_manager=self.pass_manager,
            shots=self.shots,
            random_state=seed,
        )

    def _bootstrap_rows(self, y: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        if not self.bootstrap:
            return np.arange(len(y))
        for _ in range(100):
            rows = np.unique(rng.randint(0, len(y), len(y)))
            if all(np.sum(y[rows] == c) >= 2 for c in self.classes_):
                return rows
        return np.arange(len(y))  # tiny classes: every point

    def fit(self, X: Any, y: Any) -> DeepQSVM:
        """Trains the hidden layers greedily, then the output all-pair QSVM.

        Args:
            X: Training data ``(n_samples, n_features)``.
            y: Labels ``(n_samples,)`` with at least two classes.

        Returns:
            ``self``.

        Raises:
            QDeepValueError: For bad hyperparameters or data.
            QDeepTypeError: For a bad ``binary_estimator`` or ``sampler``.
        """
        layers = self._check_params()
        X, y = validate_data(self, X, y, dtype=float)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise QDeepValueError(f"DeepQSVM needs at least 2 classes in y, got {self.classes_}.")
        rng = check_random_state(self.random_state)
        hidden: list = []  # per layer: ([(unit, feature indices), ...], (mean, std))
        fit_jobs = 0
        inputs = X
        for num_units in layers:
            width = inputs.shape[1]
            size = max(1, int(np.ceil(self.feature_fraction * width)))
            units = []
            for _ in range(num_units):
                features = np.sort(rng.choice(width, size, replace=False))
                rows = self._bootstrap_rows(y, rng)
                unit = self._unit("classical", int(rng.randint(0, 2**31 - 1)))
                unit.fit(inputs[rows][:, features], y[rows])
                fit_jobs += unit.fit_num_jobs_
                units.append((unit, features))
            inputs, scale, jobs = self._layer_output(units, inputs)
            fit_jobs += jobs
            hidden.append((units, scale))
        output = self._unit(self.voting, int(rng.randint(0, 2**31 - 1))).fit(inputs, y)
        fit_jobs += output.fit_num_jobs_
        self.hidden_ = hidden
        self.output_ = output
        self._predict_jobs = 0
        self.fit_num_jobs_ = int(fit_jobs)
        self.n_binary_fits_ = (sum(layers) + 1) * len(output.pairs_)

        return self

    def _layer_output(
        self, units, inputs: np.ndarray, scale: tuple[np.ndarray, np.ndarray] | None = None
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], int]:
        """Standardised activations of a layer (+ its input), the scale, the jobs spent.

        ``scale`` comes from training if given; all units' sampled tests share one job.
        """
        plans = [
            unit._decision_plan(inputs[:, features])  # pylint: disable=protected-access
            for unit, features in units
        ]
        activations, jobs = _execute_decision_plans(plans)  # one job for all units
        activations = np.concatenate(activations, axis=1)
        if scale is None:
            scale = (activations.mean(axis=0), activations.std(axis=0) + 1e-12)
        activations = (activations - scale[0]) / scale[1]
        if self.concatenate_input:
            activations = np.concatenate([activations, inputs], axis=1)
        return activations, scale, jobs

    # ------------------------------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------------------------------
    def transform(self, X: Any) -> np.ndarray:
        """The input of the output unit: ``X`` pushed through all hidden layers.

        Args:
            X: Points ``(n_samples, n_features)``.

        Returns:
            Array ``(n_samples, output_.n_features_in_)``.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        check_is_fitted(self)
        inputs = validate_data(self, X, dtype=float, reset=False)
        for units, scale in self.hidden_:
            inputs, _, jobs = self._layer_output(units, inputs, scale)
            self._predict_jobs = getattr(self, "_predict_jobs", 0) + jobs
        return inputs

    def vote(self, X: Any) -> AllPairVote:
        """The output unit's :class:`~qiskit_qdeep.svm.AllPairVote` on the transformed points.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        inputs = self.transform(X)
        return self.output_.vote(inputs)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels ``(n_samples,)``.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        return self.vote(X).labels

    def decision_function(self, X: Any) -> np.ndarray:
        """The output unit's :meth:`AllPairQSVM.decision_function` on the transformed points.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        inputs = self.transform(X)
        return self.output_.decision_function(inputs)

    @property
    def predict_num_jobs(self) -> int:
        """Sampler jobs of the predictions since ``fit``: hidden layers, output pairs and votes.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        check_is_fitted(self)
        return int(getattr(self, "_predict_jobs", 0)) + self.output_.predict_num_jobs

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        for name in ("sampler", "pass_manager"):
            value = state.get(name)
            if value is not None:
                try:
                    pickle.dumps(value)
                except Exception:  # pylint: disable=broad-except
                    state[name] = None
        return state
