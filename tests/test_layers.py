"""The direction of imports, read from the source with ``ast``: each package of ``registry/services`` imports only
from the layers before it (never a sibling of its own layer), services never import the web, the CLI, the job queue
or Flask, and plugins and criteria sets import nothing of ``registry`` but the public plugin API."""

from __future__ import annotations

import ast
import functools
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ROOT / "registry" / "services"
#: The packages of ``registry/services``, layer by layer: a package imports only from the layers before its own.
LAYERS = (("base",), ("journal",), ("territories",), ("qualification",), ("venues",),
          ("exchange", "search", "coverage", "contributions", "accounts", "passes"), ("demo",))
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}
#: The modules a plugin may import (each declares ``__all__``, listed in docs/plugins.md), and ``registry`` itself.
PUBLIC_PLUGIN_API = ("registry.eligibility", "registry.identifiers", "registry.standard", "registry.funding",
                     "registry.formats", "registry.errors", "registry.profiles")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def imports_of(path: Path) -> frozenset[str]:
    """The modules a file imports (absolute names; ``from x import y`` gives ``x`` and ``x.y``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(found)


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


MODULES = {module_name(path): path for path in files("registry")}


def package_of(module: str) -> str | None:
    """The services package of a module (``registry.services.venues.duplicates`` → ``venues``)."""
    parts = module.split(".")
    return parts[2] if len(parts) > 3 and parts[:2] == ["registry", "services"] else None


def test_every_service_module_lives_in_a_package_of_a_layer():
    flat = [p.name for p in SERVICES.glob("*.py") if p.name != "__init__.py"]
    assert not flat, f"modules hors paquet : {flat}"
    packages = {p.name for p in SERVICES.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(RANK), f"paquets sans couche ou couches sans paquet : {packages ^ set(RANK)}"


@pytest.mark.parametrize("path", files("registry/services"), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_service_package_imports_only_the_layers_before_it(path):
    own = package_of(module_name(path))
    above = {m for m in imports_of(path) if m in MODULES and package_of(m) and package_of(m) != own
             and own and RANK[package_of(m)] >= RANK[own]}
    assert not above, f"{path.relative_to(ROOT)} ({own}) importe {sorted(above)}"


@pytest.mark.parametrize("path", files("registry/services"), ids=lambda p: str(p.relative_to(ROOT)))
def test_services_never_import_the_web_the_cli_the_queue_or_flask(path):
    bad = {m for m in imports_of(path)
           if m.startswith(("registry.web", "registry.cli.core", "registry.jobs", "flask", "click"))}
    assert not bad, f"{path.relative_to(ROOT)} importe {sorted(bad)}"


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


def depth(module: str, seen: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The longest chain of ``registry.services`` modules that importing ``module`` walks (itself included)."""
    below = [m for m in imports_of(MODULES[module]) if m in MODULES and m.startswith("registry.services.")
             and m not in seen and m != module and not MODULES[m].name == "__init__.py"]
    chains = [depth(m, (*seen, module)) for m in below]
    return (module, *max(chains, key=len, default=()))


@pytest.mark.parametrize(("module", "most"), [("registry.services.search.search", 5),
                                              ("registry.services.coverage.coverage_formats", 8)])
def test_a_reader_walks_few_modules(module, most):
    """The public search and a coverage download load only what they use (a newcomer follows the chain)."""
    chain = depth(module)
    assert len(chain) <= most, " → ".join(chain)


def test_long_work_reports_progress_one_way():
    """Every service taking a ``progress`` callback takes the one convention (``registry.services.base.progress``:
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


def test_french_numbers_are_written_in_one_place():
    """Thousands in French (narrow no-break space) are written by ``registry.wording.french_number`` only: the
    CLI, the pages and the reports read the same figures alike."""
    own = [str(path.relative_to(ROOT)) for path in files("registry")
           if path.name != "wording.py" and re.search(r"""\.replace\(["'],["'], ["']\\u202f""",
                                                      path.read_text(encoding="utf-8"))]
    assert not own, f"séparateur de milliers écrit hors de registry.wording : {own}"


#: Modules of ``registry/web`` allowed to use SQL, each with the reason it cannot move into a service.
WEB_SQL_ALLOWED: dict[str, str] = {}
SQL_NAMES = {"select", "text", "func", "insert", "update", "delete"}
SQL_CALLS = {"execute", "scalar", "scalars"}


@pytest.mark.parametrize("path", files("registry/web"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_web_layer_writes_no_sql(path):
    """Views parse, call a service and render: no ``select``/``text``/``func`` of SQLAlchemy imported, no
    ``execute``/``scalar(s)`` on a session, in any module of ``registry/web`` (but those listed with their reason)."""
    if module_name(path) in WEB_SQL_ALLOWED:
        pytest.skip(WEB_SQL_ALLOWED[module_name(path)])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [f"{node.lineno}: {alias.name}" for alias in node.names if alias.name in SQL_NAMES]
        elif isinstance(node, ast.Import):
            found += [f"{node.lineno}: {alias.name}" for alias in node.names if alias.name == "sqlalchemy"]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
            found.append(f"{node.lineno}: {ast.unparse(node.func)}")
    assert not found, f"{path.relative_to(ROOT)} : SQL dans la couche web ({', '.join(found)})"
