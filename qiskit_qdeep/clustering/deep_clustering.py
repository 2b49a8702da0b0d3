# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Quantum deep clustering: DeepCluster with q-means pseudo-labels and a quantum head."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .._progress import tqdm
from .._validation import check_int
from ..exceptions import CheckpointError, QDeepTypeError, QDeepValueError
from ..nn import ParallelQuantumLayer, QuantumLayer
from ..training import (
    CHECKPOINT_VERSION,
    _check_history,
    _check_settings,
    _check_state_dict,
    _fingerprint,
    _is_count,
    _load_state_dict,
    _module_structure,
    _open_checkpoint,
    _plain,
    _prepare_checkpoint_path,
    _save_checkpoint,
)
from .qmeans import QMeans

__all__ = [
    "QuantumDeepClustering",
    "ClassicalDeepClustering",
    "DeepClusteringHistory",
    "small_cnn",
    "plot_deep_clustering",
    "HEADS",
]

#: Built-in classifier heads.
HEADS = ("quantum", "linear")

_CHECKPOINT_FORMAT = "qiskit_qdeep.deep_clustering"
_CHECKPOINT_KEYS = ("model", "history", "epoch")


def small_cnn(in_channels: int = 1, feature_dim: int = 32) -> nn.Sequential:
    """The default feature extractor: two conv blocks and a linear projection.

    ``Conv(3x3, 16) - BN - ReLU - MaxPool(2) - Conv(3x3, 32) - BN - ReLU - AdaptiveAvgPool(2) -
    Linear(128, feature_dim) - ReLU``; works for any image size ``>= 4 x 4`` (8x8 digits,
    28x28 MNIST).

    Args:
        in_channels: Image channels.
        feature_dim: Width of the feature vector.

    Returns:
        The module, mapping ``(batch, in_channels, H, W)`` to ``(batch, feature_dim)``.
    """
    in_channels = check_int("in_channels", in_channels)
    feature_dim = check_int("feature_dim", feature_dim)
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(128, feature_dim),
        nn.ReLU(),
    )


@dataclass
class DeepClusteringHistory:
    """Per-epoch record of a deep-clustering run.

    Entry ``0`` of the clustering lists belongs to the features of the untrained network, entry
    ``e`` to the features after ``e`` training epochs.
    """

    nmi: list[float] = field(default_factory=list)
    """Normalised mutual information of the cluster assignments with the true labels."""
    ari: list[float] = field(default_factory=list)
    """Adjusted Rand index of the cluster assignments with the true labels."""
    num_clusters: list[int] = field(default_factory=list)
    """Non-empty clusters found."""
    cluster_seconds: list[float] = field(default_factory=list)
    """Wall time of feature extraction, PCA and clustering."""
    train_loss: list[float] = field(default_factory=list)
    """Mean cross-entropy on the pseudo-labels, one per training epoch."""
    train_seconds: list[float] = field(default_factory=list)
    """Wall time of each training epoch."""

    def to_dict(self) -> dict[str, list]:
        """Plain-data form (for checkpoints and JSON)."""
        return asdict(self)


class _Classifier(nn.Module):
    """Feature extractor, head body and the (re-initialised) output layer."""

    def __init__(self, features: nn.Module, body: nn.Module, width: int, n_clusters: int):
        super().__init__()
        self.features = features
        self.body = body
        self.output = nn.Linear(width, n_clusters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.body(self.features(x)))


