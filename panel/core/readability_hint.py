"""The readability hint under a family-facing textarea, as the author types (htmx) and after a
save (server side): one partial, ``templates/_readability.html``, and one request helper.

A view that scores a text for its page (the record editor's ``feedback.record_readability``;
the trial editor's plain-language fields can add their own) checks who may edit, then returns
:func:`hint_response`. It scores the text and renders the hint; it writes nothing, sends the
text nowhere and never logs it (the text may hold clinical detail).

Posted: ``field`` (query string or form) names the form field holding the text (the textarea's
own ``name``, which htmx sends alone with ``hx-params``); without ``field`` the text is in
``text``. A missing text or a bad ``field`` is a 400, a text longer than
:data:`MAX_SCORED_CHARS` a 413, each with a one-line message the hint shows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import render_template, request

from panel.core.readability import Score, score

#: Longer texts are not scored as they are typed (they are scored when saved).
MAX_SCORED_CHARS = 5_000
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")

TOO_LONG = (
    f"Too long to check while you type (more than {MAX_SCORED_CHARS:,} characters). "
    "It is checked when you save."
)


class HintRefused(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def posted_text(form: Mapping[str, Any], args: Mapping[str, Any]) -> str:
    """The one text to score from a request's form and query string; :class:`HintRefused`."""
    field = args.get("field") or form.get("field") or "text"
    if not isinstance(field, str) or not _FIELD.fullmatch(field):
        raise HintRefused("Name the field to check (field=...).")
    text = form.get(field)
    if text is None:
        raise HintRefused(f"Send the text to check (in {field}).")
    if len(text) > MAX_SCORED_CHARS:
        raise HintRefused(TOO_LONG, 413)
    return text


def scores_of(texts: Mapping[str, str]) -> dict[str, Score]:
    """``{field_id: Score}`` of the non-empty texts, for a page's hints after a save."""
    return {key: score(text) for key, text in texts.items() if (text or "").strip()}


def hint_response():
    """The hint fragment for the posted text (200), or its refusal (400/413), never a 500."""
    try:
        text = posted_text(request.form, request.args)
    except HintRefused as exc:
        return render_template("_readability_fragment.html", refusal=exc.message), exc.status
    return render_template("_readability_fragment.html", score=score(text), refusal=None)
