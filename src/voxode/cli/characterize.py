"""Commands of the characterization stage: ``characterize`` and ``tortuosity``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voxode.cli.options import AsJson, ElectrodeFile, Force, Quiet
from voxode.cli.output import err, out, print_json

if TYPE_CHECKING:
    import numpy as np

TIFF_SUFFIXES = (".tif", ".tiff")


def _read_labels(path: Path) -> tuple[np.ndarray, np.ndarray | float, float | None]:
    """Labelled image [x, y, z], CBD nanoporosity (per z plane for electrodes) and voxel size (um,
    None for a TIFF) of a file."""
    import numpy as np

    from voxode.electrode import Electrode
    from voxode.errors import ElectrodeFileError, ImageError

    if not path.is_file():
        raise ElectrodeFileError(f"image file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        electrode = Electrode.load(path)
        return electrode.phases, electrode.cbd_nanoporosity_planes(), electrode.voxel_um
    if suffix in TIFF_SUFFIXES:
        from voxode.io.tiff import read_label_stack

        stack = read_label_stack(path)
        if stack.min() < 0:
            raise ImageError(f"{path} holds negative labels; labels must be >= 0")
        return np.ascontiguousarray(stack), 0.5, None
    raise ElectrodeFileError(
        f"{path}: unsupported image format (use a voxode .npz electrode or a .tif stack)"
    )


def _parse_phases(text: str, labels: np.ndarray, path: Path) -> list[int]:
    import numpy as np

    from voxode.errors import ImageError, VoxodeError

    try:
        phases = sorted({int(item) for item in text.replace(" ", "").split(",") if item})
    except ValueError:
        raise VoxodeError(f"--phases {text!r} is not a comma-separated list of labels") from None
    if not phases:
        raise VoxodeError("--phases: give at least one conducting label")
    present = np.unique(labels)
    if not np.isin(phases, present).any():
        raise ImageError(
            f"none of the conducting labels {phases} occurs in {path} "
            f"(labels present: {present.tolist()}); change --phases"
        )
    return phases


def characterize(
    electrode: ElectrodeFile,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Particle table (.parquet or .csv).")
    ],
    profile: Annotated[
        Path | None, typer.Option(help="Also write the depth profiles (.parquet or .csv).")
    ] = None,
    figures: Annotated[
        Path | None, typer.Option(help="Folder for depth-profile and histogram PNGs.")
    ] = None,
    force: Force = False,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Measure every particle: volume, areas, centroid, sphericity, tortuosity to the separator."""
    from voxode.characterize.effective import effective_transport
    from voxode.characterize.features import characterization
    from voxode.characterize.figures import plot_depth_profile, plot_feature_histograms
    from voxode.electrode import Electrode
    from voxode.errors import VoxodeError
    from voxode.io.tables import check_table_path, json_safe, write_table

    check_table_path(output, "--output")
    check_table_path(profile, "--profile")
    if figures is not None and figures.exists() and not figures.is_dir():
        raise VoxodeError(f"--figures {figures} is a file; give a folder")
    start = time.perf_counter()
    loaded = Electrode.load(electrode)
    result = characterization(loaded, progress=not quiet and not as_json, force=force)
    write_table(result.particles, output)
    if profile is not None:
        write_table(result.profile_frame(), profile)
    if figures is not None:
        plot_depth_profile(
            {"electrolyte": result.electrolyte, "electrolyte + CBD": result.electrolyte_cbd},
            figures / "depth_profile.png",
        )
        plot_feature_histograms(result.particles, figures / "feature_histograms.png")
    table = result.particles
    transport = effective_transport(loaded)
    summary = {
        "electrode": str(electrode),
        "output": str(output),
        "n_particles": int(len(table)),
        "n_border": int(table["border"].sum()),
        "tau_electrolyte_full": json_safe(result.electrolyte.tau[0]),
        "tau_electrolyte_cbd_full": json_safe(result.electrolyte_cbd.tau[0]),
        "porosity_electrolyte": json_safe(result.electrolyte.porosity[0]),
        "active_area_um2_total": json_safe(table["active_area_um2"].sum()),
        **{key: json_safe(value) for key, value in transport.items()},
        "seconds": round(time.perf_counter() - start, 3),
    }
    if as_json:
        print_json(summary)
    elif not quiet:
        out.print(
            f"{summary['n_particles']} particles ({summary['n_border']} cut by a lateral "
            f"face) -> {output}"
        )
        out.print(
            f"tau electrolyte (separator to current collector) "
            f"{result.electrolyte.tau[0]:.4g}, electrolyte + CBD "
            f"{result.electrolyte_cbd.tau[0]:.4g}; {summary['seconds']} s"
        )
        out.print(
            f"percolating: electrolyte {transport['percolating_fraction_electrolyte']:.3f}, "
            f"electrolyte + CBD {transport['percolating_fraction_electrolyte_cbd']:.3f}; "
            f"CBD spanning {transport['cbd_percolating_fraction']:.3f}, largest CBD cluster "
            f"{transport['cbd_largest_cluster_fraction']:.3f}"
        )


