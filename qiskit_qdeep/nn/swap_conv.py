# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""QuCNN: a convolution whose filters are quantum states compared to the patches by SWAP tests.

:class:`SwapTestConv2d` is the layer; :func:`ancilla_gradient_error_curve` and
:func:`plot_ancilla_gradient_error_curve` reproduce the backpropagation validation of the paper
(its Fig. 4: gradient from the entangled-ancilla routine against the post-processed parameter
shift, as a function of the shots).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter, ParameterVector
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseSamplerV2
from torch import nn
from torch.nn import functional

from .._validation import check_int, check_pair, check_shots
from ..circuit.library.swap_test import (
    SwapTestGate,
    amplitude_encoding_angles,
    amplitude_encoding_circuit,
    num_qucnn_filter_weights,
    qucnn_filter_ansatz,
)
from ..exceptions import QDeepTypeError, QDeepValueError
from ..primitives import DEFAULT_MAX_BINDINGS_PER_PUB, RetryPolicy, SamplerRunner
from ..primitives.exact import ExactStatevectorRunner, swap_test_overlap
from ..primitives.factory import sampler_runner
from ..primitives.retry import check_retry
from ._autograd import first_order_only, primitive_apply
from ._common import make_initial_weights

__all__ = [
    "SwapTestConv2d",
    "SWAP_TEST_GRADIENT_MODES",
    "AncillaGradientCurve",
    "ancilla_gradient_error_curve",
    "plot_ancilla_gradient_error_curve",
]

#: Accepted values of the ``gradient`` argument of :class:`SwapTestConv2d`.
SWAP_TEST_GRADIENT_MODES = ("auto", "backprop", "parameter-shift", "ancilla")


