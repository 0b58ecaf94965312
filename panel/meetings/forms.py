"""Forms for meetings. Date and time are UK wall-clock values; the operation turns them into UTC
and refuses the clocks-change hours."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from panel.meetings.operations import MAX_DURATION, MIN_DURATION
from panel.meetings.triage import MAX_REASON


class MeetingForm(FlaskForm):
    panel_id = SelectField("Panel", coerce=int, validate_choice=True)
    day = DateField("Date", validators=[DataRequired(message="Enter the date of the meeting.")])
    at = TimeField("Start time", validators=[DataRequired(message="Enter the start time.")])
    duration_minutes = IntegerField(
        "Length (minutes)",
        default=120,
        validators=[
            InputRequired(message="Enter the length in minutes."),
            NumberRange(
                MIN_DURATION,
                MAX_DURATION,
                message=f"Between {MIN_DURATION} and {MAX_DURATION} minutes.",
            ),
        ],
    )
    video_link = StringField(
        "Video link",
        validators=[Optional(), Length(max=500)],
        render_kw={"placeholder": "https://", "inputmode": "url", "autocomplete": "off"},
    )
    title = StringField(
        "Title (optional)",
        validators=[Optional(), Length(max=200)],
        render_kw={"placeholder": "e.g. Monthly review"},
    )
    version = HiddenField()


class EditMeetingForm(MeetingForm):
    """Editing keeps the meeting's panel."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.panel_id


class ReferOnForm(FlaskForm):
    panel = SelectField(
        "Refer on to",
        coerce=int,
        validators=[DataRequired(message="Choose a panel.")],
        validate_choice=False,  # a panel not offered is refused by triage.refer_on, saying why
    )
    reason = TextAreaField(
        "Why this panel?",
        validators=[
            DataRequired(message="Give the reason for referring the case on."),
            Length(max=MAX_REASON),
        ],
    )
