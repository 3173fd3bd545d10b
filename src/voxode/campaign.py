"""Campaigns: many (recipe, seed, C-rate) cases, each generated, characterized and discharged.

A case's folder is named by a hash of everything that determines its result (the full recipe
with its seed and voxel size, the C-rate, the cut-off voltage and the parameter set), so a
rerun finds finished cases and skips them, and a killed campaign resumes: each stage writes
its files atomically and is skipped when its file is there, and a killed discharge resumes
from its own checkpoint. ``status.json``, written last, marks a case finished ("ok") or
failed (with the error); a failure is recorded and the other cases go on. Failed cases are
tried again on the next run.

Case folder (:class:`CaseFiles`): ``case.json`` (the inputs), ``electrode.npz``,
``particles.parquet`` (the characterization), ``profile.parquet`` (tau depth profiles),
``run/`` (the discharge outputs of :func:`voxode.electrochem.result.write_outputs`) and
``status.json``. A :class:`CaseResult` reads them back (``result.electrode()``,
``result.voltage()``, ...), so later stages take results, not folders.

Cases run in a local process pool (``workers``) or on a Dask distributed cluster
(``scheduler="tcp://host:port"``).
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from itertools import product
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voxode.atomic import write_text_atomic
from voxode.electrochem.defaults import DEFAULT_CUTOFF_V, DEFAULT_PARAMETER_SET
from voxode.electrochem.result import RunFiles
from voxode.electrode import Electrode
from voxode.errors import CampaignError, RunFailure
from voxode.extras import require
from voxode.options import check
from voxode.recipe import Recipe, load_recipe, recipe_from_dict, repetition_seeds
from voxode.validation import load_validated


@dataclass(frozen=True)
class CaseFiles:
    """The files of a case folder, named once (the run's own files are :class:`RunFiles`)."""

    folder: Path

    @property
    def inputs(self) -> Path:
        """case.json: the case's inputs (:meth:`Case.inputs`)."""
        return self.folder / "case.json"

    @property
    def status(self) -> Path:
        """status.json: "ok" with the discharge summary, or
        "failed" with the error; written last."""
        return self.folder / "status.json"

    @property
    def electrode(self) -> Path:
        return self.folder / "electrode.npz"

    @property
    def particles(self) -> Path:
        """particles.parquet: the characterization (one row per particle)."""
        return self.folder / "particles.parquet"

    @property
    def profile(self) -> Path:
        """profile.parquet: the tortuosity depth profiles."""
        return self.folder / "profile.parquet"

    @property
    def run(self) -> RunFiles:
        """The discharge outputs (``run/``)."""
        return RunFiles(self.folder / "run")


@dataclass(frozen=True)
class Case:
    """One simulation: a recipe (with its seed and voxel size), a C-rate and the cut-off."""

    recipe: Recipe
    c_rate: float
    cutoff_v: float = DEFAULT_CUTOFF_V
    params: str = DEFAULT_PARAMETER_SET

    def inputs(self) -> dict[str, Any]:
        """JSON-ready inputs (what case.json holds and the key hashes)."""
        return {
            "recipe": self.recipe.model_dump(mode="json"),
            "c_rate": float(self.c_rate),
            "cutoff_v": float(self.cutoff_v),
            "params": self.params,
        }

    @property
    def key(self) -> str:
        """16 hex digits of the SHA-256 of the inputs: the case's folder name."""
        text = json.dumps(self.inputs(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        return f"{self.recipe.name} seed {self.recipe.seed} {self.c_rate:g}C"

    @classmethod
    def from_inputs(cls, data: dict[str, Any], source: str = "case.json") -> Case:
        return cls(
            recipe=recipe_from_dict(data["recipe"], source=source),
            c_rate=float(data["c_rate"]),
            cutoff_v=float(data["cutoff_v"]),
            params=str(data["params"]),
        )


@dataclass
class CaseResult:
    """The outcome of one case: status "ok" or "failed", its folder and its discharge summary."""

    case: Case
    folder: Path
    status: str
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False  # finished before this run
    end_reason: str | None = (
        None  # how the discharge ended (EndReason value), "error" when a stage raised
    )

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def files(self) -> CaseFiles:
        return CaseFiles(self.folder)

    def electrode(self) -> Electrode:
        """The case's generated electrode."""
        return Electrode.load(self.files.electrode)

    def particles(self) -> pd.DataFrame:
        """The characterization: one row per particle (:data:`voxode.characterize.COLUMNS`)."""
        return pd.read_parquet(self.files.particles)

    def profile(self) -> pd.DataFrame:
        """The tortuosity depth profiles."""
        return pd.read_parquet(self.files.profile)

    def voltage(self) -> pd.DataFrame:
        """The discharge curve: t_s, voltage_v, capacity_mah_cm2, capacity_mah_g."""
        return pd.read_csv(self.files.run.voltage)

    def particle_sod(self) -> pd.DataFrame:
        """Per particle: id, centroid_z_um, volume_um3,
        x_dod_*, sod_* (SOD at DoD 25/50/75/100 %)."""
        return pd.read_parquet(self.files.run.particle_sod)


class CampaignSpec(BaseModel):
    """A campaign file: recipes x seeds x C-rates.

    ``seeds`` is a list of seeds, or ``n_seeds`` seeds are derived from ``base_seed`` by
    :func:`voxode.recipe.repetition_seeds` (as design studies do). ``recipes`` are preset names or
    recipe files (relative paths are read from the campaign file's folder).
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = "campaign"
    recipes: list[str] = Field(min_length=1)
    seeds: list[int] | None = None
    n_seeds: int | None = Field(default=None, ge=1)
    base_seed: int = 0
    c_rates: list[float] = Field(default=[1.0], min_length=1)
    voxel_um: float | None = Field(default=None, gt=0)
    cutoff_v: float = DEFAULT_CUTOFF_V
    params: str = DEFAULT_PARAMETER_SET

    @field_validator("c_rates")
    @classmethod
    def _positive(cls, rates: list[float]) -> list[float]:
        if any(r <= 0 for r in rates):
            raise ValueError(f"C-rates must be positive, got {rates}")
        return rates

    @model_validator(mode="after")
    def _one_seed_source(self) -> CampaignSpec:
        if (self.seeds is None) == (self.n_seeds is None):
            raise ValueError("give either seeds (a list) or n_seeds")
        if self.seeds is not None and not self.seeds:
            raise ValueError("seeds is empty: a campaign needs at least one case")
        return self

    def seed_list(self) -> list[int]:
        if self.seeds is not None:
            return list(self.seeds)
        return repetition_seeds(self.n_seeds, self.base_seed)

    def cases(self, folder: Path = Path(".")) -> list[Case]:
        """Every (recipe, seed, C-rate) case, recipes in file order."""
        recipes = []
        for spec in self.recipes:
            path = folder / spec
            recipes.append(
                load_recipe(path if path.suffix.lower() in (".yaml", ".yml", ".toml") else spec)
            )
        return [
            Case(
                recipe.with_overrides(seed=seed, voxel_um=self.voxel_um),
                rate,
                self.cutoff_v,
                self.params,
            )
            for recipe, seed, rate in product(recipes, self.seed_list(), self.c_rates)
        ]


def load_campaign(path: Path) -> list[Case]:
    """The cases of a campaign file (YAML); errors are one line naming the field.

    Parameters
    ----------
    path : Path
        Campaign file (YAML).

    Returns
    -------
    list of Case
        One case per (recipe, seed, C-rate, ...) combination of the file.
    """
    if not path.is_file():
        raise CampaignError(f"campaign file not found: {path}")
    spec = load_validated(
        CampaignSpec,
        path.read_text(encoding="utf-8"),
        str(path),
        CampaignError,
        what="a campaign (recipes, seeds, c_rates, ...)",
    )
    return spec.cases(path.parent)


def read_status(folder: Path) -> dict[str, Any] | None:
    """The case's status.json, or None when the case has not finished."""
    path = CaseFiles(folder).status
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def run_case(case: Case, folder: Path) -> CaseResult:
    """Generate, characterize and discharge one case in ``folder``; a stage whose output is
    already there is not redone (resume). Failures are recorded in status.json, not raised.

    Parameters
    ----------
    case : Case
        The case.
    folder : Path
        Its folder.

    Returns
    -------
    CaseResult
        Its status, end reason and discharge summary.
    """
    from threadpoolctl import threadpool_limits

    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(CaseFiles(folder).inputs, json.dumps(case.inputs(), indent=2) + "\n")
    started = time.perf_counter()
    try:
        # one BLAS/numba thread per case: cases are the unit of parallelism
        with threadpool_limits(limits=1):
            summary = _run_stages(case, folder)
        record = {
            "status": "ok",
            "summary": summary,
            "end_reason": summary["end_reason"],
            "wall_s": time.perf_counter() - started,
        }
    except Exception as exc:  # noqa: BLE001 - a failed case is recorded, the campaign goes on
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        record = {
            "status": "failed",
            "error": f"{type(exc).__name__}: {message}",
            "traceback": traceback.format_exc(),
            "wall_s": time.perf_counter() - started,
            "end_reason": exc.record.get("end_reason", "error")
            if isinstance(exc, RunFailure)
            else "error",
            **({"end": exc.record} if isinstance(exc, RunFailure) else {}),
        }
    write_text_atomic(CaseFiles(folder).status, json.dumps(record, indent=2) + "\n")
    return CaseResult(
        case,
        folder,
        record["status"],
        record.get("error"),
        record.get("summary", {}),
        end_reason=record["end_reason"],
    )


def _run_stages(case: Case, folder: Path) -> dict[str, Any]:
    from voxode.atomic import write_atomic
    from voxode.characterize import characterization
    from voxode.electrochem.result import discharge_to_folder
    from voxode.generate import generate

    files = CaseFiles(folder)
    if files.electrode.is_file():
        electrode = Electrode.load(files.electrode)
    else:
        electrode = generate(case.recipe)
        electrode.save(files.electrode)
    if not files.particles.is_file():
        result = characterization(electrode)
        profile = result.profile_frame()
        write_atomic(files.profile, lambda p: profile.to_parquet(p, index=False))
        write_atomic(files.particles, lambda p: result.particles.to_parquet(p, index=False))
    return discharge_to_folder(
        electrode, files.run.folder, c_rate=case.c_rate, cutoff_v=case.cutoff_v, params=case.params
    )


def _local_runner(workers: int) -> Callable[[Sequence[tuple[Case, Path]]], Iterable[CaseResult]]:
    def run(jobs: Sequence[tuple[Case, Path]]) -> Iterable[CaseResult]:
        if workers == 1:
            for case, folder in jobs:
                yield run_case(case, folder)
            return
        # spawn, not fork: numba and BLAS threads do not survive a fork reliably
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(run_case, case, folder) for case, folder in jobs]
            for future in as_completed(futures):
                yield future.result()

    return run


def _dask_runner(
    address: str, connect_timeout_s: float
) -> Callable[[Sequence[tuple[Case, Path]]], Iterable[CaseResult]]:
    distributed = require("distributed", "dask", "running on a Dask cluster (--scheduler)")
    Client, dask_completed = distributed.Client, distributed.as_completed

    try:
        client = Client(address, timeout=f"{connect_timeout_s}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise CampaignError(
            f"cannot reach the Dask scheduler at {address}: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None

    def run(jobs: Sequence[tuple[Case, Path]]) -> Iterable[CaseResult]:
        try:
            futures = [client.submit(run_case, case, folder, pure=False) for case, folder in jobs]
            for future in dask_completed(futures):
                yield future.result()
        finally:
            client.close()

    return run


def run_campaign(
    cases: Sequence[Case],
    out_dir: Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    connect_timeout_s: float = 10.0,
    on_result: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Run every case into ``out_dir/<case key>/``; finished cases are skipped.

    ``scheduler`` (``tcp://host:port``) runs the cases on a Dask distributed cluster instead of
    a local pool of ``workers`` processes. ``on_result`` is called as each case ends. Returns
    the results in the order of ``cases``.

    Parameters
    ----------
    cases : sequence of Case
        The cases.
    out_dir : Path
        Campaign folder.
    workers : int
        Local worker processes.
    scheduler : str, optional
        Dask scheduler address.
    connect_timeout_s : float
        Time (s) to reach the scheduler.
    on_result : callable, optional
        Called with each case's result.

    Returns
    -------
    list of CaseResult
        Status, end reason and summary (capacities in mAh/cm^2, mAh/g) of each case.
    """
    check(workers=workers)
    if not cases:
        raise CampaignError("the campaign has no cases: give at least one recipe, seed and C-rate")
    out_dir.mkdir(parents=True, exist_ok=True)
    unique = {case.key: case for case in cases}
    results: dict[str, CaseResult] = {}
    pending = []
    for key, case in unique.items():
        status = read_status(out_dir / key)
        if status is not None and status["status"] == "ok":
            results[key] = CaseResult(
                case,
                out_dir / key,
                "ok",
                summary=status["summary"],
                skipped=True,
                end_reason=status["summary"].get("end_reason"),
            )
        else:
            pending.append((case, out_dir / key))
    for result in results.values():
        if on_result is not None:
            on_result(result)
    if pending:
        runner = _dask_runner(scheduler, connect_timeout_s) if scheduler else _local_runner(workers)
        for result in runner(pending):
            results[result.folder.name] = result
            if on_result is not None:
                on_result(result)
    return [results[case.key] for case in cases]


def campaign_results(out_dir: Path) -> list[CaseResult]:
    """Every case folder under ``out_dir`` with its status (unfinished cases as "pending").

    Parameters
    ----------
    out_dir : Path
        Campaign folder.

    Returns
    -------
    list of CaseResult
        One per case folder, sorted by folder name.
    """
    if not out_dir.is_dir():
        raise CampaignError(f"campaign folder not found: {out_dir}")
    results = []
    for folder in sorted(p for p in out_dir.iterdir() if CaseFiles(p).inputs.is_file()):
        inputs = CaseFiles(folder).inputs
        case = Case.from_inputs(json.loads(inputs.read_text(encoding="utf-8")), source=str(inputs))
        status = read_status(folder)
        if status is None:
            results.append(CaseResult(case, folder, "pending"))
        else:
            results.append(
                CaseResult(
                    case,
                    folder,
                    status["status"],
                    status.get("error"),
                    status.get("summary", {}),
                    end_reason=status.get("end_reason"),
                )
            )
    return results
