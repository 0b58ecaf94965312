"""The dashboard's filter for "Trials after the panel": a period (a preset, or from/to dates)
and one of the viewer's panels. A GET form read from the query string (nothing changes, so no
CSRF token): bad input is a form error, never a 500."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from panel.reports.outcomes import PRESETS, Period, preset_period

#: The dates a period may name (no record is older; a far year would overflow the arithmetic).
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
DEFAULT_PRESET = "12m"


class OutcomesFilterForm(FlaskForm):
    """``period`` (3m, 12m, all), or ``start``/``end`` (UK dates, both included; either may be
    left empty: from the beginning, to today), and ``panel`` (a code of the viewer's panels,
    empty for all of them)."""

    class Meta:
        csrf = False

    period = SelectField(
        "Period",
        choices=list(PRESETS.items()),
        default=DEFAULT_PRESET,
        validators=[Optional()],
        validate_choice=True,
    )
    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])
    panel = SelectField("Panel", default="", validators=[Optional()], validate_choice=True)

    def __init__(self, panels, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.panel.choices = [("", "All my panels")] + [(p.code, p.code) for p in panels]
        self.panel.invalid_choice_message = "Choose one of the panels you coordinate."
        self.period.invalid_choice_message = "Choose a period from the list."
        self._panels = {p.code: p for p in panels}

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for f in (self.start, self.end):
            if f.errors and any("date" in e.lower() for e in f.errors):
                f.errors[:] = ["Enter a date as YYYY-MM-DD (e.g. 2026-03-01)."]
            if f.data is not None and not EARLIEST <= f.data <= LATEST:
                f.errors = [
                    *f.errors,
                    f"Choose a date between {EARLIEST:%-d %b %Y} and {LATEST:%-d %b %Y}.",
                ]
                ok = False
        if ok and self.start.data and self.end.data and self.start.data > self.end.data:
            self.end.errors = [*self.end.errors, "The end date is before the start date."]
            ok = False
        return ok

    @property
    def is_custom(self) -> bool:
        return bool(self.start.raw_data and self.start.raw_data[0]) or bool(
            self.end.raw_data and self.end.raw_data[0]
        )

    def chosen_period(self, today: date) -> Period:
        """The period asked for (call after :meth:`validate`): chosen dates, else the preset."""
        if self.is_custom:
            return Period(self.start.data, self.end.data or today)
        return preset_period(self.period.data or DEFAULT_PRESET, today)

    def chosen_panels(self, panels):
        """The one panel asked for, or all of ``panels``."""
        chosen = self._panels.get(self.panel.data or "")
        return [chosen] if chosen else list(panels)
