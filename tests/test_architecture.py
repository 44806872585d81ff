"""The import contract of docs/architecture.md: a lower layer never imports a higher one.

Every ``import`` and ``from … import`` anywhere in a module counts (function-level ones
too: a lazy import is still a dependency). A module's layer is that of the longest
package prefix named in ``LAYERS``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "mimolo"

# Lowest first. A module may import from its own layer and any layer below it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("mimolo", "mimolo.errors", "mimolo.slugs", "mimolo.backoff", "mimolo.process_group"),
    (
        "mimolo.protocol",
        "mimolo.dataroot",
        "mimolo.artifact_files",
        "mimolo.packages",
        "mimolo.safe_zip",
    ),
    ("mimolo.sdk", "mimolo.ipc", "mimolo.timeline", "mimolo.evidence"),
    ("mimolo.agents", "mimolo.reports"),
    ("mimolo.operations", "mimolo.backup", "mimolo.team"),
    ("mimolo.ipc.server",),
    ("mimolo.control",),
    ("mimolo.cli", "mimolo.testing", "mimolo.__main__"),
)


def layer_of(module: str) -> int:
    """The layer of the longest prefix of ``module`` in ``LAYERS``."""
    best, best_len = -1, -1
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best_len:
                best, best_len = index, len(name)
    if best < 0:
        raise AssertionError(f"{module} is in no layer of docs/architecture.md")
    return best


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, src: Path = SRC) -> set[str]:
    """Every ``mimolo`` module the file imports, wherever the import stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    package = module_name(path if is_package else path.parent, src)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # ``from mimolo import control`` imports the package mimolo.control
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "mimolo" or name.startswith("mimolo.")}


def _is_module(name: str, src: Path) -> bool:
    relative = name.split(".")[1:]
    base = src.joinpath(*relative) if relative else src
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def violations(src: Path = SRC) -> list[str]:
    out: list[str] = []
    for path in sorted(src.rglob("*.py")):
        importer = module_name(path, src)
        own = layer_of(importer)
        for target in sorted(imports_of(path, src)):
            if not _is_module(target, src):
                continue  # a name imported from a module, not a module
            if layer_of(target) > own:
                out.append(f"{importer} (layer {own}) imports {target} (layer {layer_of(target)})")
    return out


def test_no_module_imports_a_higher_layer() -> None:
    assert violations() == []


def test_every_module_belongs_to_a_layer() -> None:
    for path in SRC.rglob("*.py"):
        layer_of(module_name(path))


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("mimolo.errors", 0),
        ("mimolo.protocol.codec", 1),
        ("mimolo.ipc.client", 2),
        ("mimolo.ipc.server.handlers", 5),
        ("mimolo.operations.supervisor", 4),
        ("mimolo.cli.ops", 7),
    ],
)
def test_layers_are_read_by_longest_prefix(module: str, layer: int) -> None:
    assert layer_of(module) == layer


def test_the_checker_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """A check that cannot fail proves nothing: feed it an upward import of each kind."""
    src = tmp_path / "mimolo"
    for package in ("", "protocol", "control", "operations"):
        (src / package).mkdir(parents=True, exist_ok=True)
        (src / package / "__init__.py").write_text("")
    (src / "control" / "app.py").write_text("")
    (src / "operations" / "ledger.py").write_text("")
    (src / "protocol" / "probe.py").write_text(
        "from mimolo import errors\n"
        "from . import probe\n"
        "def f() -> None:\n    from mimolo.control import app\n\n"
        "from ..operations import ledger\n"
    )
    found = violations(src)
    assert "mimolo.protocol.probe (layer 1) imports mimolo.control (layer 6)" in found
    assert "mimolo.protocol.probe (layer 1) imports mimolo.control.app (layer 6)" in found
    assert "mimolo.protocol.probe (layer 1) imports mimolo.operations.ledger (layer 4)" in found
    assert len(found) == 4  # and mimolo.operations itself; nothing about errors or probe
