"""Marshmallow schemas of the venue resource (input and output), with French error messages."""

from __future__ import annotations

from datetime import UTC

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from registry import hours, standard

FRENCH_MESSAGES: dict[type, dict[str, str]] = {
    fields.Field: {"required": "Champ obligatoire.", "null": "Ce champ ne peut pas être vide (null).",
                   "validator_failed": "Valeur invalide."},
    fields.String: {"invalid": "Texte attendu."},
    fields.Float: {"invalid": "Nombre attendu.", "special": "Nombre fini attendu."},
    fields.Integer: {"invalid": "Entier attendu."},
    fields.Boolean: {"invalid": "Booléen attendu."},
    fields.Date: {"invalid": "Date attendue au format AAAA-MM-JJ."},
    fields.DateTime: {"invalid": "Date et heure attendues (ISO 8601)."},
    fields.List: {"invalid": "Liste attendue."},
    fields.Email: {"invalid": "Adresse électronique invalide."},
    fields.URL: {"invalid": "Adresse web (URL) invalide."},
    fields.UUID: {"invalid_uuid": "Identifiant (UUID) invalide."},
}


def _frenchify(field: fields.Field) -> None:
    for cls in reversed(type(field).__mro__):
        messages = FRENCH_MESSAGES.get(cls)
        if messages:
            for key, message in messages.items():
                if key in field.error_messages:
                    field.error_messages[key] = message
    for validator in field.validators:
        if isinstance(validator, (validate.Email, validate.URL)) and "invalid" in field.error_messages:
            validator.error = field.error_messages["invalid"]
    inner = getattr(field, "inner", None)
    if inner is not None:
        _frenchify(inner)


class FrenchSchema(Schema):
    """A schema whose built-in error messages are in French; unknown fields are rejected."""

    error_messages = {"unknown": "Champ inconnu.", "type": "Objet JSON attendu."}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            _frenchify(field)


class BoundedDateTime(fields.AwareDateTime):
    """An ISO date and time with its offset (``default_timezone`` when it has none), between the years 1900 and
    2200: outside them, converting between time zones overflows (``9999-12-31T23:59:59-12:00``)."""

    default_error_messages = {"bounds": "Date et heure entre 1900 et 2200 attendues."}

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise self.make_error("bounds") from None
        if not 1900 <= moment.year <= 2200:
            raise self.make_error("bounds")
        return moment


def _vocabulary_list(name: str, **kwargs) -> fields.List:
    values = standard.VOCABULARIES[name]
    return fields.List(fields.String(metadata={"enum": list(values)}),
                       metadata={"description": "Valeurs du standard : " + " | ".join(values)}, **kwargs)


