"""Jobs of the job queue, for those who started them: state and progress of a campaign's sending, a large import…"""

from __future__ import annotations

import uuid

from flask import current_app, url_for
from flask.views import MethodView
from marshmallow import Schema, fields

from registry.services.base import jobs
from registry.web.api.base import Blueprint, json_response
from registry.web.auth import BEARER, WRITE_ROLES, current_token, require_role
from registry.web.context import db_session, service_context

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs",
                description="Tâches longues (campagnes, gros imports…) menées par le processus de travail : état et "
                            "avancement, pour qui les a lancées (jeton operator) et les administrateurs.")


class JobSchema(Schema):
    id = fields.UUID()
    kind = fields.String(metadata={"description": "campaign, import…"})
    state = fields.String(metadata={"enum": list(jobs.STATES), "description": "interrupted : le processus de "
                                    "travail s'est arrêté (reprise possible)"})
    state_label = fields.String(metadata={"description": "L'état en français"})
    done = fields.Integer(metadata={"description": "Avancement cumulé (invitations traitées, lignes lues…)"})
    total = fields.Integer(allow_none=True, metadata={"description": "Total attendu, s'il est connu"})
    message = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = fields.String()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    result = fields.Raw(allow_none=True, metadata={"description": "Le résultat, une fois terminée (import : son "
                                                                  "rapport, resume et lignes ; campagne : ses envois)"})
    subject = fields.Dict(metadata={"description": "Ce sur quoi elle porte (campagne, fichier, territoire)"})


def job_body(job) -> dict:
    """A job as the API shows it."""
    return jobs.as_json(job, current_app.config["JOB_STALE_SECONDS"])


def job_location(job) -> dict[str, str]:
    return {"Location": url_for("jobs.JobItem", job_id=job.id)}


@blp.route("/<uuid:job_id>")
class JobItem(MethodView):
    decorators = [require_role(*WRITE_ROLES)]

    @blp.response(200, JobSchema)
    @blp.doc(security=BEARER)
    def get(self, job_id: uuid.UUID):
        """État et avancement d'une tâche (pour son auteur et les administrateurs)"""
        token = current_token()
        job = jobs.get(db_session(), job_id, service_context().actor, admin=token.role == "admin")
        return json_response(job_body(job))
