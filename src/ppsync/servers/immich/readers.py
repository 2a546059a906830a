"""Small checked readers of Immich JSON values: each returns the typed value or raises
``ServerDataError`` naming where in the answer it was (``wire`` builds the answers from them)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ppsync.errors import ServerDataError

_B64 = re.compile(r"^[A-Za-z0-9+/]{27}=$")
_DURATION = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def fail(where: str, what: str) -> ServerDataError:
    return ServerDataError(f"Immich {where}: {what}")


def obj_of(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise fail(where, f"expected a JSON object, got {type(value).__name__}")
    return value


def req_str(obj: Mapping[str, Any], key: str, where: str, *, empty: bool = False) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or (not empty and not value):
        raise fail(where, f"{key} is missing or not a string")
    return value


def opt_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(where, f"{key} is not a string")
    return value


def flag(obj: Mapping[str, Any], key: str, where: str, default: bool | None = None) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise fail(where, f"{key} is missing or not true/false")
    return value


def opt_num(obj: Mapping[str, Any], key: str, where: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(where, f"{key} is not a number")
    return float(value)


def opt_int(obj: Mapping[str, Any], key: str, where: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(where, f"{key} is not a whole number")
    return value


def parse_time(value: Any, where: str, key: str = "") -> datetime:
    """An ISO 8601 instant (``Z`` or ``+00:00``) as an aware UTC datetime. ``key``, when
    given, is the field's name: the error says "<where> <key>" (built only on failure)."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)  # Python 3.11+ reads a "Z" itself
        except ValueError:
            pass
        else:
            if parsed.tzinfo is UTC:
                return parsed
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
            raise fail(at(where, key), f"{value!r} has no time zone")
        raise fail(at(where, key), f"{value!r} is not an ISO 8601 date")
    raise fail(at(where, key), "is not a date string")


def at(where: str, key: str) -> str:
    return f"{where} {key}" if key else where


def parse_local(value: Any, where: str, key: str = "") -> datetime:
    """``localDateTime``: the wall clock written as if it were UTC, returned naive."""
    return parse_time(value, where, key).replace(tzinfo=None)


def checksum_to_hex(value: Any, where: str = "checksum", key: str = "") -> str:
    """base64 SHA-1 → 40 lowercase hex digits; anything else is a ``ServerDataError``
    (at "<where> <key>" when ``key`` is given)."""
    if not isinstance(value, str) or not _B64.match(value):
        raise fail(at(where, key), f"{value!r} is not a base64 SHA-1 (28 characters)")
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise fail(at(where, key), f"{value!r} is not valid base64") from None
    if len(raw) != 20:  # pragma: no cover - 27 chars + "=" always decode to 20 bytes
        raise fail(at(where, key), f"{value!r} is not 20 bytes")
    return raw.hex()


def hex_to_checksum(sha1: str) -> str:
    """40 hex digits → Immich's base64 form (for search by checksum)."""
    if not re.fullmatch(r"[0-9a-fA-F]{40}", sha1):
        raise ValueError(f"not a hex SHA-1: {sha1!r}")
    return base64.b64encode(bytes.fromhex(sha1)).decode("ascii")


def parse_duration(value: Any, where: str) -> int | None:
    """Milliseconds from "0:00:04.00000" (v1, v2) or a number (v3); None for none/zero."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise fail(where, "duration is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise fail(where, "duration is negative")
        return int(value) or None
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            hours, minutes, seconds = match.groups()
            ms = round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)
            return ms or None
    raise fail(where, f"duration {value!r} is not H:MM:SS.fffff or milliseconds")
