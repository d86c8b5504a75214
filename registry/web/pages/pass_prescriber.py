"""A prescriber's own pages (« aiguilleur »: CCAS, mairie…): its staff log in with a ``prescriber`` token, see the
booklets it received (by ranges) and handed out, and record a hand-out (the day, the beneficiary's commune, the
target public: nothing personal). A prescriber sees its own booklets only; the operator's pages do the rest."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from registry.services import territories
from registry.services.passes import distribution, programmes
from registry.web.context import db_session
from registry.web.pages.auditor import log_in, login_required, page_context, session_user
from registry.web.pages.pass_operator import record_hand_out

prescriber_pass = Blueprint("prescriber_pass", __name__, url_prefix="/aiguilleur")
ROLES = ("prescriber",)


@prescriber_pass.route("/connexion", methods=["GET", "POST"])
def login():
    return log_in("passes/prescriber/login.html", lambda role: "prescriber_pass.home")


def _home(status: int = 200, errors: dict[str, str] | None = None, form=None):
    db = db_session()
    prescriber, programme = distribution.acting_prescriber(db, page_context())
    handed = distribution.handed_out_by(db, prescriber)
    codes = {prescriber.commune_code} | {b.beneficiary_commune_code for b in handed}
    communes = territories.names.commune_names(db, codes)
    return render_template("passes/prescriber/home.html", user=session_user(), prescriber=prescriber,
                           programme=programme, ranges=distribution.ranges_of(db, prescriber), handed=handed,
                           counts=distribution.prescriber_counts(db, prescriber), communes=communes,
                           shown=distribution.HANDED_OUT_SHOWN, last_day=programmes.last_valid_day(programme),
                           today=page_context().day(), errors=errors or {}, form=form or {},
                           hand_out_action=url_for("prescriber_pass.hand_out")), status


@prescriber_pass.get("/")
@login_required(roles=ROLES, login="prescriber_pass.login")
def home():
    """The booklets received and handed out, and the hand-out form."""
    return _home()


@prescriber_pass.post("/remises")
@login_required(roles=ROLES, login="prescriber_pass.login")
def hand_out():
    """Record a hand-out of one of the prescriber's own booklets (another's is refused)."""
    prescriber, programme = distribution.acting_prescriber(db_session(), page_context())
    status, errors = record_hand_out(programme, request.form, by=prescriber)
    if errors:
        return _home(status, errors, request.form)
    flash(f"Remise du carnet n° {request.form['r_carnet'].strip()} enregistrée.", "aiguilleur")
    return redirect(url_for("prescriber_pass.home", _anchor="enregistre"))
