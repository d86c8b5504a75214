"""Territories: the reference and its boundaries (``reference``), territories by code (``codes``), membership and
scope (``scope``), names (``names``); the commune resolver (``communes``) and priority zones (``zones``).

Callers import the package (``from registry.services import territories``) and name the module:
``territories.scope.check_access(…)``, ``territories.codes.get(…)``."""

from registry.services.territories import codes, names, reference, scope

__all__ = ["codes", "names", "reference", "scope"]
