# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
r"""The HHL quantum linear solver and its result."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.passmanager import BasePassManager
from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2
from qiskit.quantum_info import SparsePauliOp

from .._validation import check_precision, check_shots
from ..circuit.library.hhl import (
    EVOLUTIONS,
    HHL_MAX_PAULI_ROTATIONS,
    HHL_MAX_UNITARY_BYTES,
    _check_exact_evolution,
    _check_pauli_rotations,
    hhl_circuit,
    to_standard_gates,
)
from ..exceptions import QDeepValueError, QubitLimitError
from ..primitives import EstimatorRunner, SamplerRunner, exact_statevector
from ..primitives.resolution import check_pass_manager, resolve_estimator, resolve_sampler
from ._observables import (
    EmbeddedObservable,
    block_projector,
    embed_observables,
    expectation,
    post_selection_projector,
)

__all__ = [
    "HHL",
    "HHLResult",
    "HHLWarning",
    "HHL_MAX_QUBITS",
    "HHL_MAX_AUTO_CLOCK_QUBITS",
    "HHL_MAX_UNITARY_BYTES",
    "HHL_MAX_PAULI_ROTATIONS",
]

#: Largest number of qubits an :class:`HHL` circuit may have (system + clock + flag, plus the
#: phase-reference qubit of the sampled path). The default exact primitive simulates
#: ``2**num_qubits`` amplitudes.
HHL_MAX_QUBITS = 16

#: Default largest *automatic* clock size (``max_clock_qubits``). The circuit has
#: ``2**n_c`` inversion rotations and ``2**n_c - 1`` applications of :math:`e^{iAt}`, so its
#: construction and simulation grow as ``2**n_c``: 10 clock qubits cover a condition number
#: up to 48 at the default ``resolution`` of 8. An explicit ``num_clock_qubits`` is only
#: bounded by :data:`HHL_MAX_QUBITS`.
HHL_MAX_AUTO_CLOCK_QUBITS = 10


class HHLWarning(UserWarning):
    """An :class:`HHL` setting does not resolve the spectrum of the matrix.

    Emitted by :meth:`HHL.solve` and :meth:`HHL.construct_circuit` when a given
    ``eigenvalue_bounds`` does not contain the eigenvalue magnitudes, when the evolution time
    makes the largest eigenvalues wrap around the signed clock (read with the wrong sign), when
    eigenvalues fall below half a clock step (they land on the zero clock value and drop out of
    the solution), or when the automatic clock was reduced to fit :data:`HHL_MAX_QUBITS`. The
    solution is then less accurate or wrong; the message names the setting to change.
    """


#: Fraction of the positive half of the signed clock range that the largest eigenvalue
#: magnitude is mapped to by the default evolution time (the rest is a guard band against
#: phase-estimation leakage wrapping around to the negative side).
CLOCK_FILL = 0.75

#: Smallest automatic clock size.
MIN_AUTO_CLOCK_QUBITS = 3


def _clock_qubits_for(kappa: float, resolution: float) -> int:
    """Automatic clock size: the smallest eigenvalue on ``resolution`` clock steps."""
    return max(MIN_AUTO_CLOCK_QUBITS, 1 + math.ceil(math.log2(kappa * resolution / CLOCK_FILL)))


@dataclass(frozen=True)
class HHLResult:
    """Result of :meth:`HHL.solve`."""

    state: QuantumCircuit
    """The HHL circuit (no measurements) whose post-selected ``b`` register holds the solution."""
    solution: np.ndarray | None
    r"""Estimated normalised solution :math:`x / \|x\|` of the original system (its length;
    real for real systems). ``None`` on the estimator-only path (an estimator returns
    expectation values, not amplitudes: give a sampler as well to get them)."""
    euclidean_norm: float
    r"""Estimated :math:`\|x\| = \sqrt{p_\mathrm{success}}\, \|b\| / C` (times the weight of
    the original system's components, which is ``1`` up to phase-estimation errors)."""
    success_probability: float
    """Probability of the post-selection ``flag = 1``, ``clock = 0`` (from the estimator when
    there is one)."""
    method: str
    """``"exact simulation"`` (statevector of :attr:`state`), ``"sampled"`` (sampler),
    ``"estimated"`` (estimator) or ``"sampled and estimated"`` (both)."""
    num_qubits: int
    """Qubits of :attr:`state`: ``n_b + n_clock + 1``."""
    num_clock_qubits: int
    """Clock (phase-estimation) qubits."""
    evolution_time: float
    r"""The time :math:`t` of :math:`e^{iAt}`."""
    constant: float
    """The inversion constant :math:`C`."""
    eigenvalue_bounds: tuple[float, float]
    r"""Smallest and largest eigenvalue magnitude of the (dilated, padded) Hermitian matrix."""
    circuit_depth: int
    """Depth of :attr:`state` in standard gates (``ry``, ``cx``, ``unitary``, ...)."""
    gate_counts: dict[str, int] = field(default_factory=dict)
    """Gate counts of :attr:`state` in standard gates."""
    num_jobs: int = 0
    """Primitive jobs submitted, retries included: ``0`` for exact simulation, one sampler job
    and/or one estimator job otherwise."""
    shots: int | None = None
    """Shots per binding of the sampled path (``None``: the sampler's default or exact)."""
    observables: np.ndarray | None = None
    r"""Expectation values :math:`\langle x|O_k|x\rangle / \langle x|x\rangle` of the
    observables given to :meth:`HHL.solve`, shape ``(num_observables,)`` (``None`` when none
    were given): measured by the estimator, or evaluated on :attr:`solution` without one."""

    @property
    def vector(self) -> np.ndarray | None:
        r"""The estimated (unnormalised) solution :math:`x` = ``euclidean_norm * solution``.

        ``None`` when :attr:`solution` is ``None``.
        """
        if self.solution is None:
            return None
        return self.euclidean_norm * self.solution

    def fidelity(self, exact: np.ndarray) -> float:
        r"""Fidelity :math:`|\langle \hat x | \hat x_\mathrm{exact}\rangle|^2` with a reference.

        Args:
            exact: Reference solution (e.g. ``numpy.linalg.solve(A, b)``), any scale.

        Returns:
            The fidelity in ``[0, 1]``.

        Raises:
            QDeepValueError: For a reference of the wrong shape or zero norm, or a result without
                :attr:`solution` (estimator only).
        """
        if self.solution is None:
            raise QDeepValueError(
                "This result has no solution amplitudes (estimator-only HHL); solve with a "
                "sampler (or exact simulation) to compare solutions."
            )
        exact = np.asarray(exact)
        if exact.shape != self.solution.shape:
            raise QDeepValueError(
                f"exact must have shape {self.solution.shape}, got {exact.shape}."
            )
        norm = np.linalg.norm(exact)
        if not np.isfinite(norm) or norm == 0:
            raise QDeepValueError("exact must be a finite, non-zero vector.")
        return float(abs(np.vdot(self.solution, exact / norm)) ** 2)


@dataclass(frozen=True)
class _Problem:
    """A linear system turned into an HHL instance (Hermitian, power-of-two size)."""

    hermitian: np.ndarray
    rhs: np.ndarray
    start: int
    size: int
    real: bool
    num_clock_qubits: int
    evolution_time: float
    constant: float
    bounds: tuple[float, float]


class HHL:
    r"""The Harrow-Hassidim-Lloyd algorithm for :math:`A x = b`.

    The circuit (:func:`~qiskit_qdeep.circuit.library.hhl_circuit`) prepares
    :math:`|b\rangle`, runs phase estimation of :math:`e^{iAt}` into a clock register read as a
    **signed** integer (negative eigenvalues work), rotates a flag qubit by
    :math:`C/\lambda` (:class:`~qiskit_qdeep.circuit.library.EigenvalueInversionGate`) and
    uncomputes the phase estimation. Post-selecting ``flag = 1`` and ``clock = 0`` leaves
    :math:`|x\rangle \propto A^{-1}|b\rangle`, with success probability
    :math:`p = C^2 \|A^{-1}b\|^2 / \|b\|^2`, hence :math:`\|x\| = \sqrt{p}\,\|b\|/C`.

    **Any square matrix.** A non-Hermitian :math:`A` is replaced by its Hermitian dilation
    :math:`\begin{pmatrix} 0 & A \\ A^\dagger & 0 \end{pmatrix}` with right-hand side
    :math:`(b, 0)`, whose solution is :math:`(0, x)` (read from the second half; the
    eigenvalues are :math:`\pm` the singular values of :math:`A`). A size that is not a power of
    two is padded with the block :math:`\lambda_\max I` and zeros in :math:`b`: the padded
    solution is :math:`(x, 0)`, and :math:`\lambda_\max` (the largest eigenvalue magnitude)
    leaves the eigenvalue bounds unchanged.

    **Parameters from the eigenvalue bounds.** With :math:`\lambda_\min \le |\lambda| \le
    \lambda_\max` and :math:`\kappa = \lambda_\max / \lambda_\min`:

    * the evolution time maps :math:`\lambda_\max` to ``CLOCK_FILL = 3/4`` of the positive
      clock range, :math:`t = 2\pi \cdot \tfrac34 2^{n_c - 1} / (2^{n_c} \lambda_\max)`,
      leaving a guard band against leakage across the sign boundary;
    * the clock size makes :math:`\lambda_\min` land on at least ``resolution`` clock steps,
      :math:`n_c = 1 + \lceil \log_2(\kappa \cdot \mathrm{resolution} / \tfrac34) \rceil`;
    * :math:`C` is the largest clock eigenvalue :math:`2\pi k/(t 2^{n_c})` not above
      :math:`\lambda_\min` (at least one step).

    The bounds are the only classical input: by default computed with
    :func:`numpy.linalg.eigvalsh` (as Qiskit's former HHL did for dense matrices), or given as
    ``eigenvalue_bounds``.

    **Exact simulation, sampler, estimator.** Three ways to read the post-selected state:

    * *exact simulation* (``sampler``, ``estimator``, ``shots`` and ``precision`` all ``None``):
      the solution is read from the statevector amplitudes of the post-selected branch of
      :attr:`HHLResult.state`, no primitive job;
    * *sampler* (``sampler`` or ``shots`` given; ``sampler=None`` with ``shots`` means a seeded
      local sampler): one sampler job runs the circuit with a *phase-reference* qubit (see
      :func:`~qiskit_qdeep.circuit.library.hhl_circuit`) and two or three parameter bindings:
      the magnitudes :math:`|x_i|` and :math:`p` come from the computational-basis counts, the
      signs (real systems) or phases (complex systems) from the interference of each
      post-selected amplitude with a known reference branch measured in a rotated basis;
    * *estimator* (``estimator`` or ``precision`` given; ``estimator=None`` with ``precision``
      means a seeded local estimator): one estimator job, a single PUB of
      :attr:`HHLResult.state` (no measurements) with the observables broadcast, measures the
      post-selection projector
      :math:`\Pi = |1\rangle\langle 1|_\mathrm{flag} \otimes |0\rangle\langle 0|_\mathrm{clock}`
      (the product of :math:`(I - Z)/2` on the flag and :math:`(I + Z)/2` on each clock qubit,
      :math:`2^{n_c + 1}` Z-strings) and :math:`\Pi \otimes \tilde O_k` for every observable
      of :meth:`solve`. Then :math:`p = \langle\Pi\rangle` and
      :math:`\langle O_k\rangle = \langle \Pi \otimes \tilde O_k\rangle /
      \langle \Pi \otimes P_x \rangle`, where :math:`P_x` projects onto the components of
      the original system (:math:`P_x = I` unless the system was padded or dilated; it is then
      one more observable of the same job). An estimator gives no amplitudes:
      :attr:`HHLResult.solution` is ``None`` on the estimator-only path.

    With **both** a sampler and an estimator, the sampler job gives the solution amplitudes and
    signs (:attr:`HHLResult.solution`), the estimator job the observables, the success
    probability and hence :attr:`HHLResult.euclidean_norm` (two jobs). Without an estimator the
    observables are evaluated on :attr:`HHLResult.solution` (exact on the exact path). Nothing is
    solved classically.

    **Qubits and limits.** ``n_b + n_c + 1`` with :math:`n_b = \lceil\log_2 N\rceil` (``N``
    doubled for a non-Hermitian matrix), one more on the sampled path; at most
    :data:`HHL_MAX_QUBITS` (16). The limits are checked from the shapes and settings before
    anything beyond the input is allocated (no eigenvalue computation, matrix exponential or
    circuit), and :class:`~qiskit_qdeep.exceptions.QubitLimitError` names the count, its parts
    and the limit:

    * the qubits with the explicit ``num_clock_qubits``, or the smallest automatic clock (3);
    * for ``evolution="exact"``, the dense controlled unitaries (``2 n_c`` of
      ``2**(n_b + 1)`` square) must fit :data:`HHL_MAX_UNITARY_BYTES`; a product formula may
      have at most :data:`HHL_MAX_PAULI_ROTATIONS` controlled Pauli rotations;
    * the automatic clock size is at most ``max_clock_qubits``
      (:data:`HHL_MAX_AUTO_CLOCK_QUBITS`, 10, by default): a condition number that needs more
      raises, naming :math:`\kappa`, the size it needs and the settings to change. An
      automatic size that fits that bound but not :data:`HHL_MAX_QUBITS` is reduced (with an
      :class:`HHLWarning`) as long as :math:`\lambda_\min` stays on at least one clock step;
      beyond that the error is raised.

    **Settings checked against the spectrum.** The eigenvalues are computed anyway (singularity
    check), so a given ``eigenvalue_bounds``, ``evolution_time`` or ``num_clock_qubits`` is
    checked against them, with an :class:`HHLWarning` naming the setting when eigenvalue
    magnitudes lie outside ``eigenvalue_bounds``, when :math:`\lambda t` reaches the edge of
    the signed clock (:math:`\lambda t > \pi (1 - 2^{-n_c})`; the phase wraps and the
    eigenvalue is inverted with the wrong sign), or when :math:`|\lambda|` is below half a
    clock step :math:`2\pi / (t 2^{n_c})` (it lands on the zero clock value and drops out of
    the solution).

    Example:

    .. code-block:: python

        import numpy as np
        from qiskit_qdeep.linear_solvers import HHL

        matrix = np.array([[1, -1 / 3], [-1 / 3, 1]])
        result = HHL().solve(matrix, np.array([1.0, 0.0]))
        result.solution          # ~ [0.949, 0.316] = [9/8, 3/8] / |[9/8, 3/8]|
        result.euclidean_norm    # ~ 1.186

        # <Z> of the normalised solution, measured with one estimator job
        from qiskit.primitives import StatevectorEstimator

        hhl = HHL(estimator=StatevectorEstimator())
        hhl.solve(matrix, np.array([1.0, 0.0]), observables="Z").observables  # ~ [0.8]

    Args:
        num_clock_qubits: Clock size :math:`n_c`; default from :math:`\kappa` and ``resolution``
            (at most ``max_clock_qubits``). An explicit size is only bounded by
            :data:`HHL_MAX_QUBITS`.
        evolution: ``"exact"`` (controlled :math:`e^{iAt 2^j}` as unitary gates), ``"trotter"``
            (first-order product formula of the Pauli decomposition) or ``"suzuki"``
            (second order); see :func:`~qiskit_qdeep.circuit.library.hhl_evolution_gate`.
        evolution_time: :math:`t`; default from :math:`\lambda_\max` (see above).
        trotter_steps: Product-formula steps per :math:`e^{iAt}` (``"trotter"``/``"suzuki"``).
        eigenvalue_bounds: ``(lambda_min, lambda_max)`` bounds on the eigenvalue magnitudes of
            the Hermitian (dilated) matrix; default computed.
        resolution: Clock steps for :math:`\lambda_\min` in the automatic clock size.
        sampler: A V2 sampler for the solution amplitudes; ``None`` with ``shots=None`` means
            no sampler job.
        estimator: A V2 estimator for the observables and the success probability; ``None``
            with ``precision=None`` means no estimator job.
        pass_manager: Transpiles the sampler's and the estimator's circuit once each (needed
            for hardware backends); the estimator's observables are laid out with its layout.
        shots: Shots per binding on the sampled path.
        precision: Target precision of each expectation value of the estimator job; ``None``
            uses the estimator's default.
        seed: Seed of the default sampler / estimator (``shots`` or ``precision`` without a
            primitive).
        max_clock_qubits: Largest automatic clock size; default
            :data:`HHL_MAX_AUTO_CLOCK_QUBITS` (10). A condition number that needs more raises
            :class:`~qiskit_qdeep.exceptions.QubitLimitError` (give ``num_clock_qubits``, a
            larger ``max_clock_qubits`` or a smaller ``resolution``).

    Raises:
        QDeepValueError: For a bad clock size, evolution, time, step count, eigenvalue bounds,
            resolution, shots, precision or ``max_clock_qubits``.
        QubitLimitError: For a ``num_clock_qubits`` that leaves no room for a system in
            :data:`HHL_MAX_QUBITS`.
        QDeepTypeError: For a sampler or estimator that is not a V2 primitive (V1 primitives
            included) or a bad pass manager.

    References:
        A. W. Harrow, A. Hassidim and S. Lloyd, "Quantum algorithm for linear systems of
        equations", Phys. Rev. Lett. 103, 150502 (2009),
        `arXiv:0811.3171 <https://arxiv.org/abs/0811.3171>`_.
    """

    def __init__(
        self,
        *,
        num_clock_qubits: int | None = None,
        evolution: str = "exact",
        evolution_time: float | None = None,
        trotter_steps: int = 1,
        eigenvalue_bounds: tuple[float, float] | None = None,
        resolution: float = 8.0,
        sampler: BaseSamplerV2 | None = None,
        estimator: BaseEstimatorV2 | None = None,
        pass_manager: BasePassManager | None = None,
        shots: int | None = None,
        precision: float | None = None,
        seed: int | np.random.Generator | None = None,
        max_clock_qubits: int | None = None,
    ) -> None:
        if num_clock_qubits is not None:
            if (
                isinstance(num_clock_qubits, bool)
                or not isinstance(num_clock_qubits, (int, np.integer))
                or num_clock_qubits < 1
            ):
                raise QDeepValueError(
                    f"num_clock_qubits must be an integer >= 1 or None, got {num_clock_qubits!r}."
                )
        if max_clock_qubits is None:
            max_clock_qubits = HHL_MAX_AUTO_CLOCK_QUBITS
        elif (
            isinstance(max_clock_qubits, bool)
            or not isinstance(max_clock_qubits, (int, np.integer))
            or max_clock_qubits < MIN_AUTO_CLOCK_QUBITS
        ):
            raise QDeepValueError(
                f"max_clock_qubits must be an integer >= {MIN_AUTO_CLOCK_QUBITS} or None, got "
                f"{max_clock_qubits!r}."
            )
        if evolution not in EVOLUTIONS:
            raise QDeepValueError(f"evolution must be one of {EVOLUTIONS}, got {evolution!r}.")
        if evolution_time is not None and not (np.isfinite(evolution_time) and evolution_time > 0):
            raise QDeepValueError(
                f"evolution_time must be a finite number > 0 or None, got {evolution_time!r}."
            )
        if (
            isinstance(trotter_steps, bool)
            or not isinstance(trotter_steps, (int, np.integer))
            or trotter_steps < 1
        ):
            raise QDeepValueError(f"trotter_steps must be an integer >= 1, got {trotter_steps!r}.")
        if eigenvalue_bounds is not None:
            bounds = tuple(float(v) for v in eigenvalue_bounds)
            if len(bounds) != 2 or not (np.all(np.isfinite(bounds)) and 0 < bounds[0] <= bounds[1]):
                raise QDeepValueError(
                    "eigenvalue_bounds must be (lambda_min, lambda_max) with "
                    f"0 < lambda_min <= lambda_max, got {eigenvalue_bounds!r}."
                )
            eigenvalue_bounds = bounds
        if not (np.isfinite(resolution) and resolution > 0):
            raise QDeepValueError(f"resolution must be > 0, got {resolution!r}.")
        self.num_clock_qubits = None if num_clock_qubits is None else int(num_clock_qubits)
        self.evolution = evolution
        self.evolution_time = None if evolution_time is None else float(evolution_time)
        self.trotter_steps = int(trotter_steps)
        self.eigenvalue_bounds = eigenvalue_bounds
        self.resolution = float(resolution)
        self.sampler = None if sampler is None else resolve_sampler(sampler)
        self.estimator = None if estimator is None else resolve_estimator(estimator)
        self.pass_manager = check_pass_manager(pass_manager)
        self.shots = check_shots(shots)
        self.precision = check_precision(precision)
        self.seed = seed
        self.max_clock_qubits = int(max_clock_qubits)
        if self.num_clock_qubits is not None:
            # from the settings alone: even a 2x2 system needs 1 system qubit and the flag
            extra = 1 if self._samples else 0
            fits = HHL_MAX_QUBITS - 2 - extra
            if self.num_clock_qubits > fits:
                reference = " + 1 phase reference (sampled path)" if extra else ""
                raise QubitLimitError(
                    f"num_clock_qubits = {self.num_clock_qubits} does not fit: HHL needs at "
                    f"least {self.num_clock_qubits + 2 + extra} qubits = 1 system + "
                    f"{self.num_clock_qubits} clock + 1 flag{reference}, more than the limit "
                    f"HHL_MAX_QUBITS = {HHL_MAX_QUBITS}; use num_clock_qubits <= {fits} (fewer "
                    "for larger systems) or None."
                )

    @property
    def exact(self) -> bool:
        """Whether :meth:`solve` uses exact simulation (no primitive, shots or precision)."""
        return not (self._samples or self._estimates)

    @property
    def _samples(self) -> bool:
        """Whether :meth:`solve` runs a sampler job (solution amplitudes)."""
        return self.sampler is not None or self.shots is not None

    @property
    def _estimates(self) -> bool:
        """Whether :meth:`solve` runs an estimator job (observables, success probability)."""
        return self.estimator is not None or self.precision is not None

    # ------------------------------------------------------------------------------------------
    # Problem preparation
    # ------------------------------------------------------------------------------------------

    def _prepare(self, matrix: Any, vector: Any) -> _Problem:
        try:
            matrix = np.asarray(matrix)
            vector = np.asarray(vector)
        except Exception as exc:  # pragma: no cover - numpy converts nearly anything
            raise QDeepValueError(f"matrix and vector must be array-like: {exc}") from exc
        if not (np.issubdtype(matrix.dtype, np.number) and np.issubdtype(vector.dtype, np.number)):
            raise QDeepValueError("matrix and vector must be numeric.")
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
            raise QDeepValueError(
                f"matrix must be a non-empty square 2-D array, got {matrix.shape}."
            )
        size = matrix.shape[0]
        if vector.shape != (size,):
            raise QDeepValueError(
                f"vector must have shape ({size},) to match the {size}x{size} matrix, got "
                f"{vector.shape}."
            )
        extra = 1 if self._samples else 0
        # Limits from the shapes and settings alone, before anything beyond the input is
        # allocated: Hermiticity is not known yet, so this is the count without a dilation.
        self._check_size(size, None, extra)
        if not np.all(np.isfinite(matrix)):
            raise QDeepValueError("matrix contains NaN or inf entries.")
        if not np.all(np.isfinite(vector)):
            raise QDeepValueError("vector contains NaN or inf entries.")
        if np.linalg.norm(vector) == 0:
            raise QDeepValueError("vector must not be the zero vector.")
        real = not (np.iscomplexobj(matrix) or np.iscomplexobj(vector))
        dtype = float if real else complex
        matrix = matrix.astype(dtype)
        vector = vector.astype(dtype)
        scale = max(np.abs(matrix).max(), 1e-300)
        dilated = not np.allclose(matrix, matrix.conj().T, rtol=0, atol=1e-12 * scale)
        # the dilation doubles the size: checked again before it is built
        n_b, padded, available = self._check_size(size, dilated, extra)
        if not dilated:
            hermitian = (matrix + matrix.conj().T) / 2
            rhs = vector
            start = 0
        else:
            zero = np.zeros_like(matrix)
            hermitian = np.block([[zero, matrix], [matrix.conj().T, zero]])
            rhs = np.concatenate([vector, np.zeros_like(vector)])
            start = size
        dim = len(rhs)
        eigenvalues = np.linalg.eigvalsh(hermitian)
        magnitudes = np.abs(eigenvalues)
        lam_min, lam_max = float(magnitudes.min()), float(magnitudes.max())
        if lam_max == 0 or lam_min <= 1e-10 * lam_max:
            raise QDeepValueError(
                "matrix is singular (smallest eigenvalue/singular value magnitude "
                f"{lam_min:.3g} vs largest {lam_max:.3g}); HHL needs an invertible matrix."
            )
        if self.eigenvalue_bounds is not None:
            lam_min, lam_max = self.eigenvalue_bounds
        if self.num_clock_qubits is not None:
            n_c = self.num_clock_qubits
        else:
            n_c = self._automatic_clock(lam_min, lam_max, n_b, available)
        if self.evolution == "exact":
            _check_exact_evolution(n_b, n_c, lower=False)
        else:  # the Pauli terms are counted by hhl_circuit
            _check_pauli_rotations(1, n_c, self.evolution, self.trotter_steps, lower=True)
        if padded != dim:
            block = np.eye(padded, dtype=dtype) * lam_max
            block[:dim, :dim] = hermitian
            hermitian = block
            rhs = np.concatenate([rhs, np.zeros(padded - dim, dtype=dtype)])
        if self.evolution_time is not None:
            t = self.evolution_time
        else:
            t = 2 * np.pi * CLOCK_FILL * (1 << (n_c - 1)) / ((1 << n_c) * lam_max)
        step = 2 * np.pi / (t * (1 << n_c))
        constant = step * max(1.0, math.floor(lam_min / step + 1e-9))
        self._check_spectrum(eigenvalues, n_c, float(t), dilated)
        return _Problem(
            hermitian=hermitian,
            rhs=rhs,
            start=start,
            size=size,
            real=real,
            num_clock_qubits=n_c,
            evolution_time=float(t),
            constant=float(constant),
            bounds=(lam_min, lam_max),
        )

    def _check_size(self, size: int, dilated: bool | None, extra: int) -> tuple[int, int, int]:
        """Qubit and evolution limits from the shapes and settings alone (no allocation).

        Args:
            size: ``N`` of the ``N x N`` matrix.
            dilated: Whether the matrix needs the Hermitian dilation; ``None`` while unknown
                (then the counts are lower bounds: a dilation adds one system qubit).
            extra: ``1`` for the phase-reference qubit of the sampled path, else ``0``.

        Returns:
            ``(n_b, padded, available)``: system qubits, padded size ``2**n_b`` and the clock
            qubits that fit in :data:`HHL_MAX_QUBITS`.

        Raises:
            QubitLimitError: If the qubits (with the explicit clock size, or the smallest
                automatic one, 3) exceed :data:`HHL_MAX_QUBITS`, or the dense unitaries of
                ``evolution="exact"`` exceed :data:`HHL_MAX_UNITARY_BYTES`.
            QDeepValueError: If a product formula would exceed :data:`HHL_MAX_PAULI_ROTATIONS`
                rotations even with a single Pauli term.
        """
        dim = 2 * size if dilated else size
        padded = max(2, 1 << (dim - 1).bit_length())
        n_b = padded.bit_length() - 1
        available = HHL_MAX_QUBITS - n_b - 1 - extra
        explicit = self.num_clock_qubits is not None
        n_c = self.num_clock_qubits if explicit else MIN_AUTO_CLOCK_QUBITS
        total = n_b + n_c + 1 + extra
        if total > HHL_MAX_QUBITS:
            system = f"{n_b} system (b, for the {size}x{size} matrix"
            if dilated:
                system += f", Hermitian dilation {dim}x{dim}"
            if padded != dim:
                system += f", padded to {padded}x{padded}"
            clock = "num_clock_qubits" if explicit else "the smallest automatic clock"
            parts = [system + ")", f"{n_c} clock ({clock})", "1 flag"]
            if extra:
                parts.append("1 phase reference (sampled path)")
            lower = not explicit or dilated is None
            message = (
                f"HHL needs {'at least ' if lower else ''}{total} qubits = {' + '.join(parts)}, "
                f"more than the limit HHL_MAX_QUBITS = {HHL_MAX_QUBITS}."
            )
            if dilated is None:
                message += (
                    " A non-Hermitian matrix needs one system qubit more (Hermitian dilation)."
                )
            if explicit and available >= 1:
                message += f" Use num_clock_qubits <= {available} for this system."
            else:
                message += " The system is too large for HHL."
            raise QubitLimitError(message)
        if self.evolution == "exact":
            _check_exact_evolution(n_b, n_c, lower=not explicit or dilated is None)
        else:
            _check_pauli_rotations(1, n_c, self.evolution, self.trotter_steps, lower=True)
        return n_b, padded, available

    def _automatic_clock(self, lam_min: float, lam_max: float, n_b: int, available: int) -> int:
        """The clock size from the condition number, within ``max_clock_qubits`` and the limit.

        Raises:
            QubitLimitError: If the condition number needs more than ``max_clock_qubits``
                clock qubits, or more than fit in :data:`HHL_MAX_QUBITS` even at one clock step
                for the smallest eigenvalue.
        """
        kappa = lam_max / lam_min
        need = _clock_qubits_for(kappa, self.resolution)
        source = " (from eigenvalue_bounds)" if self.eigenvalue_bounds is not None else ""
        rule = f"1 + ceil(log2(kappa * resolution / {CLOCK_FILL:g}))"
        bound = self.max_clock_qubits
        if need > bound:
            message = (
                f"The condition number kappa = lambda_max / lambda_min = {lam_max:.4g} / "
                f"{lam_min:.4g} = {kappa:.4g}{source} needs {need} clock qubits at "
                f"resolution={self.resolution:g} ({rule}), more than the automatic maximum "
                f"max_clock_qubits = {bound} (the circuit and its simulation grow as "
                "2**num_clock_qubits). Pass num_clock_qubits explicitly"
            )
            if available >= 1:
                message += f" (at most {available} fit the {HHL_MAX_QUBITS}-qubit limit here)"
            message += ", or raise max_clock_qubits"
            largest = CLOCK_FILL * (1 << (bound - 1)) / kappa
            if largest >= 1:
                message += f", or use resolution <= {largest:.3g} (fits {bound} clock qubits)"
            raise QubitLimitError(message + ".")
        if need > available:
            minimum = _clock_qubits_for(kappa, 1.0)
            if minimum > available:
                raise QubitLimitError(
                    f"The condition number kappa = {kappa:.4g}{source} needs {need} clock "
                    f"qubits at resolution={self.resolution:g} ({rule}) and at least {minimum} "
                    "to put the smallest eigenvalue on one clock step, but only "
                    f"{max(available, 0)} fit the {HHL_MAX_QUBITS}-qubit limit next to the "
                    f"{n_b} system qubits; HHL cannot resolve this spectrum."
                )
            steps = CLOCK_FILL * (1 << (available - 1)) / kappa
            warnings.warn(
                f"The condition number {kappa:.3g} asks for {need} clock qubits at "
                f"resolution={self.resolution:g}; only {available} fit in the "
                f"{HHL_MAX_QUBITS}-qubit limit, so the smallest eigenvalue lands on "
                f"{steps:.3g} clock steps and the solution will be less accurate.",
                HHLWarning,
                stacklevel=4,
            )
            need = available
        return need

    def _check_spectrum(self, eigenvalues: np.ndarray, n_c: int, t: float, dilated: bool) -> None:
        r"""Warns when the settings cannot resolve the eigenvalues on the signed clock.

        An eigenvalue :math:`\lambda` lands near clock position
        :math:`\lambda t 2^{n_c} / (2\pi)`, rounded to an integer read in
        :math:`[-2^{n_c-1}, 2^{n_c-1})`. Positions that round outside that range wrap around
        (read with the wrong sign): :math:`\lambda t > \pi (1 - 2^{-n_c})` for positive,
        :math:`|\lambda| t > \pi (1 + 2^{-n_c})` for negative eigenvalues. Positions below
        one half round to the zero clock value, which the inversion leaves out of the solution.
        """
        magnitudes = np.abs(eigenvalues)
        what = "Hermitian dilation (singular values)" if dilated else "matrix"
        if self.eigenvalue_bounds is not None:
            low, high = self.eigenvalue_bounds
            outside = (magnitudes < low * (1 - 1e-9)) | (magnitudes > high * (1 + 1e-9))
            if np.any(outside):
                warnings.warn(
                    f"eigenvalue_bounds = ({low:.4g}, {high:.4g}) do not contain the eigenvalue "
                    f"magnitudes of the {what}, which span [{magnitudes.min():.4g}, "
                    f"{magnitudes.max():.4g}] ({int(outside.sum())} of {len(magnitudes)} "
                    "outside): the evolution time, clock size and inversion constant derived "
                    "from them misplace the spectrum. Widen eigenvalue_bounds or leave them "
                    "None (computed).",
                    HHLWarning,
                    stacklevel=4,
                )
        half = 1 << (n_c - 1)
        positions = eigenvalues * t * (1 << n_c) / (2 * np.pi)
        edge = np.pi * (1 - 2.0**-n_c)
        # strictly past the rounding midpoint (the default time of a 2-qubit clock sits on it)
        tolerance = 1e-9 * half
        wrapped = (positions > half - 0.5 + tolerance) | (positions < -half - 0.5 - tolerance)
        if np.any(wrapped):
            largest = float(magnitudes[wrapped].max())
            if self.evolution_time is not None:
                setting = "evolution_time"
                hint = (
                    f"Use evolution_time < {edge / float(magnitudes.max()):.4g} or leave it "
                    "None (it then maps the largest eigenvalue to 3/4 of the positive clock "
                    "range)."
                )
            elif self.eigenvalue_bounds is not None:
                setting = "eigenvalue_bounds"
                hint = "Widen eigenvalue_bounds (lambda_max sets the evolution time) or leave "
                hint += "them None."
            else:
                setting = "num_clock_qubits"
                hint = "Use num_clock_qubits >= 2 (one clock qubit holds no positive value)."
            warnings.warn(
                f"{setting}: with evolution time t = {t:.4g} and {n_c} clock qubits, "
                f"{int(wrapped.sum())} of {len(eigenvalues)} eigenvalues of the {what} (largest "
                f"magnitude {largest:.4g}, |lambda| t = {largest * t:.4g}) fall beyond the "
                f"signed clock range (lambda t > pi (1 - 2**-{n_c}) = {edge:.4g}): their phases "
                f"wrap around and they are inverted with the wrong sign. {hint}",
                HHLWarning,
                stacklevel=4,
            )
        lost = np.abs(positions) < 0.5 - 1e-9
        if np.any(lost):
            step = 2 * np.pi / (t * (1 << n_c))
            if self.evolution_time is not None:
                setting = "evolution_time"
                hint = (
                    "Use a larger evolution_time (below "
                    f"{edge / float(magnitudes.max()):.4g}, where the largest eigenvalue would "
                    "wrap) or more clock qubits (num_clock_qubits)."
                )
            elif self.num_clock_qubits is not None:
                setting = "num_clock_qubits"
                one_step = _clock_qubits_for(float(magnitudes.max() / magnitudes.min()), 1.0)
                hint = (
                    f"Use num_clock_qubits >= {one_step} (one clock step for the smallest "
                    "eigenvalue) or leave it None."
                )
            else:
                setting = "eigenvalue_bounds"
                hint = "Widen eigenvalue_bounds or leave them None (computed)."
            all_lost = " (all of them)" if np.all(lost) else ""
            warnings.warn(
                f"{setting}: {int(lost.sum())} of {len(eigenvalues)} eigenvalues of the "
                f"{what}{all_lost} (magnitudes down to {float(magnitudes.min()):.3g}) are below "
                f"half a clock step (2 pi / (t 2**n_c) = {step:.4g} for evolution time t = "
                f"{t:.4g} and {n_c} clock qubits): they land on the zero clock value and drop "
                f"out of the solution. {hint}",
                HHLWarning,
                stacklevel=4,
            )

    def _circuit(self, problem: _Problem, phase_reference: bool) -> QuantumCircuit:
        return hhl_circuit(
            problem.hermitian,
            problem.rhs,
            num_clock_qubits=problem.num_clock_qubits,
            evolution_time=problem.evolution_time,
            constant=problem.constant,
            evolution=self.evolution,
            trotter_steps=self.trotter_steps,
            phase_reference=phase_reference,
        )

    def construct_circuit(self, matrix: Any, vector: Any) -> QuantumCircuit:
        """The HHL circuit :meth:`solve` would use (without the phase-reference qubit).

        Args:
            matrix: Square matrix ``(N, N)``.
            vector: Right-hand side ``(N,)``.

        Returns:
            The circuit with registers ``b``, ``clock`` and ``flag``.

        Raises:
            QDeepValueError: See :meth:`solve`.
            QubitLimitError: See :meth:`solve`.
        """
        return self._circuit(self._prepare(matrix, vector), False)

    # ------------------------------------------------------------------------------------------
    # Solving
    # ------------------------------------------------------------------------------------------

    def solve(self, matrix: Any, vector: Any, observables: Any = None) -> HHLResult:
        r"""Solves :math:`A x = b` with HHL.

        **Observables.** Each observable :math:`O` acts on the solution :math:`x` of the
        original ``N x N`` system, and :attr:`HHLResult.observables` holds
        :math:`\langle x|O|x\rangle / \langle x|x\rangle`. Give it as a Hermitian ``(N, N)``
        array (or :class:`~qiskit.quantum_info.Operator`; a nested list of numbers is one
        matrix), or as a ``SparsePauliOp``, ``Pauli`` or Pauli label on
        :math:`m = \max(1, \lceil\log_2 N\rceil)` qubits in Qiskit's order (qubit 0 is the
        least significant bit of the component index, so ``"Z"`` on a 2x2 system is
        :math:`\mathrm{diag}(1, -1)`). For ``N < 2**m`` a Pauli observable stands for the
        leading ``N x N`` block of its matrix (rows and columns beyond ``N`` are dropped).

        On the circuit, :math:`O` is placed on the ``b`` register as :math:`\tilde O`: the
        block of the components that hold :math:`x` (the first ``N``; the second ``N`` of the
        Hermitian dilation of a non-Hermitian matrix), zero everywhere else. So the padding
        block and the first half of a dilation never contribute, and the normalisation uses
        the weight of the same components. The estimator measures :math:`\Pi \otimes \tilde O`
        as a Pauli sum: :math:`2^{n_c + 1}` times the Pauli terms of :math:`\tilde O` (a matrix
        observable has up to :math:`4^{n_b}`).

        Args:
            matrix: Square (real or complex) matrix ``(N, N)``, invertible.
            vector: Right-hand side ``(N,)``, non-zero.
            observables: One observable or a list of them (see above); ``None`` for none.

        Returns:
            The :class:`HHLResult`.

        Raises:
            QDeepValueError: For a non-square, non-finite or singular matrix, a mismatched,
                non-finite or zero vector, an observable of the wrong size, with NaN/inf
                entries or not Hermitian, or a post-selection that was never observed.
            QDeepTypeError: For an observable of an unsupported type.
            QubitLimitError: If the circuit needs more than :data:`HHL_MAX_QUBITS` qubits (from
                the shapes, before any allocation), the condition number more than
                ``max_clock_qubits`` automatic clock qubits, or ``evolution="exact"`` more than
                :data:`HHL_MAX_UNITARY_BYTES` of dense unitaries.
            PrimitiveJobError: If a primitive job keeps failing after its retries.

        Warns:
            HHLWarning: If ``eigenvalue_bounds``, ``evolution_time`` or ``num_clock_qubits``
                cannot resolve the eigenvalues (see the class docstring), or the automatic
                clock was reduced to fit :data:`HHL_MAX_QUBITS`.
        """
        problem = self._prepare(matrix, vector)
        n_b = len(problem.rhs).bit_length() - 1
        n_c = problem.num_clock_qubits
        dim = len(problem.rhs)
        embedded = None
        if observables is not None:
            embedded = embed_observables(
                observables, size=problem.size, start=problem.start, num_qubits=n_b
            )
        state = self._circuit(problem, False)
        standard = to_standard_gates(state)
        num_jobs = 0
        post = None
        probability = 0.0
        if self._samples:
            post, probability, num_jobs = self._sampled(problem)
        elif self.exact:
            amplitudes = exact_statevector(state, max_qubits=state.num_qubits)
            post = amplitudes[(1 << (n_b + n_c)) + np.arange(dim)]
            probability = float(np.vdot(post, post).real)
        if post is not None and (probability <= 0 or not np.any(post)):
            raise QDeepValueError(
                "The post-selection flag = 1, clock = 0 was never observed; increase shots "
                "or the number of clock qubits."
            )
        solution = None
        weight = 1.0
        if post is not None:
            post = post / np.linalg.norm(post)
            part = post[problem.start : problem.start + problem.size]
            weight = float(np.linalg.norm(part))
            if weight == 0:
                raise QDeepValueError(
                    "The estimated solution has no weight on the original system's components."
                )
            solution = part / weight
            if problem.real:
                solution = np.real(solution)
                solution = solution / np.linalg.norm(solution)
        values = None
        if self._estimates:
            probability, weight, values, jobs = self._estimated(problem, standard, embedded or [])
            num_jobs += jobs
        elif embedded is not None:
            values = np.array([expectation(obs.block, solution) for obs in embedded])
        norm = math.sqrt(probability) * float(np.linalg.norm(problem.rhs)) / problem.constant
        methods = [
            name
            for name, used in (("sampled", self._samples), ("estimated", self._estimates))
            if used
        ]
        return HHLResult(
            state=state,
            solution=solution,
            euclidean_norm=norm * weight,
            success_probability=probability,
            method=" and ".join(methods) or "exact simulation",
            num_qubits=state.num_qubits,
            num_clock_qubits=n_c,
            evolution_time=problem.evolution_time,
            constant=problem.constant,
            eigenvalue_bounds=problem.bounds,
            circuit_depth=standard.depth(),
            gate_counts=dict(standard.count_ops()),
            num_jobs=num_jobs,
            shots=self.shots,
            observables=values,
        )

    def _estimated(
        self, problem: _Problem, circuit: QuantumCircuit, embedded: list[EmbeddedObservable]
    ) -> tuple[float, float, np.ndarray | None, int]:
        r"""Success probability, solution weight and observables from one estimator job.

        The job measures :math:`\Pi`, :math:`\Pi \otimes P_x` (only for padded or dilated
        systems) and :math:`\Pi \otimes \tilde O_k` on ``circuit`` (one PUB).

        Returns:
            ``(p, weight, values, num_jobs)`` with ``weight`` the norm of the original
            components of the normalised post-selected state and ``values`` ``None`` when no
            observable was given.
        """
        n_b = len(problem.rhs).bit_length() - 1
        projector = post_selection_projector(problem.num_clock_qubits)
        operators = [projector.tensor(SparsePauliOp("I" * n_b))]
        padded = problem.start != 0 or problem.size != len(problem.rhs)
        if padded:
            operators.append(projector.tensor(block_projector(problem.start, problem.size, n_b)))
        operators.extend(projector.tensor(obs.register) for obs in embedded)
        runner = EstimatorRunner(
            circuit,
            operators,
            parameters=[],
            estimator=self.estimator,
            pass_manager=self.pass_manager,
            precision=self.precision,
            seed=self.seed,
        )
        evs = runner.run(np.zeros((0,)))
        probability = float(evs[0])
        block = float(evs[1]) if padded else probability
        if probability <= 0 or block <= 0:
            raise QDeepValueError(
                "The estimated probability of the post-selection flag = 1, clock = 0 "
                f"({probability:.3g}; {block:.3g} on the original system's components) is not "
                "positive; use a smaller precision (more shots) or more clock qubits."
            )
        values = None
        if embedded:
            values = np.asarray(evs[2 if padded else 1 :], dtype=float) / block
        return probability, math.sqrt(min(block / probability, 1.0)), values, runner.num_jobs

    def _sampled(self, problem: _Problem) -> tuple[np.ndarray, float, int]:
        """Post-selected amplitudes from one sampler job (magnitudes + reference interference)."""
        template = to_standard_gates(self._circuit(problem, True))
        params = {p.name: p for p in template.parameters}
        runner = SamplerRunner(
            template,
            parameters=[params["phi"], params["gamma"]],
            sampler=self.sampler,
            pass_manager=self.pass_manager,
            shots=self.shots,
            seed=self.seed,
        )
        half = np.pi / 2
        values = [[0.0, 0.0], [0.0, half]]
        if not problem.real:
            values.append([-half, half])
        probs = runner.run(np.array(values))
        n_b = len(problem.rhs).bit_length() - 1
        n_c = problem.num_clock_qubits
        dim = len(problem.rhs)
        success = (1 << (n_b + n_c)) + np.arange(dim)
        ref1 = success + (1 << (n_b + n_c + 1))
        magnitudes = np.sqrt(2.0 * probs[0, ref1])
        probability = float(2.0 * probs[0, ref1].sum())
        real_part = math.sqrt(dim) * (probs[1, ref1] - probs[1, success])
        if problem.real:
            phases = np.where(real_part < 0, np.pi, 0.0)
        else:
            imag_part = math.sqrt(dim) * (probs[2, ref1] - probs[2, success])
            phases = np.angle(real_part + 1j * imag_part)
        return magnitudes * np.exp(1j * phases), probability, runner.num_jobs
