# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Quanvolution: a quantum circuit slid over image patches like a convolution kernel."""

from __future__ import annotations

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseEstimatorV2
from qiskit.quantum_info import SparsePauliOp
from torch import nn
from torch.nn import functional

from .._validation import check_int, check_pair
from ..circuit.library.quanvolution import (
    ANSATZES,
    ENCODINGS,
    num_ansatz_weights,
    quanv_kernel_circuit,
)
from ..exceptions import QDeepTypeError, QDeepValueError
from ..primitives import DEFAULT_MAX_BINDINGS_PER_PUB, RetryPolicy
from ._autograd import primitive_apply
from ._common import (
    CircuitLayerMixin,
    batched_float_tensor,
    build_execution,
    make_initial_weights,
    resolve_gradient,
    runner_fn,
)

#: Readouts of a quanvolution filter.
READOUTS = ("per_qubit", "parity")


class Quanv2d(CircuitLayerMixin, nn.Module):
    r"""Quanvolution layer: a parameterized quantum circuit applied to every image patch.

    Every ``kh x kw`` patch of every input channel is flattened row by row (pixel ``(i, j)`` of the
    patch on qubit ``i * kw + j``), encoded into ``kh * kw`` qubits and processed by ``num_filters``
    filters that share one circuit template but have their own weights:

    .. math::

        y_{f,o}(p) = \langle 0 | E(p)^\dagger A(w_f)^\dagger\, O_o\, A(w_f) E(p) | 0 \rangle ,

    with :math:`E` the encoding, :math:`A(w_f)` the ansatz with the weights of filter :math:`f`,
    and :math:`O_o` either :math:`Z` on qubit :math:`o` (``readout="per_qubit"``, ``kh * kw``
    outputs per filter: the HQNN-Quanv "one channel per wire") or :math:`Z^{\otimes kh kw}`
    (``readout="parity"``, one output per filter: the QCCNN correlational measurement).

    **Shapes and channel order.** The output follows :class:`torch.nn.Conv2d`:
    ``(batch, out_channels, H_out, W_out)`` with
    ``H_out = (H + 2 * padding[0] - kh) // stride[0] + 1`` (likewise ``W_out``); padding adds zero
    pixels, which both encodings map to :math:`|0\rangle`. Input channels are **not mixed**: each
    one is convolved separately by every filter (the convention of Liu et al., where ``k``
    filters on a ``v x h x d`` array give ``d * k`` output maps, like a depthwise convolution
    with channel multiplier). Hence ``out_channels = in_channels * num_filters *
    outputs_per_filter`` and output channel ``(c * num_filters + f) * outputs_per_filter + o`` is
    output ``o`` of filter ``f`` on input channel ``c``.

    **Encoding assumption.** ``"ry_pi"`` maps a pixel :math:`x \in [0, 1]` to
    :math:`RY(\pi x)` and ``"qccnn"`` to :math:`\cos x|0\rangle + \sin x|1\rangle`. Inputs are
    checked against ``input_range`` (default ``(0, 1)``, images scaled to ``[0, 1]``); values
    outside raise :class:`~qiskit_qdeep.exceptions.QDeepValueError` instead of being silently
    wrapped around the Bloch sphere. Pass ``input_range=(-1, 1)`` for a layer fed by another
    quanvolution (expectation values), or ``None`` to skip the check.

    **Execution.** All patches of all images, for all filters, form one batch of
    ``batch * in_channels * num_patches * num_filters`` rows (inputs plus the weights of the row's
    filter) evaluated in a single call:

    * ``gradient="backprop"``: one batched :class:`~qiskit_qdeep.primitives.StatevectorEngine`
      evaluation, differentiated by autograd (exact simulation, memory ``2**(kh * kw)`` per row).
    * ``gradient="parameter-shift"``: one :class:`~qiskit_qdeep.primitives.EstimatorRunner` run
      (one primitive job per forward + backward) on the given V2 estimator; each row carries its
      filter's weights, and the Jacobian rows are scattered back to ``weight`` by autograd.

    ``"auto"`` picks backprop unless an ``estimator`` or ``pass_manager`` is given.

    **Weights.** ``weight`` has shape ``(num_filters, num_weights)`` in ``weight_params`` order.
    With ``trainable=False`` (or an ansatz without weights) it is a buffer (no parameters; it is
    still saved in the ``state_dict``). For ``ansatz="random"`` (Henderson et al.) the structure
    of the random circuit (rotation axes, CNOT orderings) is drawn once from ``seed`` and shared
    by all filters, while each filter has its own fixed random angles stored in ``weight``;
    filter 0 then equals
    :func:`~qiskit_qdeep.circuit.library.random_quanvolution_circuit` with the same ``seed``.

    The layer exposes ``circuit``, ``observables``, ``input_params`` and ``weight_params``: wrapping
    them in qiskit-machine-learning's ``EstimatorQNN`` + ``TorchConnector`` with
    ``initial_weights=layer.weight[f]`` reproduces filter ``f`` on the flattened patches.

    Example:

    .. code-block:: python

        import torch
        from qiskit_qdeep.nn import Quanv2d

        # HQNN-Quanv: 2 x 2 patches, stride 2, 4 trainable rotations, <Z> per qubit
        quanv = Quanv2d(1, 2, stride=2, ansatz="hqnn")
        y = quanv(torch.rand(64, 1, 14, 14))  # (64, 4, 7, 7)

        # QCCNN: 5 filters, parity readout
        qccnn = Quanv2d(1, 2, num_filters=5, encoding="qccnn", ansatz="qccnn", readout="parity")
        z = qccnn(torch.rand(8, 1, 3, 3))  # (8, 5, 2, 2)

    Args:
        in_channels: Number of input channels.
        kernel_size: Patch size ``k`` or ``(kh, kw)``; the kernel has ``kh * kw`` qubits.
        stride: Step between patches (``>= 1``), int or pair.
        padding: Zero padding on each side (``>= 0``), int or pair.
        num_filters: Number of filters (independent weight sets) per input channel.
        encoding: ``"ry_pi"`` (``RY(pi x)``) or ``"qccnn"`` (``RY(2 x)``), see
            :func:`~qiskit_qdeep.circuit.library.quanvolution_encoding`.
        ansatz: ``"hqnn"``, ``"qccnn"``, ``"random"``, ``"none"`` or a custom circuit on
            ``kh * kw`` qubits whose parameters are the weights, see
            :func:`~qiskit_qdeep.circuit.library.quanv_kernel_circuit`.
        readout: ``"per_qubit"`` (``<Z_q>`` for each qubit) or ``"parity"`` (``<Z x ... x Z>``).
        trainable: If ``False`` the weights are a fixed buffer.
        reps: Depth of ``"qccnn"`` (default 4) or layers of ``"random"`` (default 1).
        rotation: Rotation gate of ``"hqnn"`` (``"ry"`` or ``"rx"``).
        input_range: Allowed ``(low, high)`` of the input values, or ``None`` for no check.
        estimator: A V2 estimator for the parameter-shift path.
        gradient: ``"auto"``, ``"backprop"`` or ``"parameter-shift"``.
        pass_manager: Transpiles the template once to an ISA circuit for the estimator's backend.
        initial_weights: ``(num_filters, num_weights)`` (or as many values, flat); default
            uniform in ``[0, 2 pi)`` drawn from ``seed`` (torch's global generator when ``seed``
            is ``None``).
        precision: Estimator precision (parameter-shift path).
        max_bindings_per_pub: Cap on bindings per PUB (parameter-shift path).
        max_qubits: Qubit limit of the exact engine (backprop path).
        seed: Seed of the default weights, of the random structure and of the default estimator.
        retry: Retries, backoff and timeout of the primitive jobs (primitive path); default
            :data:`~qiskit_qdeep.primitives.DEFAULT_RETRY_POLICY`. Also settable later as
            ``layer.runner.retry``.

    Raises:
        QDeepValueError: For bad sizes, unknown options, a mismatched custom ansatz, bad initial
            weights, or ``gradient="backprop"`` with a primitive.
        QDeepTypeError: For a non-V2 estimator.

    References:
        M. Henderson et al., "Quanvolutional neural networks", `arXiv:1904.04767
        <https://arxiv.org/abs/1904.04767>`_; J. Liu et al., "Hybrid quantum-classical
        convolutional neural networks", `arXiv:1911.02998 <https://arxiv.org/abs/1911.02998>`_;
        A. Senokosov et al., "Quantum machine learning for image classification",
        `arXiv:2304.09224 <https://arxiv.org/abs/2304.09224>`_.
    """

    def __init__(
        self,
        in_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        *,
        num_filters: int = 1,
        encoding: str = "ry_pi",
        ansatz: str | QuantumCircuit = "qccnn",
        readout: str = "per_qubit",
        trainable: bool = True,
        reps: int | None = None,
        rotation: str = "ry",
        input_range: tuple[float, float] | None = (0.0, 1.0),
        estimator: BaseEstimatorV2 | None = None,
        gradient: str = "auto",
        pass_manager: BasePassManager | None = None,
        initial_weights: np.ndarray | torch.Tensor | None = None,
        precision: float | None = None,
        max_bindings_per_pub: int | None = DEFAULT_MAX_BINDINGS_PER_PUB,
        max_qubits: int = 20,
        seed: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels)
        num_filters = check_int("num_filters", num_filters)
        self.kernel_size = check_pair("kernel_size", kernel_size, 1)
        self.stride = check_pair("stride", stride, 1)
        self.padding = check_pair("padding", padding, 0)
        self.num_filters = num_filters
        if encoding not in ENCODINGS:
            raise QDeepValueError(f"encoding must be one of {tuple(ENCODINGS)}, got {encoding!r}.")
        if readout not in READOUTS:
            raise QDeepValueError(f"readout must be one of {READOUTS}, got {readout!r}.")
        if not isinstance(ansatz, QuantumCircuit) and ansatz not in ANSATZES:
            raise QDeepValueError(
                f"ansatz must be one of {ANSATZES} or a QuantumCircuit, got {ansatz!r}."
            )
        gradient = resolve_gradient(gradient, estimator, pass_manager)
        if input_range is not None:
            try:
                low, high = (float(v) for v in input_range)
            except TypeError as exc:  # not a pair of numbers
                raise QDeepTypeError(
                    f"input_range must be (low, high) with low < high, got {input_range!r}."
                ) from exc
            except ValueError as exc:
                raise QDeepValueError(
                    f"input_range must be (low, high) with low < high, got {input_range!r}."
                ) from exc
            if not low < high:
                raise QDeepValueError(
                    f"input_range must be (low, high) with low < high, got {input_range!r}."
                )
            input_range = (low, high)
        self.encoding = encoding
        self.readout = readout
        self.trainable = bool(trainable)
        self.input_range = input_range
        num_qubits = self.kernel_size[0] * self.kernel_size[1]
        if num_qubits > max_qubits:
            raise QDeepValueError(
                f"kernel_size {self.kernel_size} needs {num_qubits} qubits, more than "
                f"max_qubits={max_qubits}."
            )
        self._num_qubits = num_qubits

        # ----- the one circuit template shared by all filters, and its execution path
        self._gradient = gradient
        self._template_options = {
            "ansatz": ansatz,
            "encoding": encoding,
            "readout": readout,
            "reps": reps,
            "rotation": rotation,
            "precision": precision,
            "max_bindings_per_pub": max_bindings_per_pub,
            "max_qubits": max_qubits,
            "retry": retry,
        }
        if ansatz == "random" and seed is None:  # reproducible under torch.manual_seed
            seed = int(torch.randint(0, 2**31 - 1, ()).item())
        rng = self._build_template(seed, estimator, pass_manager)
        num_weights = len(self._weight_params)
        if rng is not None:
            # the structure seed travels with the state_dict (see _load_from_state_dict)
            self.register_buffer("structure_seed", torch.tensor(seed, dtype=torch.int64))

        shape = (self.num_filters, num_weights)
        if initial_weights is None and rng is not None:
            # random ansatz: the angles follow the structure in the same generator
            weight = torch.as_tensor(
                rng.uniform(0.0, 2.0 * np.pi, shape), dtype=torch.get_default_dtype()
            )
        else:
            weight = make_initial_weights(
                shape, initial_weights, seed, "num_filters, num_weights", report_shape=True
            )
        if self.trainable and num_weights:
            self.weight = nn.Parameter(weight)
        else:
            self.register_buffer("weight", weight)

    def _build_template(
        self,
        seed: int | None,
        estimator: BaseEstimatorV2 | None,
        pass_manager: BasePassManager | None,
    ) -> np.random.Generator | None:
        """Builds the kernel circuit and its engine / runner; returns the structure generator.

        For ``ansatz="random"`` the structure is drawn from ``np.random.default_rng(seed)`` and
        the generator (positioned after the structure) is returned; otherwise ``None``.
        """
        opts = self._template_options
        ansatz, num_qubits = opts["ansatz"], self._num_qubits
        rng = np.random.default_rng(seed) if ansatz == "random" else None
        x = ParameterVector("x", num_qubits)
        if isinstance(ansatz, QuantumCircuit):
            self.ansatz = "custom"
            num_weights = ansatz.num_parameters
        else:
            self.ansatz = ansatz
            num_weights = num_ansatz_weights(ansatz, num_qubits, opts["reps"])
        w = ParameterVector("w", num_weights)
        self._circuit = quanv_kernel_circuit(
            num_qubits,
            encoding=opts["encoding"],
            ansatz=ansatz,
            reps=opts["reps"],
            rotation=opts["rotation"],
            seed=rng,
            input_params=x,
            weight_params=w,
        )
        self._input_params: list[Parameter] = list(x)
        self._weight_params: list[Parameter] = list(w)
        if opts["readout"] == "per_qubit":
            labels = ["I" * (num_qubits - 1 - q) + "Z" + "I" * q for q in range(num_qubits)]
        else:
            labels = ["Z" * num_qubits]
        self._observables = [SparsePauliOp(label) for label in labels]
        build_execution(
            self,
            estimator=estimator,
            pass_manager=pass_manager,
            precision=opts["precision"],
            max_bindings_per_pub=opts["max_bindings_per_pub"],
            max_qubits=opts["max_qubits"],
            seed=seed,
            retry=opts["retry"],
        )
        return rng

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Rebuilds a random-structure kernel from the saved ``structure_seed`` before loading.

        A ``Quanv2d(ansatz="random")`` stores the seed of its circuit structure (rotation axes,
        CNOT orderings) in the ``structure_seed`` buffer, so a state dict loaded into a layer built
        with another (or no) ``seed`` reproduces the saved circuits, not just the weights.
        """
        key = prefix + "structure_seed"
        own = getattr(self, "structure_seed", None)
        saved = state_dict.get(key)
        if own is not None and saved is not None and int(saved) != int(own):
            # primitive and pass manager live in the runner only (it decides what gets pickled)
            runner = self.runner  # None on the exact (backprop) path
            if runner is not None:
                runner._check_primitive()  # pylint: disable=protected-access
            self._build_template(
                int(saved),
                runner.estimator if runner is not None else None,
                runner.pass_manager if runner is not None else None,
            )
            own.fill_(int(saved))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ----- read-only views

    @property
    def num_qubits(self) -> int:
        """Qubits of the kernel (``kh * kw``)."""
        return self._num_qubits

    @property
    def num_weights(self) -> int:
        """Weights per filter."""
        return len(self._weight_params)

    @property
    def outputs_per_filter(self) -> int:
        """``kh * kw`` for ``"per_qubit"``, 1 for ``"parity"``."""
        return len(self._observables)

    @property
    def out_channels(self) -> int:
        """``in_channels * num_filters * outputs_per_filter``."""
        return self.in_channels * self.num_filters * self.outputs_per_filter

    def filter_circuit(self, index: int) -> QuantumCircuit:
        """The kernel circuit of filter ``index`` with its current weights bound.

        Args:
            index: Filter index in ``[0, num_filters)``.

        Returns:
            A circuit whose only parameters are ``input_params``.

        Raises:
            QDeepValueError: For an index out of range.
        """
        if not 0 <= index < self.num_filters:
            raise QDeepValueError(f"index must be in [0, {self.num_filters}), got {index}.")
        values = self.weight[index].detach().cpu().double().tolist()
        return self._circuit.assign_parameters(dict(zip(self._weight_params, values, strict=True)))

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Spatial output size ``(H_out, W_out)`` for an input of ``height x width``.

        Raises:
            QDeepValueError: If the kernel is larger than the padded input.
        """
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        padded = (height + 2 * ph, width + 2 * pw)
        if padded[0] < kh or padded[1] < kw:
            raise QDeepValueError(
                f"kernel_size {self.kernel_size} is larger than the padded input "
                f"{padded[0]}x{padded[1]} (input {height}x{width}, padding {self.padding})."
            )
        return (padded[0] - kh) // sh + 1, (padded[1] - kw) // sw + 1

    def extra_repr(self) -> str:
        """Summary shown by ``repr``."""
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, num_filters={self.num_filters}, "
            f"encoding={self.encoding!r}, ansatz={self.ansatz!r}, readout={self.readout!r}, "
            f"trainable={self.trainable}, gradient={self._gradient!r}"
        )

    # ----- evaluation
    def _check_input(self, inputs) -> tuple[torch.Tensor, bool]:
        inputs, unbatched = batched_float_tensor(inputs, self.weight.dtype, 3)
        if inputs.dim() != 4:
            raise QDeepValueError(
                f"Quanv2d expects input of shape (batch, {self.in_channels}, height, width) or "
                f"({self.in_channels}, height, width), got {tuple(inputs.shape)}."
            )
        if inputs.shape[1] != self.in_channels:
            raise QDeepValueError(
                f"input has {inputs.shape[1]} channels but the layer was built with "
                f"in_channels={self.in_channels}."
            )
        if inputs.numel() == 0:
            return inputs, unbatched
        if not torch.isfinite(inputs).all():
            raise QDeepValueError("input contains NaN or inf pixels.")
        if self.input_range is not None:
            low, high = self.input_range
            lo, hi = (float(v) for v in torch.aminmax(inputs.detach()))
            tol = 1e-6 * max(1.0, abs(low), abs(high))
            if lo < low - tol or hi > high + tol:
                raise QDeepValueError(
                    f"input values lie in [{lo:.4g}, {hi:.4g}], outside input_range "
                    f"[{low:g}, {high:g}]. The {self.encoding!r} encoding turns each pixel into a "
                    "rotation angle and assumes images scaled to this range (e.g. divide 8-bit "
                    "images by 255); rescale the input, or pass input_range=None to accept any "
                    "real value."
                )
        return inputs, unbatched

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # pylint: disable=redefined-builtin
        """Quanvolution of a batch of images.

        Args:
            input: ``(batch, in_channels, H, W)`` or ``(in_channels, H, W)``.

        Returns:
            ``(batch, out_channels, H_out, W_out)`` (or without the batch axis), in the input's
            dtype.

        Raises:
            QDeepValueError: For a wrong shape or channel count, NaN/inf pixels, values outside
                ``input_range``, or a kernel larger than the padded input.
        """
        inputs, unbatched = self._check_input(input)
        batch, channels, height, width = inputs.shape
        h_out, w_out = self.output_size(height, width)
        q, f, num_w = self._num_qubits, self.num_filters, self.num_weights
        patches = functional.unfold(
            inputs.reshape(batch * channels, 1, height, width),
            self.kernel_size,
            padding=self.padding,
            stride=self.stride,
        )  # (B*C, Q, L)
        num_patches = patches.shape[-1]
        rows = batch * channels * num_patches
        weight = self.weight.to(inputs.dtype)
        if self._gradient == "backprop":
            grouped = patches.transpose(1, 2).unsqueeze(2).expand(-1, -1, f, -1)  # (BC, L, F, Q)
            out = self._runner.evaluate_shared(grouped, weight)
        else:
            row_inputs = (
                patches.transpose(1, 2).unsqueeze(2).expand(-1, -1, f, -1).reshape(rows * f, q)
            )
            row_weights = weight.unsqueeze(0).expand(rows, f, num_w).reshape(rows * f, num_w)
            out = primitive_apply(row_inputs, row_weights, runner_fn(self._runner))
        num_out = self.outputs_per_filter
        out = out.reshape(batch, channels, num_patches, f, num_out).permute(0, 1, 3, 4, 2)
        out = out.reshape(batch, channels * f * num_out, h_out, w_out)
        return out.squeeze(0) if unbatched else out
