"""The plugin manager: one per application, loading built-in and third-party plugins by entry point."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata

import pluggy

from registry import hookspecs

ENTRY_POINT_GROUP = "registry"


def make_plugin_manager(disabled: Iterable[str] = (), extra: Iterable[object] = ()) -> pluggy.PluginManager:
    """A fresh manager with every ``registry`` entry point loaded but the ``disabled`` ones.

    ``extra`` plugins (modules or objects with hook implementations) are registered too: tests use it.
    """
    pm = pluggy.PluginManager("registry")
    pm.add_hookspecs(hookspecs)
    for name in disabled:
        pm.set_blocked(name)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return pm


@dataclass(frozen=True)
class PluginInfo:
    """A loaded plugin: its name, the distribution and version that provide it, the hooks it implements."""

    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Every loaded plugin, by name."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    infos = []
    for name, plugin in pm.list_name_plugin():
        dist = dists.get(id(plugin))
        hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or []))
        infos.append(PluginInfo(name, dist.metadata["name"] if dist else None, dist.version if dist else None, hooks))
    return sorted(infos, key=lambda info: info.name)


def installed_entry_points() -> list[str]:
    """Names of the ``registry`` entry points installed (loaded or not)."""
    return sorted(ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP))


def by_name(pm: pluggy.PluginManager | None, hook: str) -> dict[str, object]:
    """What every plugin returns from a list hook (importers, exporters), by each object's ``name``."""
    found: dict[str, object] = {}
    for provided in getattr(pm.hook, hook)() if pm else []:
        for item in provided or []:
            found[item.name] = item
    return found


def notify_venue_changed(pm: pluggy.PluginManager | None, venue: object, change: str, actor: str) -> None:
    """Call ``registry_venue_changed`` after a committed change; a failing plugin is logged, never raised."""
    if pm is None:
        return
    try:
        pm.hook.registry_venue_changed(venue=venue, change=change, actor=actor)
    except Exception:  # noqa: BLE001 - a plugin must not undo or hide a committed change
        logging.getLogger("registry.plugins").exception("registry_venue_changed a échoué (%s)", change)
