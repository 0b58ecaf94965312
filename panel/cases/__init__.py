"""Cases: the anonymised referral, parents' questions, revisions and the start of the workflow."""

from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/cases")

from panel.cases import form_views, views  # noqa: E402,F401
