# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Quanvolution kernel circuits: patch encodings and the ansatzes of three quanvolution papers.

A quanvolution kernel acts on one ``k x k`` image patch with ``k * k`` qubits: the patch is
flattened row by row (pixel ``(i, j)`` goes to qubit ``i * k + j``, the order of
:func:`torch.nn.functional.unfold`), encoded by single-qubit rotations, and processed by an ansatz.
:class:`~qiskit_qdeep.nn.Quanv2d` slides the kernel over an image.

=================================  ==========================  ===================================
Paper                              encoding                    ansatz
=================================  ==========================  ===================================
Henderson et al. 2019              ``"ry_pi"``: ``RY(pi x)``   :func:`random_quanvolution_circuit`
Senokosov et al. 2024 (HQNN-Quanv) ``"ry_pi"``: ``RY(pi x)``   :func:`hqnn_quanv_ansatz`
Liu et al. 2019 (QCCNN)            ``"qccnn"``: ``RY(2 x)``    :func:`qccnn_ansatz`
=================================  ==========================  ===================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector

from ...exceptions import QDeepTypeError, QDeepValueError

#: Patch encodings: name -> factor ``a`` of ``RY(a * x)``.
ENCODINGS = {"ry_pi": np.pi, "qccnn": 2.0}

#: Built-in ansatz names understood by :func:`quanv_kernel_circuit`.
ANSATZES = ("hqnn", "qccnn", "random", "none")

_HQNN_ROTATIONS = ("rx", "ry")
_RANDOM_AXES = ("rx", "ry", "rz")


def _check_num_qubits(num_qubits: int) -> int:
    if isinstance(num_qubits, bool) or int(num_qubits) != num_qubits or num_qubits < 1:
        raise QDeepValueError(f"num_qubits must be a positive integer, got {num_qubits!r}.")
    return int(num_qubits)


def _params(given, name: str, size: int, arg: str) -> list:
    params = list(ParameterVector(name, size)) if given is None else list(given)
    if len(params) != size:
        raise QDeepValueError(f"{arg} must have {size} entries, got {len(params)}.")
    return params


def quanvolution_encoding(
    num_qubits: int,
    kind: str = "ry_pi",
    input_params: Sequence[Parameter] | None = None,
) -> QuantumCircuit:
    r"""Single-qubit angle encoding of a flattened image patch.

    * ``"ry_pi"`` (Henderson et al. 2019 as commonly implemented; Senokosov et al. 2024): pixel
      :math:`x_i \in [0, 1]` becomes ``RY(pi * x_i)`` on qubit ``i``, so ``0 -> |0>`` and
      ``1 -> |1>``.
    * ``"qccnn"`` (Liu et al. 2019, Eq. (1)): :math:`x_i \mapsto \cos(x_i)|0\rangle +
      \sin(x_i)|1\rangle`, i.e. Qiskit's ``RY(2 * x_i)``. The paper's :math:`\theta_j` is the array
      element itself (no rescaling), so a pixel in ``[0, 1]`` is rotated by at most one radian;
      the paper's :math:`R_y(\theta)` matrix (its Eq. (5)) is Qiskit's ``RY(2 theta)``.

    Args:
        num_qubits: Number of pixels (= qubits).
        kind: ``"ry_pi"`` or ``"qccnn"``.
        input_params: ``num_qubits`` parameters, one per pixel; default ``ParameterVector("x")``.

    Returns:
        The encoding circuit.

    Raises:
        QDeepValueError: For an unknown ``kind``, a non-positive ``num_qubits`` or a wrong number
            of parameters.
    """
    num_qubits = _check_num_qubits(num_qubits)
    if kind not in ENCODINGS:
        raise QDeepValueError(f"kind must be one of {tuple(ENCODINGS)}, got {kind!r}.")
    x = _params(input_params, "x", num_qubits, "input_params")
    factor = ENCODINGS[kind]
    circuit = QuantumCircuit(num_qubits, name=f"encoding_{kind}")
    for qubit in range(num_qubits):
        circuit.ry(factor * x[qubit], qubit)
    return circuit