class QuantumDeepClustering(ClusterMixin, BaseEstimator):
    r"""DeepCluster (Caron et al. 2018) with q-means pseudo-labels and a quantum classifier head.

    Every epoch

    1. extracts the features :math:`f_\theta(x_n)` of the whole dataset with the network
       (evaluation mode),
    2. PCA-whitens them to ``pca_components`` dimensions and L2-normalises each row,
    3. clusters them with a fresh clone of ``clusterer`` (default :class:`QMeans`), whose
       assignments are the pseudo-labels :math:`y_n`,
    4. re-initialises the output layer of the head,
    5. trains the head alone for ``head_warmup_steps`` mini-batches on the fixed features of
       step 1 (quantum weights included), and
    6. trains network and head for one pass with cross-entropy on the pseudo-labels, drawing the
       samples uniformly over the pseudo-classes (each cluster equally likely, as in
       DeepCluster), back-propagating through the head into the network:

    .. math::

        \min_{\theta, W} \frac1N \sum_n \ell\big(g_W(f_\theta(x_n)), y_n\big) .

    Step 5 is the paper's order of things: the quantum classifier is trained on the features
    and pseudo-labels, then kept fixed while the network learns through it. Without it (plain
    DeepCluster, ``head_warmup_steps=0``) the network spends each epoch adapting to a freshly
    drawn, random output layer. Both steps draw their mini-batches class-balanced; the head
    learns with ``head_lr``, the network with ``lr``. The warm-up and the head learning rate
    apply to every head, so :class:`ClassicalDeepClustering` gets the same schedule.

    The head :math:`g_W` is ``head="quantum"``: ``Linear(feature_dim, width)`` ->
    :class:`~qiskit_qdeep.nn.ParallelQuantumLayer` (``width / num_qubits`` circuits of
    ``num_qubits`` qubits, ``reps`` entangling layers) -> ``Linear(width, n_clusters)``;
    ``head="linear"``: ``Linear(feature_dim, n_clusters)`` (the classical DeepCluster head); or
    any module mapping features to ``width`` outputs, followed by the output layer. With
    ``freeze_head_during_backprop=True`` (the paper's choice: the quantum classifier's parameters
    are not updated by back-propagation) the quantum layer's weights stay fixed in step 6, while
    the gradient still flows through it into the network; step 5 still trains them.

    ``fit(X, y)`` uses ``y`` **only** to record NMI and ARI per epoch in ``history_`` (never for
    training). After the last epoch the features are clustered once more: ``labels_``.
    With ``checkpoint`` the state is saved after every epoch and a later ``fit`` with the same
    path resumes (bit-identical to an uninterrupted run with the default clusterer).

    The quantum parts execute through the package's execution core: QMeans as documented there
    (exact simulation by default, or a sampler with shots) and the quantum layer on the exact
    torch engine (``gradient="backprop"``).

    Example:

    .. code-block:: python

        from sklearn.datasets import load_digits
        from qiskit_qdeep.clustering import QuantumDeepClustering

        digits = load_digits()
        model = QuantumDeepClustering(10, epochs=3, random_state=0)
        model.fit(digits.images / 16.0, digits.target)
        model.history_.nmi  # NMI per epoch

    References:
        M. Caron, P. Bojanowski, A. Joulin, M. Douze, "Deep clustering for unsupervised
        learning of visual features", ECCV 2018,
        `arXiv:1807.05520 <https://arxiv.org/abs/1807.05520>`_.
    """

    _default_head = "quantum"

    def __init__(
        self,
        n_clusters: int = 10,
        *,
        feature_extractor: nn.Module | None = None,
        feature_dim: int = 32,
        clusterer: Any = None,
        head: str | nn.Module = "quantum",
        head_width: int = 8,
        num_qubits: int = 4,
        reps: int = 2,
        pca_components: int = 8,
        epochs: int = 5,
        batch_size: int = 64,
        lr: float = 1e-3,
        head_lr: float | None = 1e-2,
        head_warmup_steps: int = 50,
        freeze_head_during_backprop: bool = True,
        checkpoint: str | os.PathLike | None = None,
        progress: bool = True,
        random_state: int | None = None,
    ) -> None:
        """Stores the hyper-parameters (validated in :meth:`fit`).

        Args:
            n_clusters: Number of clusters / pseudo-classes.
            feature_extractor: Torch module mapping a batch of ``X`` to ``(batch, feature_dim)``;
                default :func:`small_cnn` (images ``(N, H, W)`` or ``(N, C, H, W)``).
            feature_dim: Feature width of the default extractor (and of custom ones).
            clusterer: Estimator with ``fit_predict``/``predict``, cloned every epoch with its
                ``random_state`` (if any) set to the epoch's seed; default
                ``QMeans(n_clusters, random_state=...)`` (``KMeans`` for the classical class).
            head: ``"quantum"``, ``"linear"`` or a module mapping features to ``head_width``.
            head_width: Width before the output layer (a multiple of ``num_qubits``).
            num_qubits: Qubits per circuit of the quantum head.
            reps: Entangling layers per circuit of the quantum head.
            pca_components: Whitened PCA dimension of the features before clustering.
            epochs: Training epochs.
            batch_size: Mini-batch size.
            lr: Adam learning rate of the network (a fresh optimizer every epoch, as the output
                layer is new).
            head_lr: Adam learning rate of the head (its trainable body and the output layer);
                ``None``: ``lr``.
            head_warmup_steps: Mini-batch steps that train only the head on the epoch's
                pseudo-labels, on the network's fixed features, after the output layer is
                re-initialised and before the joint pass (``0``: none, as in DeepCluster).
                The defaults (50 steps, ``head_lr=1e-2``) raised the final NMI on digits from
                0.60 to 0.72 (quantum) and 0.63 to 0.71 (classical), mean of 5 seeds.
            freeze_head_during_backprop: Keep the quantum layer's weights fixed during the joint
                pass (back-propagation into the network); the head warm-up trains them.
            checkpoint: File saved after every epoch; an existing one is resumed.
            progress: Show tqdm bars (one per epoch).
            random_state: Seeds the network, head, data order and the default clusterer.
        """
        self.n_clusters = n_clusters
        self.feature_extractor = feature_extractor
        self.feature_dim = feature_dim
        self.clusterer = clusterer
        self.head = head
        self.head_width = head_width
        self.num_qubits = num_qubits
        self.reps = reps
        self.pca_components = pca_components
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.head_lr = head_lr
        self.head_warmup_steps = head_warmup_steps
        self.freeze_head_during_backprop = freeze_head_during_backprop
        self.checkpoint = checkpoint
        self.progress = progress
        self.random_state = random_state

    # ------------------------------------------------------------------ building blocks
    def _default_clusterer(self, seed: int) -> Any:
        return QMeans(self.n_clusters, random_state=seed)

    def _build(self, X: torch.Tensor, seed: int) -> _Classifier:
        torch.manual_seed(seed)
        if self.feature_extractor is None:
            if X.ndim != 4:
                raise QDeepValueError(
                    "The default CNN needs images (N, H, W) or (N, C, H, W); got X of shape "
                    f"{tuple(X.shape)}. Pass feature_extractor=... for other data."
                )
            features = small_cnn(X.shape[1], self.feature_dim)
        else:
            if not isinstance(self.feature_extractor, nn.Module):
                raise QDeepTypeError(
                    "feature_extractor must be a torch.nn.Module, got "
                    f"{type(self.feature_extractor).__name__}."
                )
            features = clone_module(self.feature_extractor)
        head = self.head
        if isinstance(head, nn.Module):
            body, width = clone_module(head), check_int("head_width", self.head_width)
        elif head == "linear":
            body, width = nn.Identity(), self.feature_dim
        elif head == "quantum":
            width = check_int("head_width", self.head_width)
            q = check_int("num_qubits", self.num_qubits)
            if width % q:
                raise QDeepValueError(
                    f"head_width={width} must be a multiple of num_qubits={q} (one circuit per "
                    f"{q} features)."
                )
            body = nn.Sequential(
                nn.Linear(self.feature_dim, width),
                ParallelQuantumLayer(width, num_qubits=q, reps=self.reps, seed=seed),
            )
        else:
            raise QDeepValueError(f"head must be one of {HEADS} or a torch module, got {head!r}.")
        model = _Classifier(features, body, width, self.n_clusters).to(torch.float64)
        with torch.no_grad():
            out = model.features(X[:2])
        if out.ndim != 2 or out.shape[1] != self.feature_dim:
            raise QDeepValueError(
                f"The feature extractor must output (batch, feature_dim={self.feature_dim}), got "
                f"{tuple(out.shape)}."
            )
        return model

    def _quantum_parameters(self, model: _Classifier) -> set[int]:
        return {
            id(p)
            for module in model.body.modules()
            if isinstance(module, (ParallelQuantumLayer, QuantumLayer))
            for p in module.parameters()
        }

    # ------------------------------------------------------------------ helpers
    def _prepare(self, X: Any) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(X, dtype=np.float64))
        if x.ndim == 0 or len(x) == 0:
            raise QDeepValueError(f"X must be a non-empty array of samples, got shape {x.shape}.")
        if not torch.isfinite(x).all():
            raise QDeepValueError("X contains NaN or inf entries.")
        if self.feature_extractor is None and x.ndim == 3:
            x = x[:, None]
        return x

    def _features(self, model: _Classifier, x: torch.Tensor) -> np.ndarray:
        model.eval()
        out = []
        with torch.no_grad():
            for start in range(0, len(x), 512):
                out.append(model.features(x[start : start + 512]))
        return torch.cat(out).numpy()

    def _reduce(self, features: np.ndarray, fit: bool, seed: int) -> np.ndarray:
        if fit:
            components = min(int(self.pca_components), features.shape[0], features.shape[1])
            self.pca_ = PCA(components, whiten=True, random_state=seed).fit(features)
        reduced = self.pca_.transform(features)
        norms = np.linalg.norm(reduced, axis=1, keepdims=True)
        return np.divide(reduced, norms, out=np.zeros_like(reduced), where=norms > 0)

    def _cluster(self, model, x, y, seed: int, history: DeepClusteringHistory) -> np.ndarray:
        began = time.perf_counter()
        raw = self._features(model, x)
        reduced = self._reduce(raw, True, seed)
        clusterer = (
            self._default_clusterer(seed) if self.clusterer is None else clone(self.clusterer)
        )
        if self.clusterer is not None and "random_state" in clusterer.get_params():
            clusterer.set_params(random_state=seed)
        labels = np.asarray(clusterer.fit_predict(reduced), dtype=np.int64)
        self.clusterer_ = clusterer
        history.cluster_seconds.append(time.perf_counter() - began)
        history.num_clusters.append(int(len(np.unique(labels))))
        if y is not None:
            history.nmi.append(float(normalized_mutual_info_score(y, labels)))
            history.ari.append(float(adjusted_rand_score(y, labels)))
        return labels, raw

    def _train_epoch(self, model, x, labels, epoch: int, seed: int, features=None) -> float:
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model.output.reset_parameters()  # DeepCluster: a new top layer per clustering
        frozen = self._quantum_parameters(model) if self.freeze_head_during_backprop else set()
        head = [*model.body.parameters(), *model.output.parameters()]
        head_ids = {id(p) for p in head}
        network = [p for p in model.parameters() if id(p) not in frozen | head_ids]
        counts = np.bincount(labels, minlength=self.n_clusters)
        weights = torch.as_tensor(1.0 / np.maximum(counts[labels], 1), dtype=torch.float64)
        order = torch.multinomial(weights, len(labels), replacement=True, generator=generator)
        targets = torch.as_tensor(labels)
        head_lr = float(self.lr if self.head_lr is None else self.head_lr)
        model.train()
        warmup = int(self.head_warmup_steps)
        if warmup:
            self._warm_up_head(model, features, targets, weights, head, head_lr, generator)
        for p in model.parameters():
            p.requires_grad_(id(p) not in frozen)
        optimizer = torch.optim.Adam(
            [
                {"params": network, "lr": float(self.lr)},
                {"params": [p for p in head if id(p) not in frozen], "lr": head_lr},
            ]
        )
        total = 0.0
        batch_size = int(self.batch_size)
        starts = range(0, len(order), batch_size)
        bar = tqdm(
            starts,
            desc=f"{type(self).__name__} epoch {epoch}/{self.epochs}",
            disable=not self.progress,
            leave=False,
        )
        for start in bar:
            idx = order[start : start + batch_size]
            if len(idx) < 2:  # batch norm needs two samples
                continue
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x[idx]), targets[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            bar.set_postfix(loss=f"{loss.item():.3f}")
        return total / len(order)

    def _warm_up_head(self, model, features, targets, weights, head, lr, generator) -> None:
        """Trains the whole head (quantum weights included) on the fixed network features.

        The paper trains the quantum classifier on the features and pseudo-labels and keeps it
        fixed during back-propagation into the network; this is that training step.
        """
        features = torch.as_tensor(features, dtype=torch.float64)
        for p in model.parameters():
            p.requires_grad_(False)
        for p in head:
            p.requires_grad_(True)
        optimizer = torch.optim.Adam(head, lr=lr)
        batch_size = int(self.batch_size)
        steps = int(self.head_warmup_steps)
        draws = torch.multinomial(
            weights, steps * batch_size, replacement=True, generator=generator
        ).view(steps, batch_size)
        for idx in draws:
            optimizer.zero_grad()
            logits = model.output(model.body(features[idx]))
            nn.functional.cross_entropy(logits, targets[idx]).backward()
            optimizer.step()

    # ------------------------------------------------------------------ API
    def fit(
        self, X: Any, y: Any = None, *, allow_changed_hyperparameters: bool = False
    ) -> QuantumDeepClustering:
        """Alternates clustering and pseudo-label training for ``epochs`` epochs.

        With ``checkpoint`` set, the path is checked for writing before any work, and the
        checkpoint (written atomically after every epoch, read with
        ``torch.load(weights_only=True)``) records the settings that shape the run: the
        estimator class, the network's layer types, every hyper-parameter except ``epochs``,
        ``checkpoint`` and ``progress`` (a custom clusterer by its type and parameters), and
        fingerprints of ``X`` and ``y``. Resuming with other values raises a
        :class:`~qiskit_qdeep.exceptions.CheckpointError` naming each of them with its old and
        new value. ``epochs`` may grow between calls (the run is extended, as the uninterrupted
        longer run would go).

        Args:
            X: Images ``(N, H, W)`` / ``(N, C, H, W)`` (default CNN) or the custom extractor's
                input.
            y: Optional true labels, used only for the NMI/ARI history.
            allow_changed_hyperparameters: Resume a checkpoint written with other settings:
                the current ones are used for the remaining epochs, with a :class:`UserWarning`
                listing the changes.

        Returns:
            ``self``.

        Raises:
            QDeepValueError: For bad sizes, data or hyper-parameters.
            QDeepTypeError: For a feature extractor that is not a module.
            CheckpointError: For an unwritable checkpoint path, or an existing checkpoint that
                is empty, truncated, corrupt, foreign, of another network (parameter names or
                shapes), of other settings (see above) or of more epochs than ``epochs``.
        """
        k = check_int("n_clusters", self.n_clusters, 2)
        epochs = check_int("epochs", self.epochs, 0)
        check_int("batch_size", self.batch_size)
        check_int("pca_components", self.pca_components)
        check_int("feature_dim", self.feature_dim)
        for name in ("lr", "head_lr"):
            value = getattr(self, name)
            if name == "head_lr" and value is None:
                continue
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and value > 0):
                raise QDeepValueError(f"{name} must be a positive number, got {value!r}.")
        check_int("head_warmup_steps", self.head_warmup_steps, 0)
        x = self._prepare(X)
        if k > len(x):
            raise QDeepValueError(f"n_clusters={k} must be <= n_samples={len(x)}.")
        if y is not None:
            y = np.asarray(y)
            if y.shape != (len(x),):
                raise QDeepValueError(f"y must have shape ({len(x)},), got {y.shape}.")
        path = None if self.checkpoint is None else _prepare_checkpoint_path(self.checkpoint)
        saved = None
        if path is not None and os.path.exists(path):  # checked before any work
            saved = _open_checkpoint(path, _CHECKPOINT_FORMAT, "deep-clustering", _CHECKPOINT_KEYS)
            start = saved["epoch"]
            if not _is_count(start):
                raise CheckpointError(f"Checkpoint '{path}' has an invalid epoch {start!r}.")
            if start > epochs:
                raise CheckpointError(
                    f"Checkpoint '{path}' already holds {start} epochs, more than "
                    f"epochs={epochs}; pass epochs >= {start} to resume it, or another path."
                )
            _check_history(
                path,
                saved["history"],
                DeepClusteringHistory,
                start,
                ("train_loss", "train_seconds", "num_clusters", "cluster_seconds"),
            )
        seed = 0 if self.random_state is None else int(self.random_state)
        seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=(epochs + 2, 2))
        model = self._build(x, int(seeds[0, 0]))
        settings = None if path is None else self._checkpoint_settings(model, x, y)
        history = DeepClusteringHistory()
        start = 0
        if saved is not None:
            _check_state_dict(path, model, saved["model"], "network")
            _check_settings(
                path,
                saved.get("settings"),
                settings,
                allow_changed_hyperparameters,
                f"{type(self).__name__}.fit",
            )
            _load_state_dict(path, model, saved["model"], "network")
            history = DeepClusteringHistory(**{k: list(v) for k, v in saved["history"].items()})
            start = int(saved["epoch"])
            # the clustering of the resumed epoch is recomputed from the restored network
            for name in ("nmi", "ari", "num_clusters", "cluster_seconds"):
                del getattr(history, name)[start:]
        for epoch in range(start, epochs):
            labels, raw = self._cluster(model, x, y, int(seeds[epoch, 1]), history)
            began = time.perf_counter()
            loss = self._train_epoch(
                model, x, labels, epoch + 1, int(seeds[epoch + 1, 0]), features=raw
            )
            history.train_loss.append(loss)
            history.train_seconds.append(time.perf_counter() - began)
            if path is not None:
                _save_checkpoint(
                    path,
                    {
                        "format": _CHECKPOINT_FORMAT,
                        "version": CHECKPOINT_VERSION,
                        "settings": settings,
                        "model": model.state_dict(),
                        "history": history.to_dict(),
                        "epoch": epoch + 1,
                    },
                )
        self.labels_ = self._cluster(model, x, y, int(seeds[epochs, 1]), history)[0]
        for p in model.parameters():
            p.requires_grad_(True)
        model.eval()
        self.model_ = model
        self.history_ = history
        self.n_epochs_ = epochs
        return self

    def _checkpoint_settings(self, model: _Classifier, x: torch.Tensor, y: Any) -> dict:
        """What a checkpoint records of this fit: everything that shapes the run but ``epochs``."""
        head = self.head if isinstance(self.head, str) else f"module {type(self.head).__qualname__}"
        settings = {
            "estimator": type(self).__qualname__,
            "model": _module_structure(model),
            "n_clusters": _plain(self.n_clusters),
            "feature_dim": _plain(self.feature_dim),
            "head": head,
            "pca_components": _plain(self.pca_components),
            "batch_size": _plain(self.batch_size),
            "lr": _plain(self.lr),
            "head_lr": _plain(self.head_lr),
            "head_warmup_steps": _plain(self.head_warmup_steps),
            "freeze_head_during_backprop": _plain(self.freeze_head_during_backprop),
            "random_state": _plain(self.random_state),
            "clusterer": _describe_clusterer(self.clusterer),
            "X": _fingerprint(x),
            "y": None if y is None else _label_fingerprint(y),
        }
        if self.head != "linear":
            settings["head_width"] = _plain(self.head_width)
        if self.head == "quantum":
            settings["num_qubits"] = _plain(self.num_qubits)
            settings["reps"] = _plain(self.reps)
        return settings

    def features(self, X: Any) -> np.ndarray:
        """The whitened, L2-normalised features that the clusterer sees ``(N, pca_components)``.

        Raises:
            sklearn.exceptions.NotFittedError: Before :meth:`fit`.
        """
        check_is_fitted(self)
        return self._reduce(self._features(self.model_, self._prepare(X)), False, 0)

    def predict(self, X: Any) -> np.ndarray:
        """Cluster of each sample: the fitted clusterer on the network's features.

        Raises:
            sklearn.exceptions.NotFittedError: Before :meth:`fit`.
        """
        features = self.features(X)
        return np.asarray(self.clusterer_.predict(features), dtype=np.int64)

    def predict_head(self, X: Any) -> np.ndarray:
        """Pseudo-class predicted by the trained classifier head (argmax of its logits)."""
        check_is_fitted(self)
        x = self._prepare(X)
        self.model_.eval()
        with torch.no_grad():
            return self.model_(x).argmax(dim=1).numpy()


