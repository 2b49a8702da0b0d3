# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Quanvolution models of two papers and their classical counterparts.

* HQNN-Quanv and CNN1 / CNN4 (Senokosov et al. 2024, section 2.3): 14 x 14 MNIST, one 2 x 2
  stride-2 (quan)volution, flatten, one linear layer to 10 classes.
* QCCNN and its classical CNN twin (Liu et al. 2019): 3 x 3 Tetris images, 2 x 2 windows with
  stride 1, one or two convolution layers, a 2 x 2 max pooling, one linear layer.

Choices where the papers are silent are listed in each class docstring.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseEstimatorV2
from torch import nn

from .._validation import check_int
from ..exceptions import QDeepValueError
from ..nn.quanv import Quanv2d


def _check_images(x: torch.Tensor, size: int) -> None:
    """Raises a clear error unless ``x`` is ``(batch, 1, size, size)`` (or ``(1, size, size)``)."""
    shape = tuple(getattr(x, "shape", ()))
    if len(shape) not in (3, 4) or shape[-3:] != (1, size, size):
        raise QDeepValueError(
            f"images must have shape (batch, 1, {size}, {size}) for this model "
            f"(image_size={size}), got {shape}."
        )


@dataclass(frozen=True)
class PaperResult:
    """A result reported in a paper, to compare reproductions with."""

    model: str
    """Model name as in the paper."""

    test_accuracy: float | None
    """Reported final test accuracy (fraction); ``None`` if only shown in a figure."""

    std: float | None
    """Reported standard deviation over runs, if any."""

    kernel_parameters: int | None
    """Trainable parameters of the (quan)volution kernel, as counted in the paper."""

    source: str
    """Where in the paper the number comes from."""


#: Results reported by the papers (not reproduced numbers).
PAPER_RESULTS: dict[str, PaperResult] = {
    "HQNN-Quanv": PaperResult(
        "HQNN-Quanv", 0.67, 0.01, 4, "Senokosov et al. 2024, sec. 2.3.3 and 3 (10 runs, 20 epochs)"
    ),
    "CNN4": PaperResult(
        "CNN4", 0.66, 0.02, 16, "Senokosov et al. 2024, sec. 2.3.3 and 3 (10 runs, 20 epochs)"
    ),
    "CNN1": PaperResult(
        "CNN1", 0.53, 0.02, 4, "Senokosov et al. 2024, sec. 2.3.3 and 3 (10 runs, 20 epochs)"
    ),
    "QCCNN-1": PaperResult(
        "QCCNN (one layer, 5 filters)",
        1.0,
        None,
        None,
        "Liu et al. 2019, Fig. 3: 'almost 100% accuracy' on 2 and 5 labels (approximate)",
    ),
    "QCCNN-2": PaperResult(
        "QCCNN (two layers, 2 + 3 filters)",
        1.0,
        None,
        None,
        "Liu et al. 2019, Fig. 3: 'almost 100% accuracy', converges faster than one layer",
    ),
    "CNN-1 (QCCNN benchmark)": PaperResult(
        "CNN (one layer)",
        None,
        None,
        None,
        "Liu et al. 2019, Fig. 3 only: below QCCNN, higher loss",
    ),
    "CNN-2 (QCCNN benchmark)": PaperResult(
        "CNN (two layers)",
        None,
        None,
        None,
        "Liu et al. 2019, Fig. 3 only: below QCCNN, higher loss",
    ),
}

#: Training set-ups described by the papers.
PAPER_SETUPS: dict[str, dict] = {
    "HQNN-Quanv": {
        "dataset": "MNIST, 600 images (500 train, 100 test), bilinear resize 28x28 -> 14x14",
        "loss": "cross-entropy",
        "epochs": 20,
        "runs": 10,
        "pixel_range": (0.0, 1.0),
    },
    "QCCNN": {
        "dataset": "1000 Tetris images 3x3 (80% train, 20% test); 5 labels S,O,I,T,L or 2 (S,T)",
        "loss": "mean squared error",
        "optimizer": "Adam, learning rate 0.01",
        "iterations": 1000,
        "runs": 10,
        "window": (2, 2),
        "stride": 1,
        "depth": 4,
    },
}

#: QCCNN filters per layer (Liu et al. 2019).
QCCNN_FILTERS: dict[int, tuple[int, ...]] = {1: (5,), 2: (2, 3)}

