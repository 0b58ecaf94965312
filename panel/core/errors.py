"""Refusals: what an operation raises when it will not do what was asked.

Every domain's operations raise these (never HTTP errors), so the web views, the JSON API and
the command line each answer a refusal in their own way: ``status`` is the HTTP status the API
answers with and ``field`` names the input at fault, if any. Plain Python: imports nothing.
"""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """A refused operation; nothing it did is kept (the caller rolls back)."""

    status = 422

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def user_message(self) -> str:
        """The refusal as a person reads it on a page (see :func:`panel.core.web.refusal_message`)."""
        return self.message


class NotAllowed(Refused):
    """The user may not do this (403 for objects they can see)."""

    status = 403


class Conflict(Refused):
    """Someone else changed the object first, or it is no longer in a state that allows this."""

    status = 409


class IdentifiersFound(Refused):
    """Free text that contains patient identifiers (hard findings). Nothing was saved.

    Raised by :func:`panel.privacy.guard.guard_texts`, which also writes its ``user_message``
    (the one sentence for identifier findings, :func:`panel.privacy.guard.identifiers_message`).
    ``message`` names the first field for the API."""

    def __init__(
        self, findings: list[Any], texts: dict[str, str], *, user_message: str | None = None
    ):
        self.findings = findings
        self.texts = texts
        first = findings[0]
        super().__init__(
            f"{first.field}: looks like it contains a patient identifier ({first.kind.replace('_', ' ')}); remove it before saving",
            first.field,
        )
        self._user_message = user_message

    @property
    def user_message(self) -> str:
        return self._user_message or self.message
