"""Commands of the surrogate stage: ``train``, ``predict``, ``explain`` and ``figures``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voxode.cli.options import AsJson, Jobs, Quiet
from voxode.cli.output import progress_bar, summary

if TYPE_CHECKING:
    import pandas as pd

ModelDir = Annotated[Path, typer.Argument(help="Model folder written by voxode train.")]


def _floats(text: str, option: str) -> list[float]:
    from voxode.errors import VoxodeError

    try:
        return [float(item) for item in text.replace(" ", "").split(",") if item]
    except ValueError:
        raise VoxodeError(f"{option} {text!r} is not a comma-separated list of numbers") from None


def _dataset(path: Path) -> pd.DataFrame:
    from voxode.errors import DatasetError
    from voxode.io.tables import read_table

    return read_table(path, DatasetError)


def train(
    dataset: Annotated[
        Path,
        typer.Argument(
            help="Per-particle dataset (.parquet or .csv), one row per (case, particle, DoD)."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model folder to write.")],
    model: Annotated[
        str, typer.Option(help="random-forest or gradient-boosting.")
    ] = "random-forest",
    folds: Annotated[
        int,
        typer.Option(
            help="Grouped cross-validation folds (leave-one-electrode-out when fewer cases)."
        ),
    ] = 5,
    features: Annotated[
        str | None,
        typer.Option(help="Comma-separated feature columns (default: the paper's five + dod)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the model and the folds.")] = 0,
    jobs: Jobs = 2,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Train the per-particle SOD surrogate; validate grouped by electrode and by random rows."""
    from voxode.surrogate.training import train as run_train

    names = [f for f in features.replace(" ", "").split(",") if f] if features is not None else None
    trained = run_train(
        _dataset(dataset), model=model, features=names, folds=folds, seed=seed, n_jobs=jobs
    )
    trained.save(output)
    g, r = trained.metrics["grouped"], trained.metrics["random"]
    made = {
        "output": str(output),
        "features": list(trained.features),
        "rows": trained.dataset["rows"],
        "cases": trained.dataset["cases"],
        "grouped": g,
        "random": r,
        "seconds": round(trained.training_seconds, 3),
    }
    summary(
        made,
        as_json,
        quiet,
        f"{trained.dataset['rows']} rows, {trained.dataset['cases']} electrodes -> {output}\n"
        f"held-out electrodes ({g['scheme']}): MAE {g['mae']:.4f}, mean rel. error "
        f"{100 * (g['mean_relative_error'] or float('nan')):.1f} %, R² {g['r2']:.3f}\n"
        f"random rows ({r['scheme']}): MAE {r['mae']:.4f}, R² {r['r2']:.3f}; "
        f"{made['seconds']} s",
    )


