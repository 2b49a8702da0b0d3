# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Helpers shared by the circuit-backed torch layers (validation, weights, engine cache)."""

from __future__ import annotations

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseEstimatorV2
from qiskit.quantum_info import SparsePauliOp

from ..exceptions import QDeepTypeError, QDeepValueError
from ..primitives import EstimatorRunner, RetryPolicy
from ..primitives.exact import ExactEstimatorRunner
from ..primitives.factory import check_exact_estimator_options, estimator_runner
from ..primitives.retry import check_retry

#: Accepted values of the ``gradient`` argument of the circuit-backed layers.
GRADIENT_MODES = ("auto", "backprop", "parameter-shift")


def resolve_gradient(
    gradient: str, estimator: BaseEstimatorV2 | None, pass_manager: BasePassManager | None
) -> str:
    """Resolves ``"auto"`` and checks that the options fit the gradient mode.

    ``"auto"`` is ``"backprop"`` when neither ``estimator`` nor ``pass_manager`` is given, or
    the estimator is an exact noisy
    :class:`~qiskit_qdeep.primitives.TorchDensityMatrixEstimator` (default precision 0), and
    ``"parameter-shift"`` otherwise.

    Returns:
        ``"backprop"`` or ``"parameter-shift"``.

    Raises:
        QDeepValueError: For an unknown mode, or backprop with options the exact path cannot
            honour (see :func:`~qiskit_qdeep.primitives.factory.check_exact_estimator_options`).
    """
    if gradient not in GRADIENT_MODES:
        raise QDeepValueError(f"gradient must be one of {GRADIENT_MODES}, got {gradient!r}.")
    if gradient == "auto":
        from ..primitives.density_matrix import TorchDensityMatrixEstimator

        exact_noisy = isinstance(estimator, TorchDensityMatrixEstimator) and not (
            estimator.default_precision
        )
        plain = estimator is None and pass_manager is None
        gradient = "backprop" if plain or exact_noisy else "parameter-shift"
    if gradient == "backprop":  # fail before any circuit work: the factory's own check
        check_exact_estimator_options(estimator=estimator, pass_manager=pass_manager)
    return gradient


def make_initial_weights(
    shape: tuple[int, ...],
    initial_weights: np.ndarray | torch.Tensor | None,
    seed: int | None,
    description: str,
    *,
    report_shape: bool = False,
) -> torch.Tensor:
    """Initial weights of ``shape`` in torch's default dtype.

    Without ``initial_weights`` they are uniform in ``[0, 2 pi)``, drawn from a generator seeded
    with ``seed`` (torch's global generator when ``seed`` is ``None``). Given weights may have any
    shape with the right number of entries; they are copied (never shared with the caller's array
    or tensor) and reshaped to ``shape``.

    Args:
        shape: Shape of the weight tensor.
        initial_weights: Given weights, or ``None``.
        seed: Seed of the default weights.
        description: What the entries are, for the error message.
        report_shape: If ``True`` the error message for a wrong size names the expected and the
            given shape (``"must have shape (2, 3) (...), got (5,)"``) instead of the numbers of
            entries (``"must have 6 entries (...), got 5"``).

    Raises:
        QDeepValueError: For a wrong number of entries or NaN/inf entries.
    """
    dtype = torch.get_default_dtype()
    if initial_weights is None:
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return 2 * np.pi * torch.rand(shape, generator=generator, dtype=dtype)
    if isinstance(initial_weights, torch.Tensor):
        initial_weights = initial_weights.detach().cpu().double().numpy()
    weights = torch.as_tensor(np.asarray(initial_weights, dtype=float), dtype=dtype)
    num = int(np.prod(shape))
    if weights.numel() != num:
        if report_shape:
            expected, got = f"shape {tuple(shape)}", tuple(weights.shape)
        else:
            expected, got = f"{num} entries", weights.numel()
        raise QDeepValueError(f"initial_weights must have {expected} ({description}), got {got}.")
    if not torch.isfinite(weights).all():
        raise QDeepValueError("initial_weights contain NaN or inf.")
    return weights.reshape(shape).clone()


def batched_float_tensor(
    inputs: torch.Tensor | np.ndarray, dtype: torch.dtype, sample_dim: int
) -> tuple[torch.Tensor, bool]:
    """Turns inputs into a floating tensor with a leading batch axis.

    Array-likes become tensors of ``dtype``, integer or boolean tensors are cast to ``dtype``
    (floating tensors keep their dtype), and a single sample (``sample_dim`` axes) gets a batch
    axis of size one. The shape is not checked further.

    Args:
        inputs: A tensor or an array-like.
        dtype: Dtype of array-like or non-floating inputs.
        sample_dim: Number of axes of one unbatched sample.

    Returns:
        ``(inputs, unbatched)``; ``unbatched`` tells whether a batch axis was added.

    Raises:
        QDeepTypeError: For complex or non-numeric inputs.
    """
    if not isinstance(inputs, torch.Tensor):
        try:
            array = np.asarray(inputs)
        except (TypeError, ValueError) as exc:
            raise QDeepValueError(f"inputs must be a numeric array or tensor: {exc}") from exc
        if not np.iscomplexobj(array) and array.dtype.kind not in "biuf":
            raise QDeepTypeError(
                f"inputs must be a real numeric array or tensor, got dtype {array.dtype}."
            )
        if np.iscomplexobj(array):
            raise QDeepTypeError(f"inputs must be real, got dtype {array.dtype}.")
        inputs = torch.as_tensor(array, dtype=dtype)
    if inputs.is_complex():
        raise QDeepTypeError(f"inputs must be real, got dtype {inputs.dtype}.")
    if not torch.is_floating_point(inputs):
        inputs = inputs.to(dtype)
    unbatched = inputs.dim() == sample_dim
    if unbatched:
        inputs = inputs.unsqueeze(0)
    return inputs, unbatched


