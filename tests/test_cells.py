"""Simulated designs beside measured cells (voxode.design.cells): rows matched by design and
rate, fitted vs predicted, gains over the reference design beside the cells'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from voxode.design.cells import against_cells, plot_against_cells
from voxode.design.compare import Comparison
from voxode.electrochem.rate_data import read_rate_table


def _comparison(pristine: float, bilayer: float) -> Comparison:
    summary = pd.DataFrame(
        {
            "design": ["sim-pristine", "sim-bilayer"],
            "n_ok": [3, 3],
            "capacity_mah_g_mean": [pristine, bilayer],
            "capacity_mah_g_std": [1.0, 2.0],
            "gain_mah_g_pct_mean": [0.0, 100.0 * (bilayer / pristine - 1.0)],
            "gain_mah_g_pct_std": [0.0, 1.5],
        }
    )
    return Comparison(pd.DataFrame(), summary, [], [])


def test_the_papers_cells_beside_simulated_designs(tmp_path):
    data = read_rate_table("chouchane2024")
    capacities, gains = against_cells(
        {0.5: _comparison(135.0, 140.0), 1.0: _comparison(50.0, 55.0)},
        {"sim-pristine": "pristine", "sim-bilayer": "bilayer"},
        data,
        fitted=["pristine"],
    )
    assert list(capacities["role"]) == ["fitted", "predicted"] * 2
    assert list(capacities["measured_mah_g"]) == [134.4, 168.0, 38.2, 86.0]
    assert capacities["measured_range_mah_g"].iloc[3] == 54.0  # the 1C bi-layer cells' spread
    assert capacities["difference_mah_g"].to_numpy() == pytest.approx([0.6, -28.0, 11.8, -31.0])
    # the cells' gains: the paper's "around 25 % and 125 % higher"
    assert gains["measured_gain_pct"].to_numpy() == pytest.approx([25.0, 125.1], abs=0.1)
    assert gains["simulated_gain_pct_mean"].to_numpy() == pytest.approx([100 * 5 / 135, 10.0])
    assert plot_against_cells(capacities, tmp_path / "cells.png").stat().st_size > 10_000


def test_a_rate_the_cells_lack_is_simulated_only():
    capacities, gains = against_cells(
        {2.0: _comparison(100.0, 90.0)},
        {"sim-pristine": "pristine", "sim-bilayer": "bilayer"},
        read_rate_table("chouchane2024"),
        fitted=["pristine"],
    )
    assert capacities["measured_mah_g"].isna().all()
    assert capacities["simulated_mah_g_mean"].tolist() == [100.0, 90.0]
    assert np.isnan(gains["measured_gain_pct"].iloc[0])
