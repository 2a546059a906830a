"""Pure: the ``[mirror] layout`` template, shared by every server kind, and the rule that
gives each file one path of its own.

A layout is a path template with placeholders in braces (``{{`` and ``}}`` are literal
braces; no format specs)::

    {server_path}    the server's own relative path, folders included (PhotoPrism's FileName;
                     the PhotoPrism default). Immich has none: its originalPath is
                     server-internal, so this placeholder is refused for an Immich server.
    {server_dir}     the folder part of {server_path} ("" at the top); PhotoPrism only
    {year}           four digits of the photo's LOCAL taken time (the wall clock where it
                     was taken, not UTC); "0000" when the server knows no taken time
    {month} {day}    two digits each, of the same local time; "00" when unknown
    {original_name}  the file's own name as uploaded (Immich originalFileName), no folder
    {stem} {ext}     {original_name} split at its last dot: "IMG_1.HEIC" -> "IMG_1", "HEIC";
                     a name without a dot (or only a leading one) has stem = the name and
                     ext = ""
    {id}             the server's stable key of the file (Immich asset id, PhotoPrism
                     FileUID): unique, but not a name a person recognises

Defaults: ``{server_path}`` for PhotoPrism (its folders are the user's), and
``{year}/{month}/{original_name}`` for Immich (the issue's ``<YYYY>/<MM>/<originalFileName>``).

Checked when the config is read (``parse_layout``), each problem a ``ConfigError`` naming
the key: unknown placeholders, format specs, a placeholder the server kind cannot fill, an
absolute template, empty/``.``/``..`` components, a template inside ``.ppsync/``, and a
file-name part (after the last ``/``) that holds none of ``{original_name}``,
``{server_path}``, or ``{ext}`` with ``{stem}`` or ``{id}`` (a file keeps its extension).

The template is data: whatever it yields goes through ``ppsync.mirror.paths.safe_relative_path``.
A hostile ``originalFileName`` (a slash, ``.``/``..``, a NUL byte, empty, an absolute name,
over 255 bytes, not valid unicode) is refused with the reason (``UnsafePathError``); it never
becomes a folder.

**Collisions** (``resolve``). Several files can render to one path (two ``IMG_0001.JPG`` in
one month). Each file is a ``Claim`` (its key, its rendered path, and for a live photo's
video the key of its still). The rule, decided only from the claims and the paths the files
hold now (``current``, from the state), never from listing order:

1. A file keeps the path it holds now if that path is still its rendered path or one of
   that path's suffixed forms (below). So the plain name stays with the file that already
   has it when a second file arrives later, and a suffixed file does not move to the plain
   name when the plain file goes away: files move only when their own rendered path changes
   (a new template, an edited taken time).
2. A free plain path goes to the claimant with the lowest order key (the still's key for a
   live photo's video, else the file's own key), so a fresh mirror is the same whatever
   order the server lists in.
3. Every other claimant gets ``<stem>~<h>.<ext>``: ``h`` is the first 8 hex digits of the
   SHA-1 of its order key (16 digits, then the file's own key, then that key with "-2",
   "-3"... when a name is taken, which only a file named to look like a suffix can cause;
   rule 1 keeps whichever form a file got). A live photo's
   video therefore carries its still's suffix: ``IMG_1~3f2a9c01.HEIC`` and
   ``IMG_1~3f2a9c01.MOV`` stay side by side. A stem is shortened (never the suffix or the
   extension) to keep the name within 255 bytes.

``fold_case=True`` (a target that ignores case, exFAT/SMB) makes ``IMG.jpg`` and ``img.JPG``
one path for this rule; each file keeps its own spelling.
"""

from __future__ import annotations

import hashlib
import posixpath
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from ppsync.errors import ConfigError, UnsafePathError
from ppsync.mirror.paths import MAX_COMPONENT_BYTES, safe_relative_path
from ppsync.models import RemoteFile

PLACEHOLDERS = ("server_path", "server_dir", "year", "month", "day", "original_name", "stem",
                "ext", "id")
# Placeholders a server kind cannot fill.
_UNAVAILABLE = {"immich": frozenset({"server_path", "server_dir"}), "photoprism": frozenset()}
DEFAULT_LAYOUT = {"photoprism": "{server_path}", "immich": "{year}/{month}/{original_name}"}
SUFFIX_MARK = "~"


@dataclass(frozen=True)
class Layout:
    """A checked template: literal text and placeholder names, in order."""

    template: str
    parts: tuple[tuple[str, str | None], ...]  # (literal text, placeholder name or None)


@dataclass(frozen=True)
class PathFields:
    """What a server adapter knows about one file, for rendering its path."""

    key: str
    original_name: str
    taken_local: datetime | None = None  # wall clock where taken; its tzinfo is ignored
    server_path: str | None = None


