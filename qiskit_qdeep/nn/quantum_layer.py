# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""A generic torch layer around one parameterized circuit and a list of observables."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseEstimatorV2
from qiskit.quantum_info import Pauli, SparsePauliOp
from torch import nn

from ..exceptions import QDeepTypeError, QDeepValueError
from ..primitives import DEFAULT_MAX_BINDINGS_PER_PUB, RetryPolicy
from ..primitives.runners import as_sparse_pauli_ops
from ._autograd import primitive_apply
from ._common import (
    GRADIENT_MODES,  # noqa: F401  (re-exported by qiskit_qdeep.nn)
    CircuitLayerMixin,
    build_execution,
    coerce_inputs,
    make_initial_weights,
    resolve_gradient,
    runner_fn,
)


def _check_params(circuit: QuantumCircuit, input_params, weight_params) -> tuple[list, list]:
    input_params = list(input_params or [])
    weight_params = list(weight_params or [])
    for name, params in (("input_params", input_params), ("weight_params", weight_params)):
        bad = [p for p in params if not isinstance(p, Parameter)]
        if bad:
            raise QDeepValueError(f"{name} must contain qiskit Parameters, got {bad[:3]}.")
        if len(set(params)) != len(params):
            raise QDeepValueError(f"{name} contains duplicates.")
    overlap = set(input_params) & set(weight_params)
    if overlap:
        raise QDeepValueError(
            f"Parameters {sorted(p.name for p in overlap)} are both inputs and weights."
        )
    given = set(input_params) | set(weight_params)
    uncovered = set(circuit.parameters) - given
    if uncovered:
        raise QDeepValueError(
            f"Circuit parameters {sorted(p.name for p in uncovered)} are neither in input_params "
            "nor in weight_params."
        )
    unknown = given - set(circuit.parameters)
    if unknown:
        raise QDeepValueError(
            f"Parameters {sorted(p.name for p in unknown)} do not appear in the circuit."
        )
    return input_params, weight_params