class VenueStandardSchema(FrenchSchema):
    """The national standard's fields (v1.0), multi-valued ones as JSON arrays."""

    pivot = fields.String(allow_none=True, metadata={"description": "SIRET (14 chiffres) ou RNA (W + 9 chiffres)"})
    nom = fields.String(validate=validate.Length(min=1, max=250, error="Entre 1 et 250 caractères."))
    commune = fields.String(validate=validate.Length(min=1, max=200, error="Entre 1 et 200 caractères."))
    code_postal = fields.String(validate=validate.Regexp(standard.POSTCODE_PATTERN,
                                                         error="Code postal à 5 chiffres attendu."))
    code_insee = fields.String(allow_none=True, validate=validate.Regexp(
        standard.INSEE_PATTERN, error="Code INSEE de commune attendu (5 caractères, ex. 12202, 2A004)."))
    adresse = fields.String(validate=validate.Length(min=1, max=500, error="Entre 1 et 500 caractères."))
    complement_adresse = fields.String(allow_none=True, validate=validate.Length(max=500))
    latitude = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(
        min=-90, max=90, error="Latitude entre -90 et 90 attendue."))
    longitude = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(
        min=-180, max=180, error="Longitude entre -180 et 180 attendue."))
    typologie = fields.List(fields.String(validate=validate.Length(min=1, max=50)))
    telephone = fields.String(allow_none=True)
    courriels = fields.List(fields.Email())
    site_web = fields.List(fields.URL())
    horaires = fields.String(allow_none=True, metadata={"description": "Format OpenStreetMap opening_hours"})
    presentation_resume = fields.String(allow_none=True, validate=validate.Length(
        max=280, error="280 caractères au plus."))
    presentation_detail = fields.String(allow_none=True)
    source = fields.String(allow_none=True, validate=validate.Length(max=200, error="200 caractères au plus."),
                           metadata={"description": "Structure qui a collecté la donnée"})
    itinerance = _vocabulary_list("itinerance")
    structure_parente = fields.String(allow_none=True, validate=validate.Length(
        max=250, error="250 caractères au plus."))
    date_maj = fields.Date(metadata={"description": "Date de mise à jour (par défaut : aujourd'hui)"})
    services = _vocabulary_list("services")
    publics_specifiquement_adresses = _vocabulary_list("publics_specifiquement_adresses")
    prise_en_charge_specifique = _vocabulary_list("prise_en_charge_specifique")
    frais_a_charge = _vocabulary_list("frais_a_charge")
    dispositif_programmes_nationaux = _vocabulary_list("dispositif_programmes_nationaux")
    formations_labels = _vocabulary_list("formations_labels")
    autres_formations_labels = fields.List(fields.String(validate=validate.Length(min=1)))
    modalites_acces = _vocabulary_list("modalites_acces")
    modalites_accompagnement = _vocabulary_list("modalites_accompagnement")
    fiche_acces_libre = fields.URL(allow_none=True, validate=validate.Length(max=500, error="500 caractères au plus."))
    prise_rdv = fields.URL(allow_none=True, validate=validate.Length(max=500, error="500 caractères au plus."))

    @validates_schema(skip_on_field_errors=False)
    def _check_standard_values(self, data: dict, **kwargs) -> None:
        errors: dict[str, list[str]] = {}
        for name in standard.VOCABULARIES:
            for value in data.get(name) or []:
                if standard.canonical_value(name, value) is None:
                    errors.setdefault(name, []).append(
                        f"« {value} » n'est pas une valeur du standard pour {name}.")
        if data.get("pivot") and not standard.PIVOT_PATTERN.match(data["pivot"]):
            errors["pivot"] = ["SIRET (14 chiffres), SIREN (9) ou RNA attendu : 9 à 14 lettres ou chiffres."]
        if data.get("telephone") and standard.normalise_phone(data["telephone"]) is None:
            errors["telephone"] = ["Numéro de téléphone français invalide (ex. 05 65 12 34 56 ou +33565123456)."]
        if (data.get("latitude") is None) != (data.get("longitude") is None) and (
                "latitude" in data or "longitude" in data):
            errors["latitude" if data.get("latitude") is None else "longitude"] = [
                "Latitude et longitude vont ensemble."]
        if errors:
            raise ValidationError(errors)


class ClosureSchema(FrenchSchema):
    """A temporary closure, or exceptional hours, of a venue (dates inclusive, Paris time)."""

    class Meta:
        ordered = True

    from_ = fields.Date(required=True, data_key="from", metadata={"description": "Premier jour (AAAA-MM-JJ)"})
    to = fields.Date(required=True, metadata={"description": "Dernier jour (AAAA-MM-JJ)"})
    hours = fields.String(allow_none=True, metadata={
        "description": "Horaires exceptionnels de ces jours (ex. 14:00-16:00) ; absent ou null : fermé"})
    note = fields.String(allow_none=True, validate=validate.Length(max=200, error="200 caractères au plus."),
                         metadata={"description": "Motif affiché au public (ex. « Congés de fin d'année »)"})

    @validates_schema(skip_on_field_errors=True)
    def _check(self, data: dict, **kwargs) -> None:
        problem = hours.closure_problem(self._stored(data))
        if problem:
            raise ValidationError(problem, "hours" if "Horaires" in problem else "to")

    @staticmethod
    def _stored(data: dict) -> dict:
        return {"from": data["from_"].isoformat(), "to": data["to"].isoformat(),
                "hours": (data.get("hours") or "").strip() or None, "note": (data.get("note") or "").strip() or None}

    @post_load
    def _as_stored(self, data: dict, **kwargs) -> dict:
        return self._stored(data)


def _closures_field() -> fields.List:
    return fields.List(fields.Nested(ClosureSchema), metadata={
        "description": "Fermetures temporaires et horaires exceptionnels, datés (pris en compte par open_now, "
                       "open_at, day et slot ; exportés dans horaires comme règles datées OpenStreetMap)"})


