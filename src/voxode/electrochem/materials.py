"""Parameter sets for the discharge model: data files (YAML) with their citations.

A set names the active material (NMC), the carbon-binder domain, the electrolyte, the
separator, the current collector and the Li-metal counter electrode. Functions of state (OCP,
solid diffusivity, electrolyte conductivity and diffusivity, Li-foil exchange current) are
closed-form expressions in one variable, ``x`` (stoichiometry) or ``c`` (electrolyte
concentration, mol/m^3), built from numbers, + - * / **, and tanh/exp/log/sqrt/sinh/cosh.
Their derivatives are generated from the expression once (:mod:`.derivative`), so a user's own
expression needs no hand-written derivative. The solid diffusivity is a number or such an
expression in ``x``.

Physics options are data too: the CBD's ionic transport (``cbd.ionic_model``: ``bruggeman``
D/D0 = eps_n^b, ``macmullin`` D/D0 = 1/N_M, or ``blocking``: no electrolyte in the CBD) and a
current-collector contact resistance (``collector.contact_resistance_ohm_cm2``).
"""

from __future__ import annotations

import ast
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voxode.electrochem.defaults import DEFAULT_PARAMETER_SET
from voxode.electrochem.derivative import value_and_slope_function
from voxode.errors import ParameterError
from voxode.validation import load_validated, validated

FARADAY_C_MOL = 96485.33212
GAS_CONSTANT_J_MOL_K = 8.314462618
# Largest overpotential + ohmic drop a discharge is expected to need below the OCP (V); a
# cut-off lower than min U(x) minus this is refused (ParameterSet.cutoff_range_v).
KINETIC_ALLOWANCE_V = 1.0

_FUNCTIONS = {
    "tanh": np.tanh,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "sinh": np.sinh,
    "cosh": np.cosh,
}
_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Call,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.USub,
    ast.UAdd,
)


