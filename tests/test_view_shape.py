"""The shape every view keeps (docs/architecture.md): short, loading through a scoped loader,
refusing through ``webapp.forms.attempt``, laid out by the formatter.

These read the source, so they hold for views not yet written: a new domain copies the pattern
or this fails.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "webapp"
MAX_VIEW_LINES = 30
ROUTE_DECORATORS = {"route", "get", "post", "put", "patch", "delete"}


def _view_modules() -> list[Path]:
    """Every module that registers a route (a blueprint's ``.route``/``.get``/``.post``)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        if any(_routes(ast.parse(path.read_text(encoding="utf-8")))):
            found.append(path)
    return found


def _routes(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else None
                if isinstance(call, ast.Attribute) and call.attr in ROUTE_DECORATORS:
                    yield node
                    break


VIEW_MODULES = _view_modules()


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_view_modules_are_found():
    names = {_name(p) for p in VIEW_MODULES}
    assert {"webapp/scheduling/views.py", "webapp/checkin/learner_views.py"} <= names
    assert "webapp/site.py" in names  # a route outside a domain package counts too


@pytest.mark.parametrize("path", VIEW_MODULES, ids=_name)
def test_no_view_function_is_longer_than_30_lines(path):
    """From ``def`` to the last line, docstring included; decorators not counted."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = {
        f"{view.name} ({view.end_lineno - view.lineno + 1} lines)"
        for view in _routes(tree)
        if view.end_lineno - view.lineno + 1 > MAX_VIEW_LINES
    }
    assert long == set()


@pytest.mark.parametrize("path", VIEW_MODULES, ids=_name)
def test_views_refuse_through_attempt(path):
    """No view module rolls back by hand: ``with attempt(...)`` commits or rolls back, sends
    403/404 to the error pages and keeps any other refusal's message for the page. (A view may
    still catch a refusal of a check that writes nothing — a preview, a read-only lookup — or
    one whose count must be kept, as the log-in does: there is nothing to roll back.)"""
    text = path.read_text(encoding="utf-8")
    assert re.findall(r"^.*\.rollback\(\).*$", text, re.MULTILINE) == []


def test_the_formatter_owns_the_layout():
    marked = [
        f"{_name(path)}:{number}"
        for folder in ("webapp", "tests", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts and path.name != "test_view_shape.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "fmt: skip" in line or "fmt: off" in line
    ]
    assert marked == []


def test_the_checks_can_fail(tmp_path):
    """The readers above see a long view and a hand-written rollback."""
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_VIEW_LINES))
    source = (
        "@bp.post('/x')\ndef long_view():\n"
        + body
        + "\n    try:\n        pass\n    except DomainError:\n        db.session.rollback()\n"
    )
    tree = ast.parse(source)
    (view,) = _routes(tree)
    assert view.end_lineno - view.lineno + 1 > MAX_VIEW_LINES
    assert re.search(r"^.*\.rollback\(\).*$", source, re.MULTILINE)