_ACTIVATIONS = {None: nn.Identity, "relu": nn.ReLU, "tanh": nn.Tanh}


@contextmanager
def _seeded(seed: int | None):
    """Initialise classical layers from ``seed`` without touching torch's global generator."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _activation(name) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise QDeepValueError(f"activation must be one of {tuple(_ACTIVATIONS)}, got {name!r}.")
    return _ACTIVATIONS[name]()


def _check_layers(num_layers) -> int:
    if num_layers not in QCCNN_FILTERS:
        raise QDeepValueError(f"num_layers must be 1 or 2, got {num_layers!r}.")
    return num_layers


class HQNNQuanv(nn.Module):
    r"""HQNN-Quanv: a trainable 2 x 2 quanvolution followed by one linear layer.

    ``(B, 1, 14, 14) -> Quanv2d(kernel 2, stride 2, ansatz "hqnn", <Z> per qubit) ->
    (B, 4, 7, 7) -> flatten (196) -> Linear(196, 10)`` logits (train with cross-entropy). The
    kernel has 4 trainable weights; with the linear layer the model has
    ``4 + 196 * 10 + 10 = 1974`` parameters.

    Choices on details the paper leaves open: the exact trainable gates (see
    :func:`~qiskit_qdeep.circuit.library.hqnn_quanv_ansatz`: ``RY(w_i)`` then a CNOT ladder); no
    activation between the quanvolution and the linear layer (the paper describes none, the
    measurement is already non-linear in the pixels). The text also says each channel "is a
    picture with 4 x 4 pixels", which does not follow from a 14 x 14 input and a stride-2
    2 x 2 kernel; we use the 7 x 7 (196 features) those sizes give.

    Example:

    .. code-block:: python

        model = HQNNQuanv(seed=0)
        logits = model(torch.rand(64, 1, 14, 14))  # (64, 10)

    Args:
        num_classes: Number of output classes.
        image_size: Side of the square input images.
        stride: Stride of the 2 x 2 quanvolution (2 in the paper's text; 4 gives the 4 x 4 output
            channels its figure describes).
        rotation: Trainable rotation of the kernel, ``"ry"`` or ``"rx"``.
        estimator: V2 estimator for the parameter-shift path.
        gradient: ``"auto"``, ``"backprop"`` or ``"parameter-shift"``.
        pass_manager: Pass manager for the estimator's backend.
        precision: Estimator precision.
        seed: Seed of the kernel weights and of the linear layer's initialisation.

    Raises:
        QDeepValueError: For bad sizes or options.

    References:
        A. Senokosov et al., "Quantum machine learning for image classification",
        Mach. Learn.: Sci. Technol. 5, 015040 (2024),
        `arXiv:2304.09224 <https://arxiv.org/abs/2304.09224>`_.
    """

    def __init__(
        self,
        num_classes: int = 10,
        image_size: int = 14,
        *,
        stride: int = 2,
        rotation: str = "ry",
        estimator: BaseEstimatorV2 | None = None,
        gradient: str = "auto",
        pass_manager: BasePassManager | None = None,
        precision: float | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        check_int("num_classes", num_classes, 1)
        check_int("image_size", image_size, 2)
        check_int("stride", stride, 1)
        self.image_size = image_size
        with _seeded(seed):
            self.quanv = Quanv2d(
                1,
                2,
                stride=stride,
                encoding="ry_pi",
                ansatz="hqnn",
                readout="per_qubit",
                rotation=rotation,
                estimator=estimator,
                gradient=gradient,
                pass_manager=pass_manager,
                precision=precision,
                seed=seed,
            )
            side = self.quanv.output_size(image_size, image_size)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(self.quanv.out_channels * side[0] * side[1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, num_classes)`` for images ``(batch, 1, image_size, image_size)``."""
        _check_images(x, self.image_size)
        return self.fc(self.flatten(self.quanv(x)))


