"""Benchmark: surrogate training, SHAP and prediction on a paper-sized dataset.

    python benchmarks/bench_surrogate.py [--electrodes 10] [--repeats 3] [--threads 2]
                                         [--cache bench-out/surrogate] [--out results.json]

The dataset has the paper's size: ``--electrodes`` paper-pristine electrodes (0.5 um, seeds
1..n, characterized by voxode; the tables are cached under ``--cache`` because
characterization takes ~30 s per electrode) x their non-border particles x 4 DoDs, with the
known SOD of ``tests/surrogate_data.py`` as the target (the campaign's simulated SOD has the same
shape). Timed, median of ``--repeats``: ``train`` (grouped + random 5-fold validation and the
final fit), the final fit alone, SHAP for every row, ``explain`` (SHAP, fold rankings,
permutation importance, figures), and characterize (once) + predict (from its table, loading
the model folder) for a new electrode (seed 1000).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--electrodes", type=int, default=10, help="paper-pristine electrodes in the dataset"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="repeats per timing (median reported)"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="threads for BLAS, numba and the forest"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("bench-out/surrogate"),
        help="folder for cached tables; the model, SHAP files and figures go to its run/",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="also write the results as JSON to this path"
    )
    return parser.parse_args()


ARGS = _parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import json  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import pandas as pd  # noqa: E402
from timing import timed  # noqa: E402  (benchmarks/timing.py)

from surrogate_data import case_name, known_dataset, with_case  # noqa: E402
from voxode.characterize import characterize  # noqa: E402
from voxode.generate import generate  # noqa: E402
from voxode.recipe import load_preset  # noqa: E402
from voxode.surrogate import explain, plot_paper_figures, predict, shap_values, train  # noqa: E402
from voxode.surrogate.training import make_estimator  # noqa: E402


def cached_tables(n: int, cache: Path) -> pd.DataFrame:
    """Characterized paper-pristine electrodes, seeds 1..n, read from or written to ``cache``."""
    tables = []
    for seed in range(1, n + 1):
        recipe = load_preset("paper-pristine").with_overrides(seed=seed)
        path = cache / f"{case_name(recipe)}.parquet"
        if not path.exists():
            start = time.perf_counter()
            cache.mkdir(parents=True, exist_ok=True)
            characterize(generate(recipe)).to_parquet(path, index=False)
            print(f"characterized seed {seed} in {time.perf_counter() - start:.1f} s", flush=True)
        tables.append(with_case(pd.read_parquet(path), recipe))
    return pd.concat(tables, ignore_index=True)


def main() -> None:
    dataset = known_dataset(cached_tables(ARGS.electrodes, ARGS.cache))
    print(f"dataset: {len(dataset)} rows, {dataset['case'].nunique()} electrodes", flush=True)
    results: dict[str, Any] = {
        "rows": len(dataset),
        "electrodes": int(dataset["case"].nunique()),
        "threads": ARGS.threads,
    }
    t_train, trained = timed(lambda: train(dataset, n_jobs=ARGS.threads), ARGS.repeats)
    x, y = dataset[list(trained.features)], dataset[trained.target]
    t_fit, _ = timed(
        lambda: make_estimator("random-forest", 0, ARGS.threads).fit(x, y), ARGS.repeats
    )
    t_shap, _ = timed(lambda: shap_values(trained, dataset), ARGS.repeats)
    run = ARGS.cache / "run"  # the model, SHAP files and figures, to look at
    model_dir = trained.save(run / "model")
    plot_paper_figures(trained.validation, run / "figures")
    t_explain, _ = timed(lambda: explain(model_dir, dataset, run / "shap", n_jobs=ARGS.threads), 1)
    electrode = generate(load_preset("paper-pristine").with_overrides(seed=1000))
    t_characterize, table = timed(lambda: characterize(electrode), 1)
    t_predict, pred = timed(lambda: predict(model_dir, table), ARGS.repeats)
    grouped = trained.metrics["grouped"]
    results |= {
        "train_s": t_train,
        "final_fit_s": t_fit,
        "shap_all_rows_s": t_shap,
        "explain_s": t_explain,
        "characterize_s": t_characterize,
        "predict_s": t_predict,
        "characterize_predict_s": t_characterize + t_predict,
        "predicted_rows": len(pred),
        "grouped_mae": grouped["mae"],
        "grouped_mean_relative_error": grouped["mean_relative_error"],
        "grouped_r2": grouped["r2"],
        "random_mae": trained.metrics["random"]["mae"],
        "training_seconds_recorded": trained.training_seconds,
    }
    for key, value in results.items():
        print(f"{key:32s} {value:.4g}" if isinstance(value, float) else f"{key:32s} {value}")
    if ARGS.out is not None:
        from voxode.atomic import write_text_atomic

        write_text_atomic(ARGS.out, json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
