"""Validated electrode recipes (pydantic): box, voxel size, a stack of layers, packing settings.

Units are in the field names (um, g/cm^3, wt%, mAh/g). Layers are listed from the current
collector (z = 0) to the separator. Recipes are read from YAML or TOML files or from the
presets shipped in ``voxode/presets``.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voxode.errors import RecipeError
from voxode.validation import load_validated, validated

Z90 = 1.2815515655446004  # standard-normal quantile of 0.9
MIN_VOXELS_PER_PARTICLE = (
    1.5  # smallest particle diameter in voxels (bi-layers' 1.5 um shrunk particles at 1 um)
)
MIN_VOXELS_PER_FIBRE = 2.0  # fibre diameter, in voxels of the CBD grid, that still draws as a tube
# Coarsest output voxel, in fibre diameters. A fibre thinner than a voxel is smeared over voxels
# wider than itself, and the rasterised CBD closes the pore throats it crosses: paper-pristine at
# 1.5 um voxels has a tortuosity with CBD 5-13 % above, and a 1C capacity 1.5-3.8 % below, the
# same seed at 0.5 um, where 0.75 and 1 um stay within 2 % and 0.5 % (benchmarks/README.md,
# "One electrode at any voxel size").
MAX_VOXEL_PER_FIBRE_DIAMETER = 1.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Composition(_Strict):
    """Dry composition in wt%: NMC, conductive carbon (VGCF) and binder (PTFE); sums to 100."""

    nmc: float = Field(93.0, gt=0, le=100)
    carbon: float = Field(5.0, ge=0, le=100)
    binder: float = Field(2.0, ge=0, le=100)

    @model_validator(mode="after")
    def _sums_to_100(self) -> Composition:
        total = self.nmc + self.carbon + self.binder
        if abs(total - 100.0) > 1e-6:
            raise ValueError(f"wt% must sum to 100, got {total:g}")
        return self


class Densities(_Strict):
    """Skeletal densities in g/cm^3."""

    nmc: float = Field(4.75, gt=0)
    carbon: float = Field(2.0, gt=0)
    binder: float = Field(2.2, gt=0)


class SizeDistribution(_Strict):
    """Log-normal particle size distribution of equivalent diameters, volume-weighted.

    Give the volume-weighted D50 and either D10 and D90 (sigma from their ratio) or ``sigma_ln``.
    Three quantiles over-determine a log-normal: the median is D50 and the spread D90 / D10;
    D10 and D90 themselves are met only when D50 is their geometric mean.
    Diameters are truncated to [d_min_um, d_max_um].
    """

    d50_um: float = Field(9.0, gt=0)
    d10_um: float | None = Field(5.0, gt=0)
    d90_um: float | None = Field(14.0, gt=0)
    sigma_ln: float | None = Field(None, gt=0, lt=2)
    d_min_um: float = Field(3.0, gt=0)
    d_max_um: float = Field(20.0, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> SizeDistribution:
        if self.sigma_ln is None:
            if self.d10_um is None or self.d90_um is None:
                raise ValueError("give d10_um and d90_um, or sigma_ln")
            if not self.d10_um < self.d50_um < self.d90_um:
                raise ValueError("need d10_um < d50_um < d90_um")
        if not self.d_min_um < self.d50_um < self.d_max_um:
            raise ValueError("need d_min_um < d50_um < d_max_um")
        return self

    @property
    def sigma(self) -> float:
        """Log-normal shape parameter (same for number- and volume-weighted)."""
        if self.sigma_ln is not None:
            return self.sigma_ln
        assert self.d10_um is not None and self.d90_um is not None
        return math.log(self.d90_um / self.d10_um) / (2.0 * Z90)

    @property
    def number_median_um(self) -> float:
        """Median of the number-weighted distribution: D50_v * exp(-3 sigma^2)."""
        return self.d50_um * math.exp(-3.0 * self.sigma**2)


class Population(_Strict):
    """A sub-population of NMC particles: its share of the layer's NMC mass and a diameter scale."""

    name: str = "pristine"
    mass_fraction: float = Field(1.0, gt=0, le=1)
    size_scale: float = Field(1.0, gt=0, le=10)


class ParticleShape(_Strict):
    """Irregular 'potato' particles: a random spheroid with smooth random radial perturbations.

    ``roughness``: RMS of the relative radial perturbation (real spherical harmonics of degree
    2 and 3 with isotropic Gaussian coefficients). ``aspect_ratio_max``: spheroid aspect ratios
    are uniform in [1, aspect_ratio_max], with a uniformly random axis orientation.
    """

    roughness: float = Field(0.08, ge=0, le=0.25)
    aspect_ratio_max: float = Field(1.3, ge=1, le=3)


