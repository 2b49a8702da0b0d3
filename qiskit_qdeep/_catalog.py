# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Static catalogue of the paper reproductions, for the command line's listings and checks.

The reproductions register themselves in :data:`qiskit_qdeep.reproductions.REGISTRY` when their
modules are imported, which imports torch, qiskit and scikit-learn (several seconds). The
command line lists them and checks names from this catalogue instead (standard library only), so
``qiskit-qdeep --help`` and ``qiskit-qdeep reproduce --list`` answer at once;
``test/test_cli.py`` checks that the catalogue equals the registry, entry by entry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogEntry:
    """One reproduction: what the registry holds, without the function."""

    name: str
    """Name on the command line (``qiskit-qdeep reproduce NAME``)."""
    summary: str
    """One-sentence description."""
    paper: str
    """The paper (authors, year, arXiv identifier)."""
    module: str
    """Module whose import registers the reproduction."""


_CLUSTERING_PAPER = (
    "Quantum deep SVM and quantum deep clustering; q-means: Kerenidis et al. 2019, arXiv:1812.03584"
)
_SENOKOSOV = "Senokosov et al. 2024, arXiv:2304.09224"
_PACKAGE = "qiskit_qdeep.reproductions."

#: Every reproduction of :data:`qiskit_qdeep.reproductions.REGISTRY`, in registration order.
CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "qmeans",
        "q-means (distance estimation, delta-k-means, adiabatic assignment) vs KMeans: blobs, "
        "iris, digits-PCA; ARI vs shots and delta; adiabatic success vs time",
        _CLUSTERING_PAPER,
        _PACKAGE + "clustering",
    ),
    CatalogEntry(
        "deep-clustering",
        "Quantum deep clustering (QMeans + quantum head) vs classical DeepCluster (KMeans + "
        "linear head): NMI/ARI per epoch on digits and an MNIST subset, several seeds",
        _CLUSTERING_PAPER,
        _PACKAGE + "clustering",
    ),
    CatalogEntry(
        "deep-qsvm",
        "All-pair QSVM (HHL QLSSVMs, Dürr-Høyer Grover vote) vs quantum deep SVM on digits-PCA, "
        "with the classical LS-SVM twins",
        "Bishwas, Mani, Palade: quantum deep SVM (section 4) and all-pair QSVM (arXiv:1704.07664)",
        _PACKAGE + "deep_qsvm",
    ),
    CatalogEntry(
        "hqnn-parallel",
        "HQNN-Parallel vs its classical twin on full MNIST (exact backprop), epoch times, and a "
        "parameter-shift run on Aer",
        _SENOKOSOV,
        _PACKAGE + "hqnn_parallel",
    ),
    CatalogEntry(
        "qlssvm-6vs9",
        "Quantum LS-SVM (HHL + Hadamard test) on '6' vs '9' with 2 training samples, 2 ratio "
        "features",
        "Li et al. 2015, PRL 114, 140504 (arXiv:1410.1054); Rebentrost et al. 2014",
        _PACKAGE + "qlssvm",
    ),
    CatalogEntry(
        "qccnn-tetris",
        "QCCNN (1 and 2 quantum conv layers) vs CNN on 3x3 Tetris, 2 and 5 labels, MSE loss",
        "Liu et al. 2019, arXiv:1911.02998",
        _PACKAGE + "quanvolution",
    ),
    CatalogEntry(
        "hqnn-quanv",
        "HQNN-Quanv vs CNN4 and CNN1 on 600 MNIST images resized to 14x14 (10 initialisations)",
        _SENOKOSOV,
        _PACKAGE + "quanvolution",
    ),
    CatalogEntry(
        "qucnn-validate",
        "QuCNN validations: SWAP-test forward pass vs classical filter (Fig. 3), ancilla gradient "
        "error vs shots (Fig. 4), filter state learning for 1-3 layers (Fig. 6), digits classifier",
        "Stein et al. 2022, arXiv:2210.05443",
        _PACKAGE + "qucnn",
    ),
)
