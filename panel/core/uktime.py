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


def uk_date(moment: datetime | date | None, fmt: str = "%-d %b %Y") -> str:
    """The day of ``moment`` in the UK, e.g. ``1 Jul 2026`` ('' for none): the ``|uk_date``
    filter. A stored instant (UTC, naive counts as UTC) is turned into UK time first, so 23:30
    UTC on 30 June is 1 July; a plain date is shown as it is, and so is an ISO date string (a
    date kept in JSON, such as a frozen record's check date); any other string is returned
    unchanged."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            moment = date.fromisoformat(moment[:10])
        except ValueError:
            return moment
    if not isinstance(moment, datetime):
        return moment.strftime(fmt)
    return to_uk(moment).strftime(fmt)


def uk_datetime(moment: datetime | None, fmt: str = "%-d %b %Y, %H:%M") -> str:
    """Day and time of ``moment`` in UK time ('' for none): the ``|uk_datetime`` filter. The
    format may end with ``%Z`` for the zone's name (GMT or BST)."""
    if moment is None or moment == "":
        return ""
    return to_uk(moment).strftime(fmt)


def init_app(app) -> None:
    """Dates are shown to people only through these two filters (registered once, here)."""
    app.jinja_env.filters["uk_date"] = uk_date
    app.jinja_env.filters["uk_datetime"] = uk_datetime


def uk_today() -> date:
    return datetime.now(UK).date()


__all__ = [
    "UK",
    "UKTimeError",
    "from_uk",
    "to_uk",
    "uk_date",
    "uk_datetime",
    "uk_label",
    "uk_today",
    "timedelta",
]
