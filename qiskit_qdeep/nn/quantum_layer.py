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

from ..exceptions import QDeepValueError
from ..primitives import (
    DEFAULT_MAX_BINDINGS_PER_PUB,
    EstimatorRunner,
    StatevectorEngine,
    TorchStatevectorEstimator,
)
from ..primitives.runners import as_sparse_pauli_ops
from ._autograd import primitive_apply

GRADIENT_MODES = ("auto", "backprop", "parameter-shift")


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


class QuantumLayer(nn.Module):
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
      ``run`` call, see :class:`~qiskit_qdeep.primitives.EstimatorRunner`.

    ``"auto"`` picks backprop when neither ``estimator`` nor ``pass_manager`` is given, and
    parameter shift otherwise.

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
    ) -> None:
        super().__init__()
        if gradient not in GRADIENT_MODES:
            raise QDeepValueError(f"gradient must be one of {GRADIENT_MODES}, got {gradient!r}.")
        if not isinstance(circuit, QuantumCircuit):
            raise QDeepValueError(f"circuit must be a QuantumCircuit, got {type(circuit).__name__}.")
        self._circuit = circuit.copy()
        self._input_params, self._weight_params = _check_params(circuit, input_params, weight_params)
        self._observables = as_sparse_pauli_ops(observables, circuit.num_qubits)
        if gradient == "auto":
            gradient = "backprop" if estimator is None and pass_manager is None else "parameter-shift"
        if gradient == "backprop":
            if pass_manager is not None:
                raise QDeepValueError(
                    "gradient='backprop' simulates the circuit exactly in torch; a pass_manager "
                    "only applies to gradient='parameter-shift' on an estimator."
                )
            if estimator is not None and not isinstance(estimator, TorchStatevectorEstimator):
                raise QDeepValueError(
                    f"gradient='backprop' needs the exact torch engine, not {type(estimator).__name__}; "
                    "use gradient='parameter-shift' to train on this estimator."
                )
        self._gradient = gradient
        self._max_qubits = max_qubits
        parameters = self._input_params + self._weight_params
        self._parameters_order = parameters
        self._engines: dict[tuple, StatevectorEngine] = {}
        self._runner: EstimatorRunner | None = None
        if gradient == "backprop":
            # Build (and validate) the engine once on the CPU; others are made per dtype/device.
            self._engine(torch.float64, torch.device("cpu"))
        else:
            self._runner = EstimatorRunner(
                self._circuit,
                self._observables,
                parameters=parameters,
                estimator=estimator,
                pass_manager=pass_manager,
                precision=precision,
                max_bindings_per_pub=max_bindings_per_pub,
                seed=seed,
            )
        self.weight = nn.Parameter(self._initial_weights(initial_weights, seed))

    def _initial_weights(self, initial_weights, seed) -> torch.Tensor:
        num = len(self._weight_params)
        dtype = torch.get_default_dtype()
        if initial_weights is None:
            generator = torch.Generator().manual_seed(seed) if seed is not None else None
            return 2 * np.pi * torch.rand(num, generator=generator, dtype=dtype)
        weights = torch.as_tensor(np.asarray(initial_weights, dtype=float), dtype=dtype).reshape(-1)
        if weights.numel() != num:
            raise QDeepValueError(
                f"initial_weights must have {num} entries (one per weight parameter), got "
                f"{weights.numel()}."
            )
        if not torch.isfinite(weights).all():
            raise QDeepValueError("initial_weights contain NaN or inf.")
        return weights

    def _engine(self, dtype: torch.dtype, device: torch.device) -> StatevectorEngine:
        key = (dtype, str(device))
        if key not in self._engines:
            complex_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
            self._engines[key] = StatevectorEngine(
                self._circuit,
                parameters=self._parameters_order,
                dtype=complex_dtype,
                device=device,
                max_qubits=self._max_qubits,
            )
        return self._engines[key]

    @property
    def circuit(self) -> QuantumCircuit:
        """A copy of the circuit."""
        return self._circuit.copy()

    @property
    def observables(self) -> list[SparsePauliOp]:
        """The observables, one output column each."""
        return list(self._observables)

    @property
    def input_params(self) -> list[Parameter]:
        """Circuit parameters bound to the input features."""
        return list(self._input_params)

    @property
    def weight_params(self) -> list[Parameter]:
        """Circuit parameters bound to ``weight``."""
        return list(self._weight_params)

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

    @property
    def gradient(self) -> str:
        """The resolved gradient mode, ``"backprop"`` or ``"parameter-shift"``."""
        return self._gradient

    @property
    def runner(self) -> EstimatorRunner | None:
        """The estimator runner of the parameter-shift path (``None`` for backprop)."""
        return self._runner

    def extra_repr(self) -> str:
        return (
            f"num_qubits={self._circuit.num_qubits}, num_inputs={self.num_inputs}, "
            f"num_weights={self.num_weights}, num_outputs={self.num_outputs}, "
            f"gradient={self._gradient!r}"
        )

    def _run(self, values: np.ndarray, wrt):
        if wrt is None:
            return self._runner.run(values), None
        return self._runner.run_with_gradient(values, wrt)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Expectation values for a batch.

        Args:
            inputs: ``(batch, num_inputs)`` or ``(num_inputs,)``.

        Returns:
            ``(batch, num_outputs)`` or ``(num_outputs,)``, in the dtype of ``inputs``.

        Raises:
            QDeepValueError: For a wrong input width or NaN/inf inputs.
        """
        if not isinstance(inputs, torch.Tensor):
            inputs = torch.as_tensor(np.asarray(inputs), dtype=self.weight.dtype)
        if not torch.is_floating_point(inputs):
            inputs = inputs.to(self.weight.dtype)
        unbatched = inputs.dim() == 1
        if unbatched:
            inputs = inputs.unsqueeze(0)
        if inputs.dim() != 2 or inputs.shape[-1] != self.num_inputs:
            raise QDeepValueError(
                f"QuantumLayer expects inputs of shape (batch, {self.num_inputs}), got "
                f"{tuple(inputs.shape if not unbatched else inputs.shape[1:])}."
            )
        if not torch.isfinite(inputs).all():
            raise QDeepValueError("QuantumLayer inputs contain NaN or inf.")
        if self._gradient == "backprop":
            weight = self.weight.to(inputs.dtype)
            values = torch.cat([inputs, weight.expand(inputs.shape[0], -1)], dim=1)
            engine = self._engine(inputs.dtype, inputs.device)
            out = engine.expectation_values(values, self._observables).to(inputs.dtype)
        else:
            out = primitive_apply(inputs, self.weight, self._run)
        return out.squeeze(0) if unbatched else out