class CarbonBinder(_Strict):
    """Morphology of the carbon-binder domain (CBD, one nanoporous phase).

    Fibres (VGCF bundles coated with binder) are straight tubes that start on particle surfaces
    and stop where they meet a particle; ``fibre_volume_share`` of the CBD phase is laid as
    fibres (default: the carbon's share of the dense CBD volume, from the composition). The
    rest is binder that fills first the pore space most enclosed by solid (particle necks and
    crevices), judged by the solid fraction smoothed over ``binder_scale_um``. All lengths are
    in um and the CBD is laid on the recipe's CBD grid (``Recipe.cbd_grid_um``), then
    rasterised at the voxel size.
    """

    fibre_diameter_um: float = Field(1.0, gt=0)
    fibre_length_um: float = Field(10.0, gt=0)
    fibre_volume_share: float | None = Field(None, ge=0, le=1)
    binder_scale_um: float = Field(1.0, gt=0)


class LayerRecipe(_Strict):
    """One through-plane layer."""

    name: str = "electrode"
    thickness_fraction: float = Field(1.0, gt=0, le=1)
    composition_wt: Composition = Composition()
    densities_g_cm3: Densities = Densities()
    porosity: float = Field(0.30, gt=0, lt=1, description="total: macro-pores + CBD nanopores")
    cbd_nanoporosity: float = Field(0.5, ge=0, lt=1)
    psd: SizeDistribution = SizeDistribution()
    populations: tuple[Population, ...] = (Population(),)
    shape: ParticleShape = ParticleShape()
    cbd: CarbonBinder = CarbonBinder()
    seed: int | None = Field(
        None,
        ge=0,
        description="default: derived from the recipe seed and "
        "the layer's position counted from the separator",
    )

    @field_validator("populations")
    @classmethod
    def _populations_sum(cls, pops: tuple[Population, ...]) -> tuple[Population, ...]:
        if not pops:
            raise ValueError("at least one population is needed")
        total = sum(p.mass_fraction for p in pops)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"population mass fractions must sum to 1, got {total:g}")
        if len({p.name for p in pops}) != len(pops):
            raise ValueError("population names must be unique")
        return pops

    # Volume fractions of the layer (of its whole volume). ------------------------------
    def _solid_volumes(self) -> tuple[float, float]:
        c, d = self.composition_wt, self.densities_g_cm3
        nmc = c.nmc / d.nmc
        cbd = c.carbon / d.carbon + c.binder / d.binder
        return nmc, cbd

    @property
    def nmc_fraction(self) -> float:
        nmc, cbd = self._solid_volumes()
        return (1.0 - self.porosity) * nmc / (nmc + cbd)

    @property
    def cbd_solid_fraction(self) -> float:
        """Volume fraction of dense carbon + binder."""
        nmc, cbd = self._solid_volumes()
        return (1.0 - self.porosity) * cbd / (nmc + cbd)

    @property
    def fibre_volume_share(self) -> float:
        """Share of the CBD phase laid as fibres (the recipe's,
        or carbon / (carbon + binder) by volume)."""
        if self.cbd.fibre_volume_share is not None:
            return self.cbd.fibre_volume_share
        c, d = self.composition_wt, self.densities_g_cm3
        carbon, binder = c.carbon / d.carbon, c.binder / d.binder
        return carbon / (carbon + binder) if carbon + binder > 0 else 0.0

    @property
    def cbd_phase_fraction(self) -> float:
        """Volume fraction of the (nanoporous) CBD phase, label 2."""
        return self.cbd_solid_fraction / (1.0 - self.cbd_nanoporosity)

    @property
    def macro_porosity(self) -> float:
        return 1.0 - self.nmc_fraction - self.cbd_phase_fraction

    @model_validator(mode="after")
    def _room_for_pores(self) -> LayerRecipe:
        if self.macro_porosity <= 0:
            raise ValueError(
                f"porosity {self.porosity:g} is too low for this composition and cbd_nanoporosity "
                f"{self.cbd_nanoporosity:g}: the CBD phase ({self.cbd_phase_fraction:.3f}) and NMC "
                f"({self.nmc_fraction:.3f}) leave no macro-pores"
            )
        return self


class Packing(_Strict):
    """Packing settings (shared by all layers).

    ``max_overlap``: pairs of particles may overlap by up to this fraction of the smaller
    radius. ``wall_penetration``: fraction of a particle's radius that may lie beyond the
    current collector, separator or a layer interface plane (there the particle is cut flat,
    like a calendered surface). ``grid_um``: the grid on which volume fractions are measured
    while packing; it is independent of the output voxel size, so one seed gives the same
    particle list at every resolution.
    """

    max_overlap: float = Field(0.15, ge=0, le=0.5)
    wall_penetration: float = Field(0.4, ge=0, le=0.9)
    grid_um: float = Field(0.5, gt=0)
    tolerance: float = Field(0.003, gt=0, le=0.05, description="volume fraction tolerance")


