"""Analytic first derivatives of the parameter expressions of :mod:`.materials`.

An expression's tree (numbers, the variable, + - * / **, unary minus, and the functions
tanh/exp/log/sqrt/sinh/cosh) is differentiated once, by forward-mode rules, into straight-line
Python: one assignment per distinct subtree for its value and, where the subtree depends on the
variable, one for its derivative. Subtrees without the variable are evaluated once into numbers
(as the expression itself evaluates them, so the values are the expression's), and repeated
subtrees such as ``(c/1000)`` are computed once. The generated function needs real arithmetic
only. It replaced the complex step in the model's residual, where complex ``tanh``, ``exp`` and
``**`` took 5-6 ms of a 9 ms residual on paper-pristine at 1.5 um (95k unknowns); the whole
residual now takes 3.5 ms. The two agree to 1e-13 relative where no term cancels
(tests/test_derivative.py).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable

import numpy as np

# f'(a) of each function, from its argument {a} and its value {v}
_FUNCTION_SLOPES = {
    "tanh": "(1.0 - {v} * {v})",
    "exp": "{v}",
    "log": "(1.0 / {a})",
    "sqrt": "(0.5 / {v})",
    "sinh": "cosh({a})",
    "cosh": "sinh({a})",
}
_ONE = "1.0"


def _times(a: str, b: str) -> str:
    """Code of a * b, with a factor 1.0 left out."""
    if a == _ONE:
        return b
    return a if b == _ONE else f"{a} * {b}"


class _Writer:
    """Writes the value and derivative assignments of the subtrees of one expression."""

    def __init__(self, variable: str, constant: Callable[[ast.expr], float]):
        self.variable = variable
        self.lines: list[str] = []
        self._constant = constant
        self._done: dict[str, tuple[str, str | None]] = {}

    def _assign(self, code: str) -> str:
        name = f"t{len(self.lines)}"
        self.lines.append(f"{name} = {code}")
        return name

    def _depends(self, node: ast.expr) -> bool:
        return any(isinstance(n, ast.Name) and n.id == self.variable for n in ast.walk(node))

    def visit(self, node: ast.expr) -> tuple[str, str | None]:
        """Names (or literals) of the value and derivative of ``node``; None: derivative 0."""
        if not self._depends(node):
            return f"({float(self._constant(node))!r})", None
        if isinstance(node, ast.Name):
            return self.variable, _ONE
        key = ast.dump(node)
        if key not in self._done:
            self._done[key] = self._differentiate(node)
        return self._done[key]

    def _differentiate(self, node: ast.expr) -> tuple[str, str | None]:
        if isinstance(node, ast.UnaryOp):
            a, da = self.visit(node.operand)
            if isinstance(node.op, ast.UAdd):
                return a, da
            return self._assign(f"-{a}"), self._assign(f"-{da}")
        if isinstance(node, ast.Call):
            if len(node.args) != 1 or node.keywords:
                raise ValueError(f"{node.func.id} takes one argument")
            a, da = self.visit(node.args[0])
            v = self._assign(f"{node.func.id}({a})")
            slope = _FUNCTION_SLOPES[node.func.id].format(a=a, v=v)
            return v, self._assign(_times(slope, da))
        return self._binary(node)

    def _binary(self, node: ast.BinOp) -> tuple[str, str | None]:
        (a, da), (b, db) = self.visit(node.left), self.visit(node.right)
        op = node.op
        if isinstance(op, ast.Add | ast.Sub):
            sign = "+" if isinstance(op, ast.Add) else "-"
            v = self._assign(f"{a} {sign} {b}")
            if db is None:
                return v, da
            d = f"{sign}{db}" if da is None else f"{da} {sign} {db}"
            return v, self._assign(d)
        if isinstance(op, ast.Mult):
            terms = [_times(da, b)] if da is not None else []
            terms += [_times(a, db)] if db is not None else []
            return self._assign(f"{a} * {b}"), self._assign(" + ".join(terms))
        if isinstance(op, ast.Div):
            v = self._assign(f"{a} / {b}")
            if db is None:
                return v, self._assign(f"{da} / {b}")
            top = f"-{v} * {db}" if da is None else f"({da} - {v} * {db})"
            return v, self._assign(f"{top} / {b}")
        v = self._assign(f"{a} ** {b}")
        if db is None:  # constant exponent
            power = f"({float(self._constant(node.right)) - 1.0!r})"
            return v, self._assign(_times(f"{b} * {a} ** {power}", da))
        if da is None:  # constant base
            return v, self._assign(_times(f"{v} * ({math.log(self._constant(node.left))!r})", db))
        return v, self._assign(f"{v} * ({db} * log({a}) + {b} * {da} / {a})")


def value_and_slope_function(
    tree: ast.Expression, variable: str, functions: dict[str, Callable]
) -> Callable[[np.ndarray], tuple[np.ndarray | float, np.ndarray | float]]:
    """A function returning the value of ``tree`` at an array of its variable and the first
    derivative with respect to it, generated once.

    Parameters
    ----------
    tree : ast.Expression
        The checked tree of the expression (see :class:`.materials.Expression`).
    variable : str
        The name of its variable.
    functions : dict of str to callable
        The functions the tree may call (numpy ufuncs).

    Returns
    -------
    callable
        ``f(x) -> (value, derivative)``, each an array like ``x`` or a number where it does
        not depend on ``x``, in the expression's unit and that unit per unit of ``x``.
    """

    def constant(node: ast.expr) -> float:
        code = compile(ast.Expression(body=node), "<parameter>", "eval")
        return eval(code, {"__builtins__": {}}, dict(functions))  # noqa: S307 - checked tree

    writer = _Writer(variable, constant)
    value, slope = writer.visit(tree.body)
    body = "".join(f"    {line}\n" for line in writer.lines)
    source = f"def value_and_slope({variable}):\n{body}    return {value}, {slope or 0.0}\n"
    scope = {"__builtins__": {}, **functions}
    exec(compile(source, "<parameter derivative>", "exec"), scope)  # noqa: S102 - generated
    return scope["value_and_slope"]