def coerce_inputs(
    inputs: torch.Tensor | np.ndarray, num_features: int, dtype: torch.dtype, owner: str
) -> tuple[torch.Tensor, bool]:
    """Turns the inputs of a layer into a finite floating ``(batch, num_features)`` tensor.

    Args:
        inputs: ``(batch, num_features)`` or ``(num_features,)``; array-likes are converted.
        num_features: Expected width.
        dtype: Dtype of array-like or integer inputs.
        owner: Layer name used in the error messages.

    Returns:
        ``(inputs_2d, unbatched)``; ``unbatched`` tells whether a batch axis was added.

    Raises:
        QDeepValueError: For a wrong shape or NaN/inf entries.
    """
    inputs, unbatched = batched_float_tensor(inputs, dtype, 1)
    if inputs.dim() != 2 or inputs.shape[-1] != num_features:
        shape = tuple(inputs.shape[1:] if unbatched else inputs.shape)
        raise QDeepValueError(
            f"{owner} expects inputs of shape (batch, {num_features}), got {shape}."
        )
    if not torch.isfinite(inputs).all():
        raise QDeepValueError(f"{owner} inputs contain NaN or inf.")
    return inputs, unbatched


def runner_fn(runner: EstimatorRunner):
    """The ``run_fn`` of :func:`~qiskit_qdeep.nn._autograd.primitive_apply` for ``runner``."""

    def run(values: np.ndarray, wrt):
        if wrt is None:
            return runner.run(values), None
        return runner.run_with_gradient(values, wrt)

    return run


class CircuitLayerMixin:
    """Read-only views of the circuit, observables and parameters every quantum layer exposes.

    The same circuit, observables and parameter lists rebuild the layer with
    qiskit-machine-learning's ``EstimatorQNN`` + ``TorchConnector``. Subclasses set ``_circuit``,
    ``_observables``, ``_input_params``, ``_weight_params``, ``_gradient`` and ``_runner``.
    """

    @property
    def circuit(self) -> QuantumCircuit:
        """A copy of the circuit template."""
        return self._circuit.copy()

    @property
    def observables(self) -> list[SparsePauliOp]:
        """The observables measured on the template, one output each."""
        return list(self._observables)

    @property
    def input_params(self) -> list[Parameter]:
        """Circuit parameters bound to the input features."""
        return list(self._input_params)

    @property
    def weight_params(self) -> list[Parameter]:
        """Circuit parameters bound to (one row of) ``weight``."""
        return list(self._weight_params)

    @property
    def gradient(self) -> str:
        """The resolved gradient mode (``"backprop"`` or ``"parameter-shift"``)."""
        return self._gradient

    @property
    def runner(self) -> EstimatorRunner | None:
        """The primitive runner of the parameter-shift path (``None`` for backprop)."""
        return None if self._gradient == "backprop" else self._runner

    @property
    def executor(self) -> EstimatorRunner | ExactEstimatorRunner:
        """The runner of the layer's circuit, whatever the path.

        An :class:`~qiskit_qdeep.primitives.EstimatorRunner` on the parameter-shift path, an
        :class:`~qiskit_qdeep.primitives.exact.ExactEstimatorRunner` (the exact torch engine
        through the execution core's cache) for backprop; ``num_jobs`` counts executions.
        """
        return self._runner


def build_execution(
    layer: CircuitLayerMixin,
    *,
    estimator: BaseEstimatorV2 | None,
    pass_manager: BasePassManager | None,
    precision: float | None,
    max_bindings_per_pub: int | None,
    max_qubits: int,
    seed: int | None,
    retry: RetryPolicy | None = None,
) -> None:
    """Sets ``layer._runner`` from the execution core's factory (exact or primitive).

    The layer's ``_circuit``, ``_observables``, ``_input_params``, ``_weight_params`` and
    ``_gradient`` must be set. On the backprop path the engine is compiled at once, so bad
    circuits (unsupported gates, too many qubits) fail at construction, and options the exact
    path cannot honour (a precision, a noisy torch estimator) are refused.
    """
    # pylint: disable=protected-access
    retry = check_retry(retry)
    layer._runner = estimator_runner(
        layer._circuit,
        layer._observables,
        exact=layer._gradient == "backprop",
        parameters=layer._input_params + layer._weight_params,
        estimator=estimator,
        pass_manager=pass_manager,
        precision=precision,
        max_bindings_per_pub=max_bindings_per_pub,
        seed=seed,
        retry=retry,
        max_qubits=max_qubits,
    )
