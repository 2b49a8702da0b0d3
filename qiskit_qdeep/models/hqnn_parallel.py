# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""HQNN-Parallel (Senokosov et al. 2024) and its classical counterpart."""

from __future__ import annotations

import numpy as np
import torch
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseEstimatorV2
from torch import nn

from .._validation import check_int
from ..exceptions import QDeepValueError
from ..nn.parallel import ParallelQuantumLayer

#: Trainable parameter counts of Table 1 of Senokosov et al. (2024), by dataset and model
#: (``"HQNN"``: HQNN-Parallel, ``"CNN"``: its classical counterpart). The Medical MNIST and
#: CIFAR-10 counts agree with the paper's text (section 2.2.4).
PAPER_PARAMETER_COUNTS: dict[str, dict[str, int]] = {
    "MNIST": {"HQNN": 45_194, "CNN": 372_234},
    "Medical MNIST": {"HQNN": 247_462, "CNN": 247_642},
    "CIFAR-10": {"HQNN": 81_578, "CNN": 81_698},
}


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (entries of parameters with ``requires_grad``).

    Buffers such as BatchNorm's running mean and variance are not parameters and are not
    counted.

    Args:
        module: Any torch module.

    Returns:
        The count.
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _size_pair(image_size) -> tuple[int, int]:
    sizes = (image_size, image_size) if np.ndim(image_size) == 0 else tuple(image_size)
    if len(sizes) != 2 or any(
        isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in sizes
    ):
        raise QDeepValueError(
            f"image_size must be an int or a pair of ints (height, width), got {image_size!r}."
        )
    if min(sizes) < 4:
        raise QDeepValueError(
            f"image_size must be at least 4 pixels per side (two 2x2 max-poolings), got "
            f"{image_size!r}."
        )
    return int(sizes[0]), int(sizes[1])