class ClassicalDeepClustering(QuantumDeepClustering):
    """The classical DeepCluster baseline: same network and budget, ``KMeans`` and a linear head.

    Identical to :class:`QuantumDeepClustering` except for the defaults ``head="linear"`` and
    ``clusterer=None`` meaning scikit-learn's ``KMeans(n_clusters, n_init=1)``.
    """

    def __init__(
        self,
        n_clusters: int = 10,
        *,
        feature_extractor: nn.Module | None = None,
        feature_dim: int = 32,
        clusterer: Any = None,
        head: str | nn.Module = "linear",
        head_width: int = 8,
        num_qubits: int = 4,
        reps: int = 2,
        pca_components: int = 8,
        epochs: int = 5,
        batch_size: int = 64,
        lr: float = 1e-3,
        head_lr: float | None = 1e-2,
        head_warmup_steps: int = 50,
        freeze_head_during_backprop: bool = True,
        checkpoint: str | os.PathLike | None = None,
        progress: bool = True,
        random_state: int | None = None,
    ) -> None:
        """See :class:`QuantumDeepClustering` (only the defaults differ)."""
        super().__init__(
            n_clusters,
            feature_extractor=feature_extractor,
            feature_dim=feature_dim,
            clusterer=clusterer,
            head=head,
            head_width=head_width,
            num_qubits=num_qubits,
            reps=reps,
            pca_components=pca_components,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            head_lr=head_lr,
            head_warmup_steps=head_warmup_steps,
            freeze_head_during_backprop=freeze_head_during_backprop,
            checkpoint=checkpoint,
            progress=progress,
            random_state=random_state,
        )

    def _default_clusterer(self, seed: int) -> Any:
        return KMeans(self.n_clusters, n_init=1, random_state=seed)


