"""E-mail in tests: a guard that fails any test sending real e-mail, and a real local SMTP
server (aiosmtpd) for the tests that check mail."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support.web import free_port


class MailGuard:
    """The local SMTP addresses tests may connect to (anything else fails the test)."""

    allowed: set[tuple[str, int]] = set()


def guard_smtp(monkeypatch) -> None:
    original = smtplib.SMTP.connect

    def guarded(self, host="localhost", port=0, source_address=None):
        if (host, port) not in MailGuard.allowed:
            pytest.fail(f"a test tried to send real e-mail through {host}:{port}")
        return original(self, host, port, source_address)

    monkeypatch.setattr(smtplib.SMTP, "connect", guarded)


@contextmanager
def smtp_server() -> Iterator:
    """A real SMTP server on localhost; ``.messages`` holds what it received, ``.port``."""
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
            self.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    MailGuard.allowed.add(("127.0.0.1", port))
    handler.port = port
    try:
        yield handler
    finally:
        MailGuard.allowed.discard(("127.0.0.1", port))
        controller.stop()