def _random_structure(num_qubits: int, num_layers: int, rng: np.random.Generator):
    """Rotation axes ``(num_layers, num_qubits)`` and CNOT pairs per layer."""
    axes, pairs = [], []
    for _ in range(num_layers):
        axes.append([_RANDOM_AXES[i] for i in rng.integers(0, 3, num_qubits)])
        order = rng.permutation(num_qubits)
        pairs.append([(int(order[i]), int(order[i + 1])) for i in range(num_qubits - 1)])
    return axes, pairs


def random_quanvolution_circuit(
    num_qubits: int,
    num_layers: int = 1,
    *,
    seed: int | np.random.Generator | None = None,
    weight_params: Sequence[Parameter] | None = None,
) -> QuantumCircuit:
    r"""A fixed random quanvolution filter in the spirit of Henderson et al. (2019).

    Each of the ``num_layers`` layers applies one rotation about a random axis (``RX``, ``RY`` or
    ``RZ``) with a random angle in :math:`[0, 2\pi)` to every qubit, then a chain of
    ``num_qubits - 1`` CNOTs along a random ordering of the qubits (so every layer entangles all
    qubits). Everything is drawn from ``seed``: first the structure (axes and CNOT orderings,
    layer by layer), then the ``num_qubits * num_layers`` angles, in gate order.

    With ``weight_params`` the rotation angles are these parameters instead of numbers, and the
    structure still comes from ``seed``; :class:`~qiskit_qdeep.nn.Quanv2d` uses this to run several
    random filters (one shared structure, per-filter fixed random angles) through one template.
    The angles that the numeric version would use are the next ``num_qubits * num_layers``
    uniform draws of the same generator.

    Henderson et al. drew random gates from a larger gate set and encoded pixels by thresholding;
    this is the widely used rotation-and-CNOT variant, with the ``RY(pi x)`` encoding of
    :func:`quanvolution_encoding`.

    Args:
        num_qubits: Number of qubits.
        num_layers: Number of random layers.
        seed: Seed or generator of the structure (and of the angles without ``weight_params``).
        weight_params: Optional ``num_qubits * num_layers`` angle parameters.

    Returns:
        The circuit (without parameters unless ``weight_params`` is given).

    Raises:
        QDeepValueError: For non-positive sizes or a wrong number of parameters.

    References:
        M. Henderson, S. Shakya, S. Pradhan, T. Cook, "Quanvolutional neural networks: powering
        image recognition with quantum circuits", Quantum Mach. Intell. 2, 2 (2020),
        `arXiv:1904.04767 <https://arxiv.org/abs/1904.04767>`_.
    """
    num_qubits = _check_num_qubits(num_qubits)
    if isinstance(num_layers, bool) or int(num_layers) != num_layers or num_layers < 1:
        raise QDeepValueError(f"num_layers must be a positive integer, got {num_layers!r}.")
    num_layers = int(num_layers)
    if seed is not None and not isinstance(seed, (int, np.integer, np.random.Generator)):
        raise QDeepTypeError(
            f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}."
        )
    rng = np.random.default_rng(seed)
    axes, pairs = _random_structure(num_qubits, num_layers, rng)
    num_angles = num_qubits * num_layers
    if weight_params is None:
        angles = list(rng.uniform(0.0, 2.0 * np.pi, num_angles))
    else:
        angles = _params(weight_params, "w", num_angles, "weight_params")
    circuit = QuantumCircuit(num_qubits, name="random_quanvolution")
    for layer in range(num_layers):
        for qubit in range(num_qubits):
            getattr(circuit, axes[layer][qubit])(angles[layer * num_qubits + qubit], qubit)
        for control, target in pairs[layer]:
            circuit.cx(control, target)
    return circuit


