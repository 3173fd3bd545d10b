"""The Electrode: voxode's one data model, shared by every stage.

An Electrode is a voxel image of a porous electrode plus what is known about how it was made:

- ``phases`` (uint8, indexed ``[x, y, z]``): 0 pore (electrolyte), 1 active material (NMC),
  2 carbon-binder domain (CBD, nanoporous). z is through-plane; z = 0 is the current collector
  and z = L the separator side.
- ``particle_ids`` (int32, same shape): 0 where no particle, else the particle's id.
- ``voxel_um``: edge length of a cubic voxel in micrometres.
- ``particles``: one row per particle id (the analytic particle list of a generated electrode;
  for an imported image only ids, layer 0 and population ``"imported"``).
- ``layers``: the through-plane layers, each with its z-range (um) and the material data that
  later stages need (CBD nanoporosity, NMC density, specific capacity).
- ``recipe``: the validated recipe it was generated from (``None`` for imports), as plain data.
- ``provenance``: seed, voxode version, source, creation time.

Save/load is lossless, as one ``.npz`` file (no pickles).
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voxode.atomic import atomic_path
from voxode.errors import ElectrodeFileError, ImageError

if TYPE_CHECKING:
    import pandas as pd

PORE: int = 0
NMC: int = 1
CBD: int = 2
PHASE_NAMES: dict[int, str] = {PORE: "pore", NMC: "nmc", CBD: "cbd"}

FORMAT_VERSION = 1
_PARTICLE_PREFIX = "particles."


def border_particles(particle_ids: np.ndarray) -> np.ndarray:
    """Sorted ids of the particles that touch a lateral face (x or y) of the box.

    Parameters
    ----------
    particle_ids : ndarray of int, [x, y, z]
        Particle ids (0 = no particle).

    Returns
    -------
    ndarray of int
        The ids, sorted.
    """
    faces = [particle_ids[0], particle_ids[-1], particle_ids[:, 0], particle_ids[:, -1]]
    ids = np.unique(np.concatenate([f.ravel() for f in faces]))
    return ids[ids > 0]


@dataclass(frozen=True)
class Layer:
    """One through-plane layer of an electrode (z measured from the current collector, um).

    Attributes
    ----------
    name : str
        The layer's name.
    z0_um, z1_um : float
        Lower and upper plane (um from the current collector).
    cbd_nanoporosity : float
        Nanoporosity of its CBD (0 to 1).
    nmc_density_g_cm3 : float
        NMC density (g/cm^3).
    specific_capacity_mah_g : float
        NMC specific capacity (mAh/g).
    """

    name: str
    z0_um: float
    z1_um: float
    cbd_nanoporosity: float = 0.5
    nmc_density_g_cm3: float = 4.75
    specific_capacity_mah_g: float = 200.0

    def to_dict(self) -> dict[str, Any]:
        """The layer as plain data (as stored in an electrode file).

        Returns
        -------
        dict
            The fields by name (units in the names).
        """
        return dict(self.__dict__)


def plane_centres_um(voxel_um: float, nz: int) -> np.ndarray:
    """Through-plane coordinate (um from the current
    collector) of the centres of ``nz`` z planes."""
    return (np.arange(nz) + 0.5) * voxel_um


def layer_index_of_planes(layers: list[Layer], voxel_um: float, nz: int) -> np.ndarray:
    """Index into ``layers`` of each of ``nz`` z planes of
    edge ``voxel_um`` (by the plane centre)."""
    z = plane_centres_um(voxel_um, nz)
    idx = np.zeros(z.shape, dtype=np.int64)
    for i, layer in enumerate(layers):
        idx[(z >= layer.z0_um) & (z < layer.z1_um)] = i
    return idx


def cbd_nanoporosity_planes(layers: list[Layer], voxel_um: float, nz: int) -> np.ndarray:
    """CBD nanoporosity of each of ``nz`` z planes (from the layer the plane belongs to).

    Parameters
    ----------
    layers : list of Layer
        The electrode's layers, current collector first.
    voxel_um : float
        Voxel size (um).
    nz : int
        Number of z planes.

    Returns
    -------
    ndarray of float
        Nanoporosity (0 to 1) of each plane.
    """
    eps = np.array([layer.cbd_nanoporosity for layer in layers], dtype=float)
    return eps[layer_index_of_planes(layers, voxel_um, nz)]


@dataclass
class Electrode:
    """A voxelised electrode: phases, particle ids, voxel size, particle list, layers, provenance.

    Attributes
    ----------
    phases : ndarray of uint8, [x, y, z]
        0 pore, 1 NMC, 2 CBD; z = 0 the current collector.
    particle_ids : ndarray of int32, [x, y, z]
        Particle ids (0 = no particle).
    voxel_um : float
        Voxel edge (um).
    particles : pandas.DataFrame
        One row per particle id (units in the column names).
    layers : list of Layer
        Through-plane layers, current collector first.
    recipe : dict, optional
        The recipe it was generated from.
    provenance : dict
        Source, seed, voxode version and generation details.
    """

    phases: np.ndarray
    particle_ids: np.ndarray
    voxel_um: float
    particles: pd.DataFrame
    layers: list[Layer]
    recipe: dict[str, Any] | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        phases, ids = np.asarray(self.phases), np.asarray(self.particle_ids)
        for name, values in (("phases", phases), ("particle_ids", ids)):
            if not (np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_):
                raise ImageError(f"{name} must hold integer labels, got dtype {values.dtype}")
        if phases.size and (phases.min() < 0 or phases.max() > CBD):
            raise ImageError("phases may only hold 0 (pore), 1 (NMC) or 2 (CBD)")
        if ids.size and (ids.min() < 0 or ids.max() > np.iinfo(np.int32).max):
            raise ImageError(
                f"particle_ids must lie in 0..{np.iinfo(np.int32).max}, got "
                f"{ids.min()}..{ids.max()}"
            )
        self.phases = np.ascontiguousarray(phases, dtype=np.uint8)
        self.particle_ids = np.ascontiguousarray(ids, dtype=np.int32)
        if self.phases.ndim != 3:
            raise ImageError(f"phases must be a 3D array, got shape {self.phases.shape}")
        if self.phases.shape != self.particle_ids.shape:
            raise ImageError(
                f"phases {self.phases.shape} and particle_ids "
                f"{self.particle_ids.shape} differ in shape"
            )
        if not 0 < self.voxel_um < math.inf:
            raise ImageError(f"voxel_um must be positive and finite, got {self.voxel_um}")
        if np.any((self.particle_ids > 0) & (self.phases != NMC)):
            raise ImageError("particle ids found outside the NMC phase")

    # ----------------------------------------------------------------- geometry
    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.phases.shape)  # type: ignore[return-value]

    @property
    def size_um(self) -> tuple[float, float, float]:
        """Box edge lengths (x, y, z) in um."""
        return tuple(n * self.voxel_um for n in self.shape)  # type: ignore[return-value]

    @property
    def thickness_um(self) -> float:
        return self.shape[2] * self.voxel_um

    def z_centres_um(self) -> np.ndarray:
        """Through-plane coordinate (um from the current collector) of each voxel plane centre.

        Returns
        -------
        ndarray of float
            Positions (um), one per plane.
        """
        return plane_centres_um(self.voxel_um, self.shape[2])

    def layer_index_of_planes(self) -> np.ndarray:
        """Index into ``layers`` of every z plane (int array of length nz).

        Returns
        -------
        ndarray of int
            Layer index, one per plane.
        """
        return layer_index_of_planes(self.layers, self.voxel_um, self.shape[2])

    def cbd_nanoporosity_planes(self) -> np.ndarray:
        """CBD nanoporosity of each z plane (from the layer the plane belongs to).

        Returns
        -------
        ndarray of float
            Nanoporosity (0 to 1), one per plane.
        """
        return cbd_nanoporosity_planes(self.layers, self.voxel_um, self.shape[2])

    def nmc_density_planes_g_cm3(self) -> np.ndarray:
        """NMC density (g/cm^3) of each z plane (from the layer the plane belongs to).

        Returns
        -------
        ndarray of float
            Density (g/cm^3), one per plane.
        """
        dens = np.array([layer.nmc_density_g_cm3 for layer in self.layers], dtype=float)
        return dens[self.layer_index_of_planes()]

    @property
    def area_cm2(self) -> float:
        """In-plane (x, y) area of the box in cm^2."""
        return self.shape[0] * self.shape[1] * (self.voxel_um * 1e-4) ** 2

    def _nmc_mass_planes_mg_cm2(self) -> np.ndarray:
        """NMC mass per electrode area (mg/cm^2) in each z plane, at its layer's density."""
        fraction = np.count_nonzero(self.phases == NMC, axis=(0, 1)) / (
            self.shape[0] * self.shape[1]
        )
        return fraction * self.voxel_um * 1e-4 * self.nmc_density_planes_g_cm3() * 1e3

    @property
    def nmc_loading_mg_cm2(self) -> float:
        """NMC mass per electrode area (mg/cm^2): every plane at its own layer's NMC density."""
        return float(np.sum(self._nmc_mass_planes_mg_cm2()))

    @property
    def nominal_capacity_mah_cm2(self) -> float:
        """Theoretical capacity per electrode area (mAh/cm^2): each plane's NMC mass times its
        layer's specific capacity (the 1C current density in mA/cm^2)."""
        spec = np.array([layer.specific_capacity_mah_g for layer in self.layers], dtype=float)
        return float(
            np.sum(self._nmc_mass_planes_mg_cm2() * spec[self.layer_index_of_planes()]) / 1e3
        )

    @property
    def n_particles(self) -> int:
        return int(len(self.particles))

    # ----------------------------------------------------------------- save / load
    def save(self, path: str | Path) -> Path:
        """Write the electrode losslessly to one compressed ``.npz`` file, atomically.

        Parameters
        ----------
        path : str or Path
            ``.npz`` file to write.

        Returns
        -------
        Path
            ``path``.
        """
        path = Path(path)
        arrays: dict[str, np.ndarray] = {"phases": self.phases, "particle_ids": self.particle_ids}
        for col in self.particles.columns:
            values = self.particles[col].to_numpy()
            if values.dtype == object:
                values = values.astype(str)
            arrays[_PARTICLE_PREFIX + col] = values
        meta = {
            "format_version": FORMAT_VERSION,
            "voxel_um": self.voxel_um,
            "particle_columns": list(self.particles.columns),
            "layers": [layer.to_dict() for layer in self.layers],
            "recipe": self.recipe,
            "provenance": self.provenance,
        }
        arrays["meta_json"] = np.array(json.dumps(meta))
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Electrode:
        """Read an electrode written by :meth:`save`; a missing or corrupt file raises
        ElectrodeFileError.

        Parameters
        ----------
        path : str or Path
            ``.npz`` file written by :meth:`save`.

        Returns
        -------
        Electrode
            The electrode, bit for bit as saved.
        """
        path = Path(path)
        if not path.is_file():
            raise ElectrodeFileError(f"electrode file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta_json"]))
                phases = data["phases"]
                ids = data["particle_ids"]
                cols = {c: data[_PARTICLE_PREFIX + c] for c in meta["particle_columns"]}
        except (
            OSError,
            ValueError,
            KeyError,
            EOFError,
            zipfile.BadZipFile,
            json.JSONDecodeError,
        ) as exc:
            reason = (
                f"missing entry {exc}"
                if isinstance(exc, KeyError)
                else "not an uncorrupted .npz archive"
            )
            raise ElectrodeFileError(f"{path} is not a voxode electrode file ({reason})") from None
        if meta.get("format_version") != FORMAT_VERSION:
            raise ElectrodeFileError(
                f"{path} has electrode format {meta.get('format_version')}, "
                f"this voxode reads {FORMAT_VERSION}"
            )
        # here: pandas takes ~0.5 s to import, and the CLI imports Electrode at startup
        import pandas as pd

        return cls(
            phases=phases,
            particle_ids=ids,
            voxel_um=float(meta["voxel_um"]),
            particles=pd.DataFrame(cols),
            layers=[Layer(**d) for d in meta["layers"]],
            recipe=meta["recipe"],
            provenance=meta["provenance"],
        )

    def equals(self, other: Electrode) -> bool:
        """True when both electrodes hold identical arrays, particle lists and metadata.

        Parameters
        ----------
        other : Electrode
            The electrode to compare with.

        Returns
        -------
        bool
            Whether they are identical.
        """
        return (
            np.array_equal(self.phases, other.phases)
            and np.array_equal(self.particle_ids, other.particle_ids)
            and self.voxel_um == other.voxel_um
            and self.particles.equals(other.particles)
            and self.layers == other.layers
            and self.recipe == other.recipe
            and self.provenance == other.provenance
        )
