"""Migration 0008 copies the old cases' submissions, information requests and replies into the
timeline, so that old cases read like new ones (and no saved reply is lost)."""

from __future__ import annotations

from sqlalchemy import select

from tests.support.db import database_url, dispose, make_app, migrate_and_seed
from tests.support.factories import CaseFactory, UserFactory


def test_old_cases_enter_the_timeline(backend, tmp_path):
    """After a downgrade to 0007 and an upgrade again, does each case have its submissions,
    requests and replies (a reply on a request still open too), with the same kinds, details
    and audiences as the operations write?"""
    app = make_app(database_url(backend, tmp_path, "panel_test_timeline_mig"), tmp_path / "st")
    migrate_and_seed(app)
    from panel.cases import operations as ops
    from panel.cases.models import Case, CaseEvent
    from panel.core.db import db

    try:
        with app.app_context(), app.test_request_context("/"):
            users = UserFactory(db.session)
            referrer = users(referrer_at="NEWCASTLE")
            coordinator = users(roles=[("NAP", "coordinator")])
            make_case = CaseFactory(db.session)
            closed = make_case(referrer, submit=True)
            ops.request_information(closed, by=coordinator, questions=["Marrow?", "Lansky?"])
            ops.respond_to_information_request(closed, "Marrow clear.", by=referrer)
            ops.submit_case(closed, by=referrer)
            still_open = make_case(referrer, submit=True)
            ops.request_information(still_open, by=coordinator, questions=["MIBG?"])
            ops.respond_to_information_request(still_open, "MIBG to follow.", by=referrer)
            db.session.commit()
            written = {
                case.id: [
                    (e.kind, e.text, e.details, e.audience, e.by_id)
                    for e in db.session.scalars(
                        select(CaseEvent)
                        .where(CaseEvent.case_id == case.id)
                        .order_by(CaseEvent.at, CaseEvent.id)
                    )
                ]
                for case in (closed, still_open)
            }
            ids = {"closed": closed.id, "open": still_open.id}
            db.session.remove()

        runner = app.test_cli_runner()
        for args in (["db", "downgrade", "0007"], ["db", "upgrade"]):
            result = runner.invoke(args=args)
            assert result.exit_code == 0, result.output

        with app.app_context():
            copied = {
                case_id: [
                    (e.kind, e.text, e.details, e.audience, e.by_id)
                    for e in db.session.scalars(
                        select(CaseEvent)
                        .where(CaseEvent.case_id == case_id)
                        .order_by(CaseEvent.at, CaseEvent.id)
                    )
                ]
                for case_id in ids.values()
            }
            assert db.session.get(Case, ids["open"]).open_information_request is not None
            db.session.remove()
        # The operations' entries and the migration's copies agree, kind by kind.
        assert [k for k, *_ in copied[ids["closed"]]] == [
            "submitted",
            "information_requested",
            "information_answered",
            "resubmitted",
        ]
        assert copied[ids["closed"]] == written[ids["closed"]]
        assert [k for k, *_ in copied[ids["open"]]] == [
            "submitted",
            "information_requested",
            "information_answered",
        ]
        assert copied[ids["open"]] == written[ids["open"]]
    finally:
        dispose(app)
