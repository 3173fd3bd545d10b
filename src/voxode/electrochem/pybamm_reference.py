"""Independent 1D reference for the discharge simulator: PyBaMM's DFN of a Li-metal half cell.

The porous NMC electrode is homogenised into effective properties measured on an image
(:class:`EffectiveProperties`); everything else comes from voxode's own :class:`ParameterSet`,
so the DFN and the microstructure-resolved model differ only in the resolution of the
microstructure. PyBaMM (an optional test dependency) is imported on first use.

Mapping of voxode's parameters onto ``pybamm.lithium_ion.DFN(options={"working electrode":
"positive"})`` (PyBaMM names in quotes):

- OCP: "Positive electrode OCP [V]" = ``params.ocp`` evaluated on PyBaMM symbols (tanh, exp,
  log, sqrt, sinh, cosh of PyBaMM); no entropic change, isothermal at ``params.temperature_k``
  (ambient, initial and reference temperature; no thermal model, no Arrhenius factors).
- NMC kinetics: "Positive electrode exchange-current density [A.m-2]" =
  k c_e^0.5 c_s^0.5 (c_max - c_s)^0.5, k = ``params.active.rate_constant``; Butler-Volmer with
  "Positive electrode charge transfer coefficient" = ``params.active.charge_transfer_coefficient``
  (PyBaMM's "symmetric Butler-Volmer" when both coefficients are 0.5, which is the same
  expression, else its "asymmetric Butler-Volmer").
- Solid: "Maximum concentration in positive electrode [mol.m-3]" = c_max, "Initial
  concentration in positive electrode [mol.m-3]" = x_initial c_max, "Positive electrode active
  material volume fraction" = ``props.active_fraction``.
- Reactive area and solid diffusion: PyBaMM 26.10 has no user-given surface area ("particle
  shape" is only "spherical" or "no particles"; "Positive electrode surface area to volume
  ratio [m-1]" is read only with "no particles"), and its spherical particles fix
  a = 3 eps_s / R. The area is therefore imposed exactly through the radius,
  "Positive particle radius [m]" R_a = 3 active_fraction / area_per_volume, and the diffusion
  time of the requested radius R_d = ``props.particle_radius_um`` is kept by scaling the
  diffusivity, "Positive particle diffusivity [m2.s-1]" = D_s (R_a / R_d)^2. Fick's law in a
  sphere fed by a uniform volumetric rate s = a j / eps_s depends on R and D only through
  R^2 / D (in r / R), so the surface concentration, the kinetics per area and the capacity
  eps_s c_max L are those of a sphere of radius R_d with D_s and the given area. When
  area_per_volume = 3 active_fraction / R_d nothing is scaled. A D_s(x) of the parameter set
  is passed as the function of the particle stoichiometry ``params.solid_diffusivity``
  evaluated on PyBaMM symbols, times the same (R_a / R_d)^2.
- Particle size distribution (``particle_size="distribution"``, PyBaMM's option "particle
  size": "distribution"): the volume-equivalent radii of the image's particles binned into
  ``PSD_BINS`` equal-width bins (:func:`binned_distribution`), "Positive area-weighted
  particle-size distribution [m-1]" piecewise constant on the bins (area share v_k / R_k of a
  bin of volume share v_k), "Positive minimum/maximum particle radius [m]" the outer edges,
  one size cell per bin (``DEFAULT_PSD_MESH["R_p"]``). PyBaMM's area is 3 eps_s / R_32 (the
  Sauter mean of the distribution): every radius is scaled by R_a / R_32 and D_s by its square,
  the single-size argument above applied to each size (a uniform surface roughness).
- Electrolyte: "Electrolyte conductivity [S.m-1]" = ``params.kappa(c)``, "Electrolyte
  diffusivity [m2.s-1]" = ``params.diffusivity_e(c)``, "Cation transference number",
  "Thermodynamic factor", "Initial concentration in electrolyte [mol.m-3]" from
  ``params.electrolyte``.
- Tortuosity: "Positive electrode porosity" = ``props.porosity`` and "Positive electrode
  Bruggeman coefficient (electrolyte)" b = log(porosity / tau) / log(porosity), so that
  porosity^b = porosity / tau (D_eff = D porosity / tau, same for kappa). Separator thickness,
  porosity and Bruggeman exponent from ``params.separator``.
- CBD ionic transport (``params.cbd.ionic_model``: Bruggeman, MacMullin or blocking) enters
  through the measured porosity and tortuosity: :func:`measured_properties` with ``params``
  computes both on the image with the CBD's own liquid fraction and D/D0 (a blocking CBD
  holds no electrolyte), the same fields the 3D grid uses.
- Electronic conduction: "Positive electrode Bruggeman coefficient (electrode)" = 0 and
  "Positive electrode conductivity [S.m-1]" = ``props.conductivity_s_m`` (already effective).
- Contact resistance: option "contact resistance" = "true" and "Contact resistance [Ohm]" =
  ``params.collector.contact_resistance_ohm_cm2`` / (cell area in cm^2) (the cell is 1 cm^2);
  the option is off when the resistance is 0.
- Li metal: "Exchange-current density for lithium metal electrode [A.m-2]" =
  ``params.foil_i0(c_e)`` (the Li concentration argument is ignored), "Negative electrode
  charge transfer coefficient" = ``params.lithium_foil.charge_transfer_coefficient``; the foil
  has Li's bulk conductivity and a negligible ohmic drop.
- Side reactions: SEI, plating, LAM, mechanics and thermal are off (PyBaMM's defaults for this
  model; no SEI parameters are passed, so any of them switched on would fail loudly).
- Current: a 1 cm^2 cell, "Current function [A]" = current_ma_cm2 * 1e-3 * 1e4 * area (m^2);
  "Lower voltage cut-off [V]" = cutoff_v, "Upper voltage cut-off [V]" = 10 V.
- Solve: from t = 0 to 1.5 t_nominal, t_nominal = Q_full / I with the full-lithiation
  capacity Q_full = active_fraction * thickness * c_max * (1 - x_initial) * F per area, with
  ``pybamm.IDAKLUSolver`` (``CasadiSolver(mode="safe")`` if IDAKLU is missing), stopped by the
  voltage cut-off event. Mesh (``DEFAULT_MESH``): 60 points through the positive electrode,
  30 in the particle, 20 in the separator. Doubling all of them changes the end-of-discharge
  capacity by < 0.01 % where solid diffusion and kinetics limit (40 um, C/20 to 3C), by
  0.2-0.35 % where electrolyte depletion limits (a steep c_e front; 120 um, tau 4-8, 1C) and
  by 1.5 % in extreme depletion (80 um, porosity 0.3, tau 4, 3C); 30 electrode points would be
  1-8 % off there, so pass a finer ``mesh`` for such cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from voxode.electrochem.defaults import DEFAULT_CUTOFF_V
from voxode.electrochem.grid import Grid
from voxode.electrochem.materials import FARADAY_C_MOL, ParameterSet
from voxode.electrode import NMC, Electrode
from voxode.extras import require

CELL_AREA_M2 = 1e-4  # 1 cm^2
LI_METAL_MOLAR_VOLUME_M3_MOL = 1.3e-5  # Xu2019; only enters PyBaMM's c_Li argument
LI_METAL_CONDUCTIVITY_S_M = 1.0776e7  # bulk Li
LI_FOIL_THICKNESS_M = 50e-6
UPPER_CUTOFF_V = 10.0
DEFAULT_MESH = {"x_n": 10, "x_s": 20, "x_p": 60, "r_n": 10, "r_p": 30}
# with a size distribution: R_p cells over the sizes; fewer x and r points keep the model's
# x_p * R_p * r_p particle unknowns near the single-size model's count times 4
DEFAULT_PSD_MESH = {"x_n": 10, "x_s": 20, "x_p": 30, "r_n": 10, "r_p": 20, "R_p": 12}
PARTICLE_SIZES = ("single", "distribution")
PSD_BINS = 12  # equal-width radius bins: one size cell each by default
PSD_ONE_SIZE_WIDTH = 0.02  # half width of the bin of a one-size distribution, relative


@dataclass(frozen=True)
class EffectiveProperties:
    thickness_um: float  # electrode thickness
    porosity: float  # electrolyte volume fraction (pores + CBD nanopores)
    active_fraction: float  # NMC volume fraction
    area_per_volume_1_m: float  # reactive NMC area per electrode volume (1/m)
    tortuosity: float  # electrolyte tortuosity factor tau: D_eff = D*eps/tau
    particle_radius_um: float  # radius used for solid diffusion
    conductivity_s_m: float  # effective electronic conductivity of the electrode
    # the particles' volume-equivalent radii binned (equal-width bin edges, um) and each bin's
    # share of the NMC volume: the sizes of ``particle_size="distribution"`` (empty: none)
    psd_edges_um: tuple[float, ...] = ()
    psd_volume_fractions: tuple[float, ...] = ()

    def __post_init__(self):
        checks = {
            "thickness_um": self.thickness_um > 0,
            "porosity": 0 < self.porosity < 1,
            "active_fraction": 0 < self.active_fraction < 1,
            "area_per_volume_1_m": self.area_per_volume_1_m > 0,
            "tortuosity": self.tortuosity > 0,
            "particle_radius_um": self.particle_radius_um > 0,
            "conductivity_s_m": self.conductivity_s_m > 0,
        }
        bad = [
            name for name, ok in checks.items() if not (ok and math.isfinite(getattr(self, name)))
        ]
        edges, shares = (
            np.asarray(self.psd_edges_um, float),
            np.asarray(self.psd_volume_fractions, float),
        )
        if edges.size + shares.size and not (
            edges.size == shares.size + 1
            and np.all(np.isfinite(edges))
            and edges[0] > 0
            and np.all(np.diff(edges) > 0)
            and np.all(np.isfinite(shares))
            and np.all(shares >= 0)
            and shares.sum() > 0
        ):
            bad.append("psd_edges_um/psd_volume_fractions")
        if bad:
            raise ValueError(f"invalid effective properties: {', '.join(bad)}")


def cbd_transport_fields(electrode: Electrode, params: ParameterSet):
    """Relative diffusivity and liquid fraction of every voxel with the CBD ionic model of
    ``params`` (pores 1 and 1, CBD as the set says, solids 0): the fields the grid uses.

    Parameters
    ----------
    electrode : Electrode
        The image (phases and per-layer CBD nanoporosity).
    params : ParameterSet
        Its ``cbd`` section chooses Bruggeman, MacMullin or a blocking CBD.

    Returns
    -------
    TransportFields
        ``diffusivity`` (D/D0) and ``liquid`` (electrolyte volume fraction), both ``[x, y, z]``.
    """
    from voxode.characterize.transport import TransportFields
    from voxode.electrode import CBD, PORE

    eps_n = np.broadcast_to(electrode.cbd_nanoporosity_planes()[None, None, :], electrode.shape)
    pore, cbd = electrode.phases == PORE, electrode.phases == CBD
    diffusivity = np.where(pore, 1.0, np.where(cbd, params.cbd.relative_diffusivity(eps_n), 0.0))
    liquid = np.where(pore, 1.0, np.where(cbd, params.cbd.liquid_fraction(eps_n), 0.0))
    return TransportFields(diffusivity=diffusivity, liquid=liquid)


def measured_properties(
    electrode: Electrode,
    grid: Grid,
    conductivity_s_m: float = 5.0,
    params: ParameterSet | None = None,
) -> EffectiveProperties:
    """The DFN's effective properties measured on the image the 3D model runs on: electrolyte
    volume fraction (pores + CBD nanopores), NMC fraction, reactive area per volume (the 3D
    model's own faces), tortuosity through pores and CBD, and the volume-weighted radius of
    the particles' equivalent spheres. ``conductivity_s_m`` is the solid's effective value.
    With ``params`` the tortuosity uses that set's CBD ionic model (:func:`cbd_transport_fields`);
    without, the CBD conducts with the Bruggeman exponent 1.5 of ``characterize``."""
    from voxode.characterize.tortuosity import tortuosity
    from voxode.characterize.transport import electrode_fields

    fields = (
        electrode_fields(electrode, include_cbd=True)
        if params is None
        else cbd_transport_fields(electrode, params)
    )

    volume = grid.h_m**3 * electrode.phases.size
    radius_um, counts = particle_radii_um(electrode)
    psd_edges, psd_shares = binned_distribution(radius_um, counts)
    return EffectiveProperties(
        thickness_um=electrode.thickness_um,
        porosity=float(grid.liquid_volume_m3[: grid.liquid_voxel.size].sum() / volume),
        active_fraction=float(np.count_nonzero(electrode.phases == NMC) / electrode.phases.size),
        area_per_volume_1_m=float(grid.reaction_area_m2.sum() / volume),
        tortuosity=tortuosity(fields).tau,
        particle_radius_um=float(np.average(radius_um, weights=counts)),
        conductivity_s_m=conductivity_s_m,
        psd_edges_um=psd_edges,
        psd_volume_fractions=psd_shares,
    )


def particle_radii_um(electrode: Electrode) -> tuple[np.ndarray, np.ndarray]:
    """Volume-equivalent radius (um) and voxel count of every particle of ``electrode``
    (its ``particle_ids``; a particle cut by the box counts with the part inside)."""
    counts = np.bincount(electrode.particle_ids.ravel())[1:]
    counts = counts[counts > 0]
    return np.cbrt(3 * counts / (4 * np.pi)) * electrode.voxel_um, counts


def binned_distribution(
    radius_um: np.ndarray, volumes: np.ndarray, bins: int = PSD_BINS
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Radii binned into ``bins`` equal-width bins from the smallest to the largest: (the
    bins + 1 edges in um, each bin's share of the total volume). One size gives one bin of
    +-``PSD_ONE_SIZE_WIDTH`` around it.

    Examples
    --------
    >>> binned_distribution(np.array([1.0, 3.0]), np.array([1.0, 3.0]), bins=2)
    ((1.0, 2.0, 3.0), (0.25, 0.75))
    """
    radius_um, volumes = np.asarray(radius_um, float), np.asarray(volumes, float)
    if radius_um.size == 0:
        return (), ()
    lo, hi = float(radius_um.min()), float(radius_um.max())
    if hi - lo <= 1e-9 * hi:
        return (lo * (1 - PSD_ONE_SIZE_WIDTH), lo * (1 + PSD_ONE_SIZE_WIDTH)), (1.0,)
    edges = np.linspace(lo, hi, bins + 1)
    which = np.clip(np.searchsorted(edges, radius_um, side="right") - 1, 0, bins - 1)
    share = np.bincount(which, weights=volumes, minlength=bins) / volumes.sum()
    return tuple(float(e) for e in edges), tuple(float(v) for v in share)


def area_weighted_distribution(props: EffectiveProperties, points: int):
    """The area-weighted size distribution f_a(R) that PyBaMM's "particle size":
    "distribution" needs, from the image's binned radii.

    A bin of centre R_k, width dR_k and volume share v_k holds spheres of area share
    proportional to v_k / R_k: f_a is piecewise constant, (v_k / R_k) / dR_k on the bin, over
    [R_min, R_max] = the outer edges. With ``points`` = the number of bins, PyBaMM's uniform
    size cells are the bins and its cell centres their centres. The area-weighted (Sauter)
    mean R_32 = int R f_a dR / int f_a dR is computed with the midpoint rule on ``points``
    cells, as PyBaMM's finite volumes do, so that the reactive area 3 eps_s / R_32 of the
    discretised model is the one the caller scales to.

    Returns
    -------
    tuple
        (bin edges in m, density of f_a on each bin in 1/m^2 (unnormalised), R_32 in m).
    """
    edges = np.asarray(props.psd_edges_um, float) * 1e-6
    shares = np.asarray(props.psd_volume_fractions, float)
    if edges.size == 0:
        raise ValueError(
            "particle_size='distribution' needs psd_edges_um (measured_properties gives them)"
        )
    centres, widths = 0.5 * (edges[1:] + edges[:-1]), np.diff(edges)
    density = shares / centres / widths
    cells = np.linspace(edges[0], edges[-1], int(points) + 1)
    mid = 0.5 * (cells[1:] + cells[:-1])
    f = density[np.clip(np.searchsorted(edges, mid, side="right") - 1, 0, len(density) - 1)]
    return edges, density, float(np.sum(mid * f) / np.sum(f))


def full_lithiation_capacity_mah_cm2(params: ParameterSet, props: EffectiveProperties) -> float:
    """active_fraction * thickness * c_max * (1 - x_initial) * F, in mAh/cm^2."""
    c_per_m2 = (
        props.active_fraction
        * props.thickness_um
        * 1e-6
        * params.active.c_max_mol_m3
        * (1.0 - params.active.x_initial)
        * FARADAY_C_MOL
    )
    return c_per_m2 / 3.6 / 1e4  # C/m^2 -> mAh/m^2 -> mAh/cm^2


def bruggeman_from_tortuosity(porosity: float, tortuosity: float) -> float:
    """Exponent b with porosity**b == porosity / tortuosity."""
    return math.log(porosity / tortuosity) / math.log(porosity)


def _pybamm_functions():
    pybamm = require("pybamm", "pybamm", "the DFN reference")
    return {
        "tanh": pybamm.tanh,
        "exp": pybamm.exp,
        "log": pybamm.log,
        "sqrt": pybamm.sqrt,
        "sinh": pybamm.sinh,
        "cosh": pybamm.cosh,
    }


def parameter_values(
    params: ParameterSet,
    props: EffectiveProperties,
    current_ma_cm2: float,
    cutoff_v: float = DEFAULT_CUTOFF_V,
    particle_size: str = "single",
    size_points: int = DEFAULT_PSD_MESH["R_p"],
):
    """The complete ``pybamm.ParameterValues`` of the half cell (see the module docstring).

    With ``particle_size="distribution"`` the particles have the image's size distribution
    (:func:`area_weighted_distribution` on ``size_points`` size cells): every radius is scaled
    by s = R_a / R_32 (R_a = 3 active_fraction / area_per_volume, R_32 the distribution's
    Sauter mean) so that PyBaMM's area 3 eps_s / R_32 is the image's, and D_s by s^2, so
    that each size keeps its own diffusion time R^2 / D_s (the single-size argument of the
    module docstring, size by size: a uniform roughness of the real particles)."""
    pybamm = require("pybamm", "pybamm", "the DFN reference")

    fns = _pybamm_functions()
    act, ele, sep = params.active, params.electrolyte, params.separator
    c_max = act.c_max_mol_m3
    k = act.rate_constant

    def as_symbol(value, like):
        # a constant expression gives a float: keep PyBaMM's shapes by adding 0 * variable
        return value if isinstance(value, pybamm.Symbol) else value + 0 * like

    def ocp(sto):
        return as_symbol(params.ocp.evaluate(sto, fns), sto)

    def exchange_current(c_e, c_s_surf, c_s_max, T):
        return k * c_e**0.5 * c_s_surf**0.5 * (c_s_max - c_s_surf) ** 0.5

    def kappa(c_e, T):
        return as_symbol(params.kappa.evaluate(c_e, fns), c_e)

    def diffusivity(c_e, T):
        return as_symbol(params.diffusivity_e.evaluate(c_e, fns), c_e)

    def foil_i0(c_e, c_li, T):
        return as_symbol(params.foil_i0.evaluate(c_e, fns), c_e)

    if particle_size not in PARTICLE_SIZES:
        raise ValueError(
            f"particle_size must be one of {', '.join(PARTICLE_SIZES)}, got {particle_size!r}"
        )
    radius_area_m = 3.0 * props.active_fraction / props.area_per_volume_1_m
    distribution = {}
    if particle_size == "distribution":
        edges, density, r32 = area_weighted_distribution(props, size_points)
        s_radius = radius_area_m / r32
        scale = s_radius**2
        edges_s = edges * s_radius
        peak = float(density.max())

        def f_a(R):
            # piecewise constant on the bins (PyBaMM normalises f_a by its integral); the last
            # bin is closed so that R_max belongs to it
            total = 0 * R
            for k, d in enumerate(density / peak):
                if d > 0:
                    upper = (
                        (R <= float(edges_s[k + 1]))
                        if k == len(density) - 1
                        else (R < float(edges_s[k + 1]))
                    )
                    total = total + float(d) * (R >= float(edges_s[k])) * upper
            return total / float(edges_s[-1] - edges_s[0])

        distribution = {
            "Positive minimum particle radius [m]": float(edges_s[0]),
            "Positive maximum particle radius [m]": float(edges_s[-1]),
            "Positive area-weighted particle-size distribution [m-1]": f_a,
        }
    else:
        radius_diff_m = props.particle_radius_um * 1e-6
        scale = (radius_area_m / radius_diff_m) ** 2
    if params.constant_solid_diffusivity:
        d_solid = act.diffusivity_m2_s * scale
    else:

        def d_solid(sto, T):
            return as_symbol(params.solid_diffusivity.evaluate(sto, fns), sto) * scale

    q_full_ah = full_lithiation_capacity_mah_cm2(params, props) * 1e-3 * CELL_AREA_M2 * 1e4
    T = params.temperature_k
    side = math.sqrt(CELL_AREA_M2)
    foil_alpha = params.lithium_foil.charge_transfer_coefficient

    values = pybamm.ParameterValues(
        {
            "chemistry": "lithium_ion",
            # cell
            "Negative electrode thickness [m]": LI_FOIL_THICKNESS_M,
            "Separator thickness [m]": sep.thickness_um * 1e-6,
            "Positive electrode thickness [m]": props.thickness_um * 1e-6,
            "Electrode height [m]": side,
            "Electrode width [m]": side,
            "Nominal cell capacity [A.h]": q_full_ah,
            "Current function [A]": current_ma_cm2 * 1e-3 * 1e4 * CELL_AREA_M2,
            "Contact resistance [Ohm]": params.collector.contact_resistance_ohm_cm2
            / (CELL_AREA_M2 * 1e4),
            "Number of electrodes connected in parallel to make a cell": 1.0,
            "Number of cells connected in series to make a battery": 1.0,
            "Lower voltage cut-off [V]": cutoff_v,
            "Upper voltage cut-off [V]": UPPER_CUTOFF_V,
            # Li metal counter electrode
            "Negative electrode OCP [V]": 0.0,
            "Negative electrode OCP entropic change [V.K-1]": 0.0,
            "Negative electrode conductivity [S.m-1]": LI_METAL_CONDUCTIVITY_S_M,
            "Lithium metal partial molar volume [m3.mol-1]": LI_METAL_MOLAR_VOLUME_M3_MOL,
            "Exchange-current density for lithium metal electrode [A.m-2]": foil_i0,
            "Negative electrode charge transfer coefficient": foil_alpha,
            "Negative electrode double-layer capacity [F.m-2]": 0.2,
            # NMC electrode
            "Positive electrode conductivity [S.m-1]": props.conductivity_s_m,
            "Maximum concentration in positive electrode [mol.m-3]": c_max,
            "Initial concentration in positive electrode [mol.m-3]": act.x_initial * c_max,
            "Positive particle diffusivity [m2.s-1]": d_solid,
            "Positive particle radius [m]": radius_area_m,
            "Positive electrode OCP [V]": ocp,
            "Positive electrode OCP entropic change [V.K-1]": 0.0,
            "Positive electrode porosity": props.porosity,
            "Positive electrode active material volume fraction": props.active_fraction,
            "Positive electrode Bruggeman coefficient (electrolyte)": bruggeman_from_tortuosity(
                props.porosity, props.tortuosity
            ),
            "Positive electrode Bruggeman coefficient (electrode)": 0.0,
            "Positive electrode exchange-current density [A.m-2]": exchange_current,
            "Positive electrode charge transfer coefficient": act.charge_transfer_coefficient,
            "Positive electrode double-layer capacity [F.m-2]": 0.2,
            # separator
            "Separator porosity": sep.porosity,
            "Separator Bruggeman coefficient (electrolyte)": sep.bruggeman,
            "Separator Bruggeman coefficient (electrode)": sep.bruggeman,
            # electrolyte
            "Initial concentration in electrolyte [mol.m-3]": ele.c_initial_mol_m3,
            "Cation transference number": ele.transference_number,
            "Thermodynamic factor": ele.thermodynamic_factor,
            "Electrolyte conductivity [S.m-1]": kappa,
            "Electrolyte diffusivity [m2.s-1]": diffusivity,
            # temperature (isothermal)
            "Ambient temperature [K]": T,
            "Initial temperature [K]": T,
            "Reference temperature [K]": T,
            "Heat transfer coefficient [W.m-2.K-1]": 10.0,
        }
    )
    values.update(distribution)
    return values


def dfn_half_cell(
    params: ParameterSet,
    props: EffectiveProperties,
    current_ma_cm2: float,
    cutoff_v: float = DEFAULT_CUTOFF_V,
    points: int = 400,
    mesh: dict[str, int] | None = None,
    particle_size: str = "single",
) -> pd.DataFrame:
    """columns t_s, voltage_v, capacity_mah_cm2 until the cut-off voltage

    Galvanostatic discharge (lithiation of the NMC) at ``current_ma_cm2`` from t = 0 to the
    cut-off or 1.5 times the nominal (full-lithiation) time, whichever comes first; ``points``
    output times evenly spaced over that span, the last one at the cut-off when reached.
    ``mesh`` overrides PyBaMM's points per domain (``DEFAULT_MESH``: "x_p", "r_p", ...).
    ``particle_size`` "distribution" uses the image's size distribution (see
    :func:`dfn_half_cells`).
    """
    return dfn_half_cells(params, props, [current_ma_cm2], cutoff_v, points, mesh, particle_size)[0]


def dfn_half_cells(
    params: ParameterSet,
    props: EffectiveProperties,
    currents_ma_cm2: list[float],
    cutoff_v: float = DEFAULT_CUTOFF_V,
    points: int = 400,
    mesh: dict[str, int] | None = None,
    particle_size: str = "single",
) -> list[pd.DataFrame]:
    """:func:`dfn_half_cell` at several currents (mA/cm^2), built and discretised once.

    The current is a PyBaMM input parameter, so the model is processed and the solver set up
    once for all rates; each curve is the one :func:`dfn_half_cell` describes.

    Parameters
    ----------
    params : ParameterSet
    props : EffectiveProperties
    currents_ma_cm2 : list of float
        Discharge current densities (mA/cm^2), each > 0.
    cutoff_v : float
        Cut-off voltage (V).
    points : int
        Output times per curve.
    mesh : dict, optional
        PyBaMM points per domain, over ``DEFAULT_MESH`` (``DEFAULT_PSD_MESH`` with a
        distribution).
    particle_size : str
        "single": one particle of ``props.particle_radius_um`` at every x (PyBaMM's DFN);
        "distribution": PyBaMM's DFN with "particle size": "distribution", the sizes of
        ``props.psd_edges_um`` (:func:`parameter_values`).

    Returns
    -------
    list of pandas.DataFrame
        One frame per current: t_s, voltage_v, capacity_mah_cm2.
    """
    pybamm = require("pybamm", "pybamm", "the DFN reference")

    currents = [float(c) for c in currents_ma_cm2]
    if not currents or not all(c > 0 for c in currents):
        raise ValueError("currents_ma_cm2 must be > 0 (discharge)")
    alphas = (
        params.active.charge_transfer_coefficient,
        params.lithium_foil.charge_transfer_coefficient,
    )
    kinetics = (
        "symmetric Butler-Volmer" if all(a == 0.5 for a in alphas) else "asymmetric Butler-Volmer"
    )
    if particle_size not in PARTICLE_SIZES:
        raise ValueError(
            f"particle_size must be one of {', '.join(PARTICLE_SIZES)}, got {particle_size!r}"
        )
    var_pts = dict(
        (DEFAULT_PSD_MESH if particle_size == "distribution" else DEFAULT_MESH) | (mesh or {})
    )
    model = pybamm.lithium_ion.DFN(
        options={
            "working electrode": "positive",
            "intercalation kinetics": kinetics,
            "particle size": particle_size,
            "SEI": "none",
            "lithium plating": "none",
            "loss of active material": "none",
            "particle mechanics": "none",
            "thermal": "isothermal",
            "contact resistance": "true"
            if params.collector.contact_resistance_ohm_cm2 > 0
            else "false",
        }
    )
    values = parameter_values(
        params,
        props,
        currents[0],
        cutoff_v,
        particle_size,
        size_points=var_pts.get("R_p", DEFAULT_PSD_MESH["R_p"]),
    )
    values.update({"Current function [A]": "[input]"})

    q_full = full_lithiation_capacity_mah_cm2(params, props)
    if hasattr(pybamm, "IDAKLUSolver"):
        solver = pybamm.IDAKLUSolver(rtol=1e-8, atol=1e-8)
    else:
        solver = pybamm.CasadiSolver(mode="safe", rtol=1e-8, atol=1e-8)
    sim = pybamm.Simulation(model, parameter_values=values, solver=solver, var_pts=var_pts)
    curves = []
    for current_ma_cm2 in currents:
        t_end = 1.5 * q_full / current_ma_cm2 * 3600.0
        sol = sim.solve(
            [0.0, t_end],
            inputs={"Current function [A]": current_ma_cm2 * 1e-3 * 1e4 * CELL_AREA_M2},
        )
        t_sol = np.asarray(sol.t)
        t_out = np.linspace(0.0, t_sol[-1], max(int(points), 2))
        v_out = np.asarray(sol["Voltage [V]"](t_out), dtype=float).ravel()
        keep = v_out >= cutoff_v
        keep[0] = True
        if not keep.all():  # truncate at the first crossing, ending on the cut-off
            first = int(np.argmin(keep))
            t_a, t_b, v_a, v_b = t_out[first - 1], t_out[first], v_out[first - 1], v_out[first]
            t_c = t_a + (v_a - cutoff_v) / (v_a - v_b) * (t_b - t_a)
            t_out = np.append(t_out[:first], t_c)
            v_out = np.append(v_out[:first], cutoff_v)
        curves.append(
            pd.DataFrame(
                {
                    "t_s": t_out,
                    "voltage_v": v_out,
                    "capacity_mah_cm2": current_ma_cm2 * t_out / 3600.0,
                }
            )
        )
    return curves