@dataclass(frozen=True)
class Claim:
    """One file that wants ``path``; ``companion_of``: the key of a live photo's still."""

    key: str
    path: str
    companion_of: str | None = None

    @property
    def order_key(self) -> str:
        return self.companion_of or self.key


def default_layout(server_kind: str) -> str:
    return DEFAULT_LAYOUT[server_kind]


def parse_layout(template: str, *, server_kind: str, key: str = "mirror.layout") -> Layout:
    """Check ``template`` for ``server_kind`` ("photoprism" | "immich"); every problem is
    reported at once in a ``ConfigError`` that names ``key``."""
    problems: list[str] = []
    parts: list[tuple[str, str | None]] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc} in {template!r} (write {{{{ or }}}} for a brace)"
                          ) from None
    for literal, field, spec, conversion in parsed:
        if field is None:
            parts.append((literal, None))
            continue
        if field not in PLACEHOLDERS:
            problems.append(f"{key}: unknown placeholder {{{field}}} in {template!r}; known: "
                            + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
        elif field in _UNAVAILABLE.get(server_kind, frozenset()):
            problems.append(f"{key}: {{{field}}} is not available for a {server_kind} server "
                            "(it has no meaningful server path)")
        if spec or conversion:
            problems.append(f"{key}: {{{field}}} takes no format spec or conversion")
        parts.append((literal, field))
    if server_kind not in _UNAVAILABLE:
        problems.append(f"{key}: unknown server kind {server_kind!r}")
    if problems:
        raise ConfigError(problems)
    layout = Layout(template, tuple(parts))
    _check_shape(layout, key)
    return layout


def _check_shape(layout: Layout, key: str) -> None:
    """Render with harmless sample values and judge the result, so literal text cannot lead
    outside the target; then ask that the file-name part keeps the file's name."""
    sample = PathFields("k", "IMG_1.jpg", datetime(2024, 5, 17), "a/IMG_1.jpg")
    try:
        safe_relative_path(_fill(layout, sample))
    except UnsafePathError as exc:
        raise ConfigError(f"{key}: {layout.template!r} is not a relative path inside the "
                          f"target ({exc})") from None
    last: list[str | None] = []
    for literal, field in layout.parts:
        if "/" in literal:
            last = []
        last.append(field)
    names = set(last)
    if not ({"original_name", "server_path"} & names
            or ("ext" in names and {"stem", "id"} & names)):
        raise ConfigError(f"{key}: the file-name part of {layout.template!r} (after the last "
                          "'/') must contain {original_name}, {server_path}, or {ext} with "
                          "{stem} or {id}, so that each file keeps a name and its extension")


def check_original_name(name: str) -> str:
    """An uploaded file name as a single safe path component, or ``UnsafePathError``."""
    if not name:
        raise UnsafePathError("original file name is empty")
    if "\x00" in name:
        raise UnsafePathError("original file name contains a NUL byte")
    if name.startswith("/"):
        raise UnsafePathError("original file name is absolute")
    if "/" in name:
        raise UnsafePathError("original file name contains a slash")
    if name in (".", ".."):
        raise UnsafePathError(f"original file name is {name!r}")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise UnsafePathError("original file name is not valid unicode") from None
    if size > MAX_COMPONENT_BYTES:
        raise UnsafePathError("original file name is longer than 255 bytes")
    return name


def split_name(name: str) -> tuple[str, str]:
    """("IMG_1", "HEIC") from "IMG_1.HEIC"; a leading dot does not start an extension."""
    dot = name.rfind(".")
    if dot <= 0:
        return name, ""
    return name[:dot], name[dot + 1:]


def render(layout: Layout, fields: PathFields) -> str:
    """The file's path under ``layout``: checked, relative, inside the target."""
    names = {f for _, f in layout.parts}
    if names & {"original_name", "stem", "ext"}:
        check_original_name(fields.original_name)
    if names & {"server_path", "server_dir"} and not fields.server_path:
        raise UnsafePathError("the server gave no path for this file")
    return safe_relative_path(_fill(layout, fields))


def _fill(layout: Layout, fields: PathFields) -> str:
    taken = fields.taken_local
    stem, ext = split_name(fields.original_name)
    server_path = fields.server_path or ""
    values = {
        "server_path": server_path,
        "server_dir": posixpath.dirname(server_path),
        "year": f"{taken.year:04d}" if taken else "0000",
        "month": f"{taken.month:02d}" if taken else "00",
        "day": f"{taken.day:02d}" if taken else "00",
        "original_name": fields.original_name,
        "stem": stem,
        "ext": ext,
        "id": fields.key,
    }
    out: list[str] = []
    drop_slash = False
    for literal, field in layout.parts:
        if drop_slash and literal.startswith("/"):
            literal = literal[1:]  # an empty {server_dir} leaves no empty folder behind
        value = values[field] if field else ""
        drop_slash = field == "server_dir" and value == ""
        out.append(literal + value)
    return "".join(out)


def companion_path(still_path: str, video_name: str) -> str:
    """Where a live photo's video wants to be: next to its still, the still's stem with the
    video's own extension ("2024/05/IMG_1.HEIC" + "IMG_1.MOV" -> "2024/05/IMG_1.MOV")."""
    check_original_name(video_name)
    folder, still_name = posixpath.split(still_path)
    stem, _ = split_name(still_name)
    _, ext = split_name(video_name)
    name = f"{stem}.{ext}" if ext else stem
    return safe_relative_path(posixpath.join(folder, name))


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def suffixed(path: str, tag: str) -> str:
    """``path`` with ``~tag`` before its extension, the stem shortened to fit 255 bytes."""
    folder, name = posixpath.split(path)
    stem, ext = split_name(name)
    tail = SUFFIX_MARK + tag + (f".{ext}" if ext else "")
    room = MAX_COMPONENT_BYTES - len(tail.encode("utf-8"))
    stem_bytes = stem.encode("utf-8")
    if len(stem_bytes) > room:
        stem = stem_bytes[:max(room, 0)].decode("utf-8", "ignore")
    return posixpath.join(folder, stem + tail)


def _candidates(claim: Claim) -> list[str]:
    order, own = _hash(claim.order_key), _hash(claim.key)
    tags = [order[:8], order[:16], own[:8], own]
    return [suffixed(claim.path, t) for t in dict.fromkeys(tags)]


def _is_form_of(claim: Claim, path: str) -> bool:
    """Is ``path`` the claim's plain path or one of the suffixed forms it can be given?"""
    if path == claim.path or path in _candidates(claim):
        return True
    stem, _ = split_name(posixpath.basename(path))
    tag = stem.rpartition(SUFFIX_MARK)[2]
    counter = tag.removeprefix(_hash(claim.key) + "-")
    return counter != tag and counter.isdigit() and suffixed(claim.path, tag) == path


def resolve(claims: Iterable[Claim], current: Mapping[str, str] | None = None, *,
            fold_case: bool = False) -> dict[str, str]:
    """Give each claim's key one path; no two keys share a path (under ``fold_case``, no two
    differ only in case). See the module docstring for the rule."""
    held = current or {}

    def norm(path: str) -> str:
        return path.casefold() if fold_case else path

    ordered = sorted(claims, key=lambda c: (c.order_key, c.key))
    taken: dict[str, str] = {}  # normalised path -> key
    result: dict[str, str] = {}

    def take(claim: Claim, path: str) -> bool:
        if norm(path) in taken:
            return False
        taken[norm(path)] = claim.key
        result[claim.key] = path
        return True

    for claim in ordered:  # 1. keep what a file holds while it is still one of its forms
        now = held.get(claim.key)
        if now is not None and _is_form_of(claim, now):
            take(claim, now)
    for claim in ordered:  # 2. free plain paths, lowest order key first
        if claim.key not in result:
            take(claim, claim.path)
    for claim in ordered:  # 3. everyone else: a suffix from the order key
        if claim.key in result:
            continue
        forms = _candidates(claim)
        n = 2
        while not any(take(claim, form) for form in forms):
            forms = [suffixed(claim.path, f"{_hash(claim.key)}-{n}")]
            n += 1
    return result


def for_server(template: str, *, server_paths: bool) -> Layout:
    """The configured ``[mirror] layout`` (or the default), checked (``ConfigError``), for a
    server whose paths mean something (``Capabilities.server_paths``: PhotoPrism's rules) or
    not (Immich's rules)."""
    kind = "photoprism" if server_paths else "immich"
    return parse_layout(template or default_layout(kind), server_kind=kind)


def place(layout: Layout, remote: RemoteFile) -> RemoteFile:
    """``remote`` with ``name`` set to its path under ``layout``. Raises ``UnsafePathError``
    with the reason when the template cannot place it safely (a hostile original name)."""
    original = remote.original_name or posixpath.basename(remote.name)
    taken: datetime | None = None
    if remote.taken_local:
        try:
            taken = datetime.fromisoformat(remote.taken_local)
        except ValueError:
            taken = None
    server_path = None if remote.original_name else remote.name
    fields = PathFields(remote.file_uid, original, taken, server_path)
    path = render(layout, fields)
    return remote if path == remote.name else replace(remote, name=path)
