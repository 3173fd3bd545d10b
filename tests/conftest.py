"""Shared fixtures: the paper's electrodes are generated once per test session (a few s each).
Shared helpers are in helpers.py."""

from __future__ import annotations

import pytest
import typer

from helpers import small_recipe
from voxode.cli.characterize import register
from voxode.electrode import Electrode
from voxode.generate import generate
from voxode.recipe import load_preset


@pytest.fixture(scope="session")
def pristine() -> Electrode:
    return generate(load_preset("paper-pristine"))


@pytest.fixture(scope="session")
def bilayer() -> Electrode:
    return generate(load_preset("paper-bilayer"))


@pytest.fixture(scope="session")
def small() -> Electrode:
    return generate(small_recipe())


@pytest.fixture()
def cli() -> typer.Typer:
    """A typer app with the characterization commands
    (errors surface as exceptions in CliRunner)."""
    app = typer.Typer()
    register(app)
    return app
