"""Imaging: uploads of scans and documents, de-identification (pure, :mod:`panel.imaging.deid`),
previews, the slice viewer and the review queue for held-back files."""

from flask import Blueprint

bp = Blueprint("imaging", __name__)

from panel.imaging import views  # noqa: E402,F401
