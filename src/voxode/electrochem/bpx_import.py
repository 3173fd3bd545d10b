"""Parameter sets from BPX (Battery Parameter eXchange) JSON files, where BPX covers the quantity.

BPX (https://bpxstandard.com, package ``bpx``) describes a full cell for the DFN. voxode takes
its positive electrode, electrolyte, separator and reference temperature; everything BPX does
not describe for voxode's half cell comes from a base set (the Li-foil kinetics, the CBD, the
contact resistance, the NMC's intrinsic electronic conductivity: BPX gives the electrode's
effective conductivity, which voxode measures on the image instead). Mapping:

- ``active.c_max_mol_m3`` = "Maximum concentration [mol.m-3]"; ``active.x_initial`` =
  "Minimum stoichiometry" (the positive electrode at 100 % SOC);
- ``active.ocp_v`` = "OCP [V]" and ``active.diffusivity_m2_s`` = "Diffusivity [m2.s-1]"
  (numbers or functions of x; tabulated data are refused: voxode's sets are closed forms);
- ``active.rate_constant`` k = F k_BPX / (c_max sqrt(c_e0)): BPX writes
  j0 = F k_BPX sqrt((c_e/c_e0) (c_s/c_max) (1 - c_s/c_max)), voxode k sqrt(c_e c_s (c_max - c_s)),
  c_e0 the initial electrolyte concentration (BPX State, else 1000 mol/m^3 as PyBaMM assumes);
  the charge-transfer coefficient is BPX's 0.5;
- electrolyte: "Cation transference number", "Conductivity [S.m-1]" and "Diffusivity [m2.s-1]"
  (x, the concentration in mol/m^3, becomes voxode's c), c_e0; thermodynamic factor 1 (BPX has
  none; PyBaMM's import uses 1 too);
- separator: thickness (m -> um), porosity, Bruggeman exponent log(transport efficiency) /
  log(porosity);
- ``temperature_k`` = "Reference temperature [K]"; activation energies are not used (voxode is
  isothermal at that temperature).
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

from voxode.electrochem.defaults import DEFAULT_PARAMETER_SET
from voxode.electrochem.materials import FARADAY_C_MOL, ParameterSet, load_parameters, with_values
from voxode.errors import ParameterError
from voxode.extras import require

DEFAULT_ELECTROLYTE_CONCENTRATION_MOL_M3 = 1000.0


def _rename_variable(text: str, old: str, new: str) -> str:
    tree = ast.parse(text, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == old:
            node.id = new
    return ast.unparse(tree)


def _closed_form(value, what: str, variable: str) -> float | str:
    """A BPX number or function as a voxode number or expression in ``variable``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return _rename_variable(str(value), "x", variable) if variable != "x" else str(value)
    raise ParameterError(
        f"BPX {what} is tabulated data; voxode parameter sets take a number or "
        f"a closed-form function (write it as a BPX function of x)"
    )


def load_bpx(
    path: str | Path, base: ParameterSet | str | Path = DEFAULT_PARAMETER_SET
) -> ParameterSet:
    """A voxode parameter set from a BPX file, completed by ``base`` where BPX is silent.

    Parameters
    ----------
    path : str or Path
        BPX JSON file (validated with the ``bpx`` package).
    base : ParameterSet, str or Path
        Set that supplies the CBD, the Li foil, the contact resistance and the NMC's intrinsic
        conductivity.

    Returns
    -------
    ParameterSet
        Named after the BPX title; its description lists what came from where.

    Raises
    ------
    ParameterError
        A file BPX rejects, a blended positive electrode, or tabulated functions (one line each).
    MissingExtraError
        ``bpx`` is not installed (``pip install 'voxode[bpx]'``).
    """
    bpx = require("bpx", "bpx", "reading BPX files")
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"BPX file {path} not found")
    try:
        parsed = bpx.parse_bpx_file(str(path))
    except json.JSONDecodeError as exc:
        raise ParameterError(f"{path}: not valid JSON ({exc.msg})") from None
    except Exception as exc:  # noqa: BLE001 - bpx raises pydantic and value errors
        first = str(exc).strip().splitlines()
        raise ParameterError(
            f"{path}: not a valid BPX file ({first[0] if first else type(exc).__name__})"
        ) from None
    base_set = base if isinstance(base, ParameterSet) else load_parameters(base)
    param = parsed.parameterisation
    positive = getattr(param, "positive_electrode", None)
    if (
        positive is None
        or getattr(param, "electrolyte", None) is None
        or getattr(param, "separator", None) is None
    ):
        raise ParameterError(
            f"{path}: the BPX file must describe the positive electrode, the electrolyte "
            f"and the separator"
        )
    if not hasattr(positive, "maximum_concentration"):
        raise ParameterError(f"{path}: a blended positive electrode is not supported")
    state = getattr(parsed, "state", None)
    initial = getattr(state, "initial_conditions", None) if state is not None else None
    c_e0 = (
        getattr(initial, "initial_electrolyte_concentration", None)
        or DEFAULT_ELECTROLYTE_CONCENTRATION_MOL_M3
    )
    c_max = float(positive.maximum_concentration)
    electrolyte, separator = param.electrolyte, param.separator
    values = {
        "temperature_k": float(param.cell.reference_temperature or base_set.temperature_k),
        "active.c_max_mol_m3": c_max,
        "active.x_initial": float(positive.minimum_stoichiometry),
        "active.ocp_v": _closed_form(positive.ocp, "positive OCP", "x"),
        "active.diffusivity_m2_s": _closed_form(positive.diffusivity, "positive diffusivity", "x"),
        "active.rate_constant": FARADAY_C_MOL
        * float(positive.reaction_rate_constant)
        / (c_max * math.sqrt(c_e0)),
        "active.charge_transfer_coefficient": 0.5,
        "electrolyte.c_initial_mol_m3": float(c_e0),
        "electrolyte.transference_number": float(electrolyte.cation_transference_number),
        "electrolyte.thermodynamic_factor": 1.0,
        "separator.thickness_um": float(separator.thickness) * 1e6,
        "separator.porosity": float(separator.porosity),
        "separator.bruggeman": math.log(separator.transport_efficiency)
        / math.log(separator.porosity),
    }
    for field, value, what in (
        ("electrolyte.conductivity_s_m", electrolyte.conductivity, "electrolyte conductivity"),
        ("electrolyte.diffusivity_m2_s", electrolyte.diffusivity, "electrolyte diffusivity"),
    ):
        closed = _closed_form(value, what, "c")
        values[field] = repr(closed) if isinstance(closed, float) else closed
    header = parsed.header
    title = header.title or path.stem
    params = with_values(base_set, values, name=title)
    data = params.model_dump()
    data["references"] = dict(base_set.references) | {
        "BPX": f"{title}: {path.name}"
        + (f"; {header.references}" if getattr(header, "references", None) else "")
    }
    data["description"] = (
        f"From the BPX file {path.name} ({header.description or title}): the positive "
        f"electrode's OCP, diffusivity, rate constant, c_max and start stoichiometry, the "
        f"electrolyte, the separator and the reference temperature. From {base_set.name}: "
        f"the CBD, the Li foil, the contact resistance and the NMC's intrinsic conductivity."
    )
    try:
        return ParameterSet.model_validate(data)
    except Exception as exc:  # noqa: BLE001 - pydantic ValidationError, reported in one line
        raise ParameterError(f"{path}: {str(exc).splitlines()[0]}") from None
