"""The direction of imports: services never import the web layer or Flask; the pass's package imports only from
the layers below it (never from the web, the CLI, or the exchange and search packages); plugins and criteria sets
import nothing of ``registry`` but the public plugin API."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The modules a plugin may import (each declares ``__all__``, listed in docs/plugins.md), and ``registry`` itself.
PUBLIC_PLUGIN_API = ("registry.eligibility", "registry.identifiers", "registry.standard", "registry.funding",
                     "registry.formats", "registry.errors", "registry.profiles")


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
    """A plugin imports ``registry.hookimpl`` and the names the public modules export, nothing else."""
    public = {"registry", "registry.hookimpl"} | {f"{module}.{name}" for module in PUBLIC_PLUGIN_API
                                                  for name in importlib.import_module(module).__all__}
    used = {m for m in imports_of(path) if m.startswith("registry") and m not in PUBLIC_PLUGIN_API}
    assert used <= public, f"{path.relative_to(ROOT)} importe {sorted(used - public)}"


@pytest.mark.parametrize("module", PUBLIC_PLUGIN_API)
def test_the_public_plugin_api_is_declared_and_documented(module):
    """Each public module says what it exports (``__all__``, every name defined) and docs/plugins.md lists
    exactly those names under it."""
    exported = importlib.import_module(module).__all__
    assert all(hasattr(importlib.import_module(module), name) for name in exported)
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = re.search(rf"^- `{re.escape(module)}`: (.*?)(?=^- |^$)", docs, re.MULTILINE | re.DOTALL)
    assert section, f"{module} absent de la liste de docs/plugins.md"
    listed = set(re.findall(r"`(\w+)(?:\(|`)", section.group(1)))
    assert listed == set(exported), f"{module} : en trop {sorted(listed - set(exported))}, " \
                                    f"manquants {sorted(set(exported) - listed)}"


def test_long_work_reports_progress_one_way():
    """Every service taking a ``progress`` callback takes the one convention (``registry.services.progress``:
    cumulative ``(done, total)``), so the CLI's one bar and the jobs read every service alike."""
    odd = []
    for path in files("registry/services"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for argument in node.args.args + node.args.kwonlyargs:
                    if argument.arg == "progress" and ast.unparse(argument.annotation or ast.Constant(None)) not in (
                            "Progress", "Progress | None"):
                        odd.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not odd, odd
