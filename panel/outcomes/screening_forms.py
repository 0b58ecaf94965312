"""The screening log's forms on the case page: record the next step of one trial, withdraw
its last step. They check the CSRF token and parse the date; the operations check the rest
(``panel.outcomes.operations``), so a refused step is shown again as it was typed. The card
(``templates/outcomes/_case_screening_log.html``) writes the fields itself, offering each trial
only its allowed next steps and the reasons of those steps."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, TextAreaField
from wtforms.validators import InputRequired

from panel.outcomes.models import MAX_NOTE, STEP_REASONS, STEPS, stage_label


def reason_groups() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The reasons offered, grouped by the step they belong to: (step value, step label,
    [(posted value ``<step>:<reason>``, label)])."""
    return [
        (
            step.value,
            stage_label(step),
            [(f"{step.value}:{k}", label) for k, label in reasons.items()],
        )
        for step, reasons in STEP_REASONS.items()
    ]


class TrialStepForm(FlaskForm):
    """The next step of one trial. ``reason`` is posted as ``<step>:<reason>`` (one list with
    a group per step that needs one): the view keeps the reason only when its step is the
    one chosen."""

    trial = HiddenField()
    version = HiddenField()
    step = SelectField(
        "Step", choices=[(s.value, stage_label(s)) for s in STEPS], validate_choice=False
    )
    on = DateField(
        "On", validators=[InputRequired("Give the day it happened (day, month and year).")]
    )
    reason = SelectField("Reason", choices=[("", "")], validate_choice=False)
    note = TextAreaField("Note")

    def posted_reason(self) -> str:
        """The reason's key when it belongs to the chosen step ('' otherwise)."""
        value = self.reason.data or ""
        step, _, key = value.partition(":")
        return key if step == (self.step.data or "") else ""

    def draft(self) -> dict[str, Any]:
        """What was typed, to show the form again after a refusal."""
        return {
            "trial": self.trial.data or "",
            "step": self.step.data or "",
            "on": self.on.raw_data[0] if self.on.raw_data else "",
            "reason": self.reason.data or "",
            "note": (self.note.data or "")[: MAX_NOTE * 2],
        }


class WithdrawStepForm(FlaskForm):
    """Withdraw the last step of one trial (the version the person saw)."""

    trial = HiddenField()
    version = HiddenField()