def hqnn_quanv_ansatz(
    weight_params: Sequence[Parameter] | None = None, *, rotation: str = "ry"
) -> QuantumCircuit:
    r"""The trainable 4-qubit part of the HQNN-Quanv kernel (Senokosov et al. 2024).

    The paper describes "4 single-qubit rotations, parameterized with trainable weights, as well
    as three CNOT gates" after the ``RY(pi x)`` encoding of a ``2 x 2`` patch, measured with
    :math:`\langle Z\rangle` on every qubit. The figure with the exact gates is not part of the
    text, so this function fixes the reading: one ``RY(w_i)`` (or ``RX``) on every qubit ``i``,
    then the CNOT ladder ``cx(0, 1), cx(1, 2), cx(2, 3)``. (``RZ`` is not offered: after an
    ``RY`` encoding and before a ladder of CNOTs it would not change any :math:`\langle Z\rangle`.)

    Args:
        weight_params: 4 trainable parameters; default ``ParameterVector("w", 4)``.
        rotation: ``"ry"`` (default) or ``"rx"``.

    Returns:
        The 4-qubit circuit.

    Raises:
        QDeepValueError: For an unknown rotation or a wrong number of parameters.

    References:
        A. Senokosov, A. Sedykh, A. Sagingalieva, B. Kyriacou, A. Melnikov, "Quantum machine
        learning for image classification", Mach. Learn.: Sci. Technol. 5, 015040 (2024),
        `arXiv:2304.09224 <https://arxiv.org/abs/2304.09224>`_.
    """
    if rotation not in _HQNN_ROTATIONS:
        raise QDeepValueError(f"rotation must be one of {_HQNN_ROTATIONS}, got {rotation!r}.")
    w = _params(weight_params, "w", 4, "weight_params")
    circuit = QuantumCircuit(4, name="hqnn_quanv")
    for qubit in range(4):
        getattr(circuit, rotation)(w[qubit], qubit)
    for qubit in range(3):
        circuit.cx(qubit, qubit + 1)
    return circuit


def qccnn_ansatz(
    num_qubits: int,
    depth: int = 4,
    weight_params: Sequence[Parameter] | None = None,
) -> QuantumCircuit:
    r"""The parametric circuit of a QCCNN quantum filter (Liu et al. 2019, Fig. 1(b)).

    Interlaced single-qubit and two-qubit layers: ``depth`` times a layer of trainable ``RY`` on
    every qubit followed by CNOTs on the nearest-neighbour pairs ``cx(0, 1), cx(1, 2), ...,
    cx(n-2, n-1)`` (an open chain), then a closing ``RY`` layer, so the circuit begins and ends
    with single-qubit layers. The paper counts each two-qubit layer as one unit of depth and uses
    ``depth=4`` on 4 qubits. There are ``(depth + 1) * num_qubits`` weights; weight
    ``layer * num_qubits + qubit`` is the ``RY`` of that qubit in that layer. The paper's
    :math:`R_y(\theta)` equals Qiskit's ``RY(2 theta)``; the factor 2 is absorbed in the weights.

    Args:
        num_qubits: Number of qubits (window size ``m * n``).
        depth: Number of CNOT layers (``>= 0``).
        weight_params: ``(depth + 1) * num_qubits`` parameters; default ``ParameterVector("w")``.

    Returns:
        The circuit.

    Raises:
        QDeepValueError: For bad sizes or a wrong number of parameters.

    References:
        J. Liu, K. H. Lim, K. L. Wood, W. Huang, C. Guo, H.-L. Huang, "Hybrid quantum-classical
        convolutional neural networks", Sci. China Phys. Mech. Astron. 64, 290311 (2021),
        `arXiv:1911.02998 <https://arxiv.org/abs/1911.02998>`_.
    """
    num_qubits = _check_num_qubits(num_qubits)
    if isinstance(depth, bool) or int(depth) != depth or depth < 0:
        raise QDeepValueError(f"depth must be a non-negative integer, got {depth!r}.")
    depth = int(depth)
    w = _params(weight_params, "w", (depth + 1) * num_qubits, "weight_params")
    circuit = QuantumCircuit(num_qubits, name="qccnn")
    for layer in range(depth + 1):
        for qubit in range(num_qubits):
            circuit.ry(w[layer * num_qubits + qubit], qubit)
        if layer < depth:
            for qubit in range(num_qubits - 1):
                circuit.cx(qubit, qubit + 1)
    return circuit


