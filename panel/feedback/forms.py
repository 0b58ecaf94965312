"""Forms of the recommendation record.

The record editor has repeating parts (categories with an order, suggested trials with a
priority, follow-up rows, one pair of answers per question), so the Flask-WTF forms here carry
the CSRF token and the fixed fields, and :func:`record_data` turns the posted fields into the
``data`` dict of :func:`panel.feedback.operations.save_record`. The operation validates; this
module never refuses anything, so a refused save re-renders exactly what was typed.

Posted field names (plain ``<form>``, works without JavaScript):
``categories`` (checkbox, repeated) + ``order-<category>`` (number), ``consensus``,
``options_considered``, ``rationale``, ``re_present``, ``family_summary``,
``family_re_present``, ``molecular_profiling``,
``trials`` (checkbox, repeated trial code) + ``priority-<code>``,
``fu-<i>-description`` / ``fu-<i>-owner_role`` / ``fu-<i>-due_in_days``,
``answer-<question id>-clinician`` / ``answer-<question id>-family``, ``version``, ``reason``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from panel.feedback.models import CATEGORIES

#: Blank follow-up rows offered below the existing ones.
SPARE_FOLLOW_UP_ROWS = 2
MAX_FOLLOW_UP_ROWS = 40
#: The record's own family texts (``operations.FAMILY_FIELDS``).
FAMILY_TEXTS = ("family_summary", "family_re_present")


class RecordForm(FlaskForm):
    """The editor (and amendment) form: CSRF and the version the user started from."""

    version = HiddenField()


class ApproveForm(FlaskForm):
    version = HiddenField()


class StudyOptOutForm(FlaskForm):
    opted_out = HiddenField()


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def record_data(form: Mapping[str, Any], questions: Iterable[Any]) -> dict[str, Any]:
    """The ``save_record`` data from the posted editor (``request.form``)."""
    getlist = getattr(form, "getlist", lambda k: [form[k]] if k in form else [])
    keys = list(CATEGORIES)
    picked = [k for k in dict.fromkeys(getlist("categories")) if k]
    categories = sorted(
        picked,
        key=lambda k: (_int(form.get(f"order-{k}"), 999), keys.index(k) if k in keys else 999),
    )
    trials = []
    for code in dict.fromkeys(getlist("trials")):
        if not code:
            continue
        trials.append(
            {"trial_id": code, "priority": (form.get(f"priority-{code}") or "").strip() or None}
        )
    follow_ups = []
    for i in range(MAX_FOLLOW_UP_ROWS):
        prefix = f"fu-{i}-"
        if prefix + "description" not in form:
            continue
        description = (form.get(prefix + "description") or "").strip()
        if not description:
            continue  # blank rows are ignored (spare rows and removed ones)
        follow_ups.append(
            {
                "description": description,
                "owner_role": form.get(prefix + "owner_role") or "",
                "due_in_days": (form.get(prefix + "due_in_days") or "").strip(),
            }
        )
    answers = {}
    for q in questions:
        c, f = f"answer-{q.id}-clinician", f"answer-{q.id}-family"
        if c in form or f in form:
            answers[q.id] = {"clinician": form.get(c) or "", "family": form.get(f) or ""}
    # The family texts only when posted: save_record keeps the record's text for an absent key.
    family = {k: form.get(k) or "" for k in FAMILY_TEXTS if k in form}
    return {
        "categories": categories,
        "consensus": form.get("consensus") or "",
        "options_considered": form.get("options_considered") or "",
        "rationale": form.get("rationale") or "",
        "re_present": form.get("re_present") or "",
        **family,
        "molecular_profiling": form.get("molecular_profiling") or "",
        "trials": trials,
        "follow_ups": follow_ups,
        "answers": answers,
    }


def data_from_record(rec: Any) -> dict[str, Any]:
    """The editor's values from a saved record (the same shape as :func:`record_data`)."""
    return {
        "categories": list(rec.categories or []),
        "consensus": rec.consensus or "unanimous",
        "options_considered": rec.options_considered or "",
        "rationale": rec.rationale or "",
        "re_present": rec.re_present or "",
        "family_summary": rec.family_summary or "",
        "family_re_present": rec.family_re_present or "",
        "molecular_profiling": rec.molecular_profiling or "",
        "trials": [
            {"trial_id": t.get("code"), "priority": t.get("priority")} for t in rec.trials or []
        ],
        "follow_ups": [
            {"description": f.description, "owner_role": f.owner_role, "due_in_days": f.due_in_days}
            for f in rec.follow_ups
        ],
        "answers": {
            a.question_id: {"clinician": a.clinician_answer or "", "family": a.family_answer or ""}
            for a in rec.answers
        },
    }


class FamilyCodeForm(FlaskForm):
    code = StringField(
        "Your access code",
        validators=[DataRequired("Type the code from your letter."), Length(max=64)],
    )


class FamilyQuestionForm(FlaskForm):
    text = TextAreaField("Your question", validators=[DataRequired("Please write your question.")])


class NewCodeForm(FlaskForm):
    days = SelectField(
        "Valid for",
        choices=[("30", "30 days"), ("90", "90 days"), ("180", "6 months"), ("365", "1 year")],
        default="90",
    )
