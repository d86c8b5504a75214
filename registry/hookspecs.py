"""Hook specifications of the registry's plugin system (pluggy, project name ``registry``).

Plugins implement these with ``@registry.hookimpl`` and are found through the ``registry`` entry-point
group. List-returning hooks aggregate every plugin's answer. See ``docs/plugins.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Blueprint

    from registry.eligibility import CriteriaSet
    from registry.formats import Exporter, Importer, ZoneReader
    from registry.funding import FundingRule

hookspec = pluggy.HookspecMarker("registry")
hookimpl = pluggy.HookimplMarker("registry")


@hookspec
def registry_criteria_sets() -> list[CriteriaSet]:
    """Return the criteria sets (labels, qualifications) this plugin provides."""


@hookspec
def registry_funding_rules() -> list[FundingRule]:
    """Return the funding rules (``registry.funding.FundingRule``) this plugin provides: how the State's share
    of a collectivité's Pass numérique project is computed (a call for projects' rule, a deployment's own)."""


@hookspec
def registry_importers() -> list[Importer]:
    """Return importers (``registry.formats.Importer``): formats ``registry import`` and the upload endpoint read."""


@hookspec
def registry_zone_readers() -> list[ZoneReader]:
    """Return readers of priority-zone files (``registry.formats.ZoneReader``): QPV, FRR or any other kind."""


@hookspec(firstresult=True)
def registry_demand_weights(communes: list[str]) -> dict[str, float] | None:
    """Weights of the communes' populations in the accessibility index's demand (a share of people likely to
    need help: older people, people without internet…, as the APL weights its demand by age), by commune code,
    finite and not negative; a commune left out keeps a weight of 1. Return ``None`` to leave it to the next
    plugin (the first answer wins)."""


@hookspec
def registry_exporters() -> list[Exporter]:
    """Return exporters (``registry.formats.Exporter``): formats ``registry export`` and the export endpoint write."""


@hookspec
def registry_venue_changed(venue: Any, change: str, actor: str) -> None:
    """Be told that a venue was created or changed (``change``: ``created``, ``updated``, ``published``,
    ``unpublished``) by ``actor``. Called after the change is committed; must not raise."""


@hookspec
def registry_qualification_decided(qualification: Any, action: str, actor: str) -> None:
    """Be told of a decision on a qualification (``action``: ``submit``, ``qualify``, ``suspend``... or
    ``expire`` and ``needs_review`` when the registry itself acts). Called after commit; must not raise."""


@hookspec(firstresult=True)
def registry_geocode(query: str, limit: int, config: Any) -> list[dict] | None:
    """Turn an address into places: a list of ``{"label", "lon", "lat", "citycode"}`` (best first), or ``None``
    when this plugin cannot answer (not configured, service down): the next plugin is asked. ``config`` is the
    application's configuration (``REGISTRY_*`` settings)."""


@hookspec(firstresult=True)
def registry_distances(origins: Any, destinations: Any, max_m: float) -> tuple[Any, Any, Any] | None:
    """Distances for the accessibility index (a routing plugin: road distances). ``origins`` and
    ``destinations`` are numpy arrays of (lon, lat) rows; return ``(origin indexes, destination indexes,
    metres)``, numpy arrays, for every pair within ``max_m``, or ``None`` to leave it to the next plugin and at
    last to the registry's great-circle distances."""


@hookspec
def registry_blueprints() -> list[Blueprint]:
    """Return Flask blueprints to register on the application (pages or endpoints of the plugin)."""


@hookspec
def registry_cli_commands() -> list[click.Command]:
    """Return click commands to add to the ``registry`` command."""
