"""Keeps secrets out of every log line, report and error message.

Secrets (password, session token, download token, app password) are registered as soon as they
are known; ``redact`` replaces any of them, and any ``t=`` URL token, in a string. The log
pipeline and the run report pass everything through it, so a secret that slips into an exception
message from a library still never reaches a log or the state.
"""

from __future__ import annotations

import re
import threading
from typing import Any

_TOKEN_IN_URL = re.compile(r"([?&]t=)[^&\s\"']+")
_lock = threading.Lock()
_secrets: set[str] = set()
MASK = "[redacted]"


def register_secret(secret: str) -> None:
    """Remember a secret so that it is masked wherever it would be printed."""
    # Very short values would mask ordinary words; "public" is public mode's non-secret token.
    if secret and len(secret) >= 4 and secret != "public":
        with _lock:
            _secrets.add(secret)


def redact(text: str) -> str:
    """``text`` with every registered secret and every ``t=`` URL token masked."""
    text = _TOKEN_IN_URL.sub(r"\1" + MASK, text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_value(value: Any) -> Any:
    """Redact strings inside plain data (dicts, lists, tuples) recursively."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value
