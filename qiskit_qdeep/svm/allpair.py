# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""Multiclass quantum SVM by all-pair (one-vs-one) voting with Dürr-Høyer maximum finding."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..algorithms import DurrHoyerMaximum, MaximumFindingResult
from ..exceptions import QDeepTypeError, QDeepValueError
from ..primitives import run_sampler_batch
from ..primitives.resolution import check_sampler

__all__ = ["AllPairQSVM", "AllPairVote", "VOTING_METHODS"]

#: Accepted values of ``voting``.
VOTING_METHODS = ("grover", "classical")


@dataclass(frozen=True)
class AllPairVote:
    """Everything one all-pair vote produced (see :meth:`AllPairQSVM.vote`)."""

    labels: np.ndarray
    """Predicted labels ``(n_samples,)``."""
    winners: np.ndarray
    """Winning class indices into ``classes_``, ``(n_samples,)``."""
    votes: np.ndarray
    """Vote counts ``(n_samples, n_classes)`` of the pairwise classifiers."""
    decisions: np.ndarray
    """Pairwise decision values ``(n_samples, n_pairs)``; positive votes for the pair's second
    class."""
    searches: tuple[MaximumFindingResult, ...] | None
    """The Dürr-Høyer result of every sample (``voting="grover"``), else ``None``."""
    num_voting_jobs: int
    """Sampler jobs of the vote (``0`` for classical voting)."""
    num_decision_jobs: int = 0
    """Sampler jobs of the pairwise decisions: one for all pairs and points when the pairwise
    :class:`~qiskit_qdeep.svm.QLSSVM` models share one sampler, ``0`` on the exact path (see
    :meth:`AllPairQSVM.pairwise_decisions`)."""

    @property
    def num_jobs(self) -> int:
        """All sampler jobs of the vote call: decisions plus Dürr-Høyer rounds."""
        return self.num_decision_jobs + self.num_voting_jobs

    @property
    def num_oracle_calls(self) -> np.ndarray:
        """Grover iterations spent per sample (zeros for classical voting)."""
        if self.searches is None:
            return np.zeros(len(self.labels), dtype=int)
        return np.array([s.num_oracle_calls for s in self.searches], dtype=int)


def _share_primitives(base: Any, estimator: Any) -> None:
    """Gives a clone the primitives and pass managers of ``base`` itself, not copies.

    ``sklearn.base.clone`` deep-copies every parameter that is not an estimator. Primitives are
    services (a runtime sampler is bound to one Batch or Session, a counting wrapper must see all
    calls) and the pairwise models must share one sampler object to be batched into one job.
    """
    for name, value in base.get_params(deep=False).items():
        if isinstance(value, (BaseSamplerV2, BaseEstimatorV2, BasePassManager)):
            estimator.set_params(**{name: value})


def _num_predict_jobs(estimator: Any) -> int:
    """``estimator.predict_num_jobs`` where a binary estimator counts its jobs, else ``0``."""
    jobs = getattr(estimator, "predict_num_jobs", 0)
    return int(jobs) if isinstance(jobs, (int, np.integer)) else 0


@dataclass
class _DecisionPlan:
    """Pairwise decision columns of one all-pair model, some still waiting for a sampler job."""

    columns: list
    requests: list = field(default_factory=list)  # (pair index, QLSSVM decision request)
    jobs: int = 0


def _execute_decision_plans(plans: list[_DecisionPlan]) -> tuple[list[np.ndarray], int]:
    """Completes several decision plans with one sampler job per distinct sampler.

    The sampled Hadamard tests of every plan (e.g. all hidden units of a
    :class:`~qiskit_qdeep.svm.DeepQSVM` layer) that share a sampler object go out together in
    one :func:`~qiskit_qdeep.primitives.run_sampler_batch` call.

    Returns:
        The decision matrices ``(n_samples, n_pairs)`` in plan order and the total number of
        jobs (those the plans already spent plus the batched ones, retries included).
    """
    batches: dict[int, list] = {}  # id(sampler) -> [(plan index, pair index, request), ...]
    jobs = sum(plan.jobs for plan in plans)
    for i, plan in enumerate(plans):
        for p, request in plan.requests:
            batches.setdefault(id(request.runner.sampler), []).append((i, p, request))
    for batch in batches.values():
        first = batch[0][2].runner
        before = first.num_jobs
        probs = run_sampler_batch([(request.runner, request.values) for _, _, request in batch])
        jobs += first.num_jobs - before  # one job, plus retries
        for (i, p, request), pair_probs in zip(batch, probs, strict=True):
            plans[i].columns[p] = request.decode(pair_probs)
    return [np.stack(plan.columns, axis=1) for plan in plans], jobs


