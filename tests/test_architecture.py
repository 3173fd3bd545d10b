"""The import graph of voxode: each stage imports only the stages below it, and no two packages
import each other (directly or round a longer loop).

Every ``import`` statement of every module under ``src/voxode`` counts, wherever it stands: at
the top, inside a function (the lazy imports that keep ``voxode --help`` light), and under
``if TYPE_CHECKING:``. Type-only imports count because a type named in a signature is a
dependency a reader has to follow, and because the type checker resolves them like any import:
an upward one would let an annotation tie a lower stage to a higher one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import voxode

SRC = Path(voxode.__file__).parent

# The stage order, lowest first: a module may import its own stage and the stages before it,
# never one after it. It follows the data flow, recipe -> electrode -> files and generated
# microstructures -> characterization -> discharge -> campaigns of discharges -> surrogate
# trained on them -> design studies -> the end-to-end reproduction -> the command line, with
# the shared base modules (errors, option rules, atomic writes, ...) at the bottom.
# One turn differs from the data flow: the generator matches the coarse CBD's tortuosity with
# characterize's solvers, so characterize (measurement, which never needs the generator) comes
# before generate. `summary`, `plots` and `render` describe an electrode whatever made it, so
# they sit with the file formats, below generate and characterize.
STAGES: list[set[str]] = [
    {
        "voxode",
        "version",
        "errors",
        "lazy",
        "atomic",
        "resources",
        "ranks",
        "extras",
        "options",
        "validation",
        "connectivity",
        "presets",
    },
    {"recipe"},
    {"electrode"},
    {"io", "summary", "plots", "render"},
    {"characterize"},
    {"generate"},
    {"electrochem"},
    {"campaign"},
    {"surrogate"},
    {"design"},
    {"report", "reproduce"},
    {"cli", "__main__"},
]
RANK = {name: rank for rank, names in enumerate(STAGES) for name in names}


def module_name(path: Path) -> str:
    parts = ["voxode", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> str:
    """``voxode.characterize.tortuosity`` -> ``characterize``; ``voxode`` itself -> ``voxode``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imported_modules(path: Path, module: str) -> set[str]:
    """Every voxode module ``path`` imports, anywhere in it (functions and TYPE_CHECKING too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            if base == "voxode":  # `from voxode import generate` names the stage in the alias
                found.update(
                    f"voxode.{alias.name}"
                    for alias in node.names
                    if (SRC / alias.name).is_dir() or (SRC / f"{alias.name}.py").is_file()
                )
    return {name for name in found if name == "voxode" or name.startswith("voxode.")}


def import_graph() -> dict[str, set[str]]:
    """Module -> the voxode modules it imports."""
    return {
        module_name(path): imported_modules(path, module_name(path))
        for path in sorted(SRC.rglob("*.py"))
    }


def test_every_module_has_a_stage() -> None:
    unplaced = {stage_of(m) for m in import_graph()} - set(RANK)
    assert not unplaced, f"add these to STAGES in {__file__}: {sorted(unplaced)}"


def test_no_import_goes_up_the_stage_order() -> None:
    upward = sorted(
        f"{module} ({stage_of(module)}) imports {target} ({stage_of(target)})"
        for module, targets in import_graph().items()
        for target in targets
        if RANK.get(stage_of(target), -1) > RANK.get(stage_of(module), -1)
    )
    assert not upward, "imports against the stage order:\n" + "\n".join(upward)


def test_no_cycle_between_packages() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in import_graph().items():
        edges[stage_of(module)].update(
            stage_of(t) for t in targets if stage_of(t) != stage_of(module)
        )
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "packages that import each other: " + "; ".join(
        " -> ".join(c) for c in cycles
    )


def test_the_graph_sees_lazy_and_type_only_imports() -> None:
    """The walk finds imports inside functions and under TYPE_CHECKING, not only the top ones."""
    graph = import_graph()
    assert "voxode.generate" in graph["voxode.cli.electrode"]  # inside `generate`'s body
    assert "voxode.campaign" in graph["voxode.cli.output"]  # under TYPE_CHECKING


def test_stage_packages_hold_no_command_line_code() -> None:
    """Only voxode.cli builds commands: no other module imports typer."""
    with_typer = sorted(
        module_name(p)
        for p in SRC.rglob("*.py")
        if "import typer" in p.read_text(encoding="utf-8")
        and module_name(p).split(".")[1:2] != ["cli"]
    )
    assert not with_typer, with_typer


HEAVY = ("matplotlib", "pyvista", "dask", "shap", "sklearn", "pybamm", "torch")


def test_the_command_line_loads_no_heavy_library() -> None:
    """``import voxode.cli`` (all ``voxode --help`` needs) loads none of the heavy libraries: the
    commands import their stage when they run. Timings: benchmarks/README.md, "CLI start"."""
    code = (
        "import sys, voxode.cli; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]", proc.stdout


def test_every_error_class_lives_in_errors_py() -> None:
    """One place for every error: a class whose name ends in Error/Failure is defined in
    voxode/errors.py, and every user-facing one derives from VoxodeError."""
    from voxode import errors

    elsewhere = sorted(
        f"{module_name(path)}.{node.name}"
        for path in SRC.rglob("*.py")
        if path.name != "errors.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name.endswith(("Error", "Failure"))
    )
    assert not elsewhere, elsewhere
    defined = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    internal = {errors.RunFailure, errors.StepFailure}
    assert all(issubclass(cls, errors.VoxodeError) for cls in set(defined) - internal)


def test_every_package_entry_has_one_shape() -> None:
    """Each ``__init__.py``: a docstring saying what the package is and `__all__` naming its
    public API, every name of which resolves (lazily, through voxode.lazy, where the package
    would otherwise import its heavy modules)."""
    import importlib

    for path in sorted(SRC.rglob("__init__.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{path} has no docstring"
        package = importlib.import_module(module_name(path))
        assert isinstance(getattr(package, "__all__", None), list), f"{path} has no __all__"
        missing = [name for name in package.__all__ if not hasattr(package, name)]
        assert not missing, f"{module_name(path)}.__all__ names what it lacks: {missing}"


def test_commands_print_through_one_module() -> None:
    """JSON, consoles and progress bars are made in voxode/cli/output.py only, and no
    command-line module declares an option that voxode/cli/options.py already declares."""
    cli = SRC / "cli"
    shared = {
        line.split("=")[0].strip()
        for line in (cli / "options.py").read_text().splitlines()
        if "typer.Option(" in line or "typer.Argument(" in line
    }
    for path in sorted(cli.glob("*.py")):
        if path.name in ("output.py", "options.py"):
            continue
        text = path.read_text(encoding="utf-8")
        for made_elsewhere in ("json.dumps", "Console(", "Progress("):
            assert made_elsewhere not in text, (
                f"{path.name} uses {made_elsewhere}; use cli/output.py"
            )
        declared = {
            line.split("=")[0].strip()
            for line in text.splitlines()
            if not line.startswith(" ") and ("typer.Option(" in line or "typer.Argument(" in line)
        }
        assert not declared & shared, f"{path.name} redeclares {declared & shared}"