class Expression:
    """A scalar function of one variable given as a restricted arithmetic expression."""

    def __init__(self, text: str, variable: str):
        self.text = " ".join(str(text).split())
        self.variable = variable
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as exc:
            raise ValueError(f"cannot parse {self.text!r}: {exc.msg}") from None
        for node in ast.walk(tree):
            if not isinstance(node, _NODES):
                raise ValueError(f"{type(node).__name__} not allowed in {self.text!r}")
            if isinstance(node, ast.Name) and node.id not in (*_FUNCTIONS, variable):
                raise ValueError(
                    f"unknown name {node.id!r} in {self.text!r} (the variable is {variable!r})"
                )
            if isinstance(node, ast.Call) and not (
                isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
            ):
                raise ValueError(f"only {sorted(_FUNCTIONS)} may be called in {self.text!r}")
        self._tree = tree
        self._code = compile(tree, "<parameter>", "eval")

    def __call__(self, value):
        """The expression at ``value`` (a number or an array; a constant formula is broadcast
        to the shape of ``value``)."""
        return _shaped(self.evaluate(value, _FUNCTIONS), value)

    def evaluate(self, value, functions: dict):
        """The expression with its variable bound to ``value`` and its functions taken from
        ``functions`` (names as in ``_FUNCTIONS``), e.g. symbolic ones of another library."""
        scope = dict(functions)
        scope[self.variable] = value
        return eval(self._code, {"__builtins__": {}}, scope)  # noqa: S307 - AST-checked above

    @cached_property
    def _value_and_slope(self):
        return value_and_slope_function(self._tree, self.variable, _FUNCTIONS)

    def with_derivative(self, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Value and first derivative at ``value``, from the derivative generated once from
        the expression (:func:`.derivative.value_and_slope_function`).

        Parameters
        ----------
        value : ndarray
            Where to evaluate, in the variable's unit.

        Returns
        -------
        tuple of ndarray
            The expression and its derivative, each shaped like ``value``, in the expression's
            unit and that unit per unit of the variable.
        """
        x = np.asarray(value, dtype=float)
        out, slope = self._value_and_slope(x)
        return _shaped(out, x), _shaped(slope, x)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def _shaped(out, like):
    """``out``, or a constant ``out`` broadcast to the shape of ``like`` (a new array)."""
    return np.broadcast_to(out, np.shape(like)).copy() if np.ndim(out) < np.ndim(like) else out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


SolidDiffusionModel = Literal["voxels", "spheres"]


class ActiveMaterial(_Strict):
    """NMC: capacity (mol/m^3), initial stoichiometry, OCP U(x) (V), D_s (m^2/s), kinetics and
    electronic conductivity (S/m).

    ``solid_diffusion`` says where Li diffuses inside a particle: on the particle's ``voxels``
    (3D, resolved only where the diffusion length sqrt(D_s t) spans several voxels), or in the
    particle's volume-equivalent ``spheres``, radially resolved with shells refined toward the
    surface (:data:`voxode.electrochem.grid.SPHERE_SHELLS`); each particle then has one surface
    concentration."""

    c_max_mol_m3: float = Field(gt=0)
    x_initial: float = Field(gt=0, lt=1)
    ocp_v: str
    diffusivity_m2_s: float | str = Field(description="m^2/s: a number or an expression in x")
    rate_constant: float = Field(gt=0, description="A/m^2 (m^3/mol)^1.5")
    charge_transfer_coefficient: float = Field(gt=0, lt=1)
    conductivity_s_m: float = Field(gt=0)
    solid_diffusion: SolidDiffusionModel = "voxels"

    @field_validator("ocp_v")
    @classmethod
    def _ocp(cls, text: str) -> str:
        return _check_expression(text, "x", np.linspace(0.0, 1.0, 101), positive=False)

    @field_validator("diffusivity_m2_s")
    @classmethod
    def _diffusivity(cls, value: float | str) -> float | str:
        if isinstance(value, str):
            return _check_expression(value, "x", np.linspace(0.0, 1.0, 101), positive=True)
        if not (value > 0 and np.isfinite(value)):
            raise ValueError(f"must be > 0, got {value!r}")
        return value


CbdIonicModel = Literal["bruggeman", "macmullin", "blocking"]


class CarbonBinder(_Strict):
    """Carbon-binder domain: electronic conductivity (S/m, per CBD volume) and ionic transport
    in its nanopores, D/D0 = kappa/kappa0 = eps_n^bruggeman (``bruggeman``), 1/macmullin_number
    (``macmullin``), or none (``blocking``: the CBD holds no electrolyte and its NMC contacts
    do not react)."""

    conductivity_s_m: float = Field(gt=0)
    bruggeman: float = Field(ge=0)
    ionic_model: CbdIonicModel = "bruggeman"
    macmullin_number: float | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _macmullin(self) -> CarbonBinder:
        if self.ionic_model == "macmullin" and self.macmullin_number is None:
            raise ValueError("ionic_model 'macmullin' needs macmullin_number (>= 1)")
        return self

    def relative_diffusivity(self, nanoporosity: np.ndarray) -> np.ndarray:
        """D/D0 (= kappa/kappa0) of CBD voxels of nanoporosity ``nanoporosity``."""
        eps = np.asarray(nanoporosity, dtype=float)
        if self.ionic_model == "blocking":
            return np.zeros_like(eps)
        if self.ionic_model == "macmullin":
            return np.where(eps > 0, 1.0 / self.macmullin_number, 0.0)
        return eps**self.bruggeman

    def liquid_fraction(self, nanoporosity: np.ndarray) -> np.ndarray:
        """Electrolyte volume fraction of CBD voxels (0 for a blocking CBD)."""
        eps = np.asarray(nanoporosity, dtype=float)
        return np.zeros_like(eps) if self.ionic_model == "blocking" else eps


class CurrentCollector(_Strict):
    """Contact between the electrode and its current collector: a series resistance per
    electrode area (ohm cm^2); the terminal voltage is the collector potential minus I R."""

    contact_resistance_ohm_cm2: float = Field(default=0.0, ge=0)


class Electrolyte(_Strict):
    c_initial_mol_m3: float = Field(gt=0)
    conductivity_s_m: str
    diffusivity_m2_s: str
    transference_number: float = Field(ge=0, lt=1)
    thermodynamic_factor: float = Field(gt=0)

    @field_validator("conductivity_s_m", "diffusivity_m2_s")
    @classmethod
    def _positive(cls, text: str) -> str:
        return _check_expression(text, "c", np.linspace(1.0, 4000.0, 200), positive=True)


class Separator(_Strict):
    thickness_um: float = Field(gt=0)
    porosity: float = Field(gt=0, le=1)
    bruggeman: float = Field(ge=0)


class LithiumFoil(_Strict):
    exchange_current_a_m2: str
    charge_transfer_coefficient: float = Field(gt=0, lt=1)

    @field_validator("exchange_current_a_m2")
    @classmethod
    def _positive(cls, text: str) -> str:
        return _check_expression(text, "c", np.linspace(1.0, 4000.0, 200), positive=True)


class ParameterSet(_Strict):
    """A complete, validated parameter set (SI units unless the field name says otherwise).

    Attributes
    ----------
    name, description : str
        The set's name and what it is.
    temperature_k : float
        Cell temperature (K).
    references : dict of str to str
        Sources of the values.
    active : ActiveMaterial
        NMC: capacity, OCP, diffusivity, kinetics, conductivity.
    cbd : CarbonBinder
        Carbon-binder domain: conductivity, Bruggeman exponent of its nanopores.
    electrolyte : Electrolyte
        Salt concentration, diffusivity, conductivity, transference, activity (expressions).
    separator : Separator
        Thickness and porosity.
    lithium_foil : LithiumFoil
        The counter electrode's exchange current.
    collector : CurrentCollector
        Contact resistance.
    """

    name: str
    description: str = ""
    temperature_k: float = Field(gt=0)
    references: dict[str, str] = {}
    active: ActiveMaterial
    cbd: CarbonBinder
    electrolyte: Electrolyte
    separator: Separator
    lithium_foil: LithiumFoil
    collector: CurrentCollector = CurrentCollector()

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, ignored_types=(cached_property,)
    )

    @cached_property
    def ocp(self) -> Expression:
        """U(x) in V."""
        return Expression(self.active.ocp_v, "x")

    @cached_property
    def solid_diffusivity(self) -> Expression:
        """D_s(x) in m^2/s (a constant set gives a constant expression)."""
        d = self.active.diffusivity_m2_s
        return Expression(repr(float(d)) if not isinstance(d, str) else d, "x")

    @property
    def constant_solid_diffusivity(self) -> bool:
        """True when D_s is a number (not an expression in x)."""
        return not isinstance(self.active.diffusivity_m2_s, str)

    @cached_property
    def kappa(self) -> Expression:
        """Electrolyte conductivity kappa(c) in S/m, c in mol/m^3."""
        return Expression(self.electrolyte.conductivity_s_m, "c")

    @cached_property
    def diffusivity_e(self) -> Expression:
        """Electrolyte salt diffusivity D(c) in m^2/s."""
        return Expression(self.electrolyte.diffusivity_m2_s, "c")

    @cached_property
    def foil_i0(self) -> Expression:
        """Li-foil exchange current density i0(c_e) in A/m^2."""
        return Expression(self.lithium_foil.exchange_current_a_m2, "c")

    def cutoff_range_v(self) -> tuple[float, float]:
        """(lowest, highest) cut-off voltage a discharge of this set can be given (V vs Li/Li+).

        The highest is the OCV of the start state, U(x_initial): a discharge must start above its
        cut-off. The lowest is the OCP's minimum over x_initial..1 less
        :data:`KINETIC_ALLOWANCE_V`: below it no plausible overpotential reaches the cut-off, and a
        run could only end on saturated particle surfaces.

        Returns
        -------
        tuple of float
            (lowest, highest) cut-off (V vs Li/Li+).
        """
        x = np.linspace(self.active.x_initial, 1.0, 201)
        return float(np.min(self.ocp(x))) - KINETIC_ALLOWANCE_V, float(
            self.ocp(self.active.x_initial)
        )

    @property
    def thermal_voltage_v(self) -> float:
        """RT/F in V."""
        return GAS_CONSTANT_J_MOL_K * self.temperature_k / FARADAY_C_MOL


def _check_expression(text: str, variable: str, samples: np.ndarray, positive: bool) -> str:
    expression = Expression(text, variable)
    with np.errstate(all="ignore"):
        values = np.asarray(expression(samples), dtype=float)
    if values.shape != samples.shape or not np.all(np.isfinite(values)):
        raise ValueError(
            f"{text!r} is not finite for {variable} in [{samples[0]:g}, {samples[-1]:g}]"
        )
    if positive and np.any(values <= 0):
        raise ValueError(
            f"{text!r} must be > 0 for {variable} in [{samples[0]:g}, {samples[-1]:g}]"
        )
    return expression.text


def available_parameter_sets() -> list[str]:
    """Names of the parameter sets shipped with voxode.

    Returns
    -------
    list of str
        Names accepted by :func:`load_parameters`.
    """
    folder = resources.files("voxode.electrochem") / "params"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_parameters(name_or_path: str | Path = DEFAULT_PARAMETER_SET) -> ParameterSet:
    """A shipped set by name, a user's YAML file, or a BPX JSON file (completed by the default
    set where BPX is silent, see :mod:`.bpx_import`); raises ParameterError in one line.

    Parameters
    ----------
    name_or_path : str or Path
        A shipped set's name, a YAML file or a BPX JSON file.

    Returns
    -------
    ParameterSet
        The validated set (SI units unless a field's name says otherwise).
    """
    path = Path(name_or_path)
    if path.suffix.lower() == ".json":
        from voxode.electrochem.bpx_import import load_bpx

        return load_bpx(path)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ParameterError(f"parameter file {path} not found")
        text = path.read_text()
    elif str(name_or_path) in available_parameter_sets():
        text = (
            resources.files("voxode.electrochem") / "params" / f"{name_or_path}.yaml"
        ).read_text()
    else:
        raise ParameterError(
            f"unknown parameter set {str(name_or_path)!r}; shipped sets: "
            f"{', '.join(available_parameter_sets())}, or give a YAML file"
        )
    return load_validated(
        ParameterSet, text, str(name_or_path), ParameterError, what="a parameter set"
    )


def with_values(
    params: ParameterSet, values: dict[str, float | str], *, name: str | None = None
) -> ParameterSet:
    """A copy of ``params`` with fields replaced by dotted name, validated like a file.

    Parameters
    ----------
    params : ParameterSet
        The set to start from.
    values : dict of str to float or str
        New values by dotted field name, in the field's own units, e.g.
        ``{"active.rate_constant": 4.4e-6, "collector.contact_resistance_ohm_cm2": 5.0}``.
    name : str, optional
        The copy's name (default: unchanged).

    Returns
    -------
    ParameterSet

    Raises
    ------
    ParameterError
        An unknown field name or a value that does not validate (one line).

    Examples
    --------
    >>> p = with_values(load_parameters(), {"cbd.bruggeman": 2.0})
    >>> p.cbd.bruggeman
    2.0
    """
    data = params.model_dump()
    for dotted, value in values.items():
        node = data
        *path, leaf = dotted.split(".")
        for key in path:
            if not isinstance(node.get(key), dict):
                raise ParameterError(f"unknown parameter {dotted!r} (section {key!r})")
            node = node[key]
        if leaf not in node:
            raise ParameterError(
                f"unknown parameter {dotted!r}; {'.'.join(path) or 'the set'} has "
                f"{', '.join(sorted(node))}"
            )
        node[leaf] = value
    if name is not None:
        data["name"] = name
    return validated(ParameterSet, data, "", ParameterError)
