"""UK time for people, UTC for storage.

Meetings are entered and shown in UK time (``Europe/London``: GMT in winter, BST in summer) and
stored in UTC. The hour the clocks skip in March does not exist and the hour they repeat in
October happens twice; both are refused with a message rather than guessed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")


class UKTimeError(ValueError):
    pass


def from_uk(day: date, at: time) -> datetime:
    """The UTC instant of a UK wall-clock time; :class:`UKTimeError` for the skipped or the
    repeated hour at a clocks change."""
    naive = datetime.combine(day, at.replace(tzinfo=None))
    first = naive.replace(tzinfo=UK, fold=0)
    second = naive.replace(tzinfo=UK, fold=1)
    if first.utcoffset() != second.utcoffset():
        # In a gap (March) the round trip does not come back to the same wall time.
        back = first.astimezone(UTC).astimezone(UK).replace(tzinfo=None)
        if back != naive:
            raise UKTimeError(
                f"{at:%H:%M} on {day:%-d %B %Y} does not exist in the UK: the clocks go forward an hour. "
                "Choose another time."
            )
        raise UKTimeError(
            f"{at:%H:%M} on {day:%-d %B %Y} happens twice in the UK: the clocks go back an hour. "
            "Choose another time."
        )
    return first.astimezone(UTC)


def to_uk(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UK)


def uk_label(moment: datetime | None, fmt: str = "%a %-d %b %Y, %H:%M") -> str:
    """e.g. ``Thu 3 Dec 2026, 16:00 GMT``."""
    if moment is None:
        return ""
    local = to_uk(moment)
    return f"{local.strftime(fmt)} {local.tzname()}"


def uk_today() -> date:
    return datetime.now(UK).date()


__all__ = ["UK", "UKTimeError", "from_uk", "to_uk", "uk_label", "uk_today", "timedelta"]
