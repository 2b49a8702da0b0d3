# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Several copies of one circuit side by side on chunks of the input (HQNN-Parallel)."""

from __future__ import annotations

import numpy as np
import torch
from qiskit.circuit import ParameterVector
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseEstimatorV2
from qiskit.quantum_info import SparsePauliOp
from torch import nn

from .. import _optional
from .._validation import check_int
from ..circuit.library import strongly_entangling_circuit
from ..exceptions import QDeepValueError
from ..primitives import DEFAULT_MAX_BINDINGS_PER_PUB, RetryPolicy
from ._autograd import primitive_apply
from ._common import (
    CircuitLayerMixin,
    build_execution,
    coerce_inputs,
    make_initial_weights,
    resolve_gradient,
    runner_fn,
)


class ParallelQuantumLayer(CircuitLayerMixin, nn.Module):
    r"""Independent parameterized circuits applied side by side to chunks of the input.

    The quantum part of HQNN-Parallel (Senokosov et al. 2024). The input
    :math:`x \in \mathbb{R}^n` is split into :math:`c = n / q` chunks of :math:`q` = ``num_qubits``
    features, :math:`x = (x^{(0)}, \dots, x^{(c-1)})`. Chunk :math:`i` drives its own circuit
    with its own weights :math:`\theta^{(i)}`: an ``RX`` angle embedding followed by ``reps``
    strongly entangling layers (``RZ RY RZ`` on every qubit, then a CNOT ring; see
    :func:`~qiskit_qdeep.circuit.library.strongly_entangling_circuit`), and Pauli-Y is measured on
    every qubit:

    .. math::

        y_{iq + j}(x) = \langle 0 | R_X(x^{(i)})^\dagger U(\theta^{(i)})^\dagger\, Y_j\,
        U(\theta^{(i)}) R_X(x^{(i)}) | 0 \rangle ,
        \qquad i < c,\ j < q,

    so the output has the input's width :math:`n`, chunk :math:`i` at columns
    ``i * q .. (i + 1) * q``.

    All :math:`c` circuits share **one** circuit template; the weights are one parameter
    ``weight`` of shape ``(num_circuits, 3 * num_qubits * reps)`` (row :math:`i` belongs to
    circuit :math:`i`, in ``weight_params`` order). A batch of ``B`` samples becomes ``B * c``
    rows of parameter values, ordered sample-major: row ``b * c + i`` holds chunk ``i`` of sample
    ``b`` and the weights of circuit ``i``. Those rows go through the circuit in one go:

    * ``"backprop"``: one call of :class:`~qiskit_qdeep.primitives.StatevectorEngine`
      (exact simulation in torch, differentiated by autograd; memory ``2**num_qubits`` per row).
    * ``"parameter-shift"``: one primitive ``run`` per forward pass (values and the parameter-shift
      Jacobian of all rows of all circuits together), see
      :class:`~qiskit_qdeep.primitives.EstimatorRunner`.

    ``"auto"`` picks backprop when neither ``estimator`` nor ``pass_manager`` is given, and
    parameter shift otherwise, as :class:`~qiskit_qdeep.nn.QuantumLayer` does.

    Every circuit :math:`i` equals a :class:`~qiskit_qdeep.nn.QuantumLayer` on ``circuit``,
    ``observables``, ``input_params`` and ``weight_params`` with weights ``weight[i]``;
    :meth:`to_qiskit_ml` rebuilds it with qiskit-machine-learning's ``EstimatorQNN`` and
    ``TorchConnector``.

    Example:

    .. code-block:: python

        import torch
        from qiskit_qdeep.nn import ParallelQuantumLayer

        layer = ParallelQuantumLayer(20, num_qubits=5, reps=3, seed=0)  # 4 circuits
        y = layer(torch.rand(64, 20))  # (64, 20)
        layer.weight.shape  # torch.Size([4, 45])

    References:
        A. Senokosov, A. Sedykh, A. Sagingalieva, B. Kyriacou, A. Melnikov, "Quantum machine
        learning for image classification", Mach. Learn.: Sci. Technol. 5, 015040 (2024),
        `arXiv:2304.09224 <https://arxiv.org/abs/2304.09224>`_.

    Args:
        in_features: Input (and output) width :math:`n`, a multiple of ``num_qubits``.
        num_qubits: Qubits per circuit :math:`q` (= features per chunk).
        reps: Strongly entangling layers per circuit.
        estimator: A V2 estimator for the parameter-shift path.
        gradient: ``"auto"``, ``"backprop"`` or ``"parameter-shift"``.
        pass_manager: Transpiles the template once to an ISA circuit for the estimator's backend.
        initial_weights: Initial weights with ``num_circuits * 3 * num_qubits * reps`` entries
            (reshaped to ``(num_circuits, 3 * num_qubits * reps)``); default uniform in
            ``[0, 2 pi)`` drawn from ``seed`` (or torch's global generator when ``seed`` is
            ``None``). With the same ``seed``, row 0 equals the weights of a
            :class:`~qiskit_qdeep.nn.QuantumLayer` on the same template.
        precision: Estimator precision (parameter-shift path); ``None``: the estimator's default.
        max_bindings_per_pub: Cap on bindings per PUB (parameter-shift path).
        max_qubits: Qubit limit of the exact engine (backprop path).
        seed: Seed of the default weights and of the default estimator.
        retry: Retries, backoff and timeout of the primitive jobs (primitive path); default
            :data:`~qiskit_qdeep.primitives.DEFAULT_RETRY_POLICY`. Also settable later as
            ``layer.runner.retry``.

    Raises:
        QDeepValueError: If ``in_features`` is not divisible by ``num_qubits``, for bad sizes, an
            unknown gradient mode, bad initial weights, or backprop requested on a primitive.
        QDeepTypeError: For a non-V2 estimator or a bad pass manager.
    """

    def __init__(
        self,
        in_features: int,
        num_qubits: int = 5,
        reps: int = 3,
        *,
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
        in_features = check_int("in_features", in_features, 1)
        num_qubits = check_int("num_qubits", num_qubits, 1)
        reps = check_int("reps", reps, 0)
        if in_features % num_qubits:
            raise QDeepValueError(
                f"in_features={in_features} is not divisible by num_qubits={num_qubits}: the "
                "input is split into in_features / num_qubits chunks of num_qubits features, one "
                "per circuit."
            )
        self._gradient = resolve_gradient(gradient, estimator, pass_manager)
        self._in_features = in_features
        self._num_qubits = num_qubits
        self._reps = reps
        self._num_circuits = in_features // num_qubits
        x = ParameterVector("x", num_qubits)
        w = ParameterVector("w", 3 * num_qubits * reps)
        self._input_params = list(x)
        self._weight_params = list(w)
        self._circuit = strongly_entangling_circuit(
            num_qubits, reps, input_params=x, weight_params=w
        )
        self._observables = [
            SparsePauliOp("I" * (num_qubits - 1 - j) + "Y" + "I" * j) for j in range(num_qubits)
        ]
        build_execution(
            self,
            estimator=estimator,
            pass_manager=pass_manager,
            precision=precision,
            max_bindings_per_pub=max_bindings_per_pub,
            max_qubits=max_qubits,
            seed=seed,
            retry=retry,
        )
        shape = (self._num_circuits, len(self._weight_params))
        self.weight = nn.Parameter(
            make_initial_weights(
                shape, initial_weights, seed, f"shape {shape}: one row of weights per circuit"
            )
        )

    # ----- read-only description

    @property
    def in_features(self) -> int:
        """Input width :math:`n`."""
        return self._in_features

    @property
    def out_features(self) -> int:
        """Output width (equal to ``in_features``)."""
        return self._in_features

    @property
    def num_qubits(self) -> int:
        """Qubits per circuit (= features per chunk)."""
        return self._num_qubits

    @property
    def reps(self) -> int:
        """Strongly entangling layers per circuit."""
        return self._reps

    @property
    def num_circuits(self) -> int:
        """Number of circuits :math:`c` = ``in_features / num_qubits``."""
        return self._num_circuits

    @property
    def num_weights(self) -> int:
        """Trainable weights per circuit, ``3 * num_qubits * reps``."""
        return len(self._weight_params)

    def extra_repr(self) -> str:
        """Sizes and gradient mode, shown by ``repr``."""
        return (
            f"in_features={self._in_features}, num_qubits={self._num_qubits}, reps={self._reps}, "
            f"num_circuits={self._num_circuits}, gradient={self._gradient!r}"
        )

    # ----- evaluation
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Expectation values of all circuits for a batch.

        Args:
            inputs: ``(batch, in_features)`` or ``(in_features,)``.

        Returns:
            ``(batch, in_features)`` or ``(in_features,)`` in the dtype of ``inputs``; chunk ``i``
            fills columns ``i * num_qubits .. (i + 1) * num_qubits``.

        Raises:
            QDeepValueError: For a wrong input width or NaN/inf inputs.
        """
        inputs, unbatched = coerce_inputs(
            inputs, self._in_features, self.weight.dtype, "ParallelQuantumLayer"
        )
        batch = inputs.shape[0]
        # Sample-major rows: row b * c + i is chunk i of sample b, run with weight[i].
        chunks = inputs.reshape(batch * self._num_circuits, self._num_qubits)
        if self._gradient == "backprop":
            grouped = inputs.reshape(batch, self._num_circuits, self._num_qubits)
            out = self._runner.evaluate_shared(grouped, self.weight.to(inputs.dtype))
        else:
            # Per-row weights: autograd sums each row's weight gradient back into weight[i].
            out = primitive_apply(chunks, self.weight.repeat(batch, 1), runner_fn(self._runner))
        out = out.reshape(batch, self._in_features)
        return out.squeeze(0) if unbatched else out

    def to_qiskit_ml(
        self,
        index: int,
        *,
        estimator: BaseEstimatorV2 | None = None,
        default_precision: float = 0.0,
    ):
        """Circuit ``index`` as qiskit-machine-learning's ``EstimatorQNN`` in a ``TorchConnector``.

        The connector maps ``(batch, num_qubits)`` (chunk ``index`` of the input) to
        ``(batch, num_qubits)`` like columns ``index * num_qubits .. (index + 1) * num_qubits``
        of this layer, starting from a copy of the current weights ``weight[index]``; input
        gradients are enabled. Training the connector does not change this layer.

        Args:
            index: The circuit, ``0 <= index < num_circuits`` (negative indices count from the
                end).
            estimator: The V2 estimator of the ``EstimatorQNN``; default
                ``qiskit.primitives.StatevectorEstimator()``.
            default_precision: Precision of the ``EstimatorQNN``. Its own default (``0.015625``)
                adds Gaussian noise on a statevector estimator; ``0.0`` gives exact values.

        Returns:
            A ``qiskit_machine_learning.connectors.TorchConnector``.

        Raises:
            MissingOptionalDependencyError: If qiskit-machine-learning is not installed (it comes
                with ``pip install 'qiskit-qdeep[ml]'``).
            QDeepValueError: For an index out of range.
        """
        _optional.require("qiskit_machine_learning", "ParallelQuantumLayer.to_qiskit_ml")
        from qiskit.primitives import StatevectorEstimator
        from qiskit_machine_learning.connectors import TorchConnector
        from qiskit_machine_learning.neural_networks import EstimatorQNN

        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise QDeepValueError(f"index must be an integer, got {index!r}.")
        if not -self._num_circuits <= index < self._num_circuits:
            raise QDeepValueError(
                f"index must lie in [0, {self._num_circuits}) (one of the {self._num_circuits} "
                f"circuits), got {index}."
            )
        qnn = EstimatorQNN(
            circuit=self.circuit,
            observables=self.observables,
            input_params=self.input_params,
            weight_params=self.weight_params,
            estimator=estimator if estimator is not None else StatevectorEstimator(),
            input_gradients=True,
            default_precision=default_precision,
        )
        weights = self.weight[int(index)].detach().cpu().double().numpy().copy()
        return TorchConnector(qnn, initial_weights=weights)
