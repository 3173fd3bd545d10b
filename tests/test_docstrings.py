"""The public API is documented the numpydoc way: what each function takes (``Parameters``) and
gives (``Returns``, or ``Yields``), with units, on every name a package exports in ``__all__``
and on the entry points of the plain modules that the README uses.

A class documents its constructor's arguments in ``Parameters`` or, for a record (a dataclass
or a pydantic model), ``Attributes``; its public methods follow the function rule.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re

import pytest

PACKAGES = [
    "voxode.characterize",
    "voxode.design",
    "voxode.electrochem",
    "voxode.generate",
    "voxode.io",
    "voxode.surrogate",
    "voxode.cli",
]
# modules that are not packages: their documented entry points (README, CLI counterparts)
ENTRY_POINTS = {
    "voxode.recipe": [
        "Recipe",
        "load_recipe",
        "load_preset",
        "preset_text",
        "recipe_from_dict",
        "recipe_to_yaml",
    ],
    "voxode.electrode": ["Electrode", "Layer", "border_particles", "cbd_nanoporosity_planes"],
    "voxode.summary": [
        "electrode_summary",
        "particle_diameters_um",
        "volume_weighted_quantiles_um",
    ],
    "voxode.campaign": ["campaign_results", "load_campaign", "run_campaign", "run_case"],
    "voxode.reproduce": ["load_reproduce_preset", "reproduce"],
    "voxode.options": ["check"],
}


def public_api() -> list[tuple[str, object]]:
    names = [(p, n) for p in PACKAGES for n in importlib.import_module(p).__all__]
    names += [(m, n) for m, ns in ENTRY_POINTS.items() for n in ns]
    found = []
    for module, name in names:
        obj = getattr(importlib.import_module(module), name)
        records = inspect.isclass(obj) and not issubclass(obj, (enum.Enum, BaseException))
        if inspect.isfunction(obj) or records:  # errors: voxode/errors.py, one line each
            found.append((f"{module}.{name}", obj))
    return found


def has_section(doc: str | None, *titles: str) -> bool:
    return any(re.search(rf"^\s*{t}\n\s*-{{{len(t)}}}", doc or "", re.M) for t in titles)


def missing(function: object, *, method: bool = False) -> list[str]:
    """The numpydoc sections ``function`` lacks."""
    signature = inspect.signature(function)
    params = [p for p in signature.parameters if not (method and p in ("self", "cls"))]
    gaps = []
    if params and not has_section(function.__doc__, "Parameters"):
        gaps.append("Parameters")
    if signature.return_annotation not in (
        None,
        "None",
        inspect.Signature.empty,
    ) and not has_section(function.__doc__, "Returns", "Yields"):
        gaps.append("Returns")
    return gaps


def gaps_of(name: str, obj: object) -> list[str]:
    if inspect.isfunction(obj):
        return [f"{name}: {gap}" for gap in missing(obj)]
    gaps = []
    if inspect.signature(obj).parameters and not has_section(
        obj.__doc__, "Parameters", "Attributes"
    ):
        gaps.append(f"{name}: Parameters or Attributes")
    for attr, value in vars(obj).items():
        function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
        if not attr.startswith("_") and inspect.isfunction(function):
            gaps += [f"{name}.{attr}: {gap}" for gap in missing(function, method=True)]
    return gaps


def test_the_public_api_is_found() -> None:
    names = {name for name, _ in public_api()}
    assert {
        "voxode.electrochem.simulate",
        "voxode.generate.generate",
        "voxode.electrode.Electrode",
        "voxode.characterize.tortuosity",
    } <= names


@pytest.mark.parametrize("package", PACKAGES + list(ENTRY_POINTS))
def test_public_functions_have_numpydoc_sections(package: str) -> None:
    gaps = [
        gap
        for name, obj in public_api()
        if name.rpartition(".")[0] == package
        for gap in gaps_of(name, obj)
    ]
    assert not gaps, "missing numpydoc sections:\n" + "\n".join(gaps)
