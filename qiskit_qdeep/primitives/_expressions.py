# This code is part of qiskit-qdeep.
#
# Licensed under the Apache License, Version 2.0.
"""Vectorised evaluation of gate-parameter expressions.

A parameterized circuit holds one :class:`~qiskit.circuit.ParameterExpression` (or a plain number)
per gate parameter *occurrence*. Both the parameter-shift engine and the torch statevector engine
need the numeric angle of every occurrence for a whole batch of parameter values, and the
Jacobian ``d angle_j / d theta_k`` for the chain rule. :class:`ParameterMap` does this once per
circuit template: affine expressions (the overwhelmingly common case, ``a * theta + b``) become a
dense matrix product; other expressions are compiled with :func:`sympy.lambdify`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy
from qiskit.circuit import Parameter, ParameterExpression

from ..exceptions import QDeepValueError

_TORCH_FUNCS = None


def _torch_modules() -> list[Any]:
    global _TORCH_FUNCS  # pylint: disable=global-statement
    if _TORCH_FUNCS is None:
        import torch

        _TORCH_FUNCS = {
            "sin": torch.sin,
            "cos": torch.cos,
            "tan": torch.tan,
            "asin": torch.asin,
            "acos": torch.acos,
            "atan": torch.atan,
            "exp": torch.exp,
            "log": torch.log,
            "sqrt": torch.sqrt,
            "Abs": torch.abs,
            "sign": torch.sign,
            "pi": np.pi,
            "E": np.e,
        }
    return [_TORCH_FUNCS, "math"]


def _is_number(value: Any) -> bool:
    return not isinstance(value, ParameterExpression)


#: Compiled functions by (kind, canonical expression): circuits repeat the same expression
#: shapes on different parameters (feature maps), and compiling with ``lambdify`` dominates
#: the compile time of a new circuit.
_LAMBDIFY_CACHE: dict[tuple[str, str], Any] = {}
_LAMBDIFY_CACHE_SIZE = 512


def _lambdify(kind: str, symbols, expression):
    key = (kind, f"{len(symbols)}:{sympy.srepr(expression)}")
    func = _LAMBDIFY_CACHE.get(key)
    if func is None:
        modules = _torch_modules() if kind == "torch" else "numpy"
        func = sympy.lambdify(symbols, expression, modules=modules)
        if len(_LAMBDIFY_CACHE) >= _LAMBDIFY_CACHE_SIZE:
            _LAMBDIFY_CACHE.pop(next(iter(_LAMBDIFY_CACHE)))
        _LAMBDIFY_CACHE[key] = func
    return func


class _LazyFunctions:
    """The numpy, gradient and torch functions of one expression, compiled on first use."""

    __slots__ = ("_symbols", "_value", "_grads", "_compiled")

    def __init__(self, symbols, value, grads) -> None:
        self._symbols = symbols
        self._value = value
        self._grads = grads
        self._compiled: dict[str, Any] = {}

    def __getitem__(self, kind: str):
        func = self._compiled.get(kind)
        if func is None:
            if kind == "grad":
                func = [_lambdify("numpy", self._symbols, g) for g in self._grads]
            else:
                func = _lambdify(kind, self._symbols, self._value)
            self._compiled[kind] = func
        return func


class ParameterMap:
    """Evaluates a list of gate-parameter expressions on batches of parameter values.

    Args:
        expressions: One entry per occurrence: a number or a
            :class:`~qiskit.circuit.ParameterExpression` over ``parameters``.
        parameters: The ordered circuit parameters; values passed to the evaluation methods have
            this order on their last axis.
        scales: Optional numeric factor per expression (output ``j`` is
            ``scales[j] * expressions[j]``). Passing a factor is much cheaper than building the
            scaled :class:`~qiskit.circuit.ParameterExpression`.

    Raises:
        QDeepValueError: If an expression uses a parameter not in ``parameters`` or is complex.
    """

    def __init__(
        self,
        expressions: Sequence[ParameterExpression | float],
        parameters: Sequence[Parameter],
        scales: Sequence[float] | None = None,
    ) -> None:
        self.parameters = list(parameters)
        self.num_parameters = len(self.parameters)
        self.num_outputs = len(expressions)
        index = {param: i for i, param in enumerate(self.parameters)}
        coeffs = np.zeros((self.num_outputs, self.num_parameters))
        offset = np.zeros(self.num_outputs)
        nonlinear: list[tuple[int, list[int], Any, list[Any]]] = []
        for j, expr in enumerate(expressions):
            if _is_number(expr):
                offset[j] = float(np.real(expr))
                continue
            if isinstance(expr, Parameter):
                if expr not in index:
                    raise QDeepValueError(
                        f"Gate parameter '{expr}' is not among the given parameters."
                    )
                coeffs[j, index[expr]] = 1.0
                continue
            expr_params = list(expr.parameters)
            missing = [p for p in expr_params if p not in index]
            if missing:
                raise QDeepValueError(
                    f"Gate parameter expression '{expr}' uses {missing}, which are not among the "
                    "given parameters."
                )
            grads = [expr.gradient(p) for p in expr_params]
            if all(_is_number(g) for g in grads):
                for p, g in zip(expr_params, grads):
                    coeffs[j, index[p]] = float(np.real(complex(g)))
                bound = expr.bind({p: 0.0 for p in expr_params})
                offset[j] = float(np.real(complex(bound.numeric())))
            else:
                nonlinear.append(self._compile(j, expr, expr_params, grads, index))
        if scales is not None:
            scales = np.asarray(scales, dtype=float)
            if scales.shape != (self.num_outputs,):
                raise QDeepValueError(
                    f"scales must hold one factor per expression ({self.num_outputs}), got shape "
                    f"{scales.shape}."
                )
            coeffs *= scales[:, None]
            offset *= scales
            nonlinear = [
                (j, cols, funcs, grads, float(scales[j])) for j, cols, funcs, grads, _ in nonlinear
            ]
        self.coeffs = coeffs
        self.offset = offset
        self._nonlinear = nonlinear
        self.affine = not nonlinear

    @staticmethod
    def _compile(j, expr, expr_params, grads, index):
        symbols = [sympy.Symbol(f"_p{i}") for i in range(len(expr_params))]
        subs = {sympy.Symbol(p.name): s for p, s in zip(expr_params, symbols)}
        value = sympy.sympify(expr.sympify()).xreplace(subs)
        # Differentiate with sympy: ``ParameterExpression.gradient(p).sympify()`` of qiskit 2.x can
        # name the wrong symbol (d(a*b)/db sympifies to ``b``), which gave wrong Jacobians.
        grad_exprs = [
            sympy.Float(float(np.real(complex(g)))) if _is_number(g) else sympy.diff(value, s)
            for g, s in zip(grads, symbols)
        ]
        if any(v.has(sympy.I) for v in [value, *grad_exprs]):
            raise QDeepValueError(f"Gate parameter expression '{expr}' is complex.")
        cols = [index[p] for p in expr_params]
        return j, cols, _LazyFunctions(symbols, value, grad_exprs), grad_exprs, 1.0

    def numpy(self, values: np.ndarray) -> np.ndarray:
        """Occurrence angles for ``values`` of shape ``(..., num_parameters)``.

        Returns:
            Array of shape ``(..., num_outputs)``.
        """
        values = np.asarray(values, dtype=float)
        out = values @ self.coeffs.T + self.offset
        for j, cols, funcs, _, scale in self._nonlinear:
            args = [values[..., c] for c in cols]
            out[..., j] = scale * np.broadcast_to(funcs["numpy"](*args), out.shape[:-1])
        return out

    def jacobian(self, values: np.ndarray) -> np.ndarray:
        """``d angle_j / d theta_k`` of shape ``(..., num_outputs, num_parameters)``.

        For affine maps the result is broadcast from a constant matrix (no copy).
        """
        values = np.asarray(values, dtype=float)
        batch = values.shape[:-1]
        jac = np.broadcast_to(self.coeffs, batch + self.coeffs.shape)
        if self.affine:
            return jac
        jac = jac.copy()
        for j, cols, funcs, _, scale in self._nonlinear:
            args = [values[..., c] for c in cols]
            for c, grad in zip(cols, funcs["grad"]):
                jac[..., j, c] = scale * np.broadcast_to(grad(*args), batch)
        return jac

    def torch(self, values):
        """Differentiable torch version of :meth:`numpy` (``values``: ``(..., num_parameters)``)."""
        import torch

        coeffs = torch.as_tensor(self.coeffs, dtype=values.dtype, device=values.device)
        offset = torch.as_tensor(self.offset, dtype=values.dtype, device=values.device)
        out = values @ coeffs.T + offset
        if not self._nonlinear:
            return out
        columns = list(out.unbind(-1))
        for j, cols, funcs, _, scale in self._nonlinear:
            args = [values[..., c] for c in cols]
            result = funcs["torch"](*args)
            columns[j] = scale * torch.as_tensor(
                result, dtype=values.dtype, device=values.device
            ).expand(out.shape[:-1])
        return torch.stack(columns, dim=-1)

    def torch_transposed(self, values):
        """:meth:`torch` transposed: occurrence angles ``(num_outputs, B)`` for ``(B, P)``.

        The layout the engines consume (one row per rotation); the affine part is one ``addmm``
        on the transposed values, without materialising ``(B, num_outputs)`` and transposing it.
        """
        import torch

        coeffs = torch.as_tensor(self.coeffs, dtype=values.dtype, device=values.device)
        offset = torch.as_tensor(self.offset, dtype=values.dtype, device=values.device)
        out = torch.addmm(offset.unsqueeze(1), coeffs, values.t())
        if not self._nonlinear:
            return out
        rows = list(out.unbind(0))
        for j, cols, funcs, _, scale in self._nonlinear:
            args = [values[..., c] for c in cols]
            result = funcs["torch"](*args)
            rows[j] = scale * torch.as_tensor(
                result, dtype=values.dtype, device=values.device
            ).expand(out.shape[1:])
        return torch.stack(rows, dim=0)
