"""References are allocated without collisions when many writers create cases at once."""

from __future__ import annotations

import threading

from sqlalchemy import select

from tests.support.db import database_url, make_app, migrate_and_seed
from tests.support.factories import TEST_PASSWORD, example


def test_concurrent_creations_get_distinct_references(backend, tmp_path):
    """Do 2 x 10 cases created at once by two writers (own connections, committed
    transactions) all get different, consecutive references?"""
    url = database_url(backend, tmp_path, "panel_test_race")
    app = make_app(url, tmp_path / "storage")
    migrate_and_seed(app)
    from panel.accounts import operations as account_ops
    from panel.cases import operations as ops
    from panel.cases.models import Case
    from panel.core.db import db

    with app.app_context():
        from panel.accounts.models import Centre

        centre = db.session.scalar(select(Centre).where(Centre.code == "NEWCASTLE"))
        user = account_ops.create_user(
            email="race@nhs.example.org",
            name="Dr Race",
            centre_id=centre.id,
            is_referrer=True,
            password=TEST_PASSWORD,
        )
        db.session.commit()
        user_id = user.id

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer():
        try:
            with app.app_context():
                from panel.accounts.models import User

                me = db.session.get(User, user_id)
                db.session.commit()  # hold no transaction while waiting for the other writer
                barrier.wait()
                for _ in range(10):
                    ops.create_case(example(), by=me)
                    db.session.commit()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with app.app_context():
        refs = db.session.scalars(select(Case.reference)).all()
        db.engine.dispose()
    assert len(refs) == 20 and len(set(refs)) == 20
    numbers = sorted(int(r.rsplit("-", 1)[1]) for r in refs)
    assert numbers == list(range(1, 21))
