# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""q-means clustering: quantum distance estimation (delta-k-means) and adiabatic assignment."""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseSamplerV2
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import kmeans_plusplus
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from .._validation import check_int, check_shots
from ..circuit.library import amplitude_encoding_angles
from ..circuit.library.distance_estimation import (
    OVERLAP_TESTS,
    adiabatic_assignment_circuit,
    hadamard_overlap_circuit,
    overlap_from_probability,
    swap_overlap_circuit,
)
from ..exceptions import QDeepTypeError, QDeepValueError, QubitLimitError
from ..primitives import resolve_sampler, run_sampler_batch
from ..primitives.resolution import check_pass_manager, check_sampler
from ._execution import ProbabilityExecutor

__all__ = [
    "QMeans",
    "AdiabaticSuccessCurve",
    "adiabatic_success_curve",
    "plot_adiabatic_success",
    "MAX_DATA_QUBITS",
    "METHODS",
]

#: Assignment methods of :class:`QMeans`.
METHODS = ("distance", "adiabatic")

#: Largest data register (``2**8 = 256`` features); reduce larger data with PCA first.
MAX_DATA_QUBITS = 8

#: Energy of the padding states of the cluster register (normalised distances lie in [0, 1]).
PADDING_DISTANCE = 1.5


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def _check_data(X: Any, name: str = "X") -> np.ndarray:
    """A finite, real, dense ``(n_samples, n_features)`` float array (scikit-learn's checks)."""
    try:
        array = check_array(
            X,
            accept_sparse=False,
            dtype=np.float64,
            ensure_all_finite=True,
            ensure_min_samples=1,
            ensure_min_features=1,
            input_name=name,
        )
    except (TypeError, ValueError) as exc:
        raise QDeepValueError(f"{name} is not a valid data array: {exc}") from exc
    return array


def _data_qubits(n_features: int) -> int:
    n = max(1, math.ceil(math.log2(n_features)))
    if n > MAX_DATA_QUBITS:
        raise QubitLimitError(
            f"X has {n_features} features, which needs {n} data qubits (amplitude encoding of "
            f"2**{n} amplitudes); q-means here is limited to {MAX_DATA_QUBITS} data qubits "
            f"({2**MAX_DATA_QUBITS} features): reduce the dimension first (e.g. PCA)."
        )
    return n


def _pad(vectors: np.ndarray, num_qubits: int) -> np.ndarray:
    width = 1 << num_qubits
    if vectors.shape[-1] == width:
        return vectors
    out = np.zeros(vectors.shape[:-1] + (width,))
    out[..., : vectors.shape[-1]] = vectors
    return out


class _DistanceCircuits:
    r"""Estimated squared distances of all point-centroid pairs in one execution.

    :math:`d^2(x, c) = \|x\|^2 + \|c\|^2 - 2\|x\|\|c\|\langle\hat x|\hat c\rangle`, the inner
    product from the overlap circuit (one binding per pair), the norms classical.
    """

    def __init__(self, num_qubits: int, test: str, **execution) -> None:
        self.num_qubits = num_qubits
        self.test = test
        build = hadamard_overlap_circuit if test == "hadamard" else swap_overlap_circuit
        circuit = build(num_qubits)
        xs = [p for p in circuit.parameters if p.name.startswith("x")]
        ys = [p for p in circuit.parameters if p.name.startswith("y")]
        xs.sort(key=lambda p: p.index)
        ys.sort(key=lambda p: p.index)
        self.executor = ProbabilityExecutor(circuit, xs + ys, **execution)

    def overlaps(self, points: np.ndarray, centers: np.ndarray) -> np.ndarray:
        r"""Estimated :math:`\langle\hat x|\hat c\rangle`, shape ``(n_points, n_centers)``."""
        xa = amplitude_encoding_angles(_pad(points, self.num_qubits))
        ca = amplitude_encoding_angles(_pad(centers, self.num_qubits))
        n, k = len(xa), len(ca)
        values = np.concatenate(
            [np.repeat(xa, k, axis=0), np.tile(ca, (n, 1))], axis=1
        )  # pair (i, j) at row i * k + j
        p0 = self.executor.run(values)[:, 0].reshape(n, k)
        return overlap_from_probability(p0, self.test)

    def squared_distances(self, points: np.ndarray, centers: np.ndarray) -> np.ndarray:
        """Estimated squared distances ``(n_points, n_centers)`` (clipped at zero)."""
        xn = np.linalg.norm(points, axis=1)
        cn = np.linalg.norm(centers, axis=1)
        overlap = self.overlaps(points, centers)
        d2 = xn[:, None] ** 2 + cn[None, :] ** 2 - 2.0 * xn[:, None] * cn[None, :] * overlap
        return np.clip(d2, 0.0, None)