def predict(
    model: ModelDir,
    electrode: Annotated[
        Path,
        typer.Argument(
            help="Electrode (.npz, characterized here) or particle table (.parquet/.csv)."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Predictions (.parquet or .csv).")],
    dods: Annotated[
        str, typer.Option(help="Depths of discharge, comma-separated, in (0, 1].")
    ] = "0.25,0.5,0.75,1",
    c_rate: Annotated[
        float | None, typer.Option("--c-rate", help="C-rate (needed when the model uses it).")
    ] = None,
    render: Annotated[
        Path | None,
        typer.Option(
            help=(
                "Also render the electrode coloured by the predicted SOD at "
                "the largest DoD (.png; needs an .npz electrode)."
            )
        ),
    ] = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Predict the SOD of every particle of an electrode at the given DoDs."""
    from voxode.electrode import Electrode
    from voxode.errors import VoxodeError
    from voxode.io.tables import TABLE_SUFFIXES, check_table_path, write_table
    from voxode.surrogate.prediction import predict as run_predict

    check_table_path(output, "--output")
    if render is not None and electrode.suffix.lower() != ".npz":
        raise VoxodeError("--render needs an electrode (.npz), not a particle table")
    is_table = electrode.suffix.lower() in TABLE_SUFFIXES
    source = _dataset(electrode) if is_table else Electrode.load(electrode)
    rows = run_predict(model, source, _floats(dods, "--dods"), c_rate)
    write_table(rows, output)
    if render is not None:
        from voxode.render import render_particle_values

        final = rows[rows["dod"] == rows["dod"].max()]
        render_particle_values(
            source,
            dict(zip(final["id"], final["sod_pred"], strict=True)),
            render,
            title=f"surrogate SOD at DoD {100 * final['dod'].iloc[0]:g} %",
        )
    mean = rows.groupby("dod")["sod_pred"].mean()
    made = {
        "output": str(output),
        "rows": len(rows),
        "particles": int(rows["id"].nunique()),
        "mean_sod_pred": {f"{d:g}": float(v) for d, v in mean.items()},
    }
    summary(
        made,
        as_json,
        quiet,
        f"{made['particles']} particles x {len(rows) // max(made['particles'], 1)} DoDs -> "
        f"{output}; mean predicted SOD "
        + ", ".join(f"{v:.3f} at DoD {k}" for k, v in made["mean_sod_pred"].items()),
    )


def explain(
    model: ModelDir,
    dataset: Annotated[Path, typer.Argument(help="Dataset to explain (.parquet or .csv).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for SHAP values, rankings and figures.")
    ],
    folds: Annotated[int, typer.Option(help="Grouped folds of the ranking stability check.")] = 5,
    top: Annotated[int, typer.Option(help="Dependence plots for this many top features.")] = 3,
    jobs: Jobs = 2,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """SHAP values, feature ranking across grouped folds, permutation importance, figures."""
    from rich.progress import MofNCompleteColumn

    from voxode.errors import VoxodeError
    from voxode.surrogate.explanation import explain as run_explain

    if output.exists() and not output.is_dir():
        raise VoxodeError(f"--output {output} is a file; give a folder")
    with progress_bar("{task.description}", MofNCompleteColumn(), quiet=quiet or as_json) as bar:
        task = bar.add_task("SHAP values of every row", total=None)  # then the ranking's folds

        def fold_done(done: int, total: int) -> None:
            bar.update(task, description="ranking: grouped folds", completed=done, total=total)

        result = run_explain(
            model, _dataset(dataset), output, folds=folds, top=top, n_jobs=jobs, on_fold=fold_done
        )
    columns = ["feature", "mean_abs_shap", "mean_abs_shap_std", "min_rank", "max_rank"]
    ranks = "\n".join(
        f"  {f:22s} {s:.4f} ± {e:.4f}  rank {lo}-{hi}"
        for f, s, e, lo, hi in result.ranking[columns].itertuples(index=False)
    )
    summary(
        result.summary(),
        as_json,
        quiet,
        f"ranking (mean |SHAP| on held-out electrodes, rank min-max):\n{ranks}\n-> {output}",
    )


def figures(
    source: Annotated[
        Path,
        typer.Argument(
            help="Model folder (held-out predictions beside the "
            "simulated SOD) or dataset (.parquet/.csv)."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the figures.")],
    profile: Annotated[
        Path | None,
        typer.Option(help="Depth profile (voxode characterize --profile) for tau vs depth."),
    ] = None,
    thickness_um: Annotated[
        float | None,
        typer.Option(
            "--thickness-um", help=("Electrode thickness (um); default: from the deepest particle.")
        ),
    ] = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """The paper's figures: SOD and tortuosity vs depth; SOD of small/medium/large particles."""
    from voxode.surrogate.figures import plot_paper_figures
    from voxode.surrogate.model import load

    frame = load(source).validation if source.is_dir() else _dataset(source)
    depth = None if profile is None else _dataset(profile)
    files = plot_paper_figures(frame, output, depth, thickness_um)
    summary(
        {"files": [str(f) for f in files]},
        as_json,
        quiet,
        "wrote " + ", ".join(str(f) for f in files),
    )


def register(app: typer.Typer) -> None:
    """Add ``train``, ``predict``, ``explain`` and ``figures`` to ``app``."""
    app.command("train")(train)
    app.command("predict")(predict)
    app.command("explain")(explain)
    app.command("figures")(figures)
