"""The national standard's field list has one home (``registry.standard.FIELDS``): the official schema, the venue
model, the marshmallow schema, the exporters and the importer all agree with it."""

from __future__ import annotations

import io
import json

from plugins.standard import ColumnPlan, StandardV1CsvExporter
from registry import standard
from registry.formats import ExportRecord
from registry.models import Venue
from registry.schemas import VenueStandardSchema
from tests.conftest import shared_file


def test_the_field_list_is_the_official_schemas():
    schema = json.loads(shared_file("standard", "schema-v1.0.2.json").read_text(encoding="utf-8"))
    assert standard.FIELDS == tuple(field["name"] for field in schema["fields"])
    # Fields whose official example holds several values separated by ``|`` are lists here.
    examples = {field["name"] for field in schema["fields"] if "|" in str(field.get("example", ""))}
    assert examples and examples <= set(standard.LIST_FIELDS)
    assert standard.TITLES == {field["name"]: field["title"] for field in schema["fields"]}


def test_model_schema_exporter_and_importer_derive_from_it():
    assert set(standard.VENUE_FIELDS) <= set(Venue.__table__.columns.keys())
    assert set(VenueStandardSchema().fields) == set(standard.VENUE_FIELDS)
    out = io.StringIO()
    StandardV1CsvExporter().write([ExportRecord({"id": "x"})], out)
    assert tuple(out.getvalue().splitlines()[0].split(",")) == standard.FIELDS
    plan = ColumnPlan()
    assert all(plan.target(name) is not None and plan.target(name)[1] == name for name in standard.FIELDS)
    assert {plan.target(name)[0] for name in standard.LIST_FIELDS} == {"list"}
