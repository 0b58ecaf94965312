"""The follow-up outcome form (3, 6 and 12 months after feedback): current status, response,
was the advice followed and why. The operation (:func:`panel.outcomes.checks.answer_check`)
checks the same again; the form gives the person their errors beside the fields."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from panel.outcomes.checks import MAX_NOTE
from panel.outcomes.models import ADVICE_FOLLOWED, ADVICE_NEEDS_REASON, DISEASE_STATUSES, RESPONSES


def _choices(values: dict[str, str]) -> list[tuple[str, str]]:
    return [("", "Choose…"), *values.items()]


class OutcomeCheckForm(FlaskForm):
    disease_status = SelectField(
        "Current status of the disease",
        choices=_choices(DISEASE_STATUSES),
        validators=[DataRequired("Choose the current status.")],
    )
    response = SelectField(
        "Response to treatment since the panel's advice",
        choices=_choices(RESPONSES),
        validators=[DataRequired("Choose the response.")],
    )
    advice_followed = RadioField(
        "Was the panel's advice followed?",
        choices=list(ADVICE_FOLLOWED.items()),
        validators=[DataRequired("Say whether the advice was followed.")],
    )
    advice_note = TextAreaField(
        "Why (needed if partly or not followed)",
        validators=[Length(max=MAX_NOTE, message=f"At most {MAX_NOTE} characters.")],
    )
    version = HiddenField()

    def validate_advice_note(self, field) -> None:
        if self.advice_followed.data in ADVICE_NEEDS_REASON and not (field.data or "").strip():
            raise ValidationError(
                "Say why the advice was "
                + ("only partly" if self.advice_followed.data == "partly" else "not")
                + " followed."
            )

    def answers(self) -> dict[str, str]:
        return {
            "disease_status": self.disease_status.data,
            "response": self.response.data,
            "advice_followed": self.advice_followed.data,
            "advice_note": self.advice_note.data or "",
        }
