"""Reading what a client sent: the JSON body, ``If-Match``, ``Idempotency-Key``, pagination.

Each helper answers a malformed input with a 400 :class:`ApiError` naming the header, parameter
or (for the body) the JSON problem; whether a well-formed document is a valid case is the
operations' business (422).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from flask import request

from panel.api.errors import ApiError

#: Characters refused anywhere in a document: C0 controls other than tab, newline and return
#: (a NUL cannot even be stored in a PostgreSQL text column).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
REFERENCE = re.compile(r"[A-Za-z0-9-]{1,16}")
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,64}")
ENTITY_TAG = re.compile(r'(?:W/)?"?([0-9]{1,18})"?')
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 10**9


def is_reference(ref: str) -> bool:
    """Whether ``ref`` can be a case reference at all (so junk never reaches the database)."""
    return REFERENCE.fullmatch(ref) is not None


# --------------------------------------------------------------------------- body
class _DuplicateKey(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _json_number(text: str) -> int | float:
    """A JSON number with a fraction or exponent: refused when not finite, and an int when it
    is whole (JSON, and JSON Schema's ``integer``, do not tell ``2.0`` from ``2``)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return int(value) if value.is_integer() else value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(text: str) -> Any:
    """Parse JSON strictly: no NaN or Infinity, no repeated keys, whole numbers as ints.

    Raises ``ValueError`` (``json.JSONDecodeError`` for syntax errors).
    """
    return json.loads(
        text,
        object_pairs_hook=_object_without_duplicates,
        parse_float=_json_number,
        parse_constant=_refuse_constant,
    )


def json_body() -> Any:
    """The request body parsed as strict JSON (UTF-8, no NaN or Infinity, no repeated keys).

    Too large a body is a 413 (raised by Werkzeug against ``request.max_content_length``).
    """
    if request.mimetype != "application/json":
        raise ApiError(400, "Send the case as JSON, with 'Content-Type: application/json'.")
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise ApiError(400, "The request body is empty: send the document as JSON.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "The request body is not valid UTF-8.") from None
    try:
        doc = loads(text)
    except _DuplicateKey as exc:
        raise ApiError(400, f"The JSON body has the key {str(exc)[:60]!r} twice.") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except (ValueError, RecursionError):
        raise ApiError(400, "The body is not valid JSON: a value is out of range.") from None
    problem = _control_character_path(doc, "")
    if problem is not None:
        raise ApiError(
            422, f"{problem or 'the document'}: contains a control character", problem or None
        )
    return doc


def _control_character_path(value: Any, path: str) -> str | None:
    """The dotted path of the first string (or key) with a refused control character."""
    if isinstance(value, str):
        return path if CONTROL_CHARS.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            if CONTROL_CHARS.search(key):
                return path or "(key)"
            found = _control_character_path(item, sub)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _control_character_path(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


# --------------------------------------------------------------------------- headers
def if_match_version(*, required: bool) -> int | None:
    """The case version named by ``If-Match`` (``3`` or ``"3"``); 428 when required and absent."""
    value = request.headers.get("If-Match")
    if value is None or not value.strip():
        if required:
            raise ApiError(
                428,
                "Send the version you edited as 'If-Match: <version>' (from GET), so that a "
                "concurrent change is not overwritten.",
                "If-Match",
            )
        return None
    match = ENTITY_TAG.fullmatch(value.strip())
    if match is None:
        raise ApiError(
            400, "If-Match must be the case's version number, e.g. If-Match: 3.", "If-Match"
        )
    return int(match.group(1))


def idempotency_key() -> str | None:
    """The client's ``Idempotency-Key`` (1-64 visible ASCII characters), or None."""
    value = request.headers.get("Idempotency-Key")
    if value is None:
        return None
    value = value.strip()
    if IDEMPOTENCY_KEY.fullmatch(value) is None:
        raise ApiError(
            400,
            "Idempotency-Key must be 1 to 64 visible ASCII characters (a UUID is a good choice).",
            "Idempotency-Key",
        )
    return value


# --------------------------------------------------------------------------- query
@dataclass(frozen=True)
class Page:
    """A page request: 1-based ``number`` and ``size``."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def _positive_int(name: str, default: int, maximum: int) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,10}", value.strip()) or not 1 <= int(value) <= maximum:
        raise ApiError(400, f"{name} must be a whole number from 1 to {maximum}.", name)
    return int(value)


def pagination() -> Page:
    """``?page=`` (from 1) and ``?per_page=`` (1 to 200, default 50)."""
    return Page(
        _positive_int("page", 1, MAX_PAGE),
        _positive_int("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE),
    )