class _HQNNParallelBase(nn.Module):
    """Convolutional block, first dense layer, a middle part, and the output layer."""

    def __init__(self, in_channels, image_size, num_classes, hidden_features, seed, middle):
        # ``middle``: (attribute name, zero-argument factory) of the part between the dense
        # layers; it is built inside the seeded generator scope below.
        super().__init__()
        self._in_channels = check_int("in_channels", in_channels)
        self._num_classes = check_int("num_classes", num_classes)
        self._image_size = _size_pair(image_size)
        height, width = self._image_size
        self._flatten_features = 32 * (height // 4) * (width // 4)
        self._hidden_features = hidden_features
        # Seed every layer's initial weights without touching torch's global generator.
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            self.features = nn.Sequential(
                nn.Conv2d(self._in_channels, 16, kernel_size=5, stride=1, padding=2),
                nn.BatchNorm2d(16),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(16, 32, kernel_size=5, stride=1, padding=2),
                nn.BatchNorm2d(32),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
            )
            self.dense = nn.Sequential(
                nn.Linear(self._flatten_features, hidden_features),
                nn.BatchNorm1d(hidden_features),
                nn.ReLU(),
            )
            self._middle_name = middle[0]
            setattr(self, middle[0], middle[1]())
            self.head = nn.Linear(hidden_features, self._num_classes)

    @property
    def in_channels(self) -> int:
        """Input channels."""
        return self._in_channels

    @property
    def image_size(self) -> tuple[int, int]:
        """Input ``(height, width)``."""
        return self._image_size

    @property
    def num_classes(self) -> int:
        """Output width (logits)."""
        return self._num_classes

    @property
    def flatten_features(self) -> int:
        """Width of the flattened convolutional features, ``32 * (H // 4) * (W // 4)``."""
        return self._flatten_features

    @property
    def hidden_features(self) -> int:
        """Width :math:`n` of the hidden dense part."""
        return self._hidden_features

    def num_parameters(self) -> int:
        """Number of trainable parameters (see :func:`count_parameters`)."""
        return count_parameters(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits.

        Args:
            images: ``(batch, in_channels, height, width)``, or ``(batch, height, width)`` when
                ``in_channels == 1``.

        Returns:
            ``(batch, num_classes)`` logits (apply ``softmax`` for probabilities; train with
            ``cross_entropy``).

        Raises:
            QDeepValueError: For images of the wrong shape.
        """
        expected = (self._in_channels, *self._image_size)
        if images.dim() == 3 and self._in_channels == 1:
            images = images.unsqueeze(1)
        if images.dim() != 4 or tuple(images.shape[1:]) != expected:
            raise QDeepValueError(
                f"{type(self).__name__} expects images of shape (batch, {expected[0]}, "
                f"{expected[1]}, {expected[2]}), got {tuple(images.shape)}."
            )
        middle = getattr(self, self._middle_name)
        return self.head(middle(self.dense(self.features(images))))


class HQNNParallel(_HQNNParallelBase):
    r"""The hybrid image classifier HQNN-Parallel of Senokosov et al. (2024).

    Layers, for ``(batch, 1, 28, 28)`` MNIST images (the paper's setting):

    ====================================================  ===================
    layer                                                 trainable params
    ====================================================  ===================
    ``Conv2d(1, 16, 5, padding=2)``                       416
    ``BatchNorm2d(16)``, ReLU, ``MaxPool2d(2)``           32
    ``Conv2d(16, 32, 5, padding=2)``                      12,832
    ``BatchNorm2d(32)``, ReLU, ``MaxPool2d(2)``, flatten  64
    ``Linear(1568, 20)``                                  31,380
    ``BatchNorm1d(20)``, ReLU                             40
    :class:`~qiskit_qdeep.nn.ParallelQuantumLayer`        180 (= 4 x 5 x 3 x 3)
    ``Linear(20, 10)``                                    210
    **total**                                             **45,154**
    ====================================================  ===================

    The quantum part splits the 20 features into ``num_circuits = 4`` chunks of 5; each drives a
    5-qubit circuit (``RX`` embedding, 3 strongly entangling layers, Pauli-Y on each qubit) with
    its own 45 weights. The output layer gives logits (``cross_entropy`` is the paper's loss).
    Other image sizes change only the flattened width ``32 * (H // 4) * (W // 4)`` (e.g. 128
    for 8x8 digits). Submodules: ``features`` (convolutional block and flatten), ``dense``
    (first dense layer, BatchNorm, ReLU), ``quantum`` (the
    :class:`~qiskit_qdeep.nn.ParallelQuantumLayer`) and ``head`` (output layer).

    **Parameter count vs the paper.** Table 1 reports 45,194 trainable parameters
    (:data:`PAPER_PARAMETER_COUNTS`), 40 more than the 45,154 above. The text specifies every
    layer of the table above, and nothing else. The gap of 40 is exactly the two affine
    parameters per feature of one more ``BatchNorm1d(20)`` (e.g. on the quantum outputs before
    the last dense layer), which the text does not describe. Other readings do not give 40:
    ``BatchNorm1d(10)`` after the last dense layer (the text says "after each classical dense
    layer, Batch Normalization and ReLU activation are applied", which would also put a ReLU on
    the logits) adds 20, giving 45,174; counting BatchNorm's running mean and variance (buffers,
    not trainable) adds 136, giving 45,290. We follow the text and count only trainable
    parameters (:func:`count_parameters`).

    Example:

    .. code-block:: python

        import torch
        from qiskit_qdeep.models.hqnn_parallel import HQNNParallel, count_parameters

        model = HQNNParallel(seed=0)
        logits = model(torch.rand(2, 1, 28, 28))  # (2, 10)
        count_parameters(model)  # 45154 (paper: 45194)

    References:
        A. Senokosov, A. Sedykh, A. Sagingalieva, B. Kyriacou, A. Melnikov, "Quantum machine
        learning for image classification", Mach. Learn.: Sci. Technol. 5, 015040 (2024),
        `arXiv:2304.09224 <https://arxiv.org/abs/2304.09224>`_.

    Args:
        in_channels: Input channels (1 for MNIST).
        image_size: Input size, an int or ``(height, width)``, at least 4.
        num_classes: Number of classes (output logits).
        num_qubits: Qubits per circuit.
        reps: Strongly entangling layers per circuit.
        num_circuits: Parallel circuits; the hidden width is ``num_qubits * num_circuits``.
        estimator: V2 estimator of the quantum layer (parameter-shift path).
        gradient: ``"auto"``, ``"backprop"`` or ``"parameter-shift"`` (see
            :class:`~qiskit_qdeep.nn.ParallelQuantumLayer`).
        pass_manager: Pass manager of the quantum layer.
        seed: Seeds the initial weights of every layer (the classical ones through a forked torch
            generator; torch's global generator is left alone) and the default estimator.

    Raises:
        QDeepValueError: For bad sizes or quantum options.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int | tuple[int, int] = 28,
        num_classes: int = 10,
        *,
        num_qubits: int = 5,
        reps: int = 3,
        num_circuits: int = 4,
        estimator: BaseEstimatorV2 | None = None,
        gradient: str = "auto",
        pass_manager: BasePassManager | None = None,
        seed: int | None = None,
    ) -> None:
        num_qubits = check_int("num_qubits", num_qubits)
        hidden = num_qubits * check_int("num_circuits", num_circuits)

        def quantum() -> ParallelQuantumLayer:
            return ParallelQuantumLayer(
                hidden,
                num_qubits,
                reps,
                estimator=estimator,
                gradient=gradient,
                pass_manager=pass_manager,
                seed=seed,
            )

        super().__init__(in_channels, image_size, num_classes, hidden, seed, ("quantum", quantum))


class HQNNParallelClassical(_HQNNParallelBase):
    r"""The classical counterpart of :class:`HQNNParallel` ("CNN" in Table 1 of the paper).

    Identical to :class:`HQNNParallel` except that the quantum part is replaced by a classical
    dense layer of ``hidden_features`` neurons followed by a ReLU (paper: "the convolutional part
    of the HQNN was held constant, while the quantum part was replaced with a classical dense
    layer containing n neurons"). For MNIST the layers are those of :class:`HQNNParallel` with
    ``Linear(20, 20)`` (420 parameters) in place of the 180 quantum weights: **45,394** trainable
    parameters in total. Submodules: ``features``, ``dense``, ``classical`` (the replacement
    dense layer and its ReLU) and ``head``.

    **Parameter count vs the paper.** Table 1 reports 372,234 for this model, about 8 times the
    hybrid model ("the classical model has 8 times more variational parameters"). That is not
    reachable from the text: replacing 4 x 45 quantum weights by a 20-neuron dense layer adds
    only 240 parameters, and the extra 326,840 would need a first dense layer roughly 8 times
    wider (and a different hidden width than the hybrid's ``n``), which the paper does not
    specify. We implement the model as the text describes it.

    Example:

    .. code-block:: python

        import torch
        from qiskit_qdeep.models.hqnn_parallel import HQNNParallelClassical

        model = HQNNParallelClassical(seed=0)
        logits = model(torch.rand(2, 1, 28, 28))  # (2, 10)

    References:
        A. Senokosov, A. Sedykh, A. Sagingalieva, B. Kyriacou, A. Melnikov, "Quantum machine
        learning for image classification", Mach. Learn.: Sci. Technol. 5, 015040 (2024),
        `arXiv:2304.09224 <https://arxiv.org/abs/2304.09224>`_.

    Args:
        in_channels: Input channels (1 for MNIST).
        image_size: Input size, an int or ``(height, width)``, at least 4.
        num_classes: Number of classes (output logits).
        hidden_features: Width :math:`n` of the hidden dense part (20 = the hybrid's 4 x 5).
        seed: Seeds the initial weights of every layer (through a forked torch generator; torch's
            global generator is left alone).

    Raises:
        QDeepValueError: For bad sizes.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int | tuple[int, int] = 28,
        num_classes: int = 10,
        *,
        hidden_features: int = 20,
        seed: int | None = None,
    ) -> None:
        hidden = check_int("hidden_features", hidden_features)

        def classical() -> nn.Module:
            return nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU())

        super().__init__(
            in_channels, image_size, num_classes, hidden, seed, ("classical", classical)
        )