class QuantumLayer(CircuitLayerMixin, nn.Module):
    r"""A torch layer computing expectation values of a parameterized circuit.

    For inputs :math:`x` (bound to ``input_params``) and trainable weights :math:`w` (bound to
    ``weight_params``) the layer returns

    .. math::

        y_k(x) = \langle 0 | U^\dagger(x, w)\, O_k\, U(x, w) | 0 \rangle

    for every observable :math:`O_k`, mapping ``(batch, num_inputs)`` to
    ``(batch, num_observables)``.

    Two gradient paths:

    * ``"backprop"``: the circuit is simulated exactly by
      :class:`~qiskit_qdeep.primitives.StatevectorEngine` (a classical statevector simulation in
      torch, memory ``2**num_qubits``) and differentiated by autograd. Fast, simulation only.
    * ``"parameter-shift"``: the circuit runs on a V2 estimator (Aer, IBM Quantum, ...). The
      forward values and the full parameter-shift Jacobian of the batch come from one primitive
      ``run`` call, see :class:`~qiskit_qdeep.primitives.EstimatorRunner`. The Jacobian is
      computed in that forward call whenever autograd records it (``2 * num_parameters`` shifted
      bindings per row on top of the row itself), so run inference under ``torch.no_grad()``:
      the job then holds the unshifted bindings only.
    * With ``estimator=TorchDensityMatrixEstimator(noise_model=...)`` (or ``.from_backend``),
      ``"backprop"`` trains on exact *noisy* expectation values through the density-matrix
      engine (:class:`~qiskit_qdeep.primitives.DensityMatrixEstimatorRunner`; pass the backend's
      ``pass_manager``).

    ``"auto"`` picks backprop when neither ``estimator`` nor ``pass_manager`` is given or the
    estimator is an exact noisy ``TorchDensityMatrixEstimator``, and parameter shift otherwise.

    The layer exposes ``circuit``, ``observables``, ``input_params`` and ``weight_params``, so the
    same circuit can be wrapped by qiskit-machine-learning's ``EstimatorQNN`` and
    ``TorchConnector``; its weight tensor is the ``weight`` parameter, in ``weight_params`` order.

    Example:

    .. code-block:: python

        import torch
        from qiskit.circuit import ParameterVector
        from qiskit_qdeep.circuit.library import strongly_entangling_circuit
        from qiskit_qdeep.nn import QuantumLayer

        x, w = ParameterVector("x", 5), ParameterVector("w", 45)
        qc = strongly_entangling_circuit(5, reps=3, input_params=x, weight_params=w)
        layer = QuantumLayer(qc, ["IIIIY", "IIIYI", "IIYII", "IYIII", "YIIII"], x, w)
        y = layer(torch.rand(64, 5))  # (64, 5)

    Args:
        circuit: The parameterized circuit.
        observables: Observables on the circuit's qubits (``SparsePauliOp``, ``Pauli`` or label).
        input_params: Circuit parameters bound to the input features, in input order.
        weight_params: Circuit parameters that are trained, in ``weight`` order.
        estimator: A V2 estimator for the parameter-shift path.
        gradient: ``"auto"``, ``"backprop"`` or ``"parameter-shift"``.
        pass_manager: Transpiles the circuit once to an ISA circuit for the estimator's backend.
        initial_weights: Initial weights ``(num_weights,)``; default uniform in ``[0, 2 pi)`` drawn
            from ``seed`` (or torch's global generator when ``seed`` is ``None``).
        precision: Estimator precision (parameter-shift path); ``None``: the estimator's default.
        max_bindings_per_pub: Cap on bindings per PUB (parameter-shift path).
        max_qubits: Qubit limit of the exact engine (backprop path).
        seed: Seed of the default weights and of the default estimator.
        retry: Retries, backoff and timeout of the primitive jobs (primitive path); default
            :data:`~qiskit_qdeep.primitives.DEFAULT_RETRY_POLICY`. Also settable later as
            ``layer.runner.retry``.

    Raises:
        QDeepValueError: For an unknown gradient mode, parameters that do not cover the circuit,
            bad observables or initial weights, or backprop requested on a primitive.
        QDeepTypeError: For a non-V2 estimator.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        observables: Sequence[SparsePauliOp | Pauli | str] | SparsePauliOp | Pauli | str,
        input_params: Sequence[Parameter] | None,
        weight_params: Sequence[Parameter] | None,
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
        gradient = resolve_gradient(gradient, estimator, pass_manager)
        if not isinstance(circuit, QuantumCircuit):
            raise QDeepTypeError(f"circuit must be a QuantumCircuit, got {type(circuit).__name__}.")
        self._circuit = circuit.copy()
        self._input_params, self._weight_params = _check_params(
            circuit, input_params, weight_params
        )
        self._observables = as_sparse_pauli_ops(observables, circuit.num_qubits)
        self._gradient = gradient
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
        self.weight = nn.Parameter(
            make_initial_weights(
                (len(self._weight_params),), initial_weights, seed, "one per weight parameter"
            )
        )

    @property
    def num_inputs(self) -> int:
        """Input width."""
        return len(self._input_params)

    @property
    def num_weights(self) -> int:
        """Number of trainable weights."""
        return len(self._weight_params)

    @property
    def num_outputs(self) -> int:
        """Output width (number of observables)."""
        return len(self._observables)

    def extra_repr(self) -> str:
        """Sizes and gradient mode shown in the module's ``repr``."""
        return (
            f"num_qubits={self._circuit.num_qubits}, num_inputs={self.num_inputs}, "
            f"num_weights={self.num_weights}, num_outputs={self.num_outputs}, "
            f"gradient={self._gradient!r}"
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Expectation values for a batch.

        Args:
            inputs: ``(batch, num_inputs)`` or ``(num_inputs,)``.

        Returns:
            ``(batch, num_outputs)`` or ``(num_outputs,)``, in the dtype of ``inputs``.

        Raises:
            QDeepValueError: For a wrong input width or NaN/inf inputs.
        """
        inputs, unbatched = coerce_inputs(
            inputs, self.num_inputs, self.weight.dtype, "QuantumLayer"
        )
        if self._gradient == "backprop":
            weight = self.weight.to(inputs.dtype)
            out = self._runner.evaluate_shared(inputs.unsqueeze(1), weight.unsqueeze(0))[:, 0]
        else:
            out = primitive_apply(inputs, self.weight, runner_fn(self._runner))
        return out.squeeze(0) if unbatched else out
