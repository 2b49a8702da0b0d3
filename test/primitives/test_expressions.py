# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""ParameterMap: affine and non-linear expressions, numeric scale factors."""

import numpy as np
import pytest
import torch
from qiskit.circuit import Parameter

from qiskit_qdeep.exceptions import QDeepValueError
from qiskit_qdeep.primitives._expressions import ParameterMap

A, B = Parameter("a"), Parameter("b")
EXPRESSIONS = [A, 2 * A - B + 0.5, 0.7, A * B, (A + 1).sin()]


def _reference(values):
    a, b = values[..., 0], values[..., 1]
    return np.stack([a, 2 * a - b + 0.5, np.full_like(a, 0.7), a * b, np.sin(a + 1)], axis=-1)


def test_values_jacobian_and_torch_agree_with_the_expressions():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(4, 2))
    pmap = ParameterMap(EXPRESSIONS, [A, B])
    np.testing.assert_allclose(pmap.numpy(values), _reference(values), atol=1e-12)
    torch_out = pmap.torch(torch.as_tensor(values)).numpy()
    np.testing.assert_allclose(torch_out, _reference(values), atol=1e-12)
    eps = 1e-6
    for k in range(2):
        shift = np.zeros(2)
        shift[k] = eps
        numeric = (_reference(values + shift) - _reference(values - shift)) / (2 * eps)
        np.testing.assert_allclose(pmap.jacobian(values)[..., k], numeric, atol=1e-6)


def test_scales_multiply_every_output_path():
    rng = np.random.default_rng(4)
    values = rng.normal(size=(3, 2))
    scales = np.array([0.5, -1.0, 2.0, 0.25, -0.5])
    plain = ParameterMap(EXPRESSIONS, [A, B])
    scaled = ParameterMap(EXPRESSIONS, [A, B], scales=scales)
    np.testing.assert_allclose(scaled.numpy(values), plain.numpy(values) * scales, atol=1e-12)
    np.testing.assert_allclose(
        scaled.jacobian(values), plain.jacobian(values) * scales[:, None], atol=1e-12
    )
    np.testing.assert_allclose(
        scaled.torch(torch.as_tensor(values)).numpy(), plain.numpy(values) * scales, atol=1e-12
    )
    with pytest.raises(QDeepValueError, match="one factor per expression"):
        ParameterMap(EXPRESSIONS, [A, B], scales=[1.0])