class AllPairQSVM(ClassifierMixin, BaseEstimator):
    r"""Multiclass SVM from ``k (k - 1) / 2`` binary (quantum) SVMs and a quantum vote.

    The quantum all-pair approach (Algorithm 1 of the paper): one binary classifier per pair of
    classes :math:`(a, b)`, :math:`a < b`, trained on the points of these two classes (a clone
    of ``binary_estimator``, by default a :class:`~qiskit_qdeep.svm.QLSSVM` trained by HHL). A
    query point gets one vote per pair (``decision > 0`` votes for :math:`b`, else :math:`a`),
    so every class has between ``0`` and ``k - 1`` votes, and the predicted class is the most
    voted one:

    * ``voting="grover"``: the vote counts are loaded by a QROM and the maximum is found with
      :class:`~qiskit_qdeep.algorithms.DurrHoyerMaximum` (Grover search with a threshold
      oracle, one sampler job per round for all query points of a call);
    * ``voting="classical"``: ``numpy.argmax`` of the counts.

    **Ties** go to the smallest class index (the first class in ``classes_``) in both modes;
    the Grover vote encodes (count, index) in one key so the maximum is unique (see
    :mod:`~qiskit_qdeep.circuit.library.maximum_finding`).

    **Primitives and jobs.** ``sampler``, ``pass_manager`` and ``shots`` go to the default
    :class:`~qiskit_qdeep.svm.QLSSVM` (``sampler=None, shots=None``: exact HHL and Hadamard
    test) and ``sampler``/``pass_manager`` to the Grover vote (always single shots; ``None``
    is the exact seeded torch sampler). The default pairwise models follow the current
    values at every prediction, so ``set_params(sampler=..., pass_manager=..., shots=...)``
    after an exact ``fit`` predicts on a device. An explicit ``binary_estimator`` keeps its
    own settings; its clones share its sampler and pass manager objects (they are not
    copied). ``fit`` costs the binary estimators' jobs (:attr:`fit_num_jobs_`, e.g. one HHL
    job per pair when sampled). A prediction costs **one** sampler job for the Hadamard tests
    of all pairs and all query points when the pairwise QLSSVMs share one sampler
    (:attr:`AllPairVote.num_decision_jobs`; one job per distinct sampler object otherwise,
    e.g. ``sampler=None`` with ``shots`` gives every pair its own seeded local sampler; other
    binary estimators are called one by one), plus, with Grover voting, one job per
    Dürr-Høyer round for all query points (:attr:`AllPairVote.num_voting_jobs`, about 30-60
    for up to 8 classes). :attr:`predict_num_jobs` counts both since ``fit``.

    **Limits.** Grover voting uses ``ceil(log2 k) + ceil(log2 k) + 1`` qubits (index, vote
    count up to ``k - 1``, flag): 5 for 3-4 classes, 7 for 5-8, 9 for 9-16. Each pair's
    binary problem obeys the binary estimator's limits (QLSSVM: at most 63 training points).

    **Pickling.** Cached primitives are not pickled; a ``sampler`` that cannot be pickled is
    stored as ``None``: re-attach it with ``set_params(sampler=...)`` after loading. With the
    default exact primitives the loaded model predicts identically.

    Example:

    .. code-block:: python

        from sklearn.datasets import load_iris
        from qiskit_qdeep.svm import AllPairQSVM, QLSSVM

        X, y = load_iris(return_X_y=True)
        X, y = X[::10], y[::10]                      # 15 points, 5 per class
        model = AllPairQSVM(QLSSVM(gamma=5.0), voting="grover", random_state=0).fit(X, y)
        model.predict(X[:3])

    Args:
        binary_estimator: A scikit-learn binary classifier (cloned per pair); ``None`` builds
            ``QLSSVM(sampler=sampler, pass_manager=pass_manager, shots=shots)`` in ``fit``.
        voting: ``"grover"`` (Dürr-Høyer maximum finding) or ``"classical"`` (argmax).
        sampler: V2 sampler of the Grover vote and of the default binary estimator.
        pass_manager: Pass manager of the same.
        shots: Shots of the default binary estimator (the vote always takes single shots).
        random_state: Seeds the binary estimators (those with a ``random_state`` parameter)
            and the Grover vote.
        search_limit: ``search_limit`` of :class:`~qiskit_qdeep.algorithms.DurrHoyerMaximum`.

    References:
        [1] A. K. Bishwas, A. Mani, V. Palade, *An all-pair quantum SVM approach for big data
        multiclass classification*, Quantum Inf. Process. 17, 282 (2018),
        `arXiv:1704.07664 <https://arxiv.org/abs/1704.07664>`_.

        [2] C. Dürr, P. Høyer, *A quantum algorithm for finding the minimum*,
        `arXiv:quant-ph/9607014 <https://arxiv.org/abs/quant-ph/9607014>`_.
    """

    def __init__(
        self,
        binary_estimator: Any = None,
        *,
        voting: str = "grover",
        sampler: BaseSamplerV2 | None = None,
        pass_manager: BasePassManager | None = None,
        shots: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        search_limit: float = 9.0,
    ) -> None:
        self.binary_estimator = binary_estimator
        self.voting = voting
        self.sampler = sampler
        self.pass_manager = pass_manager
        self.shots = shots
        self.random_state = random_state
        self.search_limit = search_limit

    # ------------------------------------------------------------------------------------------
    # Fit
    # ------------------------------------------------------------------------------------------
    def _base_estimator(self) -> Any:
        if self.binary_estimator is None:
            from .qlssvm import QLSSVM

            return QLSSVM(sampler=self.sampler, pass_manager=self.pass_manager, shots=self.shots)
        estimator = self.binary_estimator
        if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
            raise QDeepTypeError(
                "binary_estimator must be a scikit-learn classifier (with fit and get_params), "
                f"got {type(estimator).__name__}."
            )
        if not (hasattr(estimator, "decision_function") or hasattr(estimator, "predict")):
            raise QDeepTypeError("binary_estimator needs decision_function or predict.")
        return estimator

    def _check_params(self) -> None:
        if self.voting not in VOTING_METHODS:
            raise QDeepValueError(f"voting must be one of {VOTING_METHODS}, got {self.voting!r}.")
        check_sampler(self.sampler)

    def fit(self, X: Any, y: Any) -> AllPairQSVM:
        """Trains one binary classifier per pair of classes.

        Args:
            X: Training data ``(n_samples, n_features)``.
            y: Labels ``(n_samples,)`` with at least two classes.

        Returns:
            ``self``.

        Raises:
            QDeepValueError: For a bad ``voting``, fewer than two classes or bad data.
            QDeepTypeError: For a bad ``binary_estimator`` or ``sampler``.
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=float)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise QDeepValueError(
                f"AllPairQSVM needs at least 2 classes in y, got {len(classes)} "
                f"({classes.tolist()})."
            )
        base = self._base_estimator()
        rng = check_random_state(self.random_state)
        pairs = list(combinations(range(len(classes)), 2))
        estimators = []
        fit_jobs = 0
        for a, b in pairs:
            mask = (y == classes[a]) | (y == classes[b])
            estimator = clone(base)
            _share_primitives(base, estimator)
            seed = int(rng.randint(0, 2**31 - 1))
            if "random_state" in estimator.get_params(deep=False):
                estimator.set_params(random_state=seed)
            estimator.fit(X[mask], y[mask])
            fit_jobs += int(getattr(estimator, "fit_num_jobs_", 0))
            estimators.append(estimator)
        self.classes_ = classes
        self.pairs_ = pairs
        self.estimators_ = estimators
        self.fit_num_jobs_ = fit_jobs
        self.voting_seed_ = int(rng.randint(0, 2**31 - 1))
        self._predict_jobs = 0
        return self

    # ------------------------------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------------------------------
    def _check_X(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return validate_data(self, X, dtype=float, reset=False)

    def _sync_default_estimators(self) -> None:
        """Gives the default pairwise QLSSVMs the current sampler, pass manager and shots."""
        if self.binary_estimator is not None:
            return
        for estimator in self.estimators_:
            params = estimator.get_params(deep=False)
            if (
                params["sampler"] is not self.sampler
                or params["pass_manager"] is not self.pass_manager
                or params["shots"] != self.shots
            ):
                estimator.set_params(
                    sampler=self.sampler, pass_manager=self.pass_manager, shots=self.shots
                )

    def _decision_plan(self, X: Any) -> _DecisionPlan:
        """Runs the unbatchable pairwise estimators; collects the sampled QLSSVM requests."""
        from .qlssvm import QLSSVM

        X = self._check_X(X)
        check_sampler(self.sampler)
        self._sync_default_estimators()
        plan = _DecisionPlan([None] * len(self.pairs_))
        for p, ((_, b), estimator) in enumerate(zip(self.pairs_, self.estimators_, strict=True)):
            if isinstance(estimator, QLSSVM):
                request = estimator._sampled_decision_request(X)  # pylint: disable=protected-access
                if request is not None:
                    plan.requests.append((p, request))
                    continue
            before = _num_predict_jobs(estimator)
            if hasattr(estimator, "decision_function"):
                values = np.asarray(estimator.decision_function(X), dtype=float).reshape(-1)
            else:
                labels = np.asarray(estimator.predict(X))
                values = np.where(labels == self.classes_[b], 1.0, -1.0)
            plan.jobs += _num_predict_jobs(estimator) - before
            plan.columns[p] = values
        return plan

    def _pairwise_decisions(self, X: Any) -> tuple[np.ndarray, int]:
        """Decision values ``(n_samples, n_pairs)`` and the number of jobs they cost."""
        (decisions,), jobs = _execute_decision_plans([self._decision_plan(X)])
        return decisions, jobs

    def pairwise_decisions(self, X: Any) -> np.ndarray:
        """Decision values of every pairwise classifier.

        Column ``p`` belongs to the pair ``pairs_[p] = (a, b)``; positive values vote for
        ``classes_[b]``. Estimators without ``decision_function`` give ``+-1`` from ``predict``.
        These are the activations :class:`~qiskit_qdeep.svm.DeepQSVM` passes between layers.

        Sampled :class:`~qiskit_qdeep.svm.QLSSVM` pairs on one shared sampler object are not
        called one by one: the Hadamard tests of all of them and all query points go out in
        **one** sampler job (:func:`~qiskit_qdeep.primitives.run_sampler_batch`, every pair
        with its own template, pass manager and shots). Exact QLSSVMs cost no job; other binary
        estimators are called one by one. The jobs are added to :attr:`predict_num_jobs`.

        Args:
            X: Query points ``(n_samples, n_features)``.

        Returns:
            Array ``(n_samples, n_pairs)``.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        decisions, jobs = self._pairwise_decisions(X)
        self._count_jobs(jobs)
        return decisions

    def _count_jobs(self, jobs: int) -> None:
        self._predict_jobs = getattr(self, "_predict_jobs", 0) + int(jobs)

    @property
    def predict_num_jobs(self) -> int:
        """Sampler jobs of the predictions since ``fit``: pairwise decisions and Grover votes.

        Counts the jobs of :meth:`pairwise_decisions`, :meth:`vote`, :meth:`predict` and
        :meth:`decision_function` calls (jobs that binary estimators other than QLSSVM submit
        are counted where they expose ``predict_num_jobs`` themselves).

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        check_is_fitted(self)
        return int(getattr(self, "_predict_jobs", 0))

    def _votes(self, decisions: np.ndarray) -> np.ndarray:
        votes = np.zeros((len(decisions), len(self.classes_)), dtype=np.int64)
        for p, (a, b) in enumerate(self.pairs_):
            positive = decisions[:, p] > 0
            votes[:, b] += positive
            votes[:, a] += ~positive
        return votes

    def vote(self, X: Any) -> AllPairVote:
        """Pairwise decisions, vote counts and the winning class of every query point.

        Args:
            X: Query points ``(n_samples, n_features)``.

        Returns:
            An :class:`AllPairVote` (labels, winners, votes, decisions, the Dürr-Høyer results
            and the job counts of the decisions and of the vote).

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        decisions, decision_jobs = self._pairwise_decisions(X)
        votes = self._votes(decisions)
        searches = None
        jobs = 0
        if self.voting == "grover":
            finder = DurrHoyerMaximum(
                sampler=self.sampler,
                pass_manager=self.pass_manager,
                seed=self.voting_seed_,
                search_limit=self.search_limit,
            )
            searches = tuple(finder.find_maximum_batch(votes, max_value=len(self.classes_) - 1))
            winners = np.array([s.index for s in searches], dtype=np.int64)
            jobs = finder.num_jobs
        else:
            winners = np.argmax(votes, axis=1)  # first maximum: the smallest class index
        self._count_jobs(decision_jobs + jobs)
        return AllPairVote(
            labels=self.classes_[winners],
            winners=winners,
            votes=votes,
            decisions=decisions,
            searches=searches,
            num_voting_jobs=int(jobs),
            num_decision_jobs=int(decision_jobs),
        )

    def predict(self, X: Any) -> np.ndarray:
        """The most voted class of every query point (see ``voting``).

        Args:
            X: Query points ``(n_samples, n_features)``.

        Returns:
            Labels ``(n_samples,)`` from ``classes_``.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        return self.vote(X).labels

    def decision_function(self, X: Any) -> np.ndarray:
        """Vote counts ``(n_samples, n_classes)``, or the pair's decision ``(n_samples,)`` for 2.

        With ``k > 2`` classes the columns are the classical vote counts (``argmax`` with the
        tie rule is the classical-vote prediction); with two classes the single pairwise
        decision value (positive means ``classes_[1]``), as scikit-learn expects.

        Raises:
            NotFittedError: Before :meth:`fit`.
        """
        decisions = self.pairwise_decisions(X)
        if len(self.classes_) == 2:
            return decisions[:, 0]
        return self._votes(decisions).astype(float)

    # ------------------------------------------------------------------------------------------
    # Pickling
    # ------------------------------------------------------------------------------------------
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
