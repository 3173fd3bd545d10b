"""The report folder: the same blocks in Markdown and
HTML, figures linked relative to the folder."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from matplotlib.figure import Figure

from voxode.io.figures import save_figure
from voxode.report import Report, format_value


def test_markdown_and_html_hold_the_same_content(tmp_path):
    fig = Figure()
    fig.subplots().plot([0, 1], [0, 1])
    save_figure(fig, tmp_path / "figs" / "line.png")
    report = Report("voxode results")
    report.heading("Surrogate")
    report.paragraph("MAE <beside> the paper's")
    report.table(
        pd.DataFrame(
            {"metric": ["MAE", "R^2"], "voxode": [0.031234, math.nan], "paper": [0.042, None]}
        ),
        caption="grouped validation",
    )
    report.figure(tmp_path / "figs" / "line.png", "parity plot")
    report.command("voxode train dataset.parquet -o model/")
    md, page = report.write(tmp_path)
    text = md.read_text()
    assert "# voxode results" in text and "## Surrogate" in text
    assert "| MAE | 0.03123 | 0.042 |" in text and "| R^2 |  |  |" in text
    assert "![parity plot](figs/line.png)" in text
    assert "```bash\nvoxode train dataset.parquet -o model/\n```" in text
    body = page.read_text()
    assert "<img src='figs/line.png'" in body and "&lt;beside&gt;" in body
    assert body.count("<tr>") == 3


def test_a_missing_figure_is_an_error_and_nothing_is_written(tmp_path):
    report = Report("r")
    report.figure(tmp_path / "nope.png", "missing")
    with pytest.raises(FileNotFoundError, match="nope.png"):
        report.write(tmp_path)
    assert not (tmp_path / "report.md").exists()


def test_cells():
    assert (
        format_value(1234.5678) == "1235" and format_value(None) == "" and format_value("a") == "a"
    )
