"""Commands of the electrode itself: ``recipe show``, ``generate``, ``import``, ``info``,
``export`` and ``plot``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from voxode.cli.options import DEFAULT_PARAMETER_SET, AsJson, Force, Params, Quiet, VoxelUm
from voxode.cli.output import out, print_json, stages, summary

recipe_app = typer.Typer(no_args_is_help=True, help="Recipes: presets to start from.")

ElectrodeIn = Annotated[Path, typer.Argument(help="Electrode file (.npz).")]
ElectrodeOut = Annotated[
    Path, typer.Option("--output", "-o", help="Electrode file to write (.npz).")
]
Seed = Annotated[int | None, typer.Option("--seed", help="Random seed, overrides the recipe.")]
PRESETS = (
    "paper-pristine, paper-bilayer, paper-bilayer-reverse or their mini- and mini-thick- versions"
)


@recipe_app.command("show")
def recipe_show(preset: Annotated[str, typer.Argument(help=PRESETS)]) -> None:
    """Print a preset recipe (YAML) to copy and edit."""
    from voxode.recipe import preset_text

    sys.stdout.write(preset_text(preset))


def generate(
    recipe: Annotated[str, typer.Argument(help="Recipe file (YAML/TOML) or preset name.")],
    output: ElectrodeOut,
    voxel_um: VoxelUm = None,
    seed: Seed = None,
    force: Force = False,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Generate a stochastic 3D electrode from a recipe."""
    from voxode.generate import generate as run_generate
    from voxode.options import check
    from voxode.recipe import load_recipe
    from voxode.summary import electrode_summary

    check(voxel_um=voxel_um, seed=seed)
    spec = load_recipe(recipe)
    if voxel_um is not None or seed is not None:
        spec = spec.with_overrides(voxel_um=voxel_um, seed=seed)
    with stages("generating", quiet) as stage:
        electrode = run_generate(spec, on_stage=stage, force=force)
    electrode.save(output)
    made = electrode_summary(electrode) | {"output": str(output)}
    summary(
        made,
        as_json,
        quiet,
        f"wrote {output}: {made['particles']} particles, NMC {made['fraction_nmc']:.3f}, "
        f"{made['theoretical_capacity_mah_cm2']:.2f} mAh/cm^2",
    )


def import_(
    stack: Annotated[
        Path, typer.Argument(help="Labelled TIFF stack: 0 pore, 1 NMC, 2 CBD (pages = z).")
    ],
    voxel_um: Annotated[float, typer.Option("--voxel-um", help="Voxel size (um).")],
    output: ElectrodeOut,
    particles: Annotated[
        Path | None,
        typer.Option("--particles", help="TIFF stack of particle ids (else watershed)."),
    ] = None,
    cbd_nanoporosity: Annotated[float, typer.Option(help="Nanoporosity of the CBD phase.")] = 0.5,
    flip_z: Annotated[
        bool,
        typer.Option(
            "--flip-z",
            help=(
                "The stack's first page is the separator side (voxode expects "
                "the current collector first)."
            ),
        ),
    ] = False,
    force: Force = False,
    as_json: AsJson = False,
) -> None:
    """Import a labelled TIFF stack (tomography) as an electrode.

    The first page is the current collector side (else --flip-z).
    """
    from voxode.io.importing import import_tiff
    from voxode.summary import electrode_summary

    e = import_tiff(
        stack,
        voxel_um=voxel_um,
        particles_path=particles,
        cbd_nanoporosity=cbd_nanoporosity,
        flip_z=flip_z,
        force=force,
    )
    e.save(output)
    made = electrode_summary(e) | {"output": str(output)}
    summary(made, as_json, False, f"wrote {output}: {made['particles']} particles")


def info(
    electrodes: Annotated[list[Path], typer.Argument(help="Electrode file(s) (.npz).")],
    transport: Annotated[
        bool,
        typer.Option(
            "--transport",
            help=(
                "Also the effective transport numbers: tau of the electrolyte "
                "with and without CBD, percolating fractions, CBD connectivity "
                "(tortuosity solves: seconds per electrode)."
            ),
        ),
    ] = False,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help=(
                "One table, a column per electrode, transport numbers included "
                "(e.g. one seed at several voxel sizes)."
            ),
        ),
    ] = False,
    params: Params = DEFAULT_PARAMETER_SET,
    as_json: AsJson = False,
) -> None:
    """Phase fractions, porosity, loading, capacity, particle sizes, memory of a discharge.

    Of one electrode, or several side by side; the discharge's memory with the parameter set
    of --params.
    """
    from voxode.electrochem.materials import load_parameters
    from voxode.electrochem.simulate import estimate_memory
    from voxode.electrode import Electrode
    from voxode.summary import electrode_summary

    loaded = [Electrode.load(path) for path in electrodes]
    parameters = load_parameters(params)
    summaries = []
    for e in loaded:
        estimate = estimate_memory(e, parameters)
        summaries.append(
            electrode_summary(e)
            | {
                "simulate_unknowns": estimate.unknowns,
                "simulate_memory_gib": estimate.to_dict()["gib"],
            }
        )
    if transport or compare:
        from voxode.characterize.effective import effective_transport

        summaries = [s | effective_transport(e) for s, e in zip(summaries, loaded, strict=True)]
    if as_json:
        print_json(
            summaries[0]
            if len(summaries) == 1 and not compare
            else {str(path): s for path, s in zip(electrodes, summaries, strict=True)}
        )
        return
    from rich.table import Table

    def cell(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    if len(summaries) == 1 and not compare:
        table = Table(title=str(electrodes[0]), show_header=False)
        for key, value in summaries[0].items():
            table.add_row(key, cell(value))
    else:
        table = Table()
        table.add_column("")
        for path in electrodes:
            table.add_column(path.name)
        for key in summaries[0]:
            table.add_row(key, *(cell(s.get(key)) for s in summaries))
    out.print(table)


def export(
    electrode: ElectrodeIn,
    tiff: Annotated[
        bool,
        typer.Option(
            "--tiff", help="Labelled TIFF stacks <stem>_phases.tif, <stem>_particles.tif."
        ),
    ] = False,
    vtk: Annotated[bool, typer.Option("--vtk", help="VTK image <stem>.vti (ParaView).")] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help=(
                "Output stem; a .tif/.tiff/.vti suffix is dropped from it, and a .vti "
                "name is used as it is for the VTK image (default: beside the input)."
            ),
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Export an electrode as TIFF stacks and/or a VTK image."""
    from voxode.electrode import Electrode
    from voxode.errors import VoxodeError

    if not (tiff or vtk):
        raise VoxodeError("export: choose --tiff and/or --vtk")
    e = Electrode.load(electrode)
    if output is None:
        stem = electrode.with_suffix("")
    else:
        suffix = output.suffix.lower()
        stem = output.with_suffix("") if suffix in (".tif", ".tiff", ".vti") else output
    written: list[Path] = []
    if tiff:
        from voxode.io.tiff import write_tiff_stacks

        written += write_tiff_stacks(e, stem)
    if vtk:
        from voxode.io.vtk import write_vti

        named = output is not None and output.suffix.lower() == ".vti"
        written.append(write_vti(e, output if named else stem.parent / f"{stem.name}.vti"))
    summary(
        {"written": [str(p) for p in written]},
        as_json,
        False,
        "wrote " + ", ".join(str(p) for p in written),
    )


def plot(
    electrode: ElectrodeIn,
    output: Annotated[Path, typer.Option("--output", "-o", help="Figure file (.png or .svg).")],
) -> None:
    """Sections coloured by phase and the measured particle size distribution vs the recipe's."""
    from voxode.electrode import Electrode
    from voxode.plots import plot_electrode
    from voxode.recipe import recipe_from_dict

    e = Electrode.load(electrode)
    recipe = recipe_from_dict(e.recipe, source=str(electrode)) if e.recipe is not None else None
    plot_electrode(e, output, recipe)
    out.print(f"wrote {output}")


def register(app: typer.Typer) -> None:
    """Add ``recipe``, ``generate``, ``import``, ``info``, ``export`` and ``plot`` to ``app``."""
    app.add_typer(recipe_app, name="recipe")
    app.command("generate")(generate)
    app.command("import")(import_)
    app.command("info")(info)
    app.command("export")(export)
    app.command("plot")(plot)