def tortuosity(
    image: Annotated[
        Path,
        typer.Argument(help="Labelled image: voxode .npz electrode or TIFF stack (pages = z)."),
    ],
    axis: Annotated[str, typer.Option(help="Transport axis: x, y or z.")] = "z",
    phases: Annotated[
        str, typer.Option(help="Conducting labels, comma-separated; label 2 is nanoporous CBD.")
    ] = "0",
    cbd_nanoporosity: Annotated[
        float | None,
        typer.Option(
            help="CBD nanoporosity eps_n (D = eps_n^1.5); default: the electrode's layers, 0.5 for "
            "TIFF."
        ),
    ] = None,
    boundary: Annotated[
        str,
        typer.Option(
            help="Dirichlet planes: 'faces' (outer voxel faces, length N) or 'ghost' (length "
            "N + 1)."
        ),
    ] = "faces",
    profile: Annotated[
        Path | None,
        typer.Option(
            help="Also write tau from the high end of the axis to every plane (.parquet or .csv); "
            "always with Dirichlet planes on voxel faces."
        ),
    ] = None,
    voxel_um: Annotated[
        float | None,
        typer.Option(
            "--voxel-um",
            help="Voxel size (um) for the profile's positions; default: the electrode's.",
        ),
    ] = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Tortuosity factor tau = eps D0 / D_eff of a labelled image along one axis."""
    from voxode.characterize.profile import depth_profile
    from voxode.characterize.tortuosity import AXIS_NAMES
    from voxode.characterize.tortuosity import tortuosity as solve
    from voxode.characterize.transport import phase_fields
    from voxode.errors import VoxodeError
    from voxode.io.tables import check_table_path, write_table
    from voxode.options import check

    if axis not in AXIS_NAMES:
        raise VoxodeError(f"--axis {axis!r} is not one of x, y, z")
    if boundary not in ("faces", "ghost"):
        raise VoxodeError(f"--boundary {boundary!r} is not 'faces' or 'ghost'")
    check_table_path(profile, "--profile")
    check(cbd_nanoporosity=cbd_nanoporosity, voxel_um=voxel_um)
    labels, eps_n, image_voxel_um = _read_labels(image)
    voxel = voxel_um if voxel_um is not None else image_voxel_um
    if profile is not None and voxel is None:
        raise VoxodeError(
            "--profile on a TIFF stack needs --voxel-um (the profile's positions are in um)"
        )
    if voxel is not None and not voxel > 0:
        raise VoxodeError(f"--voxel-um must be positive, got {voxel:g}")
    conducting = _parse_phases(phases, labels, image)
    if cbd_nanoporosity is not None:
        eps_n = cbd_nanoporosity
    fields = phase_fields(labels, conducting, eps_n)
    ax = AXIS_NAMES.index(axis)
    result = solve(fields, axis=ax, boundary=boundary)  # type: ignore[arg-type]
    if profile is not None:
        frame = depth_profile(fields, voxel, axis=ax, progress=not quiet and not as_json).to_frame()
        write_table(frame.rename(columns={"z_um": f"{axis}_um"}), profile)
    if as_json:
        print_json({"image": str(image), "phases": conducting, **result.to_dict()})
        return
    if quiet:
        return
    out.print(f"tau                  {result.tau:.6g}  (total porosity, TauFactor 2 convention)")
    out.print(f"tau_percolating      {result.tau_percolating:.6g}")
    out.print(f"porosity             {result.porosity:.6g}")
    out.print(f"percolating fraction {result.percolating_fraction:.6g}")
    out.print(f"D_eff / D0           {result.d_eff:.6g}")
    if result.message:
        err.print(f"note: {result.message}")


def register(app: typer.Typer) -> None:
    """Add ``characterize`` and ``tortuosity`` to ``app``."""
    app.command("characterize")(characterize)
    app.command("tortuosity")(tortuosity)
