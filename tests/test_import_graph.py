"""No import circles in bot/, handlers/ and services/, and imports run down the house.

Every module is parsed with ``ast`` (nothing is imported): its imports at any depth count,
those inside functions and methods too (they run sooner or later), except those under
``if TYPE_CHECKING:`` (they never run). ``from pkg import name`` is an edge to ``pkg.name``
when that is a module, else to ``pkg/__init__.py``; importing a submodule is not counted
as importing its parent package's ``__init__`` (Python runs it first, but a package whose
``__init__`` imports its submodules is a circle only if one of them imports a name from the
package itself, which then shows as an edge to ``__init__``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "services")


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    #: absolute names this module imports (project modules resolved, others as written)
    imports: set[str] = field(default_factory=set)


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _modules() -> dict[str, Module]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            name, is_package = _module_name(path)
            found[name] = Module(name, path, is_package)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import below ``node``, skipping the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                if isinstance(other, ast.Import | ast.ImportFrom):
                    yield other
                else:
                    yield from _import_nodes(other)
        else:
            yield from _import_nodes(child)


def _resolve(name: str, modules: dict[str, Module]) -> str:
    """A project module: ``name`` itself, or its longest prefix that is one (``import
    services.weights.manifest.x`` cannot be, but an attribute path can be written)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return name


def _collect(module: Module, modules: dict[str, Module]) -> None:
    tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                module.imports.add(_resolve(alias.name, modules))
            continue
        if node.level:
            package = module.name.split(".")
            if not module.is_package:
                package = package[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            module.imports.add(submodule if submodule in modules else _resolve(base, modules))


def _graph() -> dict[str, Module]:
    modules = _modules()
    for module in modules.values():
        _collect(module, modules)
    return modules


def _cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    edges = {
        name: sorted(i for i in m.imports if i in modules and i != name)
        for name, m in modules.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for other in edges[name]:
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in on_stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == name:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(edges):
        if name not in index:
            visit(name)
    return found


def _describe(cycle: list[str], modules: dict[str, Module]) -> str:
    members = set(cycle)
    lines = [" <-> ".join(cycle)]
    for name in cycle:
        inside = sorted(i for i in modules[name].imports if i in members and i != name)
        lines.append(f"    {name} imports {', '.join(inside)}")
    return "\n".join(lines)


def _offenders(modules: dict[str, Module], prefix: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{m.name} imports {target}"
        for m in modules.values()
        if m.name == prefix or m.name.startswith(prefix + ".")
        for target in sorted(m.imports)
        if any(target == f or target.startswith(f + ".") for f in forbidden)
    )


def test_the_graph_sees_every_kind_of_import() -> None:
    """The parser itself: function-level and relative imports count, TYPE_CHECKING not."""
    modules = _graph()
    assert len(modules) > 100 and "services.weights.converted" in modules
    # imported inside a function, and `from services.conversion import x` (a submodule)
    assert "services.conversion.marian" in modules["services.conversion.convert"].imports
    assert "services.conversion.tiny" in modules["services.conversion"].imports
    source = (
        "import os\n"
        "if TYPE_CHECKING:\n    import bot.app\nelse:\n    from . import x\n"
        "def f():\n    from .y import z\n"
    )
    found = [
        (n.level, n.module) if isinstance(n, ast.ImportFrom) else n.names[0].name
        for n in _import_nodes(ast.parse(source))
    ]
    assert found == ["os", (1, None), (1, "y")]


def test_no_import_circles() -> None:
    modules = _graph()
    cycles = _cycles(modules)
    assert not cycles, "import circles:\n" + "\n".join(_describe(c, modules) for c in cycles)


def test_services_never_import_the_bot() -> None:
    modules = _graph()
    assert _offenders(modules, "services", ("bot", "handlers", "aiogram")) == []


def test_only_the_app_imports_handlers() -> None:
    modules = _graph()
    offenders = [
        line
        for line in _offenders(modules, "bot", ("handlers",))
        if not line.startswith("bot.app ")
    ]
    assert offenders == []


def test_weights_below_models_below_conversion() -> None:
    modules = _graph()
    assert (
        _offenders(modules, "services.weights", ("services.models", "services.conversion")) == []
    )
    assert _offenders(modules, "services.models", ("services.conversion",)) == []
