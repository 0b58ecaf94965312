"""Shared test machinery: the logic behind the fixtures of ``tests/conftest.py``.

Test modules import helpers from here and never from one another (``tests/test_layout.py``
checks it).

* :mod:`tests.support.db`: test databases on SQLite and PostgreSQL, migrated templates and
  copies of them, the app factory used by the tests.
* :mod:`tests.support.web`: the isolated test client, CSRF tokens, form posts, free ports.
* :mod:`tests.support.factories`: people, cases, the example documents, sign-in.
* :mod:`tests.support.queries`: the one SQL statement counter.
* :mod:`tests.support.mail`: the real-e-mail guard and a local SMTP server.
* :mod:`tests.support.live_server`: a live Panel server on a fresh copy of a migrated database.
* :mod:`tests.support.journeys`: Playwright journey helpers (sign-in with TOTP, ...).
* :mod:`tests.support.data`: small builders shared by several test modules (PDFs, record data,
  meeting plans, storage listings).
"""