class Recipe(_Strict):
    """A whole electrode recipe.

    Attributes
    ----------
    name : str
        Names the electrode (and the results of a study).
    seed : int
        Random seed (each layer's streams derive from it; see :func:`voxode.generate.layer_rngs`).
    box_um : tuple of float
        Box size x, y and thickness (um).
    voxel_um : float
        Voxel edge (um).
    specific_capacity_mah_g : float
        NMC specific capacity (mAh/g).
    layers : tuple of LayerRecipe
        Layers, current collector first: composition (wt%), densities (g/cm^3), porosity, sizes
        (um), shapes and CBD.
    packing : Packing
        Particle packing settings.
    """

    name: str = "electrode"
    seed: int = Field(0, ge=0)
    box_um: tuple[float, float, float] = Field((30.0, 30.0, 150.0), description="x, y, thickness")
    voxel_um: float = Field(0.5, gt=0)
    specific_capacity_mah_g: float = Field(200.0, gt=0)
    layers: tuple[LayerRecipe, ...] = (LayerRecipe(),)
    packing: Packing = Packing()

    @field_validator("box_um")
    @classmethod
    def _positive_box(cls, box: tuple[float, float, float]) -> tuple[float, float, float]:
        if min(box) <= 0:
            raise ValueError("box edges must be positive")
        return box

    @model_validator(mode="after")
    def _geometry(self) -> Recipe:
        total = sum(layer.thickness_fraction for layer in self.layers)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"layers: thickness_fraction must sum to 1, got {total:g}")
        lateral = min(self.box_um[0], self.box_um[1])
        for i, layer in enumerate(self.layers):
            for pop in layer.populations:
                d_max = layer.psd.d_max_um * pop.size_scale
                d_min = layer.psd.d_min_um * pop.size_scale
                thick = layer.thickness_fraction * self.box_um[2]
                if d_max > lateral or d_max > thick:
                    raise ValueError(
                        f"layers[{i}] population '{pop.name}': largest particle ({d_max:g} "
                        f"um) does not fit in the box ({lateral:g} um laterally, layer "
                        f"{thick:g} um thick): enlarge box_um or lower psd.d_max_um"
                    )
                for grid, what in (
                    (self.voxel_um, "voxel_um"),
                    (self.packing.grid_um, "packing.grid_um"),
                ):
                    if d_min < MIN_VOXELS_PER_PARTICLE * grid:
                        raise ValueError(
                            f"{what} {grid:g} is too coarse: the smallest particles "
                            f"of layers[{i}] population '{pop.name}' ({d_min:g} um) "
                            f"would span fewer than {MIN_VOXELS_PER_PARTICLE:g} voxels"
                        )
            if self.voxel_um > MAX_VOXEL_PER_FIBRE_DIAMETER * layer.cbd.fibre_diameter_um:
                raise ValueError(
                    f"voxel_um {self.voxel_um:g} is too coarse for the CBD fibres of "
                    f"layers[{i}] ({layer.cbd.fibre_diameter_um:g} um): a voxel wider than "
                    f"a fibre closes the pore throats the fibre crosses; use voxel_um <= "
                    f"{MAX_VOXEL_PER_FIBRE_DIAMETER * layer.cbd.fibre_diameter_um:g}"
                )
            if layer.cbd.fibre_diameter_um < MIN_VOXELS_PER_FIBRE * self.cbd_grid_um:
                raise ValueError(
                    f"the CBD grid ({self.cbd_grid_um:g} um: the finer of "
                    f"voxel_um and packing.grid_um) is too coarse for the "
                    f"fibres of layers[{i}] ({layer.cbd.fibre_diameter_um:g} um "
                    f"would span fewer than {MIN_VOXELS_PER_FIBRE:g} voxels): "
                    f"lower packing.grid_um or raise cbd.fibre_diameter_um"
                )
        return self

    @property
    def cbd_grid_um(self) -> float:
        """Voxel size (um) on which the carbon-binder domain is laid: the
        finer of the packing grid and the voxel, so that one seed gives
        the same CBD geometry at every coarser voxel size."""
        return min(self.voxel_um, self.packing.grid_um)

    def layer_bounds_um(self) -> list[tuple[float, float]]:
        """(z0, z1) of each layer in um from the current collector.

        Returns
        -------
        list of tuple of float
            (z0, z1) in um, one per layer, current collector first.
        """
        bounds, z = [], 0.0
        for layer in self.layers:
            z1 = z + layer.thickness_fraction * self.box_um[2]
            bounds.append((z, z1))
            z = z1
        bounds[-1] = (bounds[-1][0], float(self.box_um[2]))
        return bounds

    def grid_shape(self, voxel_um: float) -> tuple[int, int, int]:
        """Voxels along x, y, z of the box at voxel size ``voxel_um``.

        Parameters
        ----------
        voxel_um : float
            Voxel size (um).

        Returns
        -------
        tuple of int
            (nx, ny, nz).
        """
        nx, ny, nz = (max(1, round(s / voxel_um)) for s in self.box_um)
        return nx, ny, nz

    def layer_planes(self, index: int, voxel_um: float) -> tuple[int, int]:
        """First and one-past-last voxel plane (z) of layer ``index`` at voxel size ``voxel_um``.

        Parameters
        ----------
        index : int
            Layer index, current collector first.
        voxel_um : float
            Voxel size (um).

        Returns
        -------
        tuple of int
            (first plane, one past the last plane).
        """
        z0, z1 = self.layer_bounds_um()[index]
        return round(z0 / voxel_um), round(z1 / voxel_um)

    def with_overrides(self, *, voxel_um: float | None = None, seed: int | None = None) -> Recipe:
        """A copy with another voxel size and/or seed (validated again).

        Parameters
        ----------
        voxel_um : float, optional
            Voxel size (um).
        seed : int, optional
            Random seed.

        Returns
        -------
        Recipe
            The copy.
        """
        data = self.model_dump()
        if voxel_um is not None:
            data["voxel_um"] = voxel_um
        if seed is not None:
            data["seed"] = seed
        return recipe_from_dict(data, source=f"recipe {self.name}")


