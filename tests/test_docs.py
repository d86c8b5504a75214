"""The documentation stays true to the code."""

from __future__ import annotations

from pathlib import Path

from registry.plugins import make_plugin_manager
from registry.services.base.criteria import build_catalogue

DOCS = Path(__file__).parents[1] / "docs"


def test_criteria_page_lists_every_built_in_criterion_with_its_severity():
    page = (DOCS / "criteria.md").read_text(encoding="utf-8")
    for criteria_set in build_catalogue(make_plugin_manager()).sets.values():
        assert f"## `{criteria_set.key}`" in page
        for criterion in criteria_set.criteria:
            assert f"| `{criterion.id}`: {criterion.title} | {criterion.severity} |" in page, criterion.id


def test_ogc_page_names_every_declared_conformance_class():
    from registry.web.ogc.features import CONFORMANCE

    page = (DOCS / "ogc.md").read_text(encoding="utf-8")
    for uri in CONFORMANCE:
        assert f"`{uri.rsplit('/', 1)[-1]}`" in page, uri


def test_funding_page_names_every_built_in_rule_and_its_inputs():
    from registry.services.passes.funding import build_funding_catalogue

    page = (DOCS / "funding.md").read_text(encoding="utf-8")
    for rule in build_funding_catalogue(make_plugin_manager()).rules.values():
        assert f"## `{rule.id}`" in page
        for item in rule.inputs:
            assert f"`{item.name}`" in page, (rule.id, item.name)
        for source in rule.sources:
            for path in source.paths:
                assert path in page, path
