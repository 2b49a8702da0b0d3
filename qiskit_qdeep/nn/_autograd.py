# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""The one autograd bridge between torch modules and primitive runners."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from ..exceptions import QiskitQDeepError

#: ``(values (N, P), wrt or None) -> (outputs (N, ...), jacobian (N, ..., P) or None)``
RunFn = Callable[[np.ndarray, "list[int] | None"], "tuple[np.ndarray, np.ndarray | None]"]


def first_order_only(path: str):
    """Decorates a ``backward`` that cannot be differentiated again.

    Plain ``once_differentiable`` lets ``torch.autograd.functional.hessian`` and
    ``create_graph=True`` silently return zero second derivatives (the recorded gradient has no
    graph). This raises a clear error instead when the backward pass is being recorded.
    """

    def wrap(backward):
        inner = once_differentiable(backward)

        @functools.wraps(backward)
        def checked(ctx, *grads):
            if torch.is_grad_enabled():  # create_graph=True: a second derivative is wanted
                raise QiskitQDeepError(
                    f"Second-order derivatives (create_graph=True, hessian, double backward) "
                    f"are not available on the {path} path: its Jacobian comes from shifted "
                    "circuit evaluations and is not itself differentiable. Use "
                    "gradient='backprop' (the exact engine supports higher derivatives) or "
                    "finite differences of the first derivative."
                )
            return inner(ctx, *grads)

        return checked

    return wrap


class _PrimitiveFunction(torch.autograd.Function):
    """Runs ``run_fn`` on ``[inputs | broadcast weights]`` and back-propagates its Jacobian.

    The Jacobian comes from the same primitive call as the forward values (parameter shift in one
    run), so ``backward`` only contracts it with the upstream gradient.
    """

    @staticmethod
    def forward(ctx, inputs, weights, run_fn, need_inputs, need_weights):  # pylint: disable=arguments-differ
        num_inputs = inputs.shape[-1]
        num_weights = weights.shape[-1]
        values = np.concatenate(
            [
                inputs.detach().cpu().double().numpy(),
                np.broadcast_to(
                    weights.detach().cpu().double().numpy(), (inputs.shape[0], num_weights)
                ),
            ],
            axis=1,
        )
        wrt: list[int] = []
        if need_inputs:
            wrt.extend(range(num_inputs))
        if need_weights:
            wrt.extend(range(num_inputs, num_inputs + num_weights))
        if wrt:
            outputs, jacobian = run_fn(values, wrt)
        else:
            outputs, jacobian = run_fn(values, None)
        ctx.num_inputs = num_inputs
        ctx.dtype = inputs.dtype
        ctx.device = inputs.device
        ctx.weight_dtype = weights.dtype
        ctx.per_row_weights = weights.dim() == 2
        ctx.jacobian = jacobian
        return torch.as_tensor(outputs, dtype=inputs.dtype, device=inputs.device)

    @staticmethod
    @first_order_only("parameter-shift")
    def backward(ctx, grad_output):  # pylint: disable=arguments-differ
        jacobian = ctx.jacobian
        grad_inputs = grad_weights = None
        if jacobian is None:
            return None, None, None, None, None
        jac = torch.as_tensor(jacobian, dtype=grad_output.dtype, device=grad_output.device)
        jac = jac.reshape(jac.shape[0], -1, jac.shape[-1])
        grad = grad_output.reshape(grad_output.shape[0], -1)
        if ctx.needs_input_grad[0]:
            grad_inputs = torch.einsum("bo,boi->bi", grad, jac[..., : ctx.num_inputs])
        if ctx.needs_input_grad[1]:
            pattern = "bo,bow->bw" if ctx.per_row_weights else "bo,bow->w"
            grad_weights = torch.einsum(pattern, grad, jac[..., ctx.num_inputs :]).to(
                ctx.weight_dtype
            )
        return grad_inputs, grad_weights, None, None, None


@torch.compiler.disable
def primitive_apply(inputs: torch.Tensor, weights: torch.Tensor, run_fn: RunFn) -> torch.Tensor:
    """Applies ``run_fn`` with parameter-shift gradients to a batch.

    Args:
        inputs: ``(batch, num_inputs)``.
        weights: ``(num_weights,)`` shared by all rows, or ``(batch, num_weights)`` per row (e.g.
            gathered from a ``(num_circuits, num_weights)`` parameter: autograd then scatters the
            per-row gradients back).
        run_fn: Evaluates the values ``(batch, num_inputs + num_weights)``; with a ``wrt`` list it
            also returns the Jacobian for those parameter indices.

    Returns:
        The outputs as a tensor with ``inputs``' dtype and device.
    """
    grad_on = torch.is_grad_enabled()
    need_inputs = grad_on and inputs.requires_grad
    need_weights = grad_on and weights.requires_grad
    return _PrimitiveFunction.apply(inputs, weights, run_fn, need_inputs, need_weights)