class _AdiabaticCircuit:
    """The adiabatic assignment template for ``k`` clusters."""

    def __init__(self, k: int, evolution_time: float, trotter_steps: int, **execution) -> None:
        circuit = adiabatic_assignment_circuit(
            k, evolution_time, trotter_steps, padding_distance=PADDING_DISTANCE
        )
        params = sorted(circuit.parameters, key=lambda p: p.index)
        circuit = circuit.decompose(gates_to_decompose=["PauliEvolution"])
        self.k = k
        self.executor = ProbabilityExecutor(circuit, params, **execution)

    def probabilities(self, squared_distances: np.ndarray) -> np.ndarray:
        """Register outcome probabilities ``(n_points, 2**m)`` for the normalised distances."""
        return self.executor.run(normalise_distances(squared_distances))


def normalise_distances(squared_distances: np.ndarray) -> np.ndarray:
    r"""Rows scaled to ``[0, 1]`` by their maximum: :math:`H_f = \mathrm{diag}(d_j^2/\max_l d_l^2)`.

    A zero row (all distances zero) stays zero (a fully degenerate :math:`H_f`).
    """
    d2 = np.clip(np.asarray(squared_distances, dtype=float), 0.0, None)
    top = d2.max(axis=1, keepdims=True)
    return np.divide(d2, top, out=np.zeros_like(d2), where=top > 0)