class VenueCreateSchema(VenueStandardSchema):
    """Input of ``POST /operator/venues``: the standard's fields, plus the origin of the record."""

    class Meta:
        ordered = True

    origin = fields.String(validate=validate.Length(min=1, max=100),
                           metadata={"description": "Source des données (par défaut : registry)"})
    origin_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=200),
                              metadata={"description": "Identifiant du lieu dans sa source (« id » du standard)"})
    publication_status = fields.String(validate=validate.OneOf(("draft", "published"),
                                                               error="draft ou published attendu."))
    closures = _closures_field()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("nom", "adresse", "code_postal"):
            self.fields[name].required = True


class VenueUpdateSchema(VenueStandardSchema):
    """Input of ``PATCH /operator/venues/<id>``: any subset of the standard's fields, and the closures."""

    closures = _closures_field()


class WarningSchema(Schema):
    field = fields.String()
    message = fields.String()


class LabelSchema(Schema):
    criteria_set = fields.String()
    label = fields.String()
    valid_until = fields.Date(allow_none=True)


class VenuePublicSchema(VenueStandardSchema):
    """What anyone may read of a published venue."""

    class Meta:
        ordered = True

    id = fields.UUID(dump_only=True)
    commune_code = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "Commune actuelle (code INSEE) ; null quand elle n'a pu être déterminée"})
    position_precision = fields.String(dump_only=True, allow_none=True, metadata={
        "enum": ["exact", "address", "commune"],
        "description": "exact : les coordonnées du lieu ; address : sans coordonnées, son adresse placée par le "
                       "géocodeur ; commune : sans coordonnées, le lieu est placé au point de référence de sa "
                       "commune (position approximative). Sans coordonnées, latitude et longitude restent nulles ; "
                       "null : lieu non placé"})
    labels = fields.List(fields.Nested(LabelSchema), dump_only=True, dump_default=list, metadata={
        "description": "Labels actifs aujourd'hui (qualification en cours de validité)"})
    closures = fields.Function(lambda venue: (venue.get("closures") if isinstance(venue, dict) else venue.closures)
                               or [], dump_only=True, metadata={
        "type": "array", "items": {"type": "object"},
        "description": "Fermetures temporaires et horaires exceptionnels : [{from, to, hours, note}] (vide : aucune)"})


class VenueSchema(VenuePublicSchema):
    """The operator's view of a venue."""

    origin = fields.String(dump_only=True)
    origin_id = fields.String(dump_only=True, allow_none=True)
    publication_status = fields.String(dump_only=True)
    revision = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class VenueWriteSchema(VenueSchema):
    """A venue just written, with the warnings its input raised (e.g. a postcode foreign to the commune)."""

    warnings = fields.List(fields.Nested(WarningSchema), dump_only=True)


class ProblemSchema(Schema):
    """An error, as RFC 7807 problem details (``application/problem+json``)."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String(metadata={"description": "Nature de l'erreur, en français"})
    status = fields.Integer()
    detail = fields.String(metadata={"description": "Ce qui ne va pas, en français"})
    errors = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata={
        "description": "Messages par champ : une liste, ou pour un champ liste, les messages par position"})
    profil_suggere = fields.String(metadata={
        "description": "Import d'un fichier au format non reconnu : le profil d'import suggéré (TOML), à revoir puis "
                       "à renvoyer avec le fichier (champ profile)"})
    resume_profil = fields.List(fields.String(), metadata={
        "description": "Import d'un fichier au format non reconnu : le profil suggéré en une ligne par champ"})


class PageLinksSchema(Schema):
    next = fields.String(allow_none=True)
    prev = fields.String(allow_none=True)


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """A paginated envelope of ``item_schema`` items."""
    return type(name, (Schema,), {
        "items": fields.List(fields.Nested(item_schema)),
        "total": fields.Integer(),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
        "links": fields.Nested(PageLinksSchema),
    })


class PaginationArgsSchema(FrenchSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000,
                                                                  error="Page entre 1 et 1 000 000."))
    per_page = fields.Integer(load_default=20, validate=validate.Range(
        min=1, max=100, error="Entre 1 et 100 éléments par page."))


class VenueListArgsSchema(PaginationArgsSchema):
    q = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "Nom ou commune"})
    territory = fields.String(metadata={"description": "commune:12202, epci:<siren>, departement:12, region:76"})


class OperatorVenueListArgsSchema(VenueListArgsSchema):
    publication_status = fields.String(validate=validate.OneOf(("draft", "published", "unpublished"),
                                                               error="draft, published ou unpublished attendu."))
    origin = fields.String()
    updated_since = BoundedDateTime(default_timezone=UTC)