def repetition_seeds(n: int, base_seed: int) -> list[int]:
    """The seeds of ``n`` repetitions of a recipe (campaigns, design studies): ``base_seed``,
    ``base_seed + 1``, ..., ``base_seed + n - 1``.

    Each seed is hashed by ``numpy.random.SeedSequence`` inside the generator, so neighbouring
    seeds give independent streams; with ``base_seed`` the recipe's own seed, the first
    repetition is the recipe's own electrode.
    """
    return [base_seed + k for k in range(n)]


def recipe_from_dict(data: dict[str, Any], source: str = "recipe") -> Recipe:
    """Validate plain data into a Recipe; errors become one-line RecipeErrors naming the field.

    Parameters
    ----------
    data : dict
        Recipe fields (units in their names).
    source : str
        What the data came from, for the error message.

    Returns
    -------
    Recipe
        The validated recipe.
    """
    return validated(Recipe, data, source, RecipeError)


PRESETS = (
    "paper-pristine",
    "paper-bilayer",
    "paper-bilayer-reverse",
    "mini-pristine",
    "mini-bilayer",
    "mini-bilayer-reverse",
    "mini-thick-pristine",
    "mini-thick-bilayer",
    "mini-thick-bilayer-reverse",
)


def preset_text(name: str) -> str:
    """The YAML text of a shipped preset.

    Parameters
    ----------
    name : str
        The preset's name.

    Returns
    -------
    str
        Its YAML, comments included.
    """
    if name not in PRESETS:
        raise RecipeError(
            f"unknown preset '{name}': choose one of {', '.join(PRESETS)} or give a recipe file"
        )
    return resources.files("voxode.presets").joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def load_preset(name: str) -> Recipe:
    """A shipped preset recipe by name.

    Parameters
    ----------
    name : str
        ``paper-pristine``, ``paper-bilayer``, ``paper-bilayer-reverse``, or their ``mini-``
        (12 x 12 x 36 um) and ``mini-thick-`` (12 x 12 x 150 um) versions.

    Returns
    -------
    Recipe
        The validated recipe.
    """
    return load_validated(Recipe, preset_text(name), f"preset {name}", RecipeError, what="a recipe")


def load_recipe(spec: str | Path) -> Recipe:
    """Load a recipe from a preset name or a YAML/TOML file.

    Parameters
    ----------
    spec : str or Path
        A preset name or a YAML/TOML file.

    Returns
    -------
    Recipe
        The validated recipe.
    """
    path = Path(spec)
    if str(spec) in PRESETS:
        return load_preset(str(spec))
    if not path.is_file():
        if path.suffix.lower() not in (".yaml", ".yml", ".toml"):
            raise RecipeError(
                f"unknown preset '{spec}': choose one of {', '.join(PRESETS)} or give a recipe file"
            )
        raise RecipeError(f"recipe file not found: {path}")
    return load_validated(
        Recipe,
        path.read_text(encoding="utf-8"),
        str(path),
        RecipeError,
        what="a recipe",
        toml=path.suffix.lower() == ".toml",
    )


def recipe_to_yaml(recipe: Recipe) -> str:
    """Full YAML of a recipe (every field, defaults included) that loads back to the same recipe.

    Parameters
    ----------
    recipe : Recipe
        The recipe.

    Returns
    -------
    str
        YAML text.
    """
    return yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False)
