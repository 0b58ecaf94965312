"""The screening log's test world: a case whose record the chair approved (two trials
suggested: CRISP and NAXITAMAB-201), with everyone the permission tests compare.

``screening_world(db_session, make_user, make_case, sent=True)`` returns a dict:

* ``case`` (the ALK example of ``people["referrer"]``, submitted to NAP, discussed, record
  approved; with ``sent`` the letters count as sent: status ``feedback_sent`` and
  ``feedback_sent_at`` set, without rendering them) and ``rec`` (its record);
* ``users``: ``referrer`` (owner), ``co_referrer`` (named on the case), ``other_referrer``
  (another centre), ``nap_coordinator``, ``north_coordinator`` (another panel), ``nap_member``,
  ``chair`` (NAP), ``admin``, ``guest`` (an invited expert with current access to the case).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support.data import answers_for, discussed_at_meeting, full_record_data
from tests.support.factories import people

#: The codes of the trials the world's record suggests.
TRIALS = ("CRISP", "NAXITAMAB-201")


def screening_world(db_session, make_user, make_case, *, sent: bool = True) -> dict[str, Any]:
    from panel.cases.guests import CaseGuestAccess
    from panel.cases.models import CaseReferrer, CaseStatus
    from panel.core.db import utcnow
    from panel.feedback import operations
    from panel.trials.matching import clear_cache
    from panel.trials.registry import load_registry

    load_registry()
    db_session.commit()
    clear_cache()
    users = people(make_user)
    users["co_referrer"] = make_user(referrer_at="NEWCASTLE", name="Dr Colleague")
    users["nap_member"].name = "Dr Member"
    users["chair"] = make_user(roles=[("NAP", "chair")], name="Dr Chair")
    users["guest"] = make_user(name="Dr Expert")
    case = make_case(users["referrer"], submit=True)
    db_session.add(
        CaseReferrer(
            case_id=case.id, user_id=users["co_referrer"].id, added_by_id=users["referrer"].id
        )
    )
    meeting = discussed_at_meeting(db_session, case)
    now = utcnow()
    db_session.add(
        CaseGuestAccess(
            case_id=case.id,
            user_id=users["guest"].id,
            meeting_id=meeting.id,
            granted_by_id=users["nap_coordinator"].id,
            granted_at=now,
            expires_at=now + timedelta(days=5),
        )
    )
    coordinator = users["nap_coordinator"]
    rec = operations.start_recommendation(case, by=coordinator)
    operations.save_record(rec, full_record_data(), by=coordinator, expected_version=rec.version)
    operations.save_record(
        rec,
        full_record_data(answers=answers_for(case)),
        by=coordinator,
        expected_version=rec.version,
    )
    operations.approve(rec, by=users["chair"], expected_version=rec.version)
    if sent:
        case.status = CaseStatus.FEEDBACK_SENT
        case.feedback_sent_at = utcnow()
    db_session.commit()
    db_session.refresh(case)
    return {"case": case, "rec": rec, "users": users}
