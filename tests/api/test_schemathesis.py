"""Property-based test of the whole API against its own OpenAPI document (schemathesis).

Every operation gets generated requests, valid and invalid by the document, sent with a real
token to the WSGI app: no answer may be a server error, and every answer must be a documented
status with a body and headers that match the document. Bounded (a few examples per operation
and mode, derandomised) so it runs in seconds and fails the same way every time.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from tests.support.factories import example
from tests.support.web import isolated_wsgi

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_MODE = 12


@pytest.fixture
def api_schema(app, db_session):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", isolated_wsgi(app))


def _with_real_codes(pair):
    """Half the generated bodies get a configured panel and centre, so that creates and saves
    can succeed (random strings never name a configured panel)."""
    case, aim = pair
    if aim and isinstance(case.body, dict):
        case.body["panel"] = "NAP"
        case.body["referring_centre"] = "NEWCASTLE"
    return case


def test_api_conforms_to_its_openapi_document(
    app, db_session, api_schema, make_user, make_token, make_case
):
    referrer = make_user(referrer_at="NEWCASTLE")
    auth = {"Authorization": f"Bearer {make_token(referrer)}"}
    draft = make_case(referrer)
    incomplete = example()
    del incomplete["biology"]
    make_case(referrer, incomplete)
    make_case(referrer, submit=True)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "GET /me",
        "GET /cases",
        "POST /cases",
        "GET /cases/{ref}",
        "PUT /cases/{ref}",
        "POST /cases/{ref}/submit",
        "GET /cases/{ref}/timeline",
        "POST /cases/{ref}/information-requests",
        "POST /cases/{ref}/information-requests/{request_id}/answer",
        "GET /notifications",
        "GET /cases/{ref}/files",
        "POST /cases/{ref}/files",
        "GET /jobs/{job_id}",
    }
    for operation in operations:
        fixed = {"ref": draft.reference} if "{ref}" in operation.path else None
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
            if operation.method.upper() in ("POST", "PUT"):
                strategy = st.tuples(strategy, st.booleans()).map(_with_real_codes)

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES_PER_MODE,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case) -> None:
                case.call_and_validate(headers=auth, checks=CHECKS)

            run()


def test_explicit_examples_of_the_document_work(app, db_session, api_schema, make_user, make_token):
    """Is the complete example in the document accepted, and then submittable?"""
    referrer = make_user(referrer_at="BRISTOL")
    auth = {"Authorization": f"Bearer {make_token(referrer)}"}
    create = api_schema["/cases"]["POST"]
    body = create.body[0].definition["examples"]["complete"]["value"]
    response = create.Case(body=body, media_type="application/json").call_and_validate(
        headers=auth, checks=CHECKS
    )
    assert response.status_code == 201
    ref = response.json()["reference"]
    submit = api_schema["/cases/{ref}/submit"]["POST"]
    submitted = submit.Case(path_parameters={"ref": ref}).call_and_validate(
        headers=auth, checks=CHECKS
    )
    assert submitted.json()["workflow_status"] == "submitted"


def _conforms(operation, headers: dict, fixed: dict | None, seen=None) -> None:
    """Generated requests (valid and invalid by the document) to one operation all conform
    (``seen(case)`` is called with each request sent)."""
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_MODE,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            if seen is not None:
                seen(case)
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()


def test_the_information_loop_conforms_to_its_document(
    app, db_session, api_schema, make_user, make_token, make_case
):
    """The loop's operations as the people who may use them: the coordinator asks about a
    submitted case, its referrer answers the open request, both read the timeline and their
    notifications (the first run, with the referrer's draft, mostly meets refusals)."""
    from panel.cases import operations as case_operations

    referrer = make_user(referrer_at="NEWCASTLE")
    coordinator = make_user(roles=[("NAP", "coordinator")])
    as_referrer = {"Authorization": f"Bearer {make_token(referrer)}"}
    as_coordinator = {"Authorization": f"Bearer {make_token(coordinator)}"}
    to_ask = make_case(referrer, submit=True)
    to_answer = make_case(referrer, submit=True)
    case_operations.request_information(to_answer, by=coordinator, questions=["Marrow?"])
    db_session.commit()
    request_id = to_answer.information_requests[0].id
    plan = [
        ("POST", "/cases/{ref}/information-requests", as_coordinator, {"ref": to_ask.reference}),
        ("GET", "/cases/{ref}/timeline", as_coordinator, {"ref": to_answer.reference}),
        (
            "POST",
            "/cases/{ref}/information-requests/{request_id}/answer",
            as_referrer,
            {"ref": to_answer.reference, "request_id": request_id},
        ),
        ("GET", "/cases/{ref}/timeline", as_referrer, {"ref": to_answer.reference}),
        ("GET", "/notifications", as_coordinator, {}),
    ]
    for method, path, headers, fixed in plan:
        _conforms(api_schema[path][method], headers, fixed)
    db_session.expire_all()
    assert to_ask.status.value == "info_requested"  # some generated request was sent
    assert to_answer.information_requests[0].response  # some generated answer was saved


def test_the_files_routes_conform_to_their_document(
    app, db_session, api_schema, make_user, make_token, make_case
):
    """Uploads (multipart, generated from the request body's schema: files, a label, and
    invalid bodies), the case's files and the upload's job, as the referrer of a draft and the
    coordinator of a submitted case: no server error, every answer as documented."""
    from panel.core.models import Job
    from panel.imaging.models import Upload

    referrer = make_user(referrer_at="NEWCASTLE")
    coordinator = make_user(roles=[("NAP", "coordinator")])
    as_referrer = {"Authorization": f"Bearer {make_token(referrer)}"}
    as_coordinator = {"Authorization": f"Bearer {make_token(coordinator)}"}
    draft = make_case(referrer)
    submitted = make_case(referrer, submit=True)
    sent = []

    def record(case) -> None:
        sent.append(case)

    for case_, headers in ((draft, as_referrer), (submitted, as_coordinator)):
        fixed = {"ref": case_.reference}
        _conforms(api_schema["/cases/{ref}/files"]["POST"], headers, fixed, record)
        _conforms(api_schema["/cases/{ref}/files"]["GET"], headers, fixed)
    assert len(sent) >= 2 * EXAMPLES_PER_MODE
    for case_, headers in ((draft, as_referrer), (submitted, as_coordinator)):
        uploads = db_session.scalars(
            select(Upload).where(Upload.case_id == case_.id).order_by(Upload.id)
        ).all()
        assert uploads, "no generated upload was accepted"
        for up in (uploads[0], uploads[-1]):  # its job, and one of its files' jobs
            child = db_session.scalar(select(Job.id).where(Job.parent_id == up.job_id))
            for job_id in (up.job_id, child):
                _conforms(api_schema["/jobs/{job_id}"]["GET"], headers, {"job_id": job_id})
    _conforms(api_schema["/jobs/{job_id}"]["GET"], as_referrer, None)
