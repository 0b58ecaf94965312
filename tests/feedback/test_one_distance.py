"""One distance (issue 14, fault 8): the case page, presentation mode, the recommendation
editor, the letters and the API show the same site and the same km for a trial, measured from
the case's referring centre by one function (``panel.trials.matching.site_of``).

MINIVAN (``sites_mode`` ``all``: the child attends UCLH *and* Southampton) is 397 km from
Newcastle to UCLH and 450 km to Southampton; the trial's distance is the farthest (450 km), so
every surface names Southampton with 450 km (the record editor used to show UCLH, 397 km).
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

from sqlalchemy import select

from panel.accounts.models import Centre, Panel
from panel.core.db import utcnow
from panel.feedback import operations
from panel.meetings.models import AgendaItem, Meeting, MeetingStatus
from panel.trials import matching
from tests.support.data import full_record_data

HX = {"HX-Request": "true"}


def _case_page_km(client, case, trial: str) -> tuple[str, str]:
    html = client.get(f"/trials/case/{case.reference}", headers=HX).get_data(as_text=True)
    row = re.search(rf'data-trial="{trial}" data-verdict="[^"]+">(.*?)</tr>', html, re.S).group(1)
    km = re.search(r'data-testid="distance">\s*<strong>(\d+) km', row).group(1)
    site = re.search(r'data-testid="site-name">([^<]+)<', row).group(1)
    return html_lib.unescape(site), km


def _present_km(client, db_session, case, trial: str) -> tuple[str, str]:
    nap = db_session.scalar(select(Panel).where(Panel.code == "NAP"))
    meeting = Meeting(
        panel_id=nap.id,
        title="NAP",
        starts_at=utcnow() + timedelta(days=1),
        status=MeetingStatus.PUBLISHED,
    )
    db_session.add(meeting)
    db_session.flush()
    db_session.add(AgendaItem(meeting_id=meeting.id, case_id=case.id, position=1))
    db_session.commit()
    html = client.get(f"/meetings/{meeting.id}/present/1").get_data(as_text=True)
    row = re.search(rf'<tr data-trial="{trial}">(.*?)</tr>', html, re.S).group(1)
    km = re.search(r'data-testid="present-km">(\d+)', row).group(1)
    site = re.findall(r"<td>([^<]+?)(?:<div|</td>)", row)[-1].strip()
    return html_lib.unescape(site), km


def _record_km(client, case, trial: str) -> tuple[str, str]:
    html = client.get(f"/cases/{case.reference}/recommendation").get_data(as_text=True)
    row = html.split(f'data-testid="trial-choice-{trial}"')[1].split("</li>")[0]
    site = re.search(r'data-testid="record-site">([^<]+)<', row).group(1)
    km = re.search(r'data-testid="record-km">(\d+) km', row).group(1)
    return html_lib.unescape(site), km


def _letter_km(client, case, trial: str) -> str:
    html = client.get(f"/cases/{case.reference}/letters/clinician").get_data(as_text=True)
    table = html.split('data-testid="trials"')[1].split("</table>")[0]
    row = next(r for r in table.split('<tr class="trial-row">') if trial in r)
    return re.search(r"(\d+)&nbsp;km", row).group(1)


def test_every_surface_shows_the_same_site_and_km(
    app, client, login, db_session, discussed_case, feedback_people
):
    """Do the case page, presentation mode, the record editor, the clinician letter and the
    API give MINIVAN the same site and km (Southampton, 450 km from Newcastle)?"""
    case = discussed_case
    coordinator = feedback_people["nap_coordinator"]
    rec = operations.start_recommendation(case, by=coordinator)
    operations.save_record(
        rec,
        full_record_data(trials=[{"trial_id": "MINIVAN", "priority": 1}]),
        by=coordinator,
        expected_version=rec.version,
    )
    db_session.commit()
    login(client, coordinator)

    site = matching.nearest_site(case, "MINIVAN")
    assert site["centre"] == "SOUTHAMPTON" and site["distance_km"] == 450
    assert site["label"].startswith("Farthest site")
    name = "Southampton Children's Hospital"

    assert _case_page_km(client, case, "MINIVAN") == (name, "450")
    assert _present_km(client, db_session, case, "MINIVAN") == (name, "450")
    assert _record_km(client, case, "MINIVAN") == (name, "450")
    assert rec.trials[0]["nearest_site"]["distance_km"] == 450
    assert rec.trials[0]["distance_km"] == 450
    assert _letter_km(client, case, "MINIVAN") == "450"
    assert rec.trials[0]["sites_mode"] == "all"
    family = client.get(f"/cases/{case.reference}/letters/family").get_data(as_text=True)
    assert "The farthest is Southampton" in html_lib.unescape(family)
    assert "about 280 miles (450 km)" in family  # miles for families, the same km in brackets
    api = matching.case_matches_payload(case)
    assert next(m for m in api["matches"] if m["trial"] == "MINIVAN")["distance_km"] == 450
    # A trial with one site near by ("any"): the nearest site, the same km everywhere too.
    assert matching.nearest_site(case, "CRISP")["distance_km"] == 131
    assert _case_page_km(client, case, "CRISP")[1] == "131"
    assert _record_km(client, case, "CRISP")[1] == "131"


def test_distances_are_from_the_case_referring_centre(
    app, db_session, discussed_case, feedback_people
):
    """Is the origin the case's referring centre (``Case.referring_centre_id``) for every
    surface, even when the stored body names another centre?"""
    case = discussed_case
    leeds = db_session.scalar(select(Centre).where(Centre.code == "LEEDS"))
    newcastle = matching.nearest_site(case, "MINIVAN")["distance_km"]
    case.data = {**case.data, "referring_centre": "LEEDS"}  # the body disagrees with the column
    db_session.commit()
    assert matching.nearest_site(case, "MINIVAN")["distance_km"] == newcastle
    payload = matching.case_matches_payload(case)
    assert next(m for m in payload["matches"] if m["trial"] == "MINIVAN")["distance_km"] == (
        newcastle
    )
    case.referring_centre_id = leeds.id  # the case's centre is what counts
    db_session.commit()
    assert matching.nearest_site(case, "MINIVAN")["distance_km"] != newcastle
