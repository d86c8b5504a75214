"""Data exchange for operators: upload an import (same report as the CLI), export, duplicates and merges."""

from __future__ import annotations

import dataclasses
import io
import json
import tempfile
import uuid
from pathlib import Path

from flask import current_app, send_file
from flask.views import MethodView
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from registry import jobs as queue
from registry import schemas
from registry.errors import InvalidInput
from registry.services.base import jobs
from registry.services.demo import demo
from registry.services.exchange import exports, imports, profile_suggestions
from registry.services.venues import duplicates, uncertain_places
from registry.web.api import jobs as api_jobs
from registry.web.api.base import Blueprint, json_response
from registry.web.auth import BEARER, WRITE_ROLES, require_role
from registry.web.context import db_session, service_context
from registry.web.errors import problem

blp = Blueprint("exchange", __name__, url_prefix="/api/v1/operator",
                description="Échange de données : import (rapport ligne à ligne), export, doublons et fusions "
                            "(jeton operator ou admin, limité à son territoire).")


#: Spreadsheets always go to the worker: a 2.5 MB one held a web worker 120 s at 1.2 GB.
SPREADSHEETS = (".xlsx", ".xlsm", ".ods", ".xls")


class ImportArgsSchema(schemas.FrenchSchema):
    format = fields.String(metadata={"description": "Format (détecté sinon), ex. standard-csv"})
    source = fields.String(validate=validate.Length(min=1, max=100),
                           metadata={"description": "Jeu de données des lieux (sinon : celui du format, ou le nom "
                                                    "du fichier) ; obligatoire pour une synchronisation"})
    encoding = fields.String(validate=validate.OneOf(
        ("utf-8", "cp1252", "latin-1", "mac_roman", "utf-16"),
        error="utf-8, cp1252, latin-1, mac_roman ou utf-16 attendu."))
    dry_run = fields.Boolean(load_default=False, metadata={"description": "Tout vérifier, ne rien enregistrer"})
    sync = fields.Boolean(load_default=False, metadata={
        "description": "Dépublier les lieux du jeu de données (source) absents du fichier"})
    force = fields.Boolean(load_default=False, metadata={
        "description": "Synchroniser même au-delà de la part maximale de lieux dépubliés (REGISTRY_SYNC_MAX_SHARE)"})
    profile = fields.String(validate=validate.Length(min=1, max=100), metadata={
        "description": "Profil d'import fourni par un greffon ou retenu par un jeu de données (son nom)"})


class ImportFileSchema(schemas.FrenchSchema):
    file = Upload(required=True, metadata={"description": "Fichier à importer (CSV ou JSON)"})
    profile = Upload(metadata={"description": "Profil d'import (TOML, voir registry profile schema) : le fichier "
                                              "est lu avec lui"})


class ReportLineSchema(schemas.FrenchSchema):
    ligne = fields.Integer()
    id = fields.String(allow_none=True)
    type = fields.String(metadata={"description": "rejet, réparation, valeur ignorée, conversion, avertissement, "
                                                  "colonne non lue ou dépublication"})
    champ = fields.String()
    valeur = fields.Raw(allow_none=True)
    message = fields.String()


class ImportReportSchema(schemas.FrenchSchema):
    resume = fields.Dict(metadata={"description": "Totaux (lignes, crees, mis_a_jour, inchanges, rejetes…), "
                                                 "jeu_de_donnees, echec (toutes les lignes rejetées), colonnes "
                                                 "(comment chaque colonne a été lue), avertissements (ex. des lieux "
                                                 "fictifs de démonstration encore publiés, comptés avec les lieux "
                                                 "importés)"})
    lignes = fields.List(fields.Nested(ReportLineSchema))


class ExportArgsSchema(schemas.FrenchSchema):
    format = fields.String(load_default="standard-csv",
                           metadata={"description": "standard-csv, standard-json, geojson, data-inclusion"})
    territory = fields.String(metadata={"description": "ex. departement:12"})
    label = fields.String(metadata={"description": "Lieux portant ce label aujourd'hui, ex. pass-numerique"})
    criteria_set = fields.String(metadata={"description": "Avec status : la qualification de ce référentiel"})
    status = fields.String(metadata={"description": "Statut de qualification, ex. qualified"})
    publication_status = fields.String(load_default="published", validate=validate.OneOf(
        ("published", "draft", "unpublished", "all"), error="published, draft, unpublished ou all attendu."))


