"""The form that makes a personal API token on the account page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from panel.api.tokens import MAX_NAME


class NewTokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[DataRequired(message="Give the token a name."), Length(max=MAX_NAME)],
        render_kw={"placeholder": "e.g. trial-matching script on my laptop", "maxlength": MAX_NAME},
    )
