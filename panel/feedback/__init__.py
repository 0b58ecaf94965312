"""Feedback: the recommendation record, answers to the parents' questions, the clinician and
family letters (HTML and PDF), sending, family access codes and the second-opinion pack."""

from flask import Blueprint

bp = Blueprint("feedback", __name__)

from panel.feedback import models  # noqa: E402,F401
from panel.feedback import family_views, letter_views, views  # noqa: E402,F401
