"""The direction of imports: services never import the web layer or Flask; the pass's package imports only from
the layers below it (never from the web, the CLI, or the exchange and search packages); plugins and criteria sets
import nothing of ``registry`` but the public plugin API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_PLUGIN_API = {"registry.hookimpl", "registry.hookspecs", "registry.eligibility", "registry.formats", "registry.hours",
                     "registry.identifiers", "registry.standard", "registry.wording", "registry.funding",
                     "registry.errors", "registry.crs"}


def imports_of(path: Path) -> set[str]:
    """The modules a file imports (absolute names; ``from x import y`` gives ``x`` and ``x.y``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", files("registry/services"), ids=lambda p: str(p.relative_to(ROOT)))
def test_services_never_import_the_web_or_flask(path):
    bad = {m for m in imports_of(path) if m.startswith(("registry.web", "registry.cli", "flask"))}
    assert not bad, f"{path.relative_to(ROOT)} importe {sorted(bad)}"


@pytest.mark.parametrize("path", files("registry/services/passes"), ids=lambda p: p.name)
def test_the_pass_package_imports_only_the_layers_below_it(path):
    above = ("registry.services.imports", "registry.services.import_", "registry.services.exports",
             "registry.services.search", "registry.services.coverage", "registry.services.accessibility",
             "registry.services.siting", "registry.services.managers", "registry.services.freshness",
             "registry.services.demo", "registry.services.backup")
    bad = {m for m in imports_of(path) if m.startswith(above)}
    assert not bad, f"{path.name} importe {sorted(bad)}"


@pytest.mark.parametrize("path", files("plugins") + files("criteria"), ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_use_only_the_public_plugin_api(path):
    used = {m for m in imports_of(path) if m.startswith("registry.") and m.count(".") == 1}
    assert used <= PUBLIC_PLUGIN_API, f"{path.relative_to(ROOT)} importe {sorted(used - PUBLIC_PLUGIN_API)}"
