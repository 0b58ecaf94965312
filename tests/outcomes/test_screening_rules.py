"""The screening log's step rules, as plain data: which step may follow which, the day, the
reasons (``panel.outcomes.models.check_step``, what ``TrialReferral.check_next_step`` asks)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from panel.core.errors import Conflict, Refused
from panel.outcomes.models import (
    MAX_NOTE,
    NEXT_STEPS,
    NOT_PURSUED_REASONS,
    OUTCOME_STAGES,
    SCREEN_FAIL_REASONS,
    STEPS,
    ReferralStage,
    TrialReferral,
    TrialReferralStep,
    allowed_after,
    check_step,
    parse_step,
)

TODAY = date(2026, 6, 10)
APPROVED = date(2026, 6, 1)

#: The road, as the issue gives it.
ROAD = {
    "suggested": {"referred", "declined", "not_pursued"},
    "referred": {"screened", "declined", "not_pursued"},
    "screened": {"enrolled", "screen_failed", "declined", "not_pursued"},
    "enrolled": set(),
    "screen_failed": set(),
    "declined": set(),
    "not_pursued": set(),
}


def _reason_for(step: ReferralStage) -> str:
    return {
        ReferralStage.SCREEN_FAILED: "organ_function",
        ReferralStage.NOT_PURSUED: "travel",
    }.get(step, "")


def _check(stage, step, on=TODAY, reason=None, note="", previous_on=None):
    step = ReferralStage(step)
    return check_step(
        stage,
        step,
        on,
        _reason_for(step) if reason is None else reason,
        note,
        approved_on=APPROVED,
        today=TODAY,
        previous_on=previous_on,
    )


def test_the_table_is_the_issues_road():
    """Is NEXT_STEPS exactly the road of the issue, with no step after an outcome?"""
    assert {s.value: {n.value for n in nxt} for s, nxt in NEXT_STEPS.items()} == ROAD
    assert all(not NEXT_STEPS[s] for s in OUTCOME_STAGES)
    assert ReferralStage.SUGGESTED not in STEPS


@pytest.mark.parametrize("stage", [s.value for s in ReferralStage])
@pytest.mark.parametrize("step", [s.value for s in STEPS])
def test_every_transition(stage, step):
    """Is each (stage, step) pair accepted exactly when the road allows it; after an outcome
    refused as a conflict (withdraw first), otherwise as bad input naming the step?"""
    if step in ROAD[stage]:
        assert _check(stage, step) == (_reason_for(ReferralStage(step)), "")
        return
    with pytest.raises(Refused) as refused:
        _check(stage, step)
    assert refused.value.field == "step"
    if stage in {s.value for s in OUTCOME_STAGES}:
        assert isinstance(refused.value, Conflict)
        assert "withdraw" in refused.value.message
    else:
        assert not isinstance(refused.value, Conflict)
        assert "cannot follow" in refused.value.message


def test_the_model_asks_the_same_table():
    """Does a TrialReferral answer its next steps and checks from its stage and last step?"""
    referral = TrialReferral(trial_code="CRISP", stage="referred")
    referral.steps = [TrialReferralStep(step="referred", occurred_on=date(2026, 6, 5))]
    assert referral.allowed_next_steps() == allowed_after("referred")
    assert referral.check_next_step(
        ReferralStage.SCREENED, date(2026, 6, 5), "", "", approved_on=APPROVED, today=TODAY
    ) == ("", "")
    with pytest.raises(Refused, match="previous step"):
        referral.check_next_step(
            ReferralStage.SCREENED, date(2026, 6, 4), "", "", approved_on=APPROVED, today=TODAY
        )
    done = TrialReferral(trial_code="CRISP", stage="enrolled")
    assert done.allowed_next_steps() == () and done.is_finished


@pytest.mark.parametrize(
    ("on", "ok"),
    [
        (TODAY, True),
        (APPROVED, True),
        (TODAY + timedelta(days=1), False),  # the future
        (APPROVED - timedelta(days=1), False),  # before the record was approved
    ],
)
def test_the_day(on, ok):
    """Is the day refused in the future and before the approval day (both ends allowed)?"""
    if ok:
        _check("suggested", "referred", on=on)
    else:
        with pytest.raises(Refused) as refused:
            _check("suggested", "referred", on=on)
        assert refused.value.field == "on"


def test_the_day_is_not_before_the_previous_step():
    with pytest.raises(Refused, match="previous step"):
        _check("referred", "screened", on=date(2026, 6, 3), previous_on=date(2026, 6, 4))
    _check("referred", "screened", on=date(2026, 6, 4), previous_on=date(2026, 6, 4))


def test_a_day_that_is_not_a_date():
    with pytest.raises(Refused) as refused:
        _check("suggested", "referred", on="2026-06-05")
    assert refused.value.field == "on"


@pytest.mark.parametrize(
    ("step", "reasons"),
    [("screen_failed", SCREEN_FAIL_REASONS), ("not_pursued", NOT_PURSUED_REASONS)],
)
def test_reasons_come_from_the_short_list(step, reasons):
    """Does screen-failed / not pursued need a reason of its own list ("other" with a note),
    and refuse a missing one, another list's or an unknown one?"""
    stage = "screened"
    for key in reasons:
        note = "Family moved abroad" if key == "other" else ""
        assert _check(stage, step, reason=key, note=note) == (key, note)
    other_list = NOT_PURSUED_REASONS if step == "screen_failed" else SCREEN_FAIL_REASONS
    foreign = next(k for k in other_list if k not in reasons)
    for bad in ("", "nonsense", foreign):
        with pytest.raises(Refused) as refused:
            _check(stage, step, reason=bad)
        assert refused.value.field == "reason"
    with pytest.raises(Refused) as refused:
        _check(stage, step, reason="other", note="   ")
    assert refused.value.field == "note"


@pytest.mark.parametrize("step", ["referred", "declined"])
def test_other_steps_take_no_reason(step):
    with pytest.raises(Refused) as refused:
        _check("suggested", step, reason="travel")
    assert refused.value.field == "reason"
    assert _check("suggested", step, note="  Team contacted by phone ") == (
        "",
        "Team contacted by phone",
    )


def test_the_note_has_a_limit():
    _check("suggested", "referred", note="x" * MAX_NOTE)
    with pytest.raises(Refused) as refused:
        _check("suggested", "referred", note="x" * (MAX_NOTE + 1))
    assert refused.value.field == "note"


@pytest.mark.parametrize("value", ["", None, "suggested", "ENROLLED", "transferred", 3])
def test_unknown_steps_are_refused(value):
    with pytest.raises(Refused) as refused:
        parse_step(value)
    assert refused.value.field == "step"


def test_known_steps_parse():
    assert [parse_step(s.value) for s in STEPS] == list(STEPS)
