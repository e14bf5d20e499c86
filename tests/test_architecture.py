"""The layering drawn in docs/architecture.md, checked over every module of the package.

Each test reads the package's source with ``ast`` (nothing is imported), so a forbidden import
added anywhere, even inside a function, fails here with the file and line that added it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ecg_desktop"

# Which layers each layer may import (besides itself). Read from the top down: the entry points
# may use everything; the adapters see only the ports of app/ (they implement them) and the
# layers below; domain/ sees nothing. "app.ports" is the one module of app/ an adapter may use.
# mlclient may use analyzer/: its embedded adapter starts the bundled analyzer and asks it which
# languages its installed models cover.
ALLOWED: dict[str, frozenset[str]] = {
    "cli": frozenset({"gui", "server", "bootstrap", "app", "store", "storage", "mlclient",
                      "media", "config", "domain", "analyzer", "root"}),
    "gui": frozenset({"bootstrap", "app", "config", "domain", "analyzer", "root"}),
    "server": frozenset({"app", "config", "domain", "root"}),
    "bootstrap": frozenset({"server", "app", "store", "storage", "mlclient", "media", "config",
                            "domain", "analyzer", "root"}),
    "app": frozenset({"config", "domain", "root"}),
    "store": frozenset({"app.ports", "config", "domain", "root"}),
    "storage": frozenset({"app.ports", "config", "domain", "root"}),
    "mlclient": frozenset({"app.ports", "config", "domain", "analyzer", "root"}),
    "media": frozenset({"app.ports", "config", "domain", "root"}),
    "config": frozenset({"domain", "root"}),
    "analyzer": frozenset({"domain", "root"}),
    "domain": frozenset(),
}

ADAPTERS = ("store", "storage", "mlclient", "media")
ENTRY_POINTS = ("__main__",)


@dataclass(frozen=True)
class Import:
    source: Path
    line: int
    target: str  # dotted name below ecg_desktop, e.g. "app.ports" or "store"


# Modules at the package's top that every layer but domain/ may use.
ROOT_MODULES = frozenset({"", "__init__", "processes"})


def layer_of(module: str) -> str:
    """The layer a dotted name below ``ecg_desktop`` belongs to (``root`` for the package
    and its shared top-level modules)."""
    head = module.split(".", 1)[0]
    if head in ROOT_MODULES:
        return "root"
    return head


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "ecg_desktop" or alias.name.startswith("ecg_desktop."):
                    yield Import(path, node.lineno, alias.name.removeprefix("ecg_desktop")
                                 .removeprefix("."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _module_name(path)
                if path.name != "__init__.py":
                    package = package[:-1]
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                names = [*base, *([node.module] if node.module else [])]
                if not node.module:  # from . import a, b: each name may be a module
                    for alias in node.names:
                        yield Import(path, node.lineno, ".".join([*names, alias.name]))
                    continue
                yield Import(path, node.lineno, ".".join(names))
            elif node.module and (node.module == "ecg_desktop"
                                  or node.module.startswith("ecg_desktop.")):
                target = node.module.removeprefix("ecg_desktop").removeprefix(".")
                if not target:  # from ecg_desktop import x: a subpackage, or a name of the root
                    for alias in node.names:
                        is_module = (PACKAGE / alias.name).is_dir() or (
                            PACKAGE / f"{alias.name}.py").is_file()
                        yield Import(path, node.lineno, alias.name if is_module else "")
                    continue
                yield Import(path, node.lineno, target)


def _all_imports() -> list[Import]:
    return [imp for path in sorted(PACKAGE.rglob("*.py")) for imp in _imports(path)]


def _allowed(source_layer: str, target: str) -> bool:
    target_layer = layer_of(target)
    if target_layer == source_layer:
        return True
    allowed = ALLOWED[source_layer]
    if target_layer in allowed:
        return True
    is_ports = target == "app.ports" or target.startswith("app.ports.")
    return is_ports and "app.ports" in allowed


def test_every_layer_of_the_package_is_in_the_picture() -> None:
    layers = {layer_of(".".join(_module_name(p))) for p in PACKAGE.rglob("*.py")}
    unknown = layers - set(ALLOWED) - {"root", *ENTRY_POINTS}
    assert not unknown, f"layers missing from docs/architecture.md and ALLOWED: {unknown}"


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for imp in _all_imports():
        source_layer = layer_of(".".join(_module_name(imp.source)))
        if source_layer in ("root", *ENTRY_POINTS):
            continue
        if not _allowed(source_layer, imp.target):
            wrong.append(f"{imp.source.relative_to(PACKAGE.parent)}:{imp.line} imports "
                         f"ecg_desktop.{imp.target} ({source_layer} -> {layer_of(imp.target)})")
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(wrong)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_adapters_know_only_the_ports_of_the_use_cases(adapter: str) -> None:
    used = {imp.target for imp in _all_imports()
            if layer_of(".".join(_module_name(imp.source))) == adapter
            and layer_of(imp.target) == "app"}
    assert used <= {"app.ports"}, used


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The rule above is not vacuous: a domain module importing the store is reported."""
    fake = tmp_path / "job.py"
    fake.write_text("def f() -> None:\n    from ecg_desktop.store import open_store\n",
                    encoding="utf-8")
    found = [imp.target for imp in _imports(fake)]
    assert "store" in found
    assert not _allowed("domain", "store")
    assert _allowed("store", "app.ports") and not _allowed("store", "app.pipeline")


def test_no_module_is_over_500_lines() -> None:
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert not long, f"split these modules (docs/architecture.md): {long}"
