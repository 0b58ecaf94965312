"""Feedback: the recommendation record, answers to the parents' questions, the clinician and
family letters (HTML and PDF), sending, family access codes and the second-opinion pack."""

from flask import Blueprint

bp = Blueprint("feedback", __name__)

from panel.feedback import (  # noqa: E402,F401
    family_views,
    letter_views,
    models,  # noqa: E402,F401
    views,
)
