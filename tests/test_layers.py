"""The import graph of ``webapp``: no circles, and no shared module reaching into a domain.

Every ``import`` counts — at the top of a module and inside a function alike (a function-level
import is still a dependency; it only hides a circle from Python until the call). ``from x
import y`` counts as an import of ``x.y`` when ``y`` is a module. Layers (docs/architecture.md):

- the app: ``webapp/__init__.py`` (``create_app``), ``webapp/cli.py``, ``webapp/site.py`` and
  the migrations — they put the domains together and may import any of them;
- the domains: the packages ``webapp/<domain>/`` (accounts, people, scheduling, checkin,
  learning, certificates, …) — they may import each other, but not in a circle;
- the shared modules: every other ``webapp/*.py`` (extensions, errors, forms, text, ids, …) —
  they import no domain.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "webapp"
APP_LAYER = {"webapp", "webapp.cli", "webapp.site"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.relative_to(PACKAGE).parts:
            continue
        found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The ``webapp`` modules that ``name`` imports, anywhere in its text."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                child = f"{source}.{alias.name}"
                # ``from webapp.x import y``: the module y when there is one, else a name of x.
                targets.add(child if child in MODULES else source)
    resolved = set()
    for target in targets:
        while target and target not in MODULES:  # a name inside a module: that module
            target = target.rpartition(".")[0]
        if target and target != name:
            resolved.add(target)
    return resolved


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _domain(name: str) -> str | None:
    parts = name.split(".")
    if len(parts) >= 2 and (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return None


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in GRAPH.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read():
    """The walk sees what it should (a test that reads no imports would pass everything)."""
    assert "webapp.scheduling.access" in GRAPH["webapp.scheduling.services"]
    assert "webapp.extensions" in GRAPH["webapp.errors"]
    assert any(_domain(t) for t in GRAPH["webapp"])


def test_no_import_cycle():
    assert _cycles() == []


def test_no_module_imports_the_app_factory():
    offenders = sorted(n for n, targets in GRAPH.items() if "webapp" in targets)
    assert offenders == []


@pytest.mark.parametrize(
    "name", sorted(n for n in MODULES if _domain(n) is None and n not in APP_LAYER)
)
def test_shared_modules_import_no_domain(name):
    reached = sorted(t for t in GRAPH[name] if _domain(t))
    assert reached == [], f"{name} (a shared module) imports the domain modules {reached}"


def test_a_circle_is_caught(monkeypatch):
    """The cycle finder itself: two modules importing each other form one circle."""
    monkeypatch.setitem(GRAPH, "webapp.text", GRAPH["webapp.text"] | {"webapp.ids"})
    monkeypatch.setitem(GRAPH, "webapp.ids", GRAPH["webapp.ids"] | {"webapp.text"})
    assert ["webapp.ids", "webapp.text"] in _cycles()