class DuplicatesArgsSchema(schemas.PaginationArgsSchema):
    territory = fields.String(metadata={"description": "ex. departement:12"})


class DismissalSchema(schemas.FrenchSchema):
    first = fields.UUID(required=True, metadata={"description": "Un lieu de la paire"})
    other = fields.UUID(required=True, metadata={"description": "L'autre lieu de la paire"})
    reason = fields.String(load_default=None, validate=validate.Length(max=1000),
                           metadata={"description": "Pourquoi ce n'est pas un doublon"})


class ConfirmCommuneSchema(schemas.FrenchSchema):
    code_insee = fields.String(required=True, validate=validate.Length(min=5, max=5),
                               metadata={"description": "La commune du lieu, une de ses communes possibles"})


class MergeSchema(schemas.FrenchSchema):
    duplicate = fields.UUID(required=True, metadata={"description": "Le lieu en double, fusionné dans celui-ci"})


@blp.route("/imports")
class Imports(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @blp.arguments(ImportArgsSchema, location="query")
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(202, schema=api_jobs.JobSchema, description="Gros fichier ou tableur : import confié au "
                      "processus de travail ; suivre la tâche (en-tête Location, /api/v1/jobs/<id>), dont le "
                      "résultat est le rapport")
    @blp.doc(security=BEARER)
    def post(self, args: dict, files: dict):
        """Importer un fichier de lieux (rapport ligne à ligne ; les lignes valides sont enregistrées)

        Quand toutes les lignes sont rejetées : 422, problème dont les membres `resume` et `lignes` portent le
        rapport. Un fichier de plus de REGISTRY_IMPORT_JOB_BYTES (1 Mio) ou un tableur (XLSX, ODS) est importé
        par le processus de travail : 202 et la tâche à suivre (Location)."""
        upload = files["file"]
        filename = Path(upload.filename or "import").name
        options = imports.ImportOptions(format=args.get("format"), source=args.get("source"),
                                        dry_run=args["dry_run"], sync=args["sync"], force=args["force"],
                                        sync_max_share=current_app.config["SYNC_MAX_SHARE"],
                                        encoding=args.get("encoding"), profile=args.get("profile"),
                                        profile_text=_profile_text(files.get("profile")))
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "upload"
            upload.save(path)
            if path.stat().st_size > current_app.config["IMPORT_JOB_BYTES"] or filename.lower().endswith(
                    SPREADSHEETS):
                ctx = service_context()
                job = jobs.enqueue(db_session(), "import", ctx.actor, queue.submitter(current_app),
                                   params={"filename": filename, "options": dataclasses.asdict(options)},
                                   scope=ctx.scope, payload=path.read_bytes(),
                                   message=f"{filename} : en attente d'un processus de travail (registry worker).")
                response = json_response(api_jobs.job_body(job), status=202)
                response.headers.update(api_jobs.job_location(job))
                return response
            try:
                report = imports.run_import(db_session(), path, service_context(), options, filename=filename)
            except imports.UnknownFormat as error:
                suggestion = profile_suggestions.for_upload(db_session(), path, filename)
                return problem(422, error.detail, error.errors, "Format non reconnu", extensions=suggestion and {
                    "profil_suggere": suggestion.text, "resume_profil": suggestion.summary()})
        if report.failed:
            detail = f"Les {report.rows} lignes de {filename} ont été rejetées : aucun lieu importé."
            return problem(422, detail, {"file": [detail]}, "Aucun lieu importé",
                           extensions=json.loads(json.dumps(imports.report_json(report), default=str)))
        return demo.with_import_warning(db_session(), imports.report_json(report))


MAX_PROFILE_BYTES = 256 * 1024


def _profile_text(upload) -> str | None:
    """An uploaded profile's TOML (a 422 naming ``profile`` when it is not UTF-8 text of reasonable size)."""
    if upload is None:
        return None
    data = upload.read(MAX_PROFILE_BYTES + 1)
    try:
        if len(data) > MAX_PROFILE_BYTES:
            raise UnicodeError("plus de 256 Kio")
        return data.decode("utf-8")
    except UnicodeError as exc:
        raise InvalidInput.on("profile", f"Profil illisible : un texte TOML en UTF-8 est attendu ({exc}).") from None


@blp.route("/exports")
class Exports(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @blp.arguments(ExportArgsSchema, location="query")
    @blp.response(200, description="Les lieux dans le format demandé (fichier)")
    @blp.doc(security=BEARER)
    def get(self, args: dict):
        """Exporter des lieux (standard national v1.0, GeoJSON, data·inclusion)"""
        ctx = service_context()
        exporter = exports.exporter_named(args["format"], ctx)
        status = args["publication_status"]
        filters = exports.ExportFilter(args.get("territory"), args.get("label"), args.get("criteria_set"),
                                       args.get("status"), None if status == "all" else status)
        out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b")  # on disk past 8 MiB
        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        exports.run_export(db_session(), exporter, text, filters, ctx)
        text.flush()
        text.detach()  # hand the file over to send_file, still open
        out.seek(0)
        return send_file(out, mimetype=exporter.media_type, as_attachment=True,
                         download_name=f"lieux.{exporter.extension}")


@blp.route("/duplicates")
class Duplicates(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @blp.arguments(DuplicatesArgsSchema, location="query")
    @blp.response(200, description="Paires de lieux de sources différentes qui sont peut-être un seul lieu")
    @blp.doc(security=BEARER)
    def get(self, args: dict):
        """Lister les doublons probables (même matricule France services, même SIRET proche, noms proches à
        ~100 m, même adresse), par pages ; les paires écartées n'y sont plus, les adresses partagées par trop de
        lieux sont listées à part (``crowds``)"""
        scan = duplicates.candidates(db_session(), service_context(), territory=args.get("territory"))
        page, per_page = args["page"], args["per_page"]
        shown = scan.candidates[(page - 1) * per_page:page * per_page]
        return json_response({"total": len(scan.candidates), "page": page, "per_page": per_page,
                              "candidates": [candidate.as_json() for candidate in shown],
                              "crowds": [crowd.as_json() for crowd in scan.crowds]})


@blp.route("/duplicates/dismissals")
class Dismissals(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @blp.arguments(DismissalSchema)
    @blp.response(201, description="La paire écartée : elle ne sera plus proposée")
    @blp.doc(security=BEARER)
    def post(self, data: dict):
        """Écarter une paire (« pas un doublon ») ; journalisé sur les deux lieux"""
        dismissal = duplicates.dismiss(db_session(), data["first"], data["other"], data["reason"], service_context())
        return json_response({"first": str(data["first"]), "other": str(data["other"]), "reason": dismissal.reason,
                              "actor": dismissal.actor}, status=201)


@blp.route("/venues/<uuid:venue_id>/merge")
class Merge(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @blp.arguments(MergeSchema)
    @blp.response(200, description="Le lieu conservé et ses sources (la sienne et celles des doublons fusionnés)")
    @blp.doc(security=BEARER)
    def post(self, data: dict, venue_id: uuid.UUID):
        """Fusionner un doublon dans ce lieu (le doublon est dépublié, son identifiant de source conservé)"""
        session = db_session()
        kept = duplicates.merge(session, venue_id, data["duplicate"], service_context())
        return json_response({"id": str(kept.id), "sources": duplicates.sources_of(session, kept)})


@blp.route("/places/to-confirm")
class PlacesToConfirm(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @blp.arguments(schemas.PaginationArgsSchema, location="query")
    @blp.response(200, description="Les lieux dont la commune est à confirmer, avec leurs communes possibles")
    @blp.doc(security=BEARER)
    def get(self, args: dict):
        """Lister les lieux dont la commune est à confirmer (un code postal de plusieurs communes, rien d'autre
        pour trancher) : gardés hors de la carte et des données publiques jusqu'à confirmation"""
        found = uncertain_places.listing(db_session(), service_context())
        page, per_page = args["page"], args["per_page"]
        return json_response({"total": len(found), "page": page, "per_page": per_page,
                              "lieux": [place.as_json() for place in found[(page - 1) * per_page:page * per_page]]})


@blp.route("/venues/<uuid:venue_id>/commune")
class ConfirmCommune(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @blp.arguments(ConfirmCommuneSchema)
    @blp.response(200, description="Le lieu, placé dans sa commune et publié")
    @blp.doc(security=BEARER)
    def post(self, data: dict, venue_id: uuid.UUID):
        """Confirmer la commune d'un lieu (une de ses communes possibles) ; journalisé, le lieu est publié"""
        venue = uncertain_places.confirm(db_session(), service_context(), venue_id, data["code_insee"])
        return json_response({"id": str(venue.id), "commune": venue.commune, "code_insee": venue.code_insee,
                              "publication_status": venue.publication_status, "revision": venue.revision,
                              "position_precision": venue.position_precision})