def _to_numpy(value, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    array = np.asarray(value)
    if np.iscomplexobj(array):
        raise QDeepTypeError(f"{name} must be real, got dtype {array.dtype}.")
    try:
        return array.astype(float)
    except (TypeError, ValueError) as exc:
        raise QDeepValueError(f"{name} must be a real array, got {type(value).__name__}.") from exc


class _AncillaSwapFunction(torch.autograd.Function):
    """SWAP-test outputs of the rows (one sampler job) with the entangled-ancilla backward.

    ``forward`` runs the SWAP-test template once for all rows; ``backward`` needs the upstream
    gradient, so it makes the second job: the ancilla template for all rows and shifts.
    """

    @staticmethod
    def forward(ctx, row_weights, row_angles, layer):  # pylint: disable=arguments-differ
        weights = row_weights.detach().cpu().double().numpy()
        values = np.concatenate([row_angles, weights], axis=1)
        probs = layer.runner.run(values)
        ctx.layer = layer
        ctx.row_angles = row_angles
        ctx.weights = weights
        ctx.weight_dtype = row_weights.dtype
        ctx.device = row_weights.device
        return torch.as_tensor(probs[:, 0] - probs[:, 1], dtype=torch.float64, device=ctx.device)

    @staticmethod
    @first_order_only("ancilla-gradient")
    def backward(ctx, grad_output):  # pylint: disable=arguments-differ
        upstream = grad_output.detach().cpu().double().numpy().reshape(-1)
        # pylint: disable=protected-access
        grads = ctx.layer._ancilla_row_gradients(ctx.row_angles, ctx.weights, upstream)
        grads = torch.as_tensor(grads, dtype=ctx.weight_dtype, device=ctx.device)
        return grads, None, None


class SwapTestConv2d(nn.Module):
    r"""QuCNN convolution: SWAP tests between amplitude-encoded patches and quantum filter states.

    **Data.** Every ``kh x kw`` patch (``kh * kw = 2**n``, e.g. 2x2 or 4x4; row-major, pixel
    ``(i, j)`` is amplitude ``i * kw + j``) is L2-normalised and amplitude-encoded on ``n``
    qubits, :math:`|x\rangle = \sum_i \hat x_i |i\rangle`. Signed pixel values are allowed. The
    encoding is the parameterized RY tree of
    :func:`~qiskit_qdeep.circuit.library.amplitude_encoding_circuit`: its ``2**n - 1`` tree
    angles are circuit parameters (``input_params``) computed for all patches at once by
    :func:`~qiskit_qdeep.circuit.library.amplitude_encoding_angles`.

    **Filters.** Filter ``f`` is a state :math:`|f(\theta_f)\rangle` prepared by
    :func:`~qiskit_qdeep.circuit.library.qucnn_filter_ansatz` (RX/RZ rotations and CNOT
    entanglers, ``num_layers`` deep) with its own row ``weight[f]``. Alternatively the whole bank
    can be **fixed states** given as classical kernels (``filter_states=``, e.g. a trained
    classical ``4 x 4`` filter as in the paper's forward-pass validation): each kernel is
    normalised and prepared exactly by the same RY-tree circuit on the filter register. An exact
    state has no ansatz weights to train, so in this mode ``weight`` is a **buffer** holding the
    ``(num_filters, 2**n - 1)`` tree angles (saved in the ``state_dict``, not returned by
    ``parameters()``), ``num_layers`` is ignored, and :meth:`set_filter_state` replaces one
    filter. To *learn* an ansatz filter that approximates a kernel, train an ansatz layer on the
    fidelity of :meth:`filter_statevectors` with the target.

    **Output.** For patch :math:`x` and filter :math:`f` the SWAP test (ancilla + data register
    + filter register, :class:`~qiskit_qdeep.circuit.library.SwapTestGate`) gives

    .. math::

        y_f(x) = 2 P(\text{anc} = 0) - 1 = |\langle f(\theta_f) | \hat x \rangle|^2 \in [0, 1],

    the quantum analogue of a (squared) convolution response. The output has shape
    ``(batch, num_filters, H_out, W_out)`` with ``H_out = (H - kh) // stride[0] + 1`` (likewise
    ``W_out``); no padding. **All-zero patches** have no quantum state; their output is defined
    as ``0`` (the classical dot product of a zero patch) with zero gradient, and they are never
    sent to a primitive.

    **Channels.** The input is ``(batch, 1, H, W)`` or ``(batch, H, W)`` (a 3-D input is always
    read as a batch of single-channel images; the output keeps the batch axis). A patch is one
    state, so channels cannot be mixed into it: ``C > 1`` raises
    :class:`~qiskit_qdeep.exceptions.QDeepValueError`. For a per-channel convolution reshape to
    ``(batch * C, 1, H, W)`` and back.

    **Execution and gradients.**

    * ``gradient="backprop"`` (the default without ``sampler``, ``pass_manager`` or ``shots``):
      exact. The filter states are simulated once per forward on ``n`` qubits by
      :class:`~qiskit_qdeep.primitives.StatevectorEngine` and contracted with the normalised
      patches, which gives the SWAP test's exact expectation :math:`|\langle f|\hat x\rangle|^2`
      without simulating ``2n + 1`` qubits per (patch, filter). Autograd gives gradients for
      the weights **and** the input pixels (through the normalisation).
    * ``gradient="parameter-shift"``: every (patch, filter) pair of the batch is one row of the
      one SWAP-test template (``input_params`` = the patch's tree angles, ``weight_params`` =
      the filter's weights) and all rows, with the ``+-pi/2`` shifts of the filter weights, go
      out in **one** :class:`~qiskit_qdeep.primitives.SamplerRunner` job per forward; the output
      is estimated from the counts of the ancilla. The upstream gradient is applied classically
      in ``backward`` (no second job).
    * ``gradient="ancilla"``: the paper's entanglement-based backpropagation (below). Forward is
      **one** job (SWAP test, no shifts); backward is **one** job of the ancilla template for all
      (patch, filter, shift) rows, made in ``backward`` because it needs the upstream gradient.

    In both primitive modes no gradient flows to the input pixels (the paper only trains
    filters; the tree angles are singular at zero sub-blocks of a patch, so their shifts would
    not give a meaningful pixel gradient).

    **Entanglement-based backpropagation** (``gradient="ancilla"``). After the SWAP test on
    :math:`|0\rangle_a|x\rangle|f\rangle` the state is

    .. math::

        |\Psi\rangle = |0\rangle_a |\psi_+\rangle + |1\rangle_a |\psi_-\rangle, \qquad
        |\psi_\pm\rangle = \tfrac{1}{2}(|x f\rangle \pm |f x\rangle), \qquad
        \||\psi_\pm\rangle\|^2 = \frac{1 \pm F}{2},\quad F = |\langle f|x\rangle|^2 .

    A second ancilla :math:`a_2` is rotated by :math:`RY(\phi)` to
    :math:`c|0\rangle + s|1\rangle` (:math:`c = \cos\frac{\phi}{2}`, :math:`s = \sin\frac{\phi}{2}`)
    and a CNOT with control :math:`a` and target :math:`a_2` gives

    .. math::

        |0\rangle_a|\psi_+\rangle (c|0\rangle + s|1\rangle)_{a_2}
        + |1\rangle_a|\psi_-\rangle (s|0\rangle + c|1\rangle)_{a_2},

    so that measuring only :math:`a_2`

    .. math::

        P(a_2 = 0) = c^2 \frac{1 + F}{2} + s^2 \frac{1 - F}{2}
                   = \frac{1}{2} + \frac{\cos\phi}{2}\, F, \qquad
        \langle Z_{a_2}\rangle = \cos\phi \; F .

    With the upstream gradients :math:`g = \partial L/\partial y` of all rows of the backward
    batch, one scale :math:`s_g = \max |g|` maps them into the rotation's range,
    :math:`\phi = \arccos(g / s_g) \in [0, \pi]`, hence
    :math:`P(a_2 = 0) = \tfrac12 + \tfrac{g}{2 s_g} F`: the measured expectation carries the
    factor :math:`g` plus a term independent of :math:`\theta`. Every RX/RZ weight enters as
    :math:`e^{-i\theta G/2}` with :math:`G^2 = 1`, so the two-term shift rule is exact and the
    constant cancels in the difference:

    .. math::

        \frac{\langle Z_{a_2}\rangle(\theta_k + \tfrac{\pi}{2})
              - \langle Z_{a_2}\rangle(\theta_k - \tfrac{\pi}{2})}{2}
        = \frac{g}{s_g} \frac{\partial F}{\partial \theta_k}
        \quad\Longrightarrow\quad
        \frac{\partial L}{\partial \theta_{f,k}}
        = s_g \sum_{\text{patches}}
          \frac{\langle Z_{a_2}\rangle^{+} - \langle Z_{a_2}\rangle^{-}}{2} .

    The device thus returns :math:`g\,\partial F/\partial\theta` directly (up to the classical
    undoing of the single scale :math:`s_g`); the rows of one filter are summed over the
    patches classically. Rows with :math:`g = 0` contribute nothing and are not sent. The
    shot noise of a row is about :math:`s_g / \sqrt{2\,\text{shots}}`, independent of
    :math:`|g|` (with ``"parameter-shift"`` it is :math:`|g| / \sqrt{2\,\text{shots}}`).
    :meth:`ancilla_weight_gradient` exposes the routine for a given upstream gradient.

    Example:

    .. code-block:: python

        import torch
        from qiskit_qdeep.nn import SwapTestConv2d

        layer = SwapTestConv2d(2, num_filters=3, stride=2, num_layers=2)  # exact, backprop
        y = layer(torch.rand(8, 1, 8, 8))  # (8, 3, 4, 4), values in [0, 1]

        # on a sampler, QuCNN's entangled-ancilla backward
        from qiskit_aer.primitives import SamplerV2
        qlayer = SwapTestConv2d(2, 3, stride=2, sampler=SamplerV2(seed=1), shots=4000,
                                gradient="ancilla")
        qlayer(torch.rand(2, 1, 4, 4)).sum().backward()  # 1 job forward, 1 job backward

    Args:
        kernel_size: Patch size ``k`` or ``(kh, kw)`` with ``kh * kw`` a power of two ``>= 2``.
        num_filters: Number of filters (output channels).
        stride: Step between patches, int or pair (``>= 1``).
        num_layers: Layers of the filter ansatz (1-3 in the paper).
        filter_states: Optional fixed filter bank: ``(num_filters, kh, kw)`` or
            ``(num_filters, kh * kw)`` real kernels (normalised here, none all-zero).
        sampler: A V2 sampler for the primitive modes; default a seeded
            :class:`~qiskit_qdeep.primitives.TorchStatevectorSampler`.
        gradient: ``"auto"``, ``"backprop"``, ``"parameter-shift"`` or ``"ancilla"``.
            ``"auto"`` is ``"backprop"`` unless ``sampler``, ``pass_manager`` or ``shots`` is
            given, then ``"parameter-shift"``.
        pass_manager: Transpiles the templates once to ISA circuits for the sampler's backend.
        shots: Shots per binding in the primitive modes (``None``: the sampler's default).
        initial_weights: ``(num_filters, 2 * n * num_layers)`` (or as many values, flat);
            default uniform in ``[0, 2 pi)`` drawn from ``seed``.
        max_bindings_per_pub: Cap on the bindings of one PUB (primitive modes).
        max_qubits: Qubit limit of the exact engine (``n`` qubits: the filter states).
        seed: Seed of the default weights and of the default sampler (which draws from a
            generator seeded with it: reproducible, with fresh shots at every run).
        retry: Retries, backoff and timeout of the primitive jobs (primitive path); default
            :data:`~qiskit_qdeep.primitives.DEFAULT_RETRY_POLICY`. Also settable later as
            ``layer.runner.retry`` (and ``layer.ancilla_runner.retry``).

    Raises:
        QDeepValueError: For a ``kernel_size`` whose area is not a power of two, a bad
            ``num_filters``, ``stride``, ``num_layers`` or ``shots``, bad ``filter_states`` or
            ``initial_weights``, an unknown gradient mode or options that do not fit it.
        QDeepTypeError: For a non-V2 sampler or a bad pass manager.

    References:
        S. A. Stein, Y. Mao, J. Ang and A. Li, "QuCNN: A Quantum Convolutional Neural Network
        with Entanglement Based Backpropagation", `arXiv:2210.05443
        <https://arxiv.org/abs/2210.05443>`_.
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        num_filters: int,
        stride: int | tuple[int, int] = 1,
        *,
        num_layers: int = 1,
        filter_states: np.ndarray | torch.Tensor | None = None,
        sampler: BaseSamplerV2 | None = None,
        gradient: str = "auto",
        pass_manager: BasePassManager | None = None,
        shots: int | None = None,
        initial_weights: np.ndarray | torch.Tensor | None = None,
        max_bindings_per_pub: int | None = DEFAULT_MAX_BINDINGS_PER_PUB,
        max_qubits: int = 20,
        seed: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = check_pair("kernel_size", kernel_size)
        size = self.kernel_size[0] * self.kernel_size[1]
        if size < 2 or size & (size - 1):
            raise QDeepValueError(
                f"kernel_size {self.kernel_size} has {size} pixels; amplitude encoding needs "
                "kh * kw to be a power of two >= 2 (e.g. 2x2, 2x4 or 4x4)."
            )
        self.num_filters = check_int("num_filters", num_filters)
        self.stride = check_pair("stride", stride)
        self.num_layers = check_int("num_layers", num_layers)
        check_shots(shots)
        self._gradient = self._resolve_gradient(gradient, sampler, pass_manager, shots)
        self.shots = None if shots is None else int(shots)
        n = size.bit_length() - 1
        self._num_qubits = n
        self._max_qubits = max_qubits
        self._fixed = filter_states is not None

        kernels = None
        if self._fixed:
            if initial_weights is not None:
                raise QDeepValueError(
                    "initial_weights and filter_states cannot both be given: a fixed-state filter "
                    "bank has no ansatz weights."
                )
            kernels = self._check_kernels(filter_states, leading=(self.num_filters,))

        # ----- circuit templates
        x = ParameterVector("x", size - 1)
        if self._fixed:
            w = ParameterVector("w", size - 1)
            filter_circuit = amplitude_encoding_circuit(n, list(w))
        else:
            w = ParameterVector("w", num_qucnn_filter_weights(n, self.num_layers))
            filter_circuit = qucnn_filter_ansatz(n, self.num_layers, list(w))
        phi = Parameter("phi")
        self._input_params = list(x)
        self._weight_params = list(w)
        self._phi = phi
        self._filter_circuit = filter_circuit
        encoding = amplitude_encoding_circuit(n, list(x))
        anc = QuantumRegister(1, "anc")
        data = QuantumRegister(n, "data")
        filt = QuantumRegister(n, "filter")
        creg = ClassicalRegister(1, "c")
        swap = QuantumCircuit(anc, data, filt, creg, name="qucnn_swap_test")
        swap.compose(encoding, data, inplace=True)
        swap.compose(filter_circuit, filt, inplace=True)
        # the SWAP test is inlined (h + cswap) so that the template runs on every sampler,
        # including those that do not expand custom gates (Aer)
        swap_test = SwapTestGate(n).definition
        swap.compose(swap_test, [anc[0], *data, *filt], inplace=True)
        swap.measure(anc[0], creg[0])
        self._circuit = swap
        grad_anc = QuantumRegister(1, "grad")
        creg2 = ClassicalRegister(1, "c")
        ancilla = QuantumCircuit(anc, data, filt, grad_anc, creg2, name="qucnn_ancilla_gradient")
        ancilla.ry(phi, grad_anc[0])
        ancilla.compose(encoding, data, inplace=True)
        ancilla.compose(filter_circuit, filt, inplace=True)
        ancilla.compose(swap_test, [anc[0], *data, *filt], inplace=True)
        ancilla.cx(anc[0], grad_anc[0])
        ancilla.measure(grad_anc[0], creg2[0])
        self._ancilla_circuit = ancilla

        # ----- execution
        self._pass_manager = pass_manager
        self._max_bindings_per_pub = max_bindings_per_pub
        self._retry = check_retry(retry)
        # the default sampler draws from a generator: reproducible, yet fresh shots at every run
        # (an int seed would make a sampler repeat the same draws at every call)
        self._sampler_seed = None if seed is None else np.random.default_rng(seed)
        # the filter states come from the exact executor whatever the gradient mode
        self._filters = ExactStatevectorRunner(
            filter_circuit, parameters=self._weight_params, max_qubits=max_qubits
        )
        self._runner: SamplerRunner | None = None
        self._ancilla_runner: SamplerRunner | None = None
        if self._gradient != "backprop":
            self._runner = sampler_runner(
                swap,
                exact=False,
                parameters=self._input_params + self._weight_params,
                sampler=sampler,
                pass_manager=pass_manager,
                shots=self.shots,
                max_bindings_per_pub=max_bindings_per_pub,
                seed=self._sampler_seed,
                retry=self._retry,
            )
            if self._gradient == "ancilla":
                self._make_ancilla_runner()

        # ----- weights
        if self._fixed:
            angles = amplitude_encoding_angles(kernels)
            self.register_buffer(
                "weight", torch.as_tensor(angles, dtype=torch.get_default_dtype()).clone()
            )
        else:
            shape = (self.num_filters, len(self._weight_params))
            weight = make_initial_weights(
                shape, initial_weights, seed, "num_filters, num_weights", report_shape=True
            )
            self.weight = nn.Parameter(weight)

    # ----- construction helpers
    @staticmethod
    def _resolve_gradient(gradient, sampler, pass_manager, shots) -> str:
        if gradient not in SWAP_TEST_GRADIENT_MODES:
            raise QDeepValueError(
                f"gradient must be one of {SWAP_TEST_GRADIENT_MODES}, got {gradient!r}."
            )
        primitive_options = sampler is not None or pass_manager is not None or shots is not None
        if gradient == "auto":
            return "parameter-shift" if primitive_options else "backprop"
        if gradient == "backprop" and primitive_options:
            raise QDeepValueError(
                "gradient='backprop' evaluates the SWAP tests exactly in torch; sampler, "
                "pass_manager and shots only apply to gradient='parameter-shift' or 'ancilla'."
            )
        return gradient

    def __getstate__(self) -> dict:
        # pass managers are not pickled (see SamplerRunner); the runners keep their ISA circuits
        state = dict(super().__getstate__())
        state["_pass_manager"] = None
        return state

    def _make_ancilla_runner(self) -> SamplerRunner:
        if self._ancilla_runner is None:
            # a sampler implies a primitive mode, so it lives in self._runner (never stored
            # elsewhere: the runner controls what gets pickled)
            sampler = None
            if self._runner is not None:
                self._runner._check_primitive()  # pylint: disable=protected-access
                sampler = self._runner.sampler
            self._ancilla_runner = sampler_runner(
                self._ancilla_circuit,
                exact=False,
                parameters=self._input_params + [self._phi] + self._weight_params,
                sampler=sampler,
                pass_manager=self._pass_manager,
                shots=self.shots,
                max_bindings_per_pub=self._max_bindings_per_pub,
                seed=self._sampler_seed,
                retry=self._retry,
            )
        return self._ancilla_runner

    def _check_kernels(self, kernels, leading: tuple[int, ...]) -> np.ndarray:
        """Kernels as ``(*leading, kh * kw)`` finite, non-zero rows."""
        name = "filter_states" if leading else "kernel"
        array = _to_numpy(kernels, name)
        kh, kw = self.kernel_size
        size = kh * kw
        if array.shape not in (leading + (kh, kw), leading + (size,)):
            shapes = f"{leading + (kh, kw)} or {leading + (size,)}"
            raise QDeepValueError(f"{name} must have shape {shapes}, got {array.shape}.")
        array = array.reshape(leading + (size,))
        if not np.all(np.isfinite(array)):
            raise QDeepValueError(f"{name} contain NaN or inf entries.")
        zero = np.flatnonzero(~np.any(array.reshape(-1, size) != 0, axis=-1))
        if zero.size:
            which = f"{name} rows {zero.tolist()} are" if leading else f"{name} is"
            raise QDeepValueError(
                f"{which} all zero; a zero kernel has no normalised quantum state."
            )
        return array

    # ----- read-only views
    @property
    def circuit(self) -> QuantumCircuit:
        """A copy of the SWAP-test template: encoding, filter, SWAP test, ancilla measurement.

        Qubit ``0`` is the SWAP-test ancilla (register ``anc``), then the ``data`` and ``filter``
        registers of ``n`` qubits; the SWAP test is inlined as ``h`` + ``cswap`` gates (the
        definition of :class:`~qiskit_qdeep.circuit.library.SwapTestGate`), so the template runs
        on samplers that do not expand custom gates.
        """
        return self._circuit.copy()

    @property
    def ancilla_circuit(self) -> QuantumCircuit:
        """A copy of the ancilla-gradient template (SWAP test, ``RY(phi)`` + CNOT, measure)."""
        return self._ancilla_circuit.copy()

    @property
    def input_params(self) -> list[Parameter]:
        """The ``2**n - 1`` tree-angle parameters of the data encoding."""
        return list(self._input_params)

    @property
    def weight_params(self) -> list[Parameter]:
        """Circuit parameters bound to a row of ``weight`` (ansatz weights or tree angles)."""
        return list(self._weight_params)

    @property
    def phi_param(self) -> Parameter:
        """The rotation angle of the second ancilla in :attr:`ancilla_circuit`."""
        return self._phi

    @property
    def gradient(self) -> str:
        """The resolved gradient mode: ``"backprop"``, ``"parameter-shift"`` or ``"ancilla"``."""
        return self._gradient

    @property
    def runner(self) -> SamplerRunner | None:
        """The SWAP-test sampler runner of the primitive modes (``None`` for backprop)."""
        return self._runner

    @property
    def ancilla_runner(self) -> SamplerRunner | None:
        """The ancilla-gradient runner (built for ``"ancilla"`` or on first use, else ``None``)."""
        return self._ancilla_runner

    @property
    def fixed_filters(self) -> bool:
        """Whether the filters are fixed states (``filter_states``) rather than ansatz states."""
        return self._fixed

    @property
    def num_qubits(self) -> int:
        """Qubits ``n`` of one patch (and of one filter state)."""
        return self._num_qubits

    @property
    def num_weights(self) -> int:
        """Entries of one row of ``weight``."""
        return len(self._weight_params)

    def extra_repr(self) -> str:
        """Summary shown by ``repr``."""
        filters = "fixed states" if self._fixed else f"ansatz, num_layers={self.num_layers}"
        return (
            f"kernel_size={self.kernel_size}, num_filters={self.num_filters}, "
            f"stride={self.stride}, filters={filters}, gradient={self._gradient!r}"
        )

    # ----- filters
    def filter_circuit(self, index: int) -> QuantumCircuit:
        """The state preparation of filter ``index`` with its current weights bound.

        Raises:
            QDeepValueError: For an index out of range.
        """
        index = self._check_index(index)
        values = self.weight[index].detach().cpu().double().tolist()
        return self._filter_circuit.assign_parameters(
            dict(zip(self._weight_params, values, strict=True))
        )

    def filter_statevectors(self) -> torch.Tensor:
        """The filter states, ``(num_filters, 2**n)`` complex, differentiable w.r.t. ``weight``.

        Amplitude ``i * kw + j`` belongs to patch pixel ``(i, j)``. Computed exactly by the torch
        engine whatever the gradient mode (useful to fit a filter to a target state).
        """
        return self._filters.statevector(self.weight)

    def set_filter_state(self, index: int, kernel: np.ndarray | torch.Tensor) -> None:
        """Replaces fixed filter ``index`` by the normalised ``kernel`` (exact state preparation).

        Args:
            index: Filter index in ``[0, num_filters)``.
            kernel: ``(kh, kw)`` or ``(kh * kw,)`` real, not all zero.

        Raises:
            QDeepValueError: If the layer was not built with ``filter_states`` (an ansatz filter
                cannot represent an arbitrary state), or for a bad index or kernel.
        """
        if not self._fixed:
            raise QDeepValueError(
                "set_filter_state needs a fixed-state filter bank: build the layer with "
                "filter_states=... (ansatz filters can only be trained towards a state, e.g. on "
                "the fidelity of filter_statevectors() with it)."
            )
        index = self._check_index(index)
        angles = amplitude_encoding_angles(self._check_kernels(kernel, leading=()))
        with torch.no_grad():
            self.weight[index] = torch.as_tensor(angles, dtype=self.weight.dtype)

    def _check_index(self, index) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise QDeepValueError(f"index must be an int, got {index!r}.")
        if not 0 <= index < self.num_filters:
            raise QDeepValueError(f"index must be in [0, {self.num_filters}), got {index}.")
        return int(index)

    # ----- input handling
    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Spatial output size ``(H_out, W_out)`` for an input of ``height x width``.

        Raises:
            QDeepValueError: If the kernel is larger than the input.
        """
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        if height < kh or width < kw:
            raise QDeepValueError(
                f"kernel_size {self.kernel_size} is larger than the input {height}x{width}."
            )
        return (height - kh) // sh + 1, (width - kw) // sw + 1

    def _check_input(self, inputs) -> torch.Tensor:
        if not isinstance(inputs, torch.Tensor):
            inputs = torch.as_tensor(_to_numpy(inputs, "input"), dtype=self.weight.dtype)
        if inputs.is_complex():
            raise QDeepTypeError(f"input must be real, got dtype {inputs.dtype}.")
        if not torch.is_floating_point(inputs):
            inputs = inputs.to(self.weight.dtype)
        if inputs.dim() == 3:
            inputs = inputs.unsqueeze(1)
        if inputs.dim() != 4:
            raise QDeepValueError(
                "SwapTestConv2d expects input of shape (batch, 1, H, W) or (batch, H, W), got "
                f"{tuple(inputs.shape)}."
            )
        if inputs.shape[1] != 1:
            raise QDeepValueError(
                f"input has {inputs.shape[1]} channels; SwapTestConv2d encodes single-channel "
                "patches (one quantum state each). Convolve channels separately by reshaping to "
                "(batch * C, 1, H, W)."
            )
        if inputs.numel() and not torch.isfinite(inputs).all():
            raise QDeepValueError(
                "input contains NaN or inf pixels; such patches cannot be normalised."
            )
        self.output_size(inputs.shape[2], inputs.shape[3])
        return inputs

    def _patches(self, images: torch.Tensor) -> torch.Tensor:
        return functional.unfold(images, self.kernel_size, stride=self.stride)  # (B, D, L)

    def _patch_rows(self, patches: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the non-zero patches (of ``B * L``) and their tree angles ``(M, D - 1)``."""
        flat = patches.detach().transpose(1, 2).reshape(-1, patches.shape[1])
        flat = flat.cpu().double().numpy()
        nonzero = np.flatnonzero(np.any(flat != 0, axis=1))
        return nonzero, amplitude_encoding_angles(flat[nonzero])

    # ----- evaluation
    def forward(self, input: torch.Tensor) -> torch.Tensor:  # pylint: disable=redefined-builtin
        """SWAP-test convolution of a batch of images.

        Args:
            input: ``(batch, 1, H, W)`` or ``(batch, H, W)``.

        Returns:
            ``(batch, num_filters, H_out, W_out)`` in the input's (floating) dtype; values in
            ``[0, 1]`` (exact) or their shot estimates (primitive modes, which may fall slightly
            outside).

        Raises:
            QDeepValueError: For a wrong shape, more than one channel, NaN/inf pixels or a kernel
                larger than the input.
        """
        images = self._check_input(input)
        batch, _, height, width = images.shape
        h_out, w_out = self.output_size(height, width)
        patches = self._patches(images)  # (B, D, L)
        if self._gradient == "backprop":
            out = self._exact(patches)
        else:
            out = self._sampled(patches).to(images.dtype)
        return out.reshape(batch, self.num_filters, h_out, w_out)

    def _exact(self, patches: torch.Tensor) -> torch.Tensor:
        squares = patches.square().sum(dim=1, keepdim=True)  # (B, 1, L)
        nonzero = squares > 0
        norms = torch.sqrt(torch.where(nonzero, squares, torch.ones_like(squares)))
        unit = patches / norms  # zero patches stay zero
        states = self._filters.statevector(self.weight.to(patches.dtype))  # (F, D)
        return swap_test_overlap(unit, states)  # (B, F, L), the executor's SWAP-test fast path

    def _run_rows(self, values: np.ndarray, wrt):
        if wrt is None:
            probs = self._runner.run(values)
            return probs[:, 0] - probs[:, 1], None
        probs, jac = self._runner.run_with_gradient(values, wrt)
        return probs[:, 0] - probs[:, 1], jac[:, 0, :] - jac[:, 1, :]

    def _sampled(self, patches: torch.Tensor) -> torch.Tensor:
        batch, _, num_patches = patches.shape
        f = self.num_filters
        rows, angles = self._patch_rows(patches)
        num_rows = rows.size
        out = torch.zeros((batch * num_patches, f), dtype=torch.float64, device=patches.device)
        if num_rows:
            row_angles = np.repeat(angles, f, axis=0)  # row m * F + f: patch m, filter f
            index = torch.arange(f, device=self.weight.device).repeat(num_rows)
            row_weights = self.weight.index_select(0, index)
            if self._gradient == "parameter-shift":
                angles_t = torch.as_tensor(row_angles, dtype=torch.float64, device=patches.device)
                values = primitive_apply(angles_t, row_weights, self._run_rows)
            else:
                values = _AncillaSwapFunction.apply(row_weights, row_angles, self)
            rows_t = torch.as_tensor(rows, dtype=torch.long, device=patches.device)
            out = out.index_put((rows_t,), values.reshape(num_rows, f).to(patches.device))
        elif self.weight.requires_grad and torch.is_grad_enabled():
            out = out + 0.0 * self.weight.sum()  # keep the graph for blank batches
        return out.reshape(batch, num_patches, f).transpose(1, 2)  # (B, F, L)

    # ----- the entangled-ancilla routine
    def _ancilla_row_gradients(
        self, row_angles: np.ndarray, row_weights: np.ndarray, upstream: np.ndarray
    ) -> np.ndarray:
        """``g_r * dF_r / dweights`` per row ``(N, W)`` from one job of the ancilla template."""
        num_w = row_weights.shape[1]
        grads = np.zeros((len(upstream), num_w))
        active = np.flatnonzero(upstream != 0)
        if not active.size:
            return grads
        g = upstream[active]
        scale = float(np.max(np.abs(g)))
        phi = np.arccos(np.clip(g / scale, -1.0, 1.0))
        values = np.concatenate([row_angles[active], phi[:, None], row_weights[active]], axis=1)
        first = row_angles.shape[1] + 1
        wrt = list(range(first, first + num_w))
        _, jac = self._make_ancilla_runner().run_with_gradient(values, wrt)
        # d<Z_a2>/dtheta = (g / scale) dF/dtheta; undo the scale classically
        grads[active] = scale * (jac[:, 0, first:] - jac[:, 1, first:])
        return grads

    def ancilla_weight_gradient(
        self, input: torch.Tensor, grad_output: torch.Tensor | np.ndarray
    ) -> torch.Tensor:  # pylint: disable=redefined-builtin
        r"""``dL/dweight`` by the entangled-ancilla routine for a given upstream gradient.

        Runs **one** job of :attr:`ancilla_circuit` for all (patch, filter, shift) rows with
        non-zero upstream gradient and sums the rows of each filter over the patches (see the
        class docstring). Works in every gradient mode (the exact mode uses the default
        sampler, seeded with ``seed``).

        Args:
            input: Images as for :meth:`forward`.
            grad_output: ``dL/dy`` of shape ``(batch, num_filters, H_out, W_out)``.

        Returns:
            ``(num_filters, num_weights)`` tensor in the weight dtype.

        Raises:
            QDeepValueError: For a bad input, or a ``grad_output`` of the wrong shape or with
                NaN/inf entries.
        """
        images = self._check_input(input)
        batch, _, height, width = images.shape
        h_out, w_out = self.output_size(height, width)
        f = self.num_filters
        upstream = _to_numpy(grad_output, "grad_output")
        expected = (batch, f, h_out, w_out)
        if upstream.shape != expected:
            raise QDeepValueError(
                f"grad_output must have the output's shape {expected}, got {upstream.shape}."
            )
        if not np.all(np.isfinite(upstream)):
            raise QDeepValueError("grad_output contains NaN or inf entries.")
        rows, angles = self._patch_rows(self._patches(images))
        weights = self.weight.detach().cpu().double().numpy()
        grads = np.zeros((f, weights.shape[1]))
        if rows.size:
            g = upstream.reshape(batch, f, -1).transpose(0, 2, 1).reshape(-1, f)[rows]
            row_grads = self._ancilla_row_gradients(
                np.repeat(angles, f, axis=0), np.tile(weights, (rows.size, 1)), g.reshape(-1)
            )
            grads = row_grads.reshape(rows.size, f, -1).sum(axis=0)
        return torch.as_tensor(grads, dtype=self.weight.dtype, device=self.weight.device)


# ----------------------------------------------------------------------------------------------
# Backpropagation validation (the paper's Fig. 4)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AncillaGradientCurve:
    """Gradients of one filter from the ancilla routine and from parameter shift, per shots."""

    shots: np.ndarray
    """Shots per binding, ``(S,)``."""
    exact: np.ndarray
    """Exact ``dL/dtheta`` of the filter (torch engine, autograd), ``(W,)``."""
    ancilla: np.ndarray
    """Entangled-ancilla gradients, ``(S, repeats, W)``."""
    parameter_shift: np.ndarray
    """Post-processed parameter-shift gradients (upstream applied classically),
    ``(S, repeats, W)``."""
    ancilla_error: np.ndarray
    """Root-mean-square error of :attr:`ancilla` against :attr:`exact`, ``(S,)``."""
    parameter_shift_error: np.ndarray
    """Root-mean-square error of :attr:`parameter_shift` against :attr:`exact`, ``(S,)``."""
    slope: float
    """Least-squares slope of ``log(ancilla_error)`` against ``log(shots)`` (about ``-1/2``)."""


def ancilla_gradient_error_curve(
    shots: Sequence[int] = (100, 300, 1000, 3000, 10000),
    *,
    kernel_size: int | tuple[int, int] = 2,
    num_layers: int = 1,
    image: np.ndarray | torch.Tensor | None = None,
    upstream: np.ndarray | torch.Tensor | float | None = None,
    repeats: int = 10,
    seed: int | None = None,
    sampler_factory=None,
) -> AncillaGradientCurve:
    r"""Data of a plot like Fig. 4 of QuCNN: ancilla-routine gradients against the shots.

    One random filter (``seed``) is applied with ``stride = kernel_size`` to ``image``; for every
    shot count the gradient of :math:`L = \sum g \cdot y` with respect to the filter weights is
    estimated ``repeats`` times by :meth:`SwapTestConv2d.ancilla_weight_gradient` (one job each)
    and by the parameter-shift mode (forward + classical contraction), and compared with the
    exact gradient. The error of both falls like :math:`1/\sqrt{\text{shots}}`.

    Args:
        shots: Shot counts (``>= 1`` each).
        kernel_size: Kernel of the layer.
        num_layers: Layers of the filter ansatz.
        image: ``(batch, 1, H, W)`` or ``(batch, H, W)``; default a seeded random
            ``(1, 1, 2 kh, 2 kw)`` image in ``[0, 1)`` (four patches). The paper compares against
            a single uniform superposition: pass ``np.ones((1, 1, kh, kw))`` and a scalar
            ``upstream``.
        upstream: ``dL/dy`` broadcastable to the output; default seeded uniform in
            ``[-1, 1)``.
        repeats: Independent estimates per shot count.
        seed: Seed of the filter, the default image and upstream gradient, and the samplers.
        sampler_factory: ``seed -> BaseSamplerV2``, called with a fresh ``int`` seed for every
            estimate; default :class:`~qiskit_qdeep.primitives.TorchStatevectorSampler`.

    Returns:
        An :class:`AncillaGradientCurve`.

    Raises:
        QDeepValueError: For empty or non-positive ``shots`` or a bad ``repeats``.
    """
    from ..primitives import TorchStatevectorSampler

    shots_list = [int(s) for s in shots]
    if not shots_list or any(s < 1 for s in shots_list):
        raise QDeepValueError(f"shots must be a non-empty list of positive integers, got {shots}.")
    repeats = check_int("repeats", repeats)
    rng = np.random.default_rng(seed)
    kh, kw = check_pair("kernel_size", kernel_size)
    weight_seed = int(rng.integers(2**31 - 1))
    exact_layer = SwapTestConv2d(
        (kh, kw), 1, stride=(kh, kw), num_layers=num_layers, gradient="backprop", seed=weight_seed
    ).double()
    if image is None:
        image = rng.uniform(0.0, 1.0, (1, 1, 2 * kh, 2 * kw))
    image = torch.as_tensor(_to_numpy(image, "image"), dtype=torch.float64)
    out = exact_layer(image)
    if upstream is None:
        upstream = rng.uniform(-1.0, 1.0, tuple(out.shape))
    upstream = torch.as_tensor(
        np.broadcast_to(_to_numpy(upstream, "upstream"), tuple(out.shape)).copy(),
        dtype=torch.float64,
    )
    (exact,) = torch.autograd.grad((out * upstream).sum(), exact_layer.weight)
    weights = exact_layer.weight.detach().clone()

    def make_sampler():
        sub_seed = int(rng.integers(2**31 - 1))
        if sampler_factory is None:
            return TorchStatevectorSampler(seed=sub_seed)
        return sampler_factory(sub_seed)

    num_w = weights.shape[1]
    ancilla = np.zeros((len(shots_list), repeats, num_w))
    shift = np.zeros_like(ancilla)
    for s, num_shots in enumerate(shots_list):
        common = {
            "stride": (kh, kw),
            "num_layers": num_layers,
            "shots": num_shots,
            "initial_weights": weights,
        }
        for r in range(repeats):
            # a fresh sampler per estimate: samplers seeded with an int (Qiskit's, Aer's and the
            # torch one) repeat the same draws at every run
            anc_layer = SwapTestConv2d(
                (kh, kw), 1, sampler=make_sampler(), gradient="ancilla", **common
            ).double()
            ancilla[s, r] = anc_layer.ancilla_weight_gradient(image, upstream)[0].numpy()
            ps_layer = SwapTestConv2d(
                (kh, kw), 1, sampler=make_sampler(), gradient="parameter-shift", **common
            ).double()
            (grad,) = torch.autograd.grad((ps_layer(image) * upstream).sum(), ps_layer.weight)
            shift[s, r] = grad[0].numpy()
    exact_np = exact[0].detach().numpy()
    anc_err = np.sqrt(np.mean((ancilla - exact_np) ** 2, axis=(1, 2)))
    ps_err = np.sqrt(np.mean((shift - exact_np) ** 2, axis=(1, 2)))
    shots_arr = np.asarray(shots_list, dtype=float)
    if len(shots_list) > 1 and np.all(anc_err > 0):
        slope = float(np.polyfit(np.log(shots_arr), np.log(anc_err), 1)[0])
    else:
        slope = float("nan")
    return AncillaGradientCurve(
        shots=np.asarray(shots_list),
        exact=exact_np,
        ancilla=ancilla,
        parameter_shift=shift,
        ancilla_error=anc_err,
        parameter_shift_error=ps_err,
        slope=slope,
    )


def plot_ancilla_gradient_error_curve(
    curve: AncillaGradientCurve, path: str, *, parameter: int = 0
) -> str:
    """Writes a PNG of ``curve``: one gradient entry against the shots, and the log-log errors.

    Args:
        curve: Output of :func:`ancilla_gradient_error_curve`.
        path: File name of the PNG.
        parameter: Which weight's gradient to show in the left panel.

    Returns:
        ``path``.

    Raises:
        MissingOptionalDependencyError: If matplotlib is not installed (an ``ImportError``).
        QDeepValueError: For a ``parameter`` out of range.
    """
    from .._optional import require

    require("matplotlib", "plot_ancilla_gradient_error_curve")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not 0 <= parameter < curve.exact.shape[0]:
        raise QDeepValueError(f"parameter must be in [0, {curve.exact.shape[0]}), got {parameter}.")
    fig = Figure(figsize=(10, 4))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    shots = curve.shots
    for data, label, marker in (
        (curve.ancilla, "QuCNN ancilla", "o"),
        (curve.parameter_shift, "post-processed shift", "s"),
    ):
        mean = data[:, :, parameter].mean(axis=1)
        std = data[:, :, parameter].std(axis=1)
        left.errorbar(shots, mean, yerr=std, marker=marker, capsize=3, label=label)
    left.axhline(curve.exact[parameter], color="k", linestyle="--", label="exact")
    left.set_xscale("log")
    left.set_xlabel("shots")
    left.set_ylabel(f"dL/dtheta[{parameter}]")
    left.legend()
    right.loglog(shots, curve.ancilla_error, "o-", label=f"ancilla (slope {curve.slope:.2f})")
    right.loglog(shots, curve.parameter_shift_error, "s-", label="post-processed shift")
    ref = curve.ancilla_error[0] * np.sqrt(shots[0] / shots.astype(float))
    right.loglog(shots, ref, "k:", label="1/sqrt(shots)")
    right.set_xlabel("shots")
    right.set_ylabel("RMS gradient error")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
