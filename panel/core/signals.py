"""Signals between domains that must not import each other.

A lower domain sends; a higher one subscribes in its ``init_app`` for that app only
(``signal.connect(receiver, sender=app)``), so the lower one never imports the higher.
Receivers run in the sender's transaction (they flush, never commit): what they write is
committed, or rolled back, with the change that caused it.

``trial_stopped_recruiting``
    Sent by ``trials.registry`` when a trial that was recruiting stops: its status changes
    from open to anything else (``save_trial``: the sync, the editor, "mark checked",
    ``load-trials``), or the sync finds none of its sites recruiting any more. Sender: the
    app. Keyword arguments: ``trial`` (the ``Trial`` row, already saved), ``previous`` (the
    status it had as the matcher saw it: ``"open"``), ``status`` (what the matcher sees now),
    ``by`` (the user, or None) and ``actor_label`` (``"sync-trials"``, ``"load-trials"``, ...).
    ``feedback`` subscribes: every open recommendation suggesting the trial is flagged.

``feedback_was_sent``
    Sent by ``feedback.sending.send_feedback`` inside the sending transaction, after the case
    moved to ``feedback_sent`` and the letters were issued. Sender: the app. Keyword
    arguments: ``case``, ``by`` (the user) and ``sent_at``. ``outcomes`` subscribes: the 3-,
    6- and 12-month follow-up checks are made. A receiver that raises stops the sending.
"""

from __future__ import annotations

from typing import Any

from blinker import Namespace
from flask import current_app

_signals = Namespace()

trial_stopped_recruiting = _signals.signal("trial-stopped-recruiting")
feedback_was_sent = _signals.signal("feedback-was-sent")


def send(signal: Any, **kwargs: Any) -> None:
    """Send ``signal`` with the running app as the sender (receivers connected for it run)."""
    signal.send(current_app._get_current_object(), **kwargs)