class QMeans(TransformerMixin, ClusterMixin, BaseEstimator):
    r"""q-means clustering with quantum distance estimation or adiabatic cluster assignment.

    Lloyd's iterations (assign every point to a centroid, move each centroid to the mean of its
    points) where the **assignment** runs on quantum circuits:

    ``method="distance"`` (q-means / :math:`\delta`-k-means, Kerenidis et al. 2019)
        The squared distance of point :math:`x` to centroid :math:`c` is

        .. math::

            d^2(x, c) = \|x\|^2 + \|c\|^2 - 2\,\|x\|\,\|c\|\,\langle\hat x|\hat c\rangle ,

        with the inner product of the amplitude-encoded unit vectors estimated on a circuit:
        the Hadamard test :func:`~qiskit_qdeep.circuit.library.hadamard_overlap_circuit`
        (``overlap_test="hadamard"``, signed, :math:`P(0) = (1 + \langle\hat x|\hat c\rangle)/2`)
        or the SWAP test :func:`~qiskit_qdeep.circuit.library.swap_overlap_circuit`
        (``overlap_test="swap"``, :math:`\langle\hat x|\hat c\rangle^2`, only for non-negative
        data). The norms are classical inputs (in q-means they come from the QRAM data
        structure). Both vectors are loaded by RY trees whose angles are the template's
        parameters, so **all point-centroid pairs of an iteration are the bindings of one
        template in one primitive call**. A point is assigned with the :math:`\delta`-k-means
        rule: every centroid whose estimated squared distance is within ``delta`` of the minimum
        is a candidate, and one candidate is picked uniformly at random (seeded).

    ``method="adiabatic"`` (Lloyd, Mohseni, Rebentrost 2013)
        The distances are estimated as above (one call), then for every point a cluster register
        of :math:`\lceil\log_2 k\rceil` qubits evolves adiabatically from the uniform
        superposition to the ground state of :math:`H_f = \mathrm{diag}(d_j^2 / \max_l d_l^2)`
        (padding states get energy ``1.5``), Trotterized with ``trotter_steps`` steps over
        ``evolution_time`` (:func:`~qiskit_qdeep.circuit.library.adiabatic_assignment_circuit`,
        all points bindings of one template, one call), and the register is **measured** to
        assign the point. With ``shots`` the assignment is the most frequent cluster outcome
        (padding outcomes ignored, ties broken at random); in exact mode the point gets one
        outcome drawn with the seeded generator from the exact distribution conditioned on the
        cluster outcomes (a single-shot measurement). Too short an evolution mis-assigns points;
        see :func:`adiabatic_success_curve`.

    The centroid update is the classical mean. In q-means the new centroids are read out by
    tomography with error :math:`\delta/2`; ``tomography_noise`` **simulates** that: each new
    centroid is shifted by a random vector of Euclidean norm ``tomography_noise`` (default
    ``delta / 2``; ``0`` disables it) in a uniformly random direction.

    Execution: with ``sampler=None`` and ``shots=None`` the templates are simulated **exactly**
    (:class:`~qiskit_qdeep.primitives.StatevectorEngine`, exact outcome probabilities, no shot
    noise); with ``shots`` and no sampler a seeded
    :class:`~qiskit_qdeep.primitives.TorchStatevectorSampler` samples them; any V2 sampler
    (Aer, IBM Runtime with ``pass_manager``) can be given. Each assignment step is **one**
    execution for ``"distance"`` and **two** for ``"adiabatic"``; a fit makes
    ``n_init * (n_iter_ + final)`` assignment steps (``fit_num_jobs_``), ``predict`` and
    ``transform`` one step each.

    Preprocessing: like scikit-learn's :class:`~sklearn.cluster.KMeans` the data are centred
    (distances are translation invariant), which keeps the norms and therefore the shot noise of
    :math:`d^2` small; with ``overlap_test="swap"`` they are not centred (the SWAP test needs
    non-negative vectors). Features are zero-padded to :math:`2^n`, ``n <= 8`` data qubits
    (:data:`MAX_DATA_QUBITS`). A zero vector (point or centroid) has no direction: its inner
    product term is multiplied by its zero norm, so the circuit result is irrelevant and
    :math:`d^2 = \|x\|^2 + \|c\|^2` is exact.

    Convergence mirrors scikit-learn's Lloyd: stop when the labels do not change or when the
    total squared centroid shift is at most ``tol`` times the mean feature variance; a final
    assignment makes ``labels_`` consistent with ``cluster_centers_``. Stochastic assignments
    (few shots, ``delta > 0``, tomography noise, single-shot adiabatic draws) keep a few labels
    fluctuating, so such runs may only stop at ``max_iter``: choose it accordingly (each
    iteration is one or two executions). An empty cluster is moved
    to the point farthest (estimated) from its centroid. ``inertia_`` is the exact classical sum
    of squared distances of the points to their assigned centroids, and the best of ``n_init``
    runs is the one with the smallest ``inertia_``.

    Example:

    .. code-block:: python

        from sklearn.datasets import make_blobs
        from qiskit_qdeep.clustering import QMeans

        X, _ = make_blobs(60, n_features=4, centers=3, random_state=0)
        qmeans = QMeans(3, shots=2000, random_state=0).fit(X)
        qmeans.labels_, qmeans.cluster_centers_, qmeans.fit_num_jobs_

    Pickling drops the cached circuits and, when it cannot be pickled, the ``sampler``
    (``None`` after loading: re-attach it with ``set_params(sampler=...)``).

    References:
        I. Kerenidis, J. Landman, A. Luongo, A. Prakash, "q-means: A quantum algorithm for
        unsupervised machine learning", NeurIPS 2019,
        `arXiv:1812.03584 <https://arxiv.org/abs/1812.03584>`_.

        S. Lloyd, M. Mohseni, P. Rebentrost, "Quantum algorithms for supervised and unsupervised
        machine learning", `arXiv:1307.0411 <https://arxiv.org/abs/1307.0411>`_.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        method: str = "distance",
        init: str | np.ndarray = "k-means++",
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = 1e-4,
        delta: float = 0.0,
        tomography_noise: float | None = None,
        overlap_test: str = "hadamard",
        shots: int | None = None,
        sampler: BaseSamplerV2 | None = None,
        pass_manager: BasePassManager | None = None,
        evolution_time: float = 50.0,
        trotter_steps: int = 100,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        r"""Stores the hyper-parameters (validated in :meth:`fit`).

        Args:
            n_clusters: Number of clusters ``k`` (``2 <= k <= n_samples``).
            method: ``"distance"`` or ``"adiabatic"``.
            init: ``"k-means++"`` (scikit-learn's :func:`~sklearn.cluster.kmeans_plusplus`,
                seeded by ``random_state``) or initial centroids ``(n_clusters, n_features)``.
            n_init: Number of runs with different k-means++ seeds (``1`` for given centroids).
            max_iter: Maximum Lloyd iterations per run.
            tol: Relative tolerance on the centroid shift (scaled by the mean feature variance).
            delta: Width of the :math:`\delta`-k-means candidate window on squared distances
                (``method="distance"``); ``0`` is the plain nearest-centroid rule.
            tomography_noise: Norm of the simulated centroid tomography error; ``None``:
                ``delta / 2``.
            overlap_test: ``"hadamard"`` (signed data) or ``"swap"`` (non-negative data).
            shots: Shots per circuit; ``None``: exact (without a sampler) or the sampler's default.
            sampler: A V2 sampler; default exact simulation or, with ``shots``, a seeded
                :class:`~qiskit_qdeep.primitives.TorchStatevectorSampler`.
            pass_manager: Transpiles the templates once for the sampler's backend.
            evolution_time: Total adiabatic evolution time (``method="adiabatic"``).
            trotter_steps: Trotter steps of the adiabatic evolution.
            random_state: Seeds the initialisation, the tie breaking, the tomography noise, the
                adiabatic single-shot draws and the default sampler.
        """
        self.n_clusters = n_clusters
        self.method = method
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.delta = delta
        self.tomography_noise = tomography_noise
        self.overlap_test = overlap_test
        self.shots = shots
        self.sampler = sampler
        self.pass_manager = pass_manager
        self.evolution_time = evolution_time
        self.trotter_steps = trotter_steps
        self.random_state = random_state

    # ------------------------------------------------------------------ validation
    def _check_params(self, X: np.ndarray) -> dict:
        n_samples = X.shape[0]
        k = check_int("n_clusters", self.n_clusters, 2)
        if k > n_samples:
            raise QDeepValueError(
                f"n_clusters={k} must be <= n_samples={n_samples} (one point per cluster at least)."
            )
        if self.method not in METHODS:
            raise QDeepValueError(f"method must be one of {METHODS}, got {self.method!r}.")
        if self.overlap_test not in OVERLAP_TESTS:
            raise QDeepValueError(
                f"overlap_test must be one of {OVERLAP_TESTS}, got {self.overlap_test!r}."
            )
        check_int("n_init", self.n_init)
        check_int("max_iter", self.max_iter)
        check_int("trotter_steps", self.trotter_steps)
        for name in ("tol", "delta"):
            value = getattr(self, name)
            if not (
                isinstance(value, (int, float, np.number)) and np.isfinite(value) and value >= 0
            ):
                raise QDeepValueError(f"{name} must be a finite number >= 0, got {value!r}.")
        noise = self.tomography_noise
        if noise is not None and not (_is_number(noise) and np.isfinite(noise) and noise >= 0):
            raise QDeepValueError(f"tomography_noise must be None or >= 0, got {noise!r}.")
        time = self.evolution_time
        if not (_is_number(time) and np.isfinite(time) and time > 0):
            raise QDeepValueError(f"evolution_time must be > 0, got {self.evolution_time!r}.")
        check_shots(self.shots)
        check_sampler(self.sampler)
        check_pass_manager(self.pass_manager)
        if self.overlap_test == "swap" and np.any(X < 0):
            raise QDeepValueError(
                "overlap_test='swap' estimates only |<x|c>|^2 and needs non-negative X; use "
                "overlap_test='hadamard' for signed data."
            )
        if isinstance(self.init, str):
            if self.init != "k-means++":
                raise QDeepValueError(f"init must be 'k-means++' or an array, got {self.init!r}.")
        else:
            init = np.asarray(self.init, dtype=float)
            if init.shape != (k, X.shape[1]) or not np.all(np.isfinite(init)):
                raise QDeepValueError(
                    f"init must be finite centroids of shape ({k}, {X.shape[1]}), got "
                    f"{np.shape(self.init)}."
                )
        distinct = len(np.unique(X, axis=0))
        if distinct < 2:
            raise QDeepValueError("X is constant (all samples are identical): nothing to cluster.")
        if distinct < k:
            raise QDeepValueError(
                f"X has only {distinct} distinct samples, fewer than n_clusters={k}."
            )
        noise = self.delta / 2.0 if noise is None else float(noise)
        return {"k": k, "tomography_noise": noise}

    # ------------------------------------------------------------------ execution
    def _executors(self, num_qubits: int) -> dict:
        """Builds (and caches) the circuit executors for ``num_qubits`` data qubits."""
        cache = getattr(self, "_runner_cache", None)
        key = (
            num_qubits,
            self.n_clusters,
            self.method,
            self.overlap_test,
            self.shots,
            id(self.sampler),
            id(self.pass_manager),
            self.evolution_time,
            self.trotter_steps,
        )
        if cache is not None and cache.get("key") == key:
            return cache
        exact = self.sampler is None and self.shots is None
        sampler = self.sampler
        if sampler is None and not exact:
            sampler = resolve_sampler(None, seed=np.random.default_rng(self._sampler_seed))
        execution = {
            "sampler": sampler,
            "pass_manager": self.pass_manager,
            "shots": None if self.shots is None else int(self.shots),
            "seed": None,
            "exact": exact,
        }
        cache = {
            "key": key,
            "distance": _DistanceCircuits(num_qubits, self.overlap_test, **execution),
        }
        if self.method == "adiabatic":
            cache["adiabatic"] = _AdiabaticCircuit(
                self.n_clusters, float(self.evolution_time), int(self.trotter_steps), **execution
            )
        self._runner_cache = cache
        return cache

    def _num_jobs(self) -> int:
        cache = getattr(self, "_runner_cache", None) or {}
        return sum(c.executor.num_jobs for name, c in cache.items() if name != "key")

    def _assign(
        self, points: np.ndarray, centers: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Labels, estimated squared distances and (adiabatic) outcome probabilities."""
        cache = self._executors(self._num_qubits)
        d2 = cache["distance"].squared_distances(points, centers)
        k = len(centers)
        if self.method == "distance":
            window = d2 <= d2.min(axis=1, keepdims=True) + float(self.delta)
            scores = np.where(window, rng.random(d2.shape), -1.0)
            return scores.argmax(axis=1), d2, None
        probs = cache["adiabatic"].probabilities(d2)
        valid = probs[:, :k]
        if cache["adiabatic"].executor.exact:
            weights = np.clip(valid, 0.0, None)
            total = weights.sum(axis=1, keepdims=True)
            weights = np.divide(weights, total, out=np.full_like(weights, 1.0 / k), where=total > 0)
            cumulative = np.cumsum(weights, axis=1)
            draws = rng.random((len(points), 1))
            labels = np.minimum((draws > cumulative).sum(axis=1), k - 1)
        else:
            top = valid.max(axis=1, keepdims=True)
            scores = np.where(valid >= top, rng.random(valid.shape), -1.0)
            labels = scores.argmax(axis=1)
        return labels, d2, probs

    # ------------------------------------------------------------------ fitting
    def _single_run(
        self, X: np.ndarray, init: np.ndarray, rng: np.random.Generator, tol: float, noise: float
    ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray | None, np.ndarray]:
        k = len(init)
        centers = init.copy()
        labels_old = None
        strict = False
        n_iter = 0
        for iteration in range(1, int(self.max_iter) + 1):
            n_iter = iteration
            labels, d2, probs = self._assign(X, centers, rng)
            centers_new = self._update(X, labels, d2, k, noise, rng)
            if labels_old is not None and np.array_equal(labels, labels_old):
                strict = True
                centers = centers_new
                break
            shift = float(((centers_new - centers) ** 2).sum())
            centers = centers_new
            labels_old = labels
            if shift <= tol:
                break
        if not strict:
            labels, d2, probs = self._assign(X, centers, rng)
        return centers, labels, n_iter, probs, d2

    @staticmethod
    def _update(
        X: np.ndarray,
        labels: np.ndarray,
        d2: np.ndarray,
        k: int,
        noise: float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        counts = np.bincount(labels, minlength=k)
        sums = np.zeros((k, X.shape[1]))
        np.add.at(sums, labels, X)
        centers = sums / np.maximum(counts, 1)[:, None]
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            own = d2[np.arange(len(X)), labels]
            far = np.argsort(-own, kind="stable")[: len(empty)]
            centers[empty] = X[far]
        if noise > 0:
            direction = rng.normal(size=centers.shape)
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
            centers = centers + noise * direction
        return centers

    def fit(self, X: Any, y: Any = None) -> QMeans:
        """Clusters ``X``.

        Args:
            X: Data ``(n_samples, n_features)``.
            y: Ignored.

        Returns:
            ``self``.

        Raises:
            QDeepValueError: For ``n_clusters < 2`` or ``> n_samples``, empty, constant or
                non-finite data, ``shots < 1`` or other bad hyper-parameters.
            QubitLimitError: For more than ``2**8`` features.
            QDeepTypeError: For a non-V2 sampler or a bad pass manager.
        """
        del y
        X = _check_data(X)
        params = self._check_params(X)
        k = params["k"]
        self._num_qubits = _data_qubits(X.shape[1])
        random_state = check_random_state(self.random_state)
        self._sampler_seed = int(random_state.randint(2**31 - 1))
        self._predict_seed = int(random_state.randint(2**31 - 1))
        rng = np.random.default_rng(int(random_state.randint(2**31 - 1)))
        self._runner_cache = None
        self.mean_ = X.mean(axis=0) if self.overlap_test == "hadamard" else np.zeros(X.shape[1])
        Xc = X - self.mean_
        tol = float(self.tol) * float(np.mean(np.var(X, axis=0)))
        if isinstance(self.init, str):
            inits = [
                kmeans_plusplus(Xc, k, random_state=random_state)[0] for _ in range(self.n_init)
            ]
        else:
            inits = [np.asarray(self.init, dtype=float) - self.mean_]
        best = None
        for init in inits:
            centers, labels, n_iter, probs, d2 = self._single_run(
                Xc, init, rng, tol, params["tomography_noise"]
            )
            inertia = float(((Xc - centers[labels]) ** 2).sum())
            if best is None or inertia < best[0]:
                best = (inertia, centers, labels, n_iter, probs, d2)
        inertia, centers, labels, n_iter, probs, d2 = best
        self.cluster_centers_ = centers + self.mean_
        self.labels_ = labels.astype(np.int64)
        self.inertia_ = inertia
        self.n_iter_ = int(n_iter)
        self.n_features_in_ = X.shape[1]
        self.num_qubits_ = (
            self._num_qubits + 1 if self.overlap_test == "hadamard" else (2 * self._num_qubits + 1)
        )
        self.estimated_squared_distances_ = d2
        if probs is not None:
            nearest = d2.argmin(axis=1)
            self.success_probability_ = float(probs[np.arange(len(X)), nearest].mean())
        else:
            self.success_probability_ = None
        self.fit_num_jobs_ = self._num_jobs()
        return self

    # ------------------------------------------------------------------ inference
    def _check_predict_data(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = _check_data(X)
        if X.shape[1] != self.n_features_in_:
            raise QDeepValueError(
                f"X has {X.shape[1]} features, but QMeans is expecting {self.n_features_in_} "
                "features as input."
            )
        if self.overlap_test == "swap" and np.any(X < 0):
            raise QDeepValueError("overlap_test='swap' needs non-negative X.")
        return X

    def predict(self, X: Any) -> np.ndarray:
        """Assigns each sample to a cluster with the fitted method (one or two executions).

        Args:
            X: Data ``(n_samples, n_features)``.

        Returns:
            Labels ``(n_samples,)``.

        Raises:
            sklearn.exceptions.NotFittedError: Before :meth:`fit`.
            QDeepValueError: For bad data.
        """
        X = self._check_predict_data(X)
        rng = np.random.default_rng(self._predict_seed)
        labels, _, _ = self._assign(X - self.mean_, self.cluster_centers_ - self.mean_, rng)
        return labels.astype(np.int64)

    def transform(self, X: Any) -> np.ndarray:
        """Estimated Euclidean distances to the centroids (one execution of the distance circuits).

        Args:
            X: Data ``(n_samples, n_features)``.

        Returns:
            Array ``(n_samples, n_clusters)``.
        """
        X = self._check_predict_data(X)
        cache = self._executors(self._num_qubits)
        d2 = cache["distance"].squared_distances(X - self.mean_, self.cluster_centers_ - self.mean_)
        return np.sqrt(d2)

    def score(self, X: Any, y: Any = None) -> float:
        """Opposite of the exact inertia of ``X`` under :meth:`predict` (higher is better)."""
        del y
        labels = self.predict(X)
        X = np.asarray(X, dtype=float)
        return -float(((X - self.cluster_centers_[labels]) ** 2).sum())

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict:
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        state = dict(state)
        state.pop("_runner_cache", None)
        if state.get("sampler") is not None:
            try:
                pickle.dumps(state["sampler"])
            except Exception:  # pylint: disable=broad-except
                state["sampler"] = None
        return state


# ---------------------------------------------------------------------- adiabatic diagnostics


@dataclass(frozen=True)
class AdiabaticSuccessCurve:
    """Probability that the adiabatic register ends in the nearest centroid, vs evolution time."""

    evolution_times: np.ndarray
    """Total evolution times ``(T,)``."""
    success_probability: np.ndarray
    """Mean over points of the probability of the nearest centroid ``(T,)``."""
    success_std: np.ndarray
    """Standard deviation over points ``(T,)``."""
    argmax_accuracy: np.ndarray
    """Fraction of points whose most likely outcome is the nearest centroid ``(T,)``."""
    trotter_steps: np.ndarray
    """Trotter steps used for each time ``(T,)``."""
    num_jobs: int
    """Executions: one exact engine call per evolution time, or a single sampler job."""


def adiabatic_success_curve(
    X: Any,
    centers: Any,
    evolution_times: Any,
    *,
    trotter_steps: int | None = None,
    steps_per_time: float = 2.0,
    sampler: BaseSamplerV2 | None = None,
    pass_manager: BasePassManager | None = None,
    shots: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> AdiabaticSuccessCurve:
    r"""Success probability of the adiabatic assignment against the total evolution time.

    For each time :math:`T` the template of
    :func:`~qiskit_qdeep.circuit.library.adiabatic_assignment_circuit` is run for all points in
    one execution (with a sampler, all times together in **one** job via
    :func:`~qiskit_qdeep.primitives.run_sampler_batch`) with :math:`H_f` built from the **exact**
    squared distances of the points to
    ``centers`` (so the curve isolates the adiabatic stage from distance-estimation noise), and
    the probability of measuring the nearest centroid is averaged over the points.

    Args:
        X: Points ``(n_samples, n_features)``.
        centers: Centroids ``(k, n_features)``, ``k >= 2``.
        evolution_times: Positive total times.
        trotter_steps: Fixed number of steps; default ``max(4, ceil(steps_per_time * T))``.
        steps_per_time: Steps per unit time when ``trotter_steps`` is ``None``.
        sampler: A V2 sampler; default exact simulation (or a seeded sampler with ``shots``).
        pass_manager: Pass manager for the sampler's backend.
        shots: Shots per point; ``None``: exact probabilities without a sampler.
        seed: Seed of the default sampler.

    Returns:
        An :class:`AdiabaticSuccessCurve`.

    Raises:
        QDeepValueError: For bad shapes, non-positive times or fewer than 2 centroids.
    """
    X = _check_data(X)
    centers = _check_data(centers, "centers")
    if centers.shape[1] != X.shape[1]:
        raise QDeepValueError(
            f"centers must have {X.shape[1]} features like X, got {centers.shape[1]}."
        )
    k = check_int("number of centers", len(centers), 2)
    times = np.atleast_1d(np.asarray(evolution_times, dtype=float))
    if times.ndim != 1 or len(times) == 0 or not np.all(np.isfinite(times) & (times > 0)):
        raise QDeepValueError(f"evolution_times must be positive numbers, got {evolution_times!r}.")
    d2 = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=-1)
    nearest = d2.argmin(axis=1)
    exact = sampler is None and shots is None
    if sampler is None and not exact:
        sampler = resolve_sampler(None, seed=np.random.default_rng(seed))
    circuits, steps_used = [], []
    for time in times:
        steps = (
            check_int("trotter_steps", trotter_steps)
            if trotter_steps is not None
            else max(4, math.ceil(steps_per_time * time))
        )
        circuits.append(
            _AdiabaticCircuit(
                k,
                float(time),
                steps,
                sampler=sampler,
                pass_manager=pass_manager,
                shots=shots,
                seed=None,
                exact=exact,
            )
        )
        steps_used.append(steps)
    if exact:
        all_probs = [circuit.probabilities(d2) for circuit in circuits]
        num_jobs = len(circuits)
    else:  # every evolution time is its own template: all of them in one sampler job
        values = normalise_distances(d2)
        all_probs = run_sampler_batch([(c.executor.runner, values) for c in circuits])
        num_jobs = 1
    means, stds, accs = [], [], []
    for probs in all_probs:
        success = probs[np.arange(len(X)), nearest]
        means.append(success.mean())
        stds.append(success.std())
        accs.append(np.mean(probs[:, :k].argmax(axis=1) == nearest))
    return AdiabaticSuccessCurve(
        evolution_times=times,
        success_probability=np.asarray(means),
        success_std=np.asarray(stds),
        argmax_accuracy=np.asarray(accs),
        trotter_steps=np.asarray(steps_used),
        num_jobs=num_jobs,
    )


def plot_adiabatic_success(curve: AdiabaticSuccessCurve, ax: Any = None, label: str | None = None):
    """Plots :attr:`AdiabaticSuccessCurve.success_probability` against the evolution time.

    Args:
        curve: The curve.
        ax: Matplotlib axes; default a new figure.
        label: Legend label of the line.

    Returns:
        The matplotlib axes.

    Raises:
        QDeepTypeError: If ``curve`` is not an :class:`AdiabaticSuccessCurve`.
        MissingOptionalDependencyError: When matplotlib is not installed.
    """
    if not isinstance(curve, AdiabaticSuccessCurve):
        raise QDeepTypeError(f"curve must be an AdiabaticSuccessCurve, got {type(curve).__name__}.")
    from .._optional import require

    require("matplotlib", "plot_adiabatic_success")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    ax.errorbar(
        curve.evolution_times,
        curve.success_probability,
        yerr=curve.success_std,
        marker="o",
        capsize=3,
        label=label or "P(nearest centroid)",
    )
    ax.plot(curve.evolution_times, curve.argmax_accuracy, "s--", label="most likely = nearest")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("total evolution time T")
    ax.set_ylabel("probability / fraction")
    ax.set_title("Adiabatic cluster assignment")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax
