"""The `voxode` command: one sub-command per pipeline stage, mirroring the Python API.

Bad input ends with a one-line error on stderr and exit code 2 (no traceback).
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from voxode.campaign_commands import register as register_campaign
from voxode.characterize.commands import register as register_characterize
from voxode.design.commands import register as register_design
from voxode.electrochem.commands import register as register_simulate
from voxode.electrochem.defaults import DEFAULT_PARAMETER_SET
from voxode.electrode import Electrode
from voxode.errors import RunFailure, VoxodeError
from voxode.options import check
from voxode.surrogate.commands import register as register_surrogate

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="voxode: digital twins of thick battery electrodes.")
recipe_app = typer.Typer(no_args_is_help=True, help="Recipes: presets to start from.")
app.add_typer(recipe_app, name="recipe")
register_characterize(app)  # `characterize` and `tortuosity`: the characterization stage owns its commands
register_simulate(app)
register_campaign(app)   # `campaign` and `dataset`
register_surrogate(app)  # `train`, `predict`, `explain`, `figures`
register_design(app)     # `design compare|rate|screen`

err = Console(stderr=True)
out = Console()

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")]
Force = Annotated[bool, typer.Option("--force", help="Start even when the memory estimate exceeds the memory "
                                     "available.")]


def _print_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


@recipe_app.command("show")
def recipe_show(preset: Annotated[str, typer.Argument(help="paper-pristine, paper-bilayer, paper-bilayer-reverse or their mini- versions")]
                ) -> None:
    """Print a preset recipe (YAML) to copy and edit."""
    from voxode.recipe import preset_text

    sys.stdout.write(preset_text(preset))


@app.command()
def generate(
    recipe: Annotated[str, typer.Argument(help="Recipe file (YAML/TOML) or preset name.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Electrode file to write (.npz).")],
    voxel_um: Annotated[float | None, typer.Option("--voxel-um", help="Voxel size (um), overrides the recipe.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed, overrides the recipe.")] = None,
    force: Force = False,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Generate a stochastic 3D electrode from a recipe."""
    from voxode.generate import generate as run_generate
    from voxode.recipe import load_recipe
    from voxode.summary import electrode_summary

    check(voxel_um=voxel_um, seed=seed)
    spec = load_recipe(recipe)
    if voxel_um is not None or seed is not None:
        spec = spec.with_overrides(voxel_um=voxel_um, seed=seed)
    with err.status("generating", spinner="dots") if not quiet else nullcontext() as status:
        def stage(msg: str) -> None:
            if status is not None:
                status.update(msg)
        electrode = run_generate(spec, on_stage=stage, force=force)
    electrode.save(output)
    summary = electrode_summary(electrode) | {"output": str(output)}
    if as_json:
        _print_json(summary)
    elif not quiet:
        out.print(f"wrote {output}: {summary['particles']} particles, NMC {summary['fraction_nmc']:.3f}, "
                  f"{summary['theoretical_capacity_mah_cm2']:.2f} mAh/cm^2")


@app.command()
def info(
    electrodes: Annotated[list[Path], typer.Argument(help="Electrode file(s) (.npz).")],
    transport: Annotated[bool, typer.Option("--transport", help="Also the effective transport numbers: tau of the "
                                            "electrolyte with and without CBD, percolating fractions, CBD "
                                            "connectivity (tortuosity solves: seconds per electrode).")] = False,
    compare: Annotated[bool, typer.Option("--compare", help="One table, a column per electrode, transport numbers "
                                          "included (e.g. one seed at several voxel sizes).")] = False,
    params: Annotated[str, typer.Option("--params", help="Parameter set of the discharge's memory estimate.")]
    = DEFAULT_PARAMETER_SET,
    as_json: AsJson = False,
) -> None:
    """Phase fractions, porosity, loading, capacity, particle sizes and the memory a discharge needs, of an
    electrode (or several, side by side)."""
    from voxode.electrochem.materials import load_parameters
    from voxode.electrochem.simulate import estimate_memory
    from voxode.summary import electrode_summary

    loaded = [Electrode.load(path) for path in electrodes]
    parameters = load_parameters(params)
    summaries = []
    for e in loaded:
        estimate = estimate_memory(e, parameters)
        summaries.append(electrode_summary(e) | {"simulate_unknowns": estimate.unknowns,
                                                 "simulate_memory_gib": estimate.to_dict()["gib"]})
    if transport or compare:
        from voxode.characterize.effective import effective_transport

        summaries = [s | effective_transport(e) for s, e in zip(summaries, loaded)]
    if as_json:
        _print_json(summaries[0] if len(summaries) == 1 and not compare
                    else {str(path): s for path, s in zip(electrodes, summaries)})
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


@app.command()
def export(
    electrode: Annotated[Path, typer.Argument(help="Electrode file (.npz).")],
    tiff: Annotated[bool, typer.Option("--tiff", help="Labelled TIFF stacks <stem>_phases.tif, <stem>_particles.tif.")] = False,
    vtk: Annotated[bool, typer.Option("--vtk", help="VTK image <stem>.vti (ParaView).")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help=(
        "Output stem; a .tif/.tiff/.vti suffix is dropped from it, and a .vti name is used as it is "
        "for the VTK image (default: beside the input)."))] = None,
    as_json: AsJson = False,
) -> None:
    """Export an electrode as TIFF stacks and/or a VTK image."""
    if not (tiff or vtk):
        raise VoxodeError("export: choose --tiff and/or --vtk")
    e = Electrode.load(electrode)
    if output is None:
        stem = electrode.with_suffix("")
    else:
        stem = output.with_suffix("") if output.suffix.lower() in (".tif", ".tiff", ".vti") else output
    written: list[Path] = []
    if tiff:
        from voxode.io.tiff import write_tiff_stacks

        written += write_tiff_stacks(e, stem)
    if vtk:
        from voxode.io.vtk import write_vti

        vti = output if output is not None and output.suffix.lower() == ".vti" else stem.parent / f"{stem.name}.vti"
        written.append(write_vti(e, vti))
    if as_json:
        _print_json({"written": [str(p) for p in written]})
    else:
        out.print("wrote " + ", ".join(str(p) for p in written))


@app.command("import")
def import_(
    stack: Annotated[Path, typer.Argument(help="Labelled TIFF stack: 0 pore, 1 NMC, 2 CBD (pages = z).")],
    voxel_um: Annotated[float, typer.Option("--voxel-um", help="Voxel size (um).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Electrode file to write (.npz).")],
    particles: Annotated[Path | None, typer.Option("--particles", help="TIFF stack of particle ids (else watershed).")] = None,
    cbd_nanoporosity: Annotated[float, typer.Option(help="Nanoporosity of the CBD phase.")] = 0.5,
    flip_z: Annotated[bool, typer.Option("--flip-z", help="The stack's first page is the separator side "
                                         "(voxode expects the current collector first).")] = False,
    force: Force = False,
    as_json: AsJson = False,
) -> None:
    """Import a labelled TIFF stack (tomography) as an electrode: first page = current collector side."""
    from voxode.io.importing import import_tiff
    from voxode.summary import electrode_summary

    e = import_tiff(stack, voxel_um=voxel_um, particles_path=particles, cbd_nanoporosity=cbd_nanoporosity,
                    flip_z=flip_z, force=force)
    e.save(output)
    summary = electrode_summary(e) | {"output": str(output)}
    if as_json:
        _print_json(summary)
    else:
        out.print(f"wrote {output}: {summary['particles']} particles")


@app.command()
def plot(
    electrode: Annotated[Path, typer.Argument(help="Electrode file (.npz).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Figure file (.png or .svg).")],
) -> None:
    """Sections coloured by phase and the measured particle size distribution vs the recipe's."""
    from voxode.plots import plot_electrode
    from voxode.recipe import recipe_from_dict

    e = Electrode.load(electrode)
    recipe = recipe_from_dict(e.recipe, source=str(electrode)) if e.recipe is not None else None
    plot_electrode(e, output, recipe)
    out.print(f"wrote {output}")


@app.command()
def reproduce(
    preset: Annotated[str, typer.Option("--preset", help="quick (mini electrodes, minutes), paper (hours to days) "
                                        "or a preset YAML file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Results folder (resumes a killed run).")],
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address for the "
                                                     "simulations, e.g. tcp://host:8786.")] = None,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """The paper end to end: training campaign, surrogate + SHAP, designs, rate test, screening, report."""
    from voxode.reproduce import load_reproduce_preset
    from voxode.reproduce import reproduce as run_reproduce

    spec = load_reproduce_preset(preset)
    with err.status("reproducing", spinner="dots") if not (quiet or as_json) else nullcontext() as status:
        def stage(name: str) -> None:
            if status is not None:
                status.update(f"reproduce ({spec.name}): {name}")

        def case(result) -> None:
            if status is not None and not result.skipped:
                err.print(f"case {result.case.label}: {result.status}", highlight=False)

        result = run_reproduce(spec, output, scheduler=scheduler, on_stage=stage, on_result=case)
    if as_json:
        _print_json({"report": [str(p) for p in result.report], "timings_s": result.timings_s,
                     "numbers": result.numbers.astype(str).to_dict(orient="records")})
    elif not quiet:
        from rich.table import Table

        from voxode.report import format_value

        table = Table(title="voxode beside the paper")
        for column in result.numbers.columns:
            table.add_column(column)
        for row in result.numbers.itertuples(index=False):
            table.add_row(*(format_value(v) for v in row))
        out.print(table)
        out.print(f"wrote {result.report[0]} and {result.report[1]}")


def main() -> None:
    """Entry point: typed errors become one line on stderr and exit code 2 (usage errors too, via
    typer); a run that started but could not finish, one line and exit code 1."""
    try:
        app()
    except VoxodeError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except RunFailure as exc:
        err.print(f"[bold red]failed:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
