"""The form that makes a personal API token on the account page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from panel.api.tokens import MAX_DAYS, MAX_NAME, default_days

#: The lives offered on the account page (the configured default is always among them).
LIFETIMES = (30, 90, 180, MAX_DAYS)


def lifetime_choices() -> list[tuple[int, str, bool]]:
    """``(days, label, is_default)`` for the account page's choice of how long a token lives."""
    default = default_days()
    return [
        (d, "1 year" if d == 365 else f"{d} day{'s' if d != 1 else ''}", d == default)
        for d in sorted({*LIFETIMES, default})
    ]


class NewTokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[DataRequired(message="Give the token a name."), Length(max=MAX_NAME)],
        render_kw={"placeholder": "e.g. trial-matching script on my laptop", "maxlength": MAX_NAME},
    )
    #: Whole days, 1 to 365; empty means the ``API_TOKEN_DAYS`` default. Checked by
    #: ``tokens.clean_days`` (the same rule as ``create-token --days``).
    days = StringField("Expires after", validators=[Length(max=8)])
