"""`calibrate`: fit parameters of a set to measured capacities at several rates.

The model is PyBaMM's DFN half cell (:mod:`.pybamm_reference`) fed the effective properties of
an electrode image: porosity, active fraction, reactive area, the electrolyte tortuosity
through pores and CBD with the candidate's CBD ionic model, the particle radius and the
effective electronic conductivity, all measured by voxode's own engines. A candidate that
changes a property of the image (CBD transport, NMC or CBD conductivity) gets its properties
measured again; the others reuse them.

Fitted quantities are dotted names of a :class:`~.materials.ParameterSet` field with bounds,
``NAME:LO:HI``; a positive range is searched in log10, any other linearly. A field that holds
an expression in x (a D_s(x)) is fitted as a factor on that expression (bounds are factors).
The residual of a rate is (model - measured) / sigma in mAh/g, sigma the half range of the
measured cells when the data give one, else ``sigma_mah_g``. ``scipy.optimize.least_squares``
(trust region reflective) finds the optimum; a profile over each parameter (the others
re-fitted at every point) gives the range of values whose fit stays within sigma at every
rate: the parameter's identifiability.

Two refinements make the fit transfer to the 3D model (issue 14):

- ``model="dfn-psd"``: PyBaMM's DFN with the image's particle size distribution (the
  volume-equivalent radii of its particles, :func:`.pybamm_reference.particle_radii_um`)
  instead of one particle of the volume-weighted radius.
- ``space_mapping=N``: output-space mapping with the 3D model in the loop. After the fit, the
  fitted set is discharged in 3D at every rate; the DFN is then re-fitted to the measured
  capacities less the 3D - DFN difference at the current set (``measured - (3D - DFN)``), and
  so on, at most N times, until the 3D capacities lie within sigma of the measured at every
  rate. The 3D run of the last set is the verification; the profile is taken on the mapped
  model (DFN + the last difference). With ``map_radius`` (the default) each mapping step
  first fits a factor on the DFN's diffusion radius (radii) to the 3D capacities at the
  current set (input space mapping: the 3D model on a 1 um image behaves like a DFN of a
  smaller radius once solid diffusion limits) and takes the difference from that DFN: the
  surrogate then has the 3D model's sensitivity to D_s, and the re-fit converges in fewer
  3D runs than with the difference alone.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from voxode.atomic import write_text_atomic
from voxode.electrochem.defaults import DEFAULT_CUTOFF_V, DEFAULT_PARAMETER_SET
from voxode.electrochem.grid import build_grid
from voxode.electrochem.materials import ParameterSet, load_parameters, with_values
from voxode.electrode import NMC, Electrode
from voxode.errors import CalibrationError, GridError, VoxodeError
from voxode.extras import require
from voxode.options import check

DEFAULT_SIGMA_MAH_G = 5.0
DEFAULT_PROFILE_POINTS = 9
RADIUS_SCALE_BOUNDS = (0.25, 4.0)  # space mapping: factor on the DFN's diffusion radius
MODELS = {"dfn": "single", "dfn-psd": "distribution"}  # --model: PyBaMM's particle size option
# fields whose change alters the measured effective properties of the image
_IMAGE_FIELDS = ("cbd.", "active.conductivity_s_m")


@dataclass(frozen=True)
class FitParameter:
    """One fitted quantity: a dotted field name and its bounds.

    Attributes
    ----------
    name : str
        Dotted field name, e.g. ``active.rate_constant``.
    lower, upper : float
        Bounds, in the field's units (or of the factor when the field holds an expression).
    factor_of : str, optional
        The expression a factor multiplies.
    """

    name: str
    lower: float
    upper: float
    factor_of: str | None = None  # the expression a factor multiplies

    @property
    def log(self) -> bool:
        """Searched in log10 (a positive range)."""
        return self.lower > 0

    def to_scaled(self, value: float) -> float:
        """The optimiser's coordinate of ``value``.

        Parameters
        ----------
        value : float
            A value in the field's units.

        Returns
        -------
        float
            The optimiser's coordinate: log10 of it for a log-scaled parameter, else itself.
        """
        return math.log10(value) if self.log else value

    def from_scaled(self, scaled: float) -> float:
        """The value at the optimiser's coordinate ``scaled`` (inverse of :meth:`to_scaled`).

        Parameters
        ----------
        scaled : float
            The optimiser's coordinate.

        Returns
        -------
        float
            The value in the field's units.
        """
        return 10.0**scaled if self.log else scaled

    def field_value(self, value: float) -> float | str:
        """What the parameter set's field holds for a fitted ``value``.

        Parameters
        ----------
        value : float
            The fitted value (field units, or the factor).

        Returns
        -------
        float or str
            The number, or the expression multiplied by the factor.
        """
        return f"{value!r}*({self.factor_of})" if self.factor_of is not None else value


def parse_fit(spec: str, base: ParameterSet) -> FitParameter:
    """``NAME:LO:HI`` (or ``NAME`` for a decade either side of the base value) as a FitParameter.

    Parameters
    ----------
    spec : str
        Dotted field name of the parameter set, e.g. ``active.rate_constant:1e-7:1e-5``.
    base : ParameterSet
        The set whose field is fitted (checks the name, gives the start).

    Returns
    -------
    FitParameter

    Raises
    ------
    CalibrationError
        Unknown field, a field that is not a number or an expression in x, or bad bounds.

    Examples
    --------
    >>> p = parse_fit("active.rate_constant:1e-7:1e-5", load_parameters())
    >>> (p.name, p.lower, p.upper, p.log)
    ('active.rate_constant', 1e-07, 1e-05, True)
    """
    name, *bounds = spec.split(":")
    value = _field(base, name)
    factor_of = None
    if isinstance(value, str) and _is_expression(value):
        factor_of, value = value, 1.0
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CalibrationError(f"--fit {spec}: {name} is {value!r}, not a number to fit")
    if not bounds:
        if value <= 0:
            raise CalibrationError(f"--fit {spec}: give bounds NAME:LO:HI ({name} is {value:g})")
        lower, upper = value / 10.0, value * 10.0
    elif len(bounds) == 2:
        try:
            lower, upper = float(bounds[0]), float(bounds[1])
        except ValueError:
            raise CalibrationError(f"--fit {spec}: bounds must be numbers, NAME:LO:HI") from None
    else:
        raise CalibrationError(f"--fit {spec}: expected NAME or NAME:LO:HI")
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise CalibrationError(f"--fit {spec}: need finite bounds with LO < HI")
    return FitParameter(name, lower, upper, factor_of)


def _is_expression(text: str) -> bool:
    """True for a function of x or of c (a field fitted as a factor), False for a word."""
    from voxode.electrochem.materials import Expression

    for variable in ("x", "c"):
        try:
            Expression(text, variable)
            return True
        except ValueError:
            continue
    return False


def _field(params: ParameterSet, dotted: str):
    node = params.model_dump()
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            raise CalibrationError(
                f"unknown parameter {dotted!r} in set {params.name!r} "
                f"(use a dotted field name such as active.rate_constant)"
            )
        node = node[key]
    return node


@dataclass(frozen=True)
class ImageProperties:
    """What the DFN needs from an image for one parameter set (see :func:`image_properties`)."""

    props: object  # pybamm_reference.EffectiveProperties
    nmc_loading_mg_cm2: float
    nominal_capacity_mah_cm2: float


def image_properties(
    electrode: Electrode, params: ParameterSet, cache: dict | None = None
) -> ImageProperties:
    """Effective properties of ``electrode`` under ``params``: the grid's porosity, area and
    active fraction, the tortuosity with the set's CBD model, and the electronic conductivity
    of NMC + CBD (S/m) from the tortuosity engine on the solid phases.

    ``cache`` (a dict kept by the caller) reuses the grid when only the CBD's D/D0 changed and
    the conductivity when neither phase's conductivity changed.

    Raises
    ------
    CalibrationError
        The image cannot be discharged (no ionic or electronic path).
    """
    from voxode.characterize.tortuosity import tortuosity
    from voxode.characterize.transport import TransportFields
    from voxode.electrochem.pybamm_reference import measured_properties
    from voxode.electrode import CBD

    cache = {} if cache is None else cache
    grid_key = ("grid", params.cbd.ionic_model == "blocking", params.separator.model_dump_json())
    if grid_key not in cache:
        try:
            cache[grid_key] = build_grid(electrode, params)
        except GridError as exc:
            raise CalibrationError(f"electrode: {exc}") from None
    grid = cache[grid_key]
    sigma_nmc, sigma_cbd = params.active.conductivity_s_m, params.cbd.conductivity_s_m
    sigma_key = ("sigma", sigma_nmc, sigma_cbd)
    if sigma_key not in cache:
        reference = max(sigma_nmc, sigma_cbd)
        relative = np.where(
            electrode.phases == NMC,
            sigma_nmc / reference,
            np.where(electrode.phases == CBD, sigma_cbd / reference, 0.0),
        )
        solid = TransportFields(diffusivity=relative, liquid=(relative > 0).astype(float))
        cache[sigma_key] = tortuosity(solid).d_eff * reference
    sigma_eff = cache[sigma_key]
    if not sigma_eff > 0:
        raise CalibrationError(
            "electrode: the solid phases do not connect the current collector "
            "to the separator (no effective electronic conductivity)"
        )
    props = measured_properties(electrode, grid, conductivity_s_m=float(sigma_eff), params=params)
    return ImageProperties(props, electrode.nmc_loading_mg_cm2, electrode.nominal_capacity_mah_cm2)


def _image_key(params: ParameterSet) -> str:
    dump = params.model_dump()
    return json.dumps([dump["cbd"], dump["active"]["conductivity_s_m"]], sort_keys=True)


@dataclass
class CalibrationResult:
    """Fitted set, values, residuals and identifiability (see :func:`calibrate`).

    Attributes
    ----------
    params : ParameterSet
        The base set with the fitted values.
    parameters : list of dict
        Per fitted parameter: name, value (field units), bounds, identifiable range.
    rates : pandas.DataFrame
        Per rate: measured, fitted and residual capacities (mAh/g).
    chi2 : float
        Sum of squared residuals over sigma^2.
    success : bool
        Whether the optimiser converged.
    message : str
        The optimiser's message.
    evaluations : int
        DFN evaluations.
    effective_properties : dict
        The image's effective properties fed to the DFN.
    verify_3d : list of dict
        3D discharges with the fitted set, per rate (empty unless asked).
    """

    params: ParameterSet
    parameters: list[dict]
    rates: pd.DataFrame
    chi2: float
    success: bool
    message: str
    evaluations: int
    effective_properties: dict
    verify_3d: list[dict] = field(default_factory=list)
    model: str = "dfn"
    space_mapping: list[dict] = field(default_factory=list)
    radius_scale: float = 1.0

    def to_dict(self) -> dict:
        """The result as plain JSON data (the content of fit.json without its inputs).

        Returns
        -------
        dict
            Fitted parameters, rates (mAh/g), chi2, optimiser outcome, effective properties and
            the 3D checks.
        """
        return {
            "parameters": self.parameters,
            "rates": self.rates.to_dict(orient="records"),
            "chi2": self.chi2,
            "success": self.success,
            "message": self.message,
            "evaluations": self.evaluations,
            "effective_properties": self.effective_properties,
            "fitted_set": self.params.name,
            "model": self.model,
            "space_mapping": self.space_mapping,
            "radius_scale": self.radius_scale,
            "verify_3d": self.verify_3d,
        }


class _Problem:
    """Residuals of the measured rates as a function of the scaled parameter vector."""

    def __init__(
        self,
        electrode: Electrode,
        base: ParameterSet,
        fits: list[FitParameter],
        data: pd.DataFrame,
        sigma_mah_g: float,
        cutoff_v: float,
        mesh: dict | None,
        particle_size: str = "single",
    ):
        self.electrode, self.base, self.fits, self.data = electrode, base, fits, data
        self.cutoff_v, self.mesh, self.particle_size = cutoff_v, mesh, particle_size
        spread = (
            data["range_mah_g"] if "range_mah_g" in data else pd.Series(np.nan, index=data.index)
        )
        self.sigma = np.where(spread.notna() & (spread > 0), 0.5 * spread, sigma_mah_g).astype(
            float
        )
        self.measured = data["capacity_mah_g"].to_numpy(float)
        # output-space mapping: 3D - DFN at the last set run in 3D (zero without)
        self.offset = np.zeros_like(self.measured)
        self.radius_scale = 1.0  # factor on the DFN's diffusion radius (radii)
        self._images: dict[str, ImageProperties] = {}
        self._parts: dict = {}
        self.evaluations = 0
        self.image = self.image_of(base)
        rate = data["c_rate"] if "c_rate" in data else pd.Series(np.nan, index=data.index)
        current = (
            data["current_ma_cm2"]
            if "current_ma_cm2" in data
            else pd.Series(np.nan, index=data.index)
        )
        nominal = self.image.nominal_capacity_mah_cm2
        # the C-rate keeps the current per gram of NMC when the image's loading differs from
        # the cell's
        self.current_ma_cm2 = np.where(rate.notna(), rate * nominal, current).astype(float)

    def image_of(self, params: ParameterSet) -> ImageProperties:
        key = _image_key(params)
        if key not in self._images:
            self._images[key] = image_properties(self.electrode, params, self._parts)
        return self._images[key]

    def params_at(self, values: np.ndarray) -> ParameterSet:
        return with_values(
            self.base,
            {f.name: f.field_value(float(v)) for f, v in zip(self.fits, values, strict=True)},
        )

    def capacities(self, values: np.ndarray) -> np.ndarray:
        """Model capacity (mAh/g) at every rate for parameter values ``values``."""
        from voxode.electrochem.pybamm_reference import dfn_half_cells

        params = self.params_at(values)
        image = self.image_of(params)
        self.evaluations += 1
        props = image.props
        if self.radius_scale != 1.0:
            props = replace(
                props,
                particle_radius_um=props.particle_radius_um * self.radius_scale,
                psd_edges_um=tuple(e * self.radius_scale for e in props.psd_edges_um),
            )
        try:
            curves = dfn_half_cells(
                params,
                props,
                list(self.current_ma_cm2),
                cutoff_v=self.cutoff_v,
                points=2000,
                mesh=self.mesh,
                particle_size=self.particle_size,
            )
            q = np.array([float(c["capacity_mah_cm2"].iloc[-1]) for c in curves])
        except Exception as exc:  # noqa: BLE001 - a candidate PyBaMM cannot solve scores zero
            if isinstance(exc, (KeyboardInterrupt, VoxodeError)):
                raise
            q = np.zeros(len(self.current_ma_cm2))
        return q / image.nmc_loading_mg_cm2 * 1e3

    def residuals(self, scaled: np.ndarray) -> np.ndarray:
        values = np.array([f.from_scaled(s) for f, s in zip(self.fits, scaled, strict=True)])
        return (self.capacities(values) + self.offset - self.measured) / self.sigma

    def fit_radius_scale(self, values: np.ndarray, q3d: np.ndarray) -> float:
        """The factor on the DFN's diffusion radius whose capacities at ``values`` come closest
        to the 3D capacities ``q3d`` (least squares in sigma, within RADIUS_SCALE_BOUNDS)."""
        lo, hi = np.log10(RADIUS_SCALE_BOUNDS)

        def residuals(z):
            self.radius_scale = float(10.0 ** z[0])
            return (self.capacities(values) - q3d) / self.sigma

        start = np.array([np.log10(self.radius_scale)])
        z, _ = _bounded_least_squares(
            residuals, start, np.array([lo]), np.array([hi]), 30, xtol=1e-8
        )
        self.radius_scale = float(10.0 ** z[0])
        return self.radius_scale

    def discharge_3d(
        self,
        values: np.ndarray,
        linear_solver: str,
        say: Callable[[str], None],
        runs_dir: Path | None = None,
    ) -> list[dict]:
        """The 3D model's capacity (mAh/g) at every rate for parameter values ``values``.

        With ``runs_dir`` every discharge runs in a folder of its own there (checkpointed,
        resumed when killed, the outputs of ``voxode simulate``), named by a hash of what
        decides it (the image, the set's physical fields, current, cut-off) and written in
        ``calibrate_3d.json``; a finished run of the same key is read instead of run again."""
        from voxode.electrochem.result import discharge_to_folder
        from voxode.electrochem.simulate import simulate
        from voxode.electrochem.solver import SolverOptions

        params = self.params_at(values)
        rows = []
        for current in self.current_ma_cm2:
            say(f"3D discharge at {current:.3g} mA/cm^2")
            if runs_dir is None:
                run = simulate(
                    self.electrode,
                    current_ma_cm2=float(current),
                    cutoff_v=self.cutoff_v,
                    params=params,
                    options=SolverOptions(linear=linear_solver),
                )
                q, reason, wall, folder = (
                    run.capacity_mah_cm2,
                    run.end.reason.value,
                    run.wall_s,
                    None,
                )
            else:
                key = _run_key(self.electrode, params, float(current), self.cutoff_v)
                folder = Path(runs_dir) / f"3d-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
                summary_path, key_path = folder / "summary.json", folder / "calibrate_3d.json"
                if not (
                    summary_path.is_file() and key_path.is_file() and key_path.read_text() == key
                ):
                    folder.mkdir(parents=True, exist_ok=True)
                    write_text_atomic(key_path, key)
                    discharge_to_folder(
                        self.electrode,
                        folder,
                        current_ma_cm2=float(current),
                        cutoff_v=self.cutoff_v,
                        params=params,
                        options=SolverOptions(linear=linear_solver),
                    )
                summary = json.loads(summary_path.read_text())
                q, reason, wall = (
                    summary["capacity_mah_cm2"],
                    summary["end_reason"],
                    summary["wall_s"],
                )
            rows.append(
                {
                    "current_ma_cm2": float(current),
                    "3d_mah_g": float(q / self.image.nmc_loading_mg_cm2 * 1e3),
                    "end_reason": reason,
                    "wall_s": float(wall),
                    "run_dir": None if folder is None else str(folder),
                }
            )
        return rows


def _run_key(
    electrode: Electrode, params: ParameterSet, current_ma_cm2: float, cutoff_v: float
) -> str:
    """What decides a 3D discharge, as JSON: a hash of the image's arrays, the set without its
    name, description and references, the current and the cut-off."""
    digest = hashlib.sha256()
    for array in (electrode.phases, electrode.particle_ids, electrode.cbd_nanoporosity_planes()):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(repr(electrode.voxel_um).encode())
    physics = {
        k: v
        for k, v in params.model_dump(mode="json").items()
        if k not in ("name", "description", "references")
    }
    return (
        json.dumps(
            {
                "electrode_sha256": digest.hexdigest(),
                "params": physics,
                "current_ma_cm2": current_ma_cm2,
                "cutoff_v": cutoff_v,
            },
            sort_keys=True,
            indent=1,
        )
        + "\n"
    )


def _bounded_least_squares(
    fun: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    max_nfev: int,
    **options,
) -> tuple[np.ndarray, object]:
    """``scipy.optimize.least_squares`` (trf) of ``fun`` within [lower, upper], searched in
    u = 1 + (x - lower) / (upper - lower) in [1, 2]: SciPy's finite-difference step is relative
    to |u| (1e-4 of the span here), where in x it would shrink to noise as x nears 0 (a
    log-scaled factor near 1). Returns x at the optimum and SciPy's result."""
    from scipy.optimize import least_squares

    span = np.maximum(upper - lower, 1e-12)

    def from_unit(u):
        return lower + (u - 1.0) * span

    u0 = np.clip(1.0 + (start - lower) / span, 1.0 + 1e-9, 2.0 - 1e-9)
    result = least_squares(
        lambda u: fun(from_unit(u)),
        u0,
        bounds=(np.ones_like(u0), 2.0 * np.ones_like(u0)),
        method="trf",
        diff_step=1e-4,
        x_scale=0.1,
        max_nfev=max_nfev,
        **options,
    )
    return from_unit(result.x), result


def _least_squares(
    problem: _Problem, start: np.ndarray, lower: np.ndarray, upper: np.ndarray, max_nfev: int
) -> tuple[np.ndarray, object]:
    return _bounded_least_squares(
        problem.residuals, start, lower, upper, max_nfev, xtol=1e-8, ftol=1e-10, gtol=1e-10
    )


def calibrate(
    data: pd.DataFrame,
    electrode: Electrode,
    fits: list[FitParameter],
    *,
    params: ParameterSet | str | Path = DEFAULT_PARAMETER_SET,
    sigma_mah_g: float = DEFAULT_SIGMA_MAH_G,
    cutoff_v: float = DEFAULT_CUTOFF_V,
    profile_points: int = DEFAULT_PROFILE_POINTS,
    mesh: dict[str, int] | None = None,
    max_nfev: int = 60,
    restarts: int = 1,
    verify_3d: bool = False,
    model: str = "dfn",
    space_mapping: int = 0,
    map_radius: bool = True,
    linear_solver: str = "auto",
    runs_dir: Path | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> CalibrationResult:
    """Fit ``fits`` so that the DFN on ``electrode``'s effective properties delivers the
    measured capacities of ``data`` (rows of :func:`.rate_data.read_rate_data`).

    Parameters
    ----------
    data : pandas.DataFrame
        Rates (``c_rate`` relative to the image's nominal capacity, else ``current_ma_cm2``),
        ``capacity_mah_g`` and optionally ``range_mah_g``.
    electrode : Electrode
        The image whose effective properties feed the DFN.
    fits : list of FitParameter
        Fitted quantities and bounds (:func:`parse_fit`).
    params : ParameterSet, str or Path
        The base set (name or YAML file); unfitted fields keep its values.
    sigma_mah_g : float
        Uncertainty (mAh/g) of a row without ``range_mah_g``.
    cutoff_v : float
        Discharge cut-off (V).
    profile_points : int
        Points of the profile over each parameter's bounds (0: no profile).
    mesh : dict, optional
        PyBaMM points per domain (default :data:`.pybamm_reference.DEFAULT_MESH`).
    max_nfev : int
        Limit on optimiser iterations (each evaluates every rate).
    restarts : int
        Further starts (0 or 1): the second starts from the point mirrored through the centre
        of the bounds and is kept when it fits better (guards against a local optimum).
    verify_3d : bool
        Also discharge ``electrode`` in 3D at every rate with the fitted set (slow for large
        images) and record the 3D capacities (implied by ``space_mapping``).
    model : str
        "dfn" (one particle of the image's volume-weighted radius) or "dfn-psd" (the image's
        particle size distribution), see :data:`MODELS`.
    space_mapping : int
        Most re-fits of output-space mapping with the 3D model (0: none; each costs a 3D
        discharge at every rate, see the module docstring).
    map_radius : bool
        With ``space_mapping``: also fit a factor on the DFN's diffusion radius to the 3D
        capacities at each mapped set (see the module docstring).
    linear_solver : str
        Linear solver of the 3D discharges (:class:`~.solver.SolverOptions`).
    runs_dir : Path, optional
        Folder for the 3D discharges (resumable, reused by a later calibration of the same
        image, set, current and cut-off; see :meth:`_Problem.discharge_3d`).
    on_stage : callable, optional
        Progress messages.

    Returns
    -------
    CalibrationResult
    """
    say = on_stage or (lambda message: None)
    require("pybamm", "pybamm", "calibrate")
    base = params if isinstance(params, ParameterSet) else load_parameters(params)
    if not fits:
        raise CalibrationError("choose at least one parameter to fit (--fit NAME:LO:HI)")
    names = [f.name for f in fits]
    if len(set(names)) != len(names):
        raise CalibrationError(f"a parameter is fitted twice: {', '.join(names)}")
    if model not in MODELS:
        raise CalibrationError(f"model {model!r}: expected one of {', '.join(MODELS)}")
    check(space_mapping=space_mapping)
    if verify_3d or space_mapping > 0:
        from voxode.electrochem.linear import resolve_kind

        resolve_kind(linear_solver, 0)  # a wrong or missing solver fails before the fit
    problem = _Problem(electrode, base, fits, data, sigma_mah_g, cutoff_v, mesh, MODELS[model])
    lower = np.array([f.to_scaled(f.lower) for f in fits])
    upper = np.array([f.to_scaled(f.upper) for f in fits])
    start_values = []
    for f in fits:
        value = 1.0 if f.factor_of is not None else float(_field(base, f.name))
        if not f.lower <= value <= f.upper:
            value = math.sqrt(f.lower * f.upper) if f.log else 0.5 * (f.lower + f.upper)
        start_values.append(value)
    start = np.array([f.to_scaled(v) for f, v in zip(fits, start_values, strict=True)])
    say(f"fitting {', '.join(names)} to {len(data)} rates")
    best, result = _least_squares(problem, start, lower, upper, max_nfev)
    # a second start from the far side of the box guards against a local optimum
    if restarts > 0:
        other = lower + upper - best
        alt, alt_result = _least_squares(problem, other, lower, upper, max_nfev)
        if alt_result.cost < result.cost - 1e-9:
            best, result = alt, alt_result
    mapping: list[dict] = []
    if space_mapping > 0:
        for iteration in range(space_mapping + 1):
            values = np.array([f.from_scaled(s) for f, s in zip(fits, best, strict=True)])
            surrogate = problem.capacities(values) + problem.offset  # what the mapped DFN expects
            say(f"space mapping {iteration}: 3D at {', '.join(f'{v:.4g}' for v in values)}")
            runs = problem.discharge_3d(values, linear_solver, say, runs_dir)
            q3d = np.array([r["3d_mah_g"] for r in runs])
            done = iteration == space_mapping or bool(
                np.all(np.abs(q3d - problem.measured) <= problem.sigma)
            )
            if map_radius and not done:
                say(f"space mapping {iteration}: the DFN's diffusion radius that matches the 3D")
                problem.fit_radius_scale(values, q3d)
            dfn = problem.capacities(values)
            mapping.append(
                {
                    "iteration": iteration,
                    "values": dict(zip(names, map(float, values), strict=True)),
                    "surrogate_mah_g": surrogate.tolist(),
                    "3d_mah_g": q3d.tolist(),
                    "3d_residual_mah_g": (q3d - problem.measured).tolist(),
                    "radius_scale": problem.radius_scale,
                    "dfn_mah_g": dfn.tolist(),
                    "offset_mah_g": (q3d - dfn).tolist(),
                    "runs": runs,
                }
            )
            if runs_dir is not None:  # progress of a long calibration
                write_text_atomic(
                    Path(runs_dir) / "space_mapping.json", json.dumps(mapping, indent=1) + "\n"
                )
            if done:
                break
            problem.offset = q3d - dfn
            say(f"space mapping {iteration + 1}: re-fitting the DFN to measured - (3D - DFN)")
            best, result = _least_squares(problem, best, lower, upper, max_nfev)
    values = np.array([f.from_scaled(s) for f, s in zip(fits, best, strict=True)])
    dfn_fitted = problem.capacities(values)
    fitted = dfn_fitted + problem.offset
    residual = fitted - problem.measured

    parameters = []
    for k, f in enumerate(fits):
        entry = {
            "name": f.name,
            "value": float(values[k]),
            "lower": f.lower,
            "upper": f.upper,
            "log_scaled": f.log,
            "start": float(start_values[k]),
            "factor_of": f.factor_of,
            "profile": [],
            "identifiable_range": None,
            "at_bound": bool(
                np.isclose(best[k], lower[k], rtol=0, atol=1e-6 * (upper[k] - lower[k]))
                or np.isclose(best[k], upper[k], rtol=0, atol=1e-6 * (upper[k] - lower[k]))
            ),
        }
        if profile_points > 0:
            say(f"profile of {f.name}")
            entry["profile"] = _profile(problem, k, best, lower, upper, profile_points, max_nfev)
            within = [p["value"] for p in entry["profile"] if p["within_uncertainty"]]
            # resolution: the profile's grid (and the optimum)
            entry["identifiable_range"] = [min(within), max(within)] if within else None
            # a range that reaches a bound: the data do not limit the parameter on that side
            entry["range_reaches_bound"] = bool(within) and (
                min(within) <= f.lower + 1e-9 * (f.upper - f.lower)
                or max(within) >= f.upper - 1e-9 * (f.upper - f.lower)
            )
        parameters.append(entry)

    rates = pd.DataFrame(
        {
            "c_rate": problem.current_ma_cm2 / problem.image.nominal_capacity_mah_cm2,
            "current_ma_cm2": problem.current_ma_cm2,
            "measured_mah_g": problem.measured,
            "fitted_mah_g": fitted,
            "residual_mah_g": residual,
            "sigma_mah_g": problem.sigma,
            "dfn_mah_g": dfn_fitted,
            "offset_mah_g": problem.offset.copy(),
        }
    )
    fitted_params = with_values(problem.params_at(values), {}, name=f"{base.name}-calibrated")
    props = problem.image_of(fitted_params).props
    out = CalibrationResult(
        params=fitted_params,
        parameters=parameters,
        rates=rates,
        chi2=float(np.sum((residual / problem.sigma) ** 2)),
        success=bool(result.success),
        message=str(result.message),
        evaluations=problem.evaluations,
        effective_properties=asdict(props),
        model=model,
        space_mapping=mapping,
        radius_scale=problem.radius_scale,
    )
    last = mapping[-1] if mapping else None
    if last is not None and np.allclose(list(last["values"].values()), values, rtol=1e-12, atol=0):
        runs = last["runs"]  # the mapping's last 3D run is of the fitted set
    elif verify_3d or space_mapping > 0:
        runs = problem.discharge_3d(values, linear_solver, say, runs_dir)
    else:
        runs = []
    # runs is empty when nothing was run in 3D, else one per measured rate
    for run, measured, dfn in zip(runs, problem.measured, dfn_fitted, strict=False):
        out.verify_3d.append(run | {"measured_mah_g": float(measured), "dfn_mah_g": float(dfn)})
    return out


def _profile(
    problem: _Problem,
    k: int,
    best: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    points: int,
    max_nfev: int,
) -> list[dict]:
    """Parameter k on a grid over its bounds (plus the optimum), the others re-fitted."""
    grid = np.unique(np.append(np.linspace(lower[k], upper[k], points), best[k]))
    free = [j for j in range(len(best)) if j != k]
    rows = []
    guess = best.copy()
    for s in grid:
        x = guess.copy()
        x[k] = s
        if free:

            def sub(z, x=x):
                y = x.copy()
                y[free] = z
                return problem.residuals(y)

            x[free], _ = _bounded_least_squares(sub, best[free], lower[free], upper[free], max_nfev)
        r = problem.residuals(x)
        rows.append(
            {
                "value": float(problem.fits[k].from_scaled(s)),
                "others": {
                    problem.fits[j].name: float(problem.fits[j].from_scaled(x[j])) for j in free
                },
                "chi2": float(np.sum(r**2)),
                "max_abs_residual_sigma": float(np.max(np.abs(r))),
                "within_uncertainty": bool(np.max(np.abs(r)) <= 1.0),
            }
        )
    return rows


def write_calibration(
    result: CalibrationResult,
    out_dir: Path,
    *,
    data_path: str | Path,
    design: str,
    electrode_path: Path,
    base_name: str,
) -> list[Path]:
    """Write ``params.yaml`` (usable as ``--params``), ``fit.json`` and ``fit.png`` to
    ``out_dir``, each atomically; returns the paths."""
    from importlib.metadata import version

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fitted = ", ".join(
        f"{p['name']} = {p['value']:.6g}"
        + (" (factor on the base expression)" if p["factor_of"] else "")
        for p in result.parameters
    )
    dump = result.params.model_dump()
    how = f"the {'DFN' if result.model == 'dfn' else 'DFN with the image size distribution'}"
    if result.space_mapping:
        how += f" mapped onto the 3D model ({len(result.space_mapping) - 1} space-mapping re-fits)"
    dump["description"] = (
        f"{dump['description']} Calibrated by voxode calibrate on {data_path} "
        f"(design {design}) with {how} on the effective properties of "
        f"{electrode_path}: {fitted}."
    ).strip()
    header = (
        f"# Calibrated from {base_name}: {fitted}\n"
        f"# Data {data_path} (design {design}), electrode {electrode_path}; see fit.json.\n"
    )
    paths = [
        write_text_atomic(
            out_dir / "params.yaml", header + yaml.safe_dump(dump, sort_keys=False, width=100)
        )
    ]
    record = result.to_dict() | {
        "data": str(data_path),
        "design": design,
        "electrode": str(electrode_path),
        "base_parameters": base_name,
        "versions": {
            "voxode": version("voxode"),
            "pybamm": version("pybamm"),
            "scipy": version("scipy"),
            "python": platform.python_version(),
        },
    }
    paths.append(
        write_text_atomic(out_dir / "fit.json", json.dumps(record, indent=2, default=float) + "\n")
    )
    paths.append(plot_calibration(result, out_dir / "fit.png"))
    return paths


def plot_calibration(result: CalibrationResult, path: Path) -> Path:
    """Measured vs fitted capacity against C-rate, and each parameter's profile (chi^2)."""
    import matplotlib
    from matplotlib.figure import Figure

    from voxode.io.figures import save_figure

    n = len(result.parameters)
    with matplotlib.rc_context({"font.size": 8}):
        fig = Figure(figsize=(3.2 * (1 + n), 3.0), layout="constrained")
        axes = fig.subplots(1, 1 + n, squeeze=False)[0]
        ax = axes[0]
        rates = result.rates
        ax.errorbar(
            rates["c_rate"],
            rates["measured_mah_g"],
            yerr=rates["sigma_mah_g"],
            fmt="o",
            color="k",
            capsize=3,
            label="measured",
        )
        ax.plot(rates["c_rate"], rates["fitted_mah_g"], "s--", color="C1", label="DFN, fitted")
        if result.verify_3d:
            ax.plot(
                rates["c_rate"],
                [v["3d_mah_g"] for v in result.verify_3d],
                "^",
                color="C2",
                label="3D, fitted",
            )
        ax.set_xlabel("C-rate")
        ax.set_ylabel("capacity (mAh/g)")
        ax.legend(frameon=False)
        for ax, p in zip(axes[1:], result.parameters, strict=True):
            if p["profile"]:
                x = [q["value"] for q in p["profile"]]
                ax.plot(x, [q["chi2"] for q in p["profile"]], "o-", color="C0")
                ax.axhline(result.chi2 + 1.0, color="0.5", lw=0.8, ls=":")
                if p["identifiable_range"]:
                    ax.axvspan(
                        *p["identifiable_range"], color="C2", alpha=0.15, label="within sigma"
                    )
                    ax.legend(frameon=False)
                ax.set_yscale("symlog", linthresh=1.0)
                ax.set_ylim(bottom=0.0)
            ax.axvline(p["value"], color="C1", lw=1.0)
            if p["log_scaled"]:
                ax.set_xscale("log")
            ax.set_xlabel(p["name"] + (" (factor)" if p["factor_of"] else ""))
            ax.set_ylabel("chi^2 (others re-fitted)")
        return save_figure(fig, path, dpi=150)


__all__ = [
    "CalibrationError",
    "CalibrationResult",
    "FitParameter",
    "calibrate",
    "image_properties",
    "parse_fit",
    "plot_calibration",
    "write_calibration",
]