def _describe_clusterer(clusterer: Any) -> str | None:
    """A custom clusterer by type and parameters (``random_state`` is set per epoch anyway)."""
    if clusterer is None:
        return None
    try:
        params = clusterer.get_params(deep=False)
    except (AttributeError, TypeError):
        params = {}
    shown = ", ".join(
        f"{k}={_plain(v)!r}" for k, v in sorted(params.items()) if k != "random_state"
    )
    return f"{type(clusterer).__qualname__}({shown})"


def _label_fingerprint(y: np.ndarray) -> str | None:
    """Fingerprint of the true labels (numeric or not)."""
    if y.dtype.kind in "biuf":
        return _fingerprint(torch.as_tensor(np.ascontiguousarray(y)))
    return _fingerprint(torch.as_tensor(np.frombuffer(repr(y.tolist()).encode(), np.uint8)))


def clone_module(module: nn.Module) -> nn.Module:
    """A deep copy of a torch module (the estimator never trains the caller's instance)."""
    import copy

    return copy.deepcopy(module)


def plot_deep_clustering(
    histories: dict[str, DeepClusteringHistory | Sequence[DeepClusteringHistory]],
    metric: str = "nmi",
    ax: Any = None,
):
    """Plots a clustering metric against the epoch for several pipelines.

    Args:
        histories: ``{label: history}``, or ``{label: [history, ...]}`` for repeated runs (one per
            seed): their mean, with a band of one standard deviation.
        metric: ``"nmi"`` or ``"ari"``.
        ax: Matplotlib axes; default a new figure.

    Returns:
        The matplotlib axes.

    Raises:
        QDeepValueError: For an unknown metric or an empty list of runs.
        MissingOptionalDependencyError: When matplotlib is not installed.
    """
    if metric not in ("nmi", "ari"):
        raise QDeepValueError(f"metric must be 'nmi' or 'ari', got {metric!r}.")
    from .._optional import require

    require("matplotlib", "plot_deep_clustering")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    for label, runs in histories.items():
        if isinstance(runs, DeepClusteringHistory):
            values = getattr(runs, metric)
            ax.plot(np.arange(len(values)), values, marker="o", label=label)
            continue
        if not len(runs):
            raise QDeepValueError(f"histories[{label!r}] holds no runs.")
        length = min(len(getattr(h, metric)) for h in runs)
        values = np.array([getattr(h, metric)[:length] for h in runs])
        mean, std = values.mean(axis=0), values.std(axis=0)
        epochs = np.arange(length)
        (line,) = ax.plot(epochs, mean, marker="o", label=f"{label} (mean of {len(runs)})")
        if len(runs) > 1:
            ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.upper())
    ax.set_title(f"Deep clustering: {metric.upper()} vs epoch")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax
