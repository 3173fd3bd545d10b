"""The generated derivatives of parameter expressions against the complex step: every
differentiation rule, and every expression of every shipped parameter set."""

from __future__ import annotations

import numpy as np
import pytest

from voxode.electrochem.materials import Expression, available_parameter_sets, load_parameters

STEP = 1e-30


def complex_step(expression: Expression, x: np.ndarray) -> np.ndarray:
    """d expression / dx by the complex step (exact to rounding where no term cancels)."""
    return np.asarray(expression(x + 1j * STEP)).imag / STEP


@pytest.mark.parametrize(
    "text",
    [
        "3.5*x - 2/x + x*x - (x + 1)/(x - 4) + -x + +x",
        "x**2.5 + 0.3**x + x**(0.5*x) - (-2.0)**2*x**-1.5",
        "tanh(3*(x - 0.5)) + exp(-x/0.3) + log(1 + x) + sqrt(x) + sinh(x) * cosh(2*x)",
        "1.5e-3*10**(-0.9*exp(-(x - 0.32)**2/0.0025) + (x/10)**3 - 2*(x/10)**1.5)",
        "7.25",
    ],
    ids=["arithmetic", "powers", "functions", "nested", "constant"],
)
def test_every_rule_matches_the_complex_step(text):
    """Each rule (sums, products, quotients, the three kinds of power, unary signs, each
    function, nested and repeated subtrees, a constant) to 1e-10 relative at every point;
    the value is the expression's own, to the last bit."""
    expression = Expression(text, "x")
    x = np.linspace(0.05, 3.0, 301)
    value, slope = expression.with_derivative(x)
    reference = complex_step(expression, x)
    np.testing.assert_array_equal(value, expression(x))
    assert slope.shape == x.shape
    np.testing.assert_allclose(slope, reference, rtol=1e-10, atol=0.0)


@pytest.mark.parametrize("name", available_parameter_sets())
def test_the_shipped_expressions_match_the_complex_step(name):
    """OCP and D_s over a discharge (x from x_initial to 1), kappa, D_e and the foil's i0 over
    c = 1..4000 mol/m^3, to 1e-9 of the largest derivative on the range (1e-13 of each value
    where no term cancels; the 9th-degree polynomial of chen2020-mcclelland2023's D_s, with
    coefficients up to 7e5, loses ~1e-10 of it to cancellation in either method: 6e-11 and 9e-11
    against 50-digit arithmetic)."""
    p = load_parameters(name)
    x = np.linspace(p.active.x_initial, 1.0, 501)
    c = np.linspace(1.0, 4000.0, 501)
    for expression, at in (
        (p.ocp, x),
        (p.solid_diffusivity, x),
        (p.kappa, c),
        (p.diffusivity_e, c),
        (p.foil_i0, c),
    ):
        value, slope = expression.with_derivative(at)
        reference = complex_step(expression, at)
        np.testing.assert_array_equal(value, expression(at))
        scale = np.abs(reference).max()
        assert np.abs(slope - reference).max() <= 1e-9 * scale, expression
