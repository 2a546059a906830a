"""Writing a first config: the answers of ``ppsync init`` as TOML, and private files.

Pure rendering plus one atomic, owner-only write. The text is short on purpose: the keys a
first sync needs, each with the comment a newcomer needs, and a pointer to config.example.toml
for everything else. The secret never goes into the config: it is written to a file of its
own (mode 0600) that the config names with ``*_file``, so the config can be shown, diffed or
pasted into a forum post without leaking anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["photoprism", "immich"]
# Which secret the user holds, by server kind and whether a user name or client ID was given.
SecretKind = Literal["password", "token", "client_secret", "api_key"]


@dataclass(frozen=True, slots=True)
class Answers:
    """What ``ppsync init`` learned: from flags, or asked."""

    kind: Kind
    url: str
    target: Path
    secret_kind: SecretKind
    secret_file: str  # as the config names it: relative to the config's folder when beside it
    username: str = ""
    client_id: str = ""
    sidecars: Literal["none", "json", "xmp", "both"] = "json"
    albums: Literal["none", "symlink", "hardlink", "copy"] = "none"
    inbox: Path | None = None


def secret_kind_for(kind: Kind, username: str, client_id: str) -> SecretKind:
    """The one secret that goes with the identity given (the config accepts one way in)."""
    if client_id:
        return "client_secret"
    if username:
        return "password"
    return "api_key" if kind == "immich" else "token"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(answers: Answers) -> str:
    """The config file's text; ``load_config`` reads it back (a test holds that)."""
    lines = [
        "# Written by `ppsync init`. Every other setting, with its default and why, is in",
        "# config.example.toml, beside README.md in ppsync's source.",
        "",
        "[server]",
        f"kind = {_quote(answers.kind)}",
        f"url = {_quote(answers.url)}",
    ]
    if answers.username:
        lines.append(f"username = {_quote(answers.username)}")
    if answers.client_id:
        lines.append(f"client_id = {_quote(answers.client_id)}")
    lines += [
        f"{answers.secret_kind}_file = {_quote(answers.secret_file)}"
        "   # the secret, in a file of its own (mode 0600)",
        "",
        "[mirror]",
        f"target = {_quote(str(answers.target))}"
        "   # must exist: ppsync never creates it (unmounted-disk guard)",
        'delete = "keep"   # files gone from the server stay here; "trash" sets them aside',
        "",
        "[metadata]",
        f"sidecars = {_quote(answers.sidecars)}"
        "   # titles, albums, places... next to each photo, for a restore",
        "",
        "[albums]",
        f"mode = {_quote(answers.albums)}   # one folder per album under <target>/Albums",
    ]
    if answers.inbox is not None:
        lines += [
            "",
            "[upload]",
            "enabled = true",
            f"inbox = {_quote(str(answers.inbox))}   # new photos here are sent to the server",
        ]
    lines += [
        "",
        "[schedule]",
        'interval = "15m"   # for `ppsync daemon`',
        "",
    ]
    return "\n".join(lines)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, atomically: the file is created
    0600 under a temporary name (never world-readable for a moment) and renamed into place."""
    temporary = path.with_name(f".{path.name}.ppsync-init")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)  # O_CREAT's mode does not apply to a file that existed
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