class _QuanvCNN(nn.Module):
    """Classical counterpart of HQNN-Quanv with ``channels`` convolution channels."""

    channels = 1

    def __init__(
        self,
        num_classes: int = 10,
        image_size: int = 14,
        *,
        stride: int = 2,
        bias: bool = False,
        activation: str | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        check_int("num_classes", num_classes, 1)
        check_int("image_size", image_size, 2)
        check_int("stride", stride, 1)
        self.image_size = image_size
        with _seeded(seed):
            self.conv = nn.Conv2d(1, self.channels, 2, stride=stride, bias=bias)
            self.activation = _activation(activation)
            self.flatten = nn.Flatten()
            side = (image_size - 2) // stride + 1
            self.fc = nn.Linear(self.channels * side * side, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(batch, num_classes)`` for images ``(batch, 1, image_size, image_size)``."""
        _check_images(x, self.image_size)
        return self.fc(self.flatten(self.activation(self.conv(x))))


class CNN1(_QuanvCNN):
    """CNN1 of Senokosov et al.: HQNN-Quanv with a 1-channel 2 x 2 stride-2 convolution.

    ``(B, 1, 14, 14) -> Conv2d(1, 1, 2, stride=2) -> (B, 1, 7, 7) -> flatten (49) ->
    Linear(49, 10)``. The kernel has 4 weights, as many as the quantum kernel (the paper's
    "classical model with equal weight parameters"). Convolution biases are off by default so
    that the kernel counts are the paper's (4 and 16); no activation by default, as in the
    hybrid model (pass ``activation="relu"`` for one).

    Args:
        num_classes: Number of output classes.
        image_size: Side of the square input images.
        stride: Stride of the 2 x 2 convolution (as for :class:`HQNNQuanv`).
        bias: Whether the convolution has a bias.
        activation: ``None``, ``"relu"`` or ``"tanh"`` after the convolution.
        seed: Seed of the initialisation.

    Raises:
        QDeepValueError: For bad sizes or an unknown activation.
    """

    channels = 1


class CNN4(_QuanvCNN):
    """CNN4 of Senokosov et al.: HQNN-Quanv with a 4-channel 2 x 2 stride-2 convolution.

    ``(B, 1, 14, 14) -> Conv2d(1, 4, 2, stride=2) -> (B, 4, 7, 7) -> flatten (196) ->
    Linear(196, 10)``: the same shapes as HQNN-Quanv, with 16 kernel weights (four times the
    quantum kernel's). Defaults as in :class:`CNN1`.

    Args:
        num_classes: Number of output classes.
        image_size: Side of the square input images.
        stride: Stride of the 2 x 2 convolution (as for :class:`HQNNQuanv`).
        bias: Whether the convolution has a bias.
        activation: ``None``, ``"relu"`` or ``"tanh"`` after the convolution.
        seed: Seed of the initialisation.

    Raises:
        QDeepValueError: For bad sizes or an unknown activation.
    """

    channels = 4


class QCCNN(nn.Module):
    r"""QCCNN (Liu et al. 2019) for 3 x 3 Tetris images.

    * ``num_layers=1``: ``(B, 1, 3, 3) -> Quanv2d(5 filters) -> (B, 5, 2, 2) -> MaxPool2d(2) ->
      (B, 5, 1, 1) -> Linear(5, num_classes)``.
    * ``num_layers=2``: ``(B, 1, 3, 3) -> Quanv2d(2 filters) -> (B, 2, 2, 2) -> Quanv2d(3
      filters, per input channel) -> (B, 6, 1, 1) -> MaxPool2d(2, padding=1) -> (B, 6, 1, 1) ->
      Linear(6, num_classes)``.

    Every quantum filter: 2 x 2 window, stride 1, no padding, encoding
    :math:`\cos x|0\rangle + \sin x|1\rangle`, :func:`~qiskit_qdeep.circuit.library.qccnn_ansatz`
    of depth ``depth`` (4 in the paper, 20 weights per filter), readout
    :math:`\langle Z^{\otimes 4}\rangle`. No activation: the measurement is the non-linearity.

    Choices on details the paper leaves open: 2 x 2 **max** pooling with stride 2 (the paper only
    says "pooling layer", with no padding for one layer and padding 1 for two; padding 1 is what
    makes a 2 x 2 window fit the 1 x 1 maps of the second layer, so the window is taken as
    2 x 2); the single pooling layer of the two-layer model sits after the second convolution
    (with these sizes max pooling is then the identity); the second layer handles each of its 2
    input channels separately, giving ``2 * 3 = 6`` maps (the paper's ``d k`` output depth). The
    second layer's inputs are expectation values in ``[-1, 1]`` encoded as angles directly. The
    linear layer returns raw scores (the paper trains with a mean squared error loss, e.g. on
    one-hot targets).

    Args:
        num_layers: 1 or 2.
        num_classes: Number of output classes (5 or 2 in the paper).
        depth: Depth of the parametric circuit.
        estimator: V2 estimator for the parameter-shift path.
        gradient: ``"auto"``, ``"backprop"`` or ``"parameter-shift"``.
        pass_manager: Pass manager for the estimator's backend.
        precision: Estimator precision.
        seed: Seed of the quantum weights and of the classical initialisation.

    Raises:
        QDeepValueError: For bad sizes or options.

    References:
        J. Liu et al., "Hybrid quantum-classical convolutional neural networks",
        Sci. China Phys. Mech. Astron. 64, 290311 (2021),
        `arXiv:1911.02998 <https://arxiv.org/abs/1911.02998>`_.
    """

    def __init__(
        self,
        num_layers: int = 1,
        num_classes: int = 5,
        *,
        depth: int = 4,
        estimator: BaseEstimatorV2 | None = None,
        gradient: str = "auto",
        pass_manager: BasePassManager | None = None,
        precision: float | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.num_layers = _check_layers(num_layers)
        check_int("num_classes", num_classes, 1)
        check_int("depth", depth, 0)
        options = dict(
            encoding="qccnn",
            ansatz="qccnn",
            readout="parity",
            reps=depth,
            estimator=estimator,
            gradient=gradient,
            pass_manager=pass_manager,
            precision=precision,
        )
        filters = QCCNN_FILTERS[num_layers]
        with _seeded(seed):
            layers = []
            channels = 1
            for index, num_filters in enumerate(filters):
                layers.append(
                    Quanv2d(
                        channels,
                        2,
                        num_filters=num_filters,
                        input_range=(0.0, 1.0) if index == 0 else (-1.0, 1.0),
                        seed=None if seed is None else seed + index,
                        **options,
                    )
                )
                channels = layers[-1].out_channels
            self.quanv = nn.Sequential(*layers)
            self.pool = nn.MaxPool2d(2, padding=0 if num_layers == 1 else 1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scores ``(batch, num_classes)`` for images ``(batch, 1, 3, 3)`` in ``[0, 1]``."""
        _check_images(x, 3)
        return self.fc(self.flatten(self.pool(self.quanv(x))))


class QCCNNClassical(nn.Module):
    """The classical CNN benchmark of the QCCNN paper, with the same shapes as :class:`QCCNN`.

    * ``num_layers=1``: ``Conv2d(1, 5, 2) -> ReLU -> MaxPool2d(2) -> Linear(5, num_classes)``.
    * ``num_layers=2``: ``Conv2d(1, 2, 2) -> ReLU -> Conv2d(2, 6, 2, groups=2) -> ReLU ->
      MaxPool2d(2, padding=1) -> Linear(6, num_classes)``.

    The second convolution applies 3 filters to each input channel separately (``groups=2``), the
    paper's ``d k`` convention and the channel layout of :class:`QCCNN`. The ReLU is our choice:
    the paper says only that, unlike its quantum layer, a classical one needs an added
    non-linearity such as ReLU. Each classical 2 x 2 filter has 4 weights and a bias.

    Args:
        num_layers: 1 or 2.
        num_classes: Number of output classes.
        activation: ``"relu"`` (default), ``"tanh"`` or ``None``.
        seed: Seed of the initialisation.

    Raises:
        QDeepValueError: For bad sizes or options.
    """

    def __init__(
        self,
        num_layers: int = 1,
        num_classes: int = 5,
        *,
        activation: str | None = "relu",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.num_layers = _check_layers(num_layers)
        check_int("num_classes", num_classes, 1)
        with _seeded(seed):
            layers: list[nn.Module] = []
            channels = 1
            for num_filters in QCCNN_FILTERS[num_layers]:
                out = channels * num_filters
                layers += [nn.Conv2d(channels, out, 2, groups=channels), _activation(activation)]
                channels = out
            self.conv = nn.Sequential(*layers)
            self.pool = nn.MaxPool2d(2, padding=0 if num_layers == 1 else 1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scores ``(batch, num_classes)`` for images ``(batch, 1, 3, 3)``."""
        _check_images(x, 3)
        return self.fc(self.flatten(self.pool(self.conv(x))))