def num_ansatz_weights(ansatz: str, num_qubits: int, reps: int | None = None) -> int:
    """Number of weights of a built-in ansatz (see :func:`quanv_kernel_circuit`).

    Raises:
        QDeepValueError: For an unknown ansatz name.
    """
    if ansatz == "hqnn":
        return 4
    if ansatz == "qccnn":
        return ((4 if reps is None else reps) + 1) * num_qubits
    if ansatz == "random":
        return (1 if reps is None else reps) * num_qubits
    if ansatz == "none":
        return 0
    raise QDeepValueError(f"ansatz must be one of {ANSATZES} or a QuantumCircuit, got {ansatz!r}.")


def quanv_kernel_circuit(
    num_qubits: int,
    *,
    encoding: str = "ry_pi",
    ansatz: str | QuantumCircuit = "qccnn",
    reps: int | None = None,
    rotation: str = "ry",
    seed: int | np.random.Generator | None = None,
    input_params: Sequence[Parameter] | None = None,
    weight_params: Sequence[Parameter] | None = None,
) -> QuantumCircuit:
    """Encoding followed by an ansatz: the circuit of one quanvolution filter.

    Args:
        num_qubits: Number of qubits (pixels of a patch).
        encoding: ``"ry_pi"`` or ``"qccnn"``, see :func:`quanvolution_encoding`.
        ansatz: ``"hqnn"`` (:func:`hqnn_quanv_ansatz`, 4 qubits), ``"qccnn"``
            (:func:`qccnn_ansatz`), ``"random"`` (:func:`random_quanvolution_circuit` with
            ``weight_params`` as its angles), ``"none"`` (encoding only), or a custom circuit on
            ``num_qubits`` qubits whose parameters (in ``circuit.parameters`` order) are the
            weights.
        reps: ``depth`` of ``"qccnn"`` (default 4) or ``num_layers`` of ``"random"`` (default 1);
            ignored otherwise.
        rotation: Rotation of ``"hqnn"``.
        seed: Structure seed of ``"random"``.
        input_params: ``num_qubits`` input parameters; default ``ParameterVector("x")``.
        weight_params: Weight parameters; default ``ParameterVector("w")`` (for a custom ansatz:
            replacements for its parameters, in ``circuit.parameters`` order).

    Returns:
        The kernel circuit.

    Raises:
        QDeepValueError: For an unknown encoding or ansatz, a size mismatch, or an ansatz that
            shares parameters with the inputs.
    """
    num_qubits = _check_num_qubits(num_qubits)
    x = _params(input_params, "x", num_qubits, "input_params")
    circuit = quanvolution_encoding(num_qubits, encoding, x)
    circuit.name = "quanv_kernel"
    if isinstance(ansatz, QuantumCircuit):
        if ansatz.num_qubits != num_qubits:
            raise QDeepValueError(
                f"The ansatz acts on {ansatz.num_qubits} qubits but the kernel has {num_qubits} "
                "(kernel height * width)."
            )
        own = list(ansatz.parameters)
        if set(own) & set(x):
            raise QDeepValueError("The ansatz must not use the input parameters.")
        if weight_params is not None:
            w = _params(weight_params, "w", len(own), "weight_params")
            ansatz = ansatz.assign_parameters(dict(zip(own, w, strict=True)))
        circuit.compose(ansatz, inplace=True)
        return circuit
    if ansatz == "hqnn":
        if num_qubits != 4:
            raise QDeepValueError(
                f"ansatz='hqnn' is the 4-qubit HQNN-Quanv kernel (a 2 x 2 patch), got "
                f"{num_qubits} qubits."
            )
        block = hqnn_quanv_ansatz(weight_params, rotation=rotation)
    elif ansatz == "qccnn":
        block = qccnn_ansatz(num_qubits, 4 if reps is None else reps, weight_params)
    elif ansatz == "random":
        w = _params(
            weight_params, "w", num_ansatz_weights("random", num_qubits, reps), "weight_params"
        )
        block = random_quanvolution_circuit(
            num_qubits, 1 if reps is None else reps, seed=seed, weight_params=w
        )
    elif ansatz == "none":
        _params(weight_params, "w", 0, "weight_params")
        return circuit
    else:
        raise QDeepValueError(
            f"ansatz must be one of {ANSATZES} or a QuantumCircuit, got {ansatz!r}."
        )
    circuit.compose(block, inplace=True)
    return circuit
