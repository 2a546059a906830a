"""Pure: turn a server FileName into a safe relative path inside the target, or refuse it.

The server's name is data, not a path to trust. Refused: empty names, NUL bytes, absolute names,
``.``/``..``/empty components, names that cannot be encoded on disk (lone surrogates), components
over 255 bytes or paths over 4000 bytes (what ext4, XFS, btrfs and ZFS can hold), and anything
under ``.ppsync/`` (ppsync's own files). Everything else (unicode, spaces, backslashes, same base
names in different folders) is kept exactly as the server names it.
"""

from __future__ import annotations

from ppsync.errors import UnsafePathError

META_DIR_NAME = ".ppsync"
MAX_COMPONENT_BYTES = 255
MAX_PATH_BYTES = 4000


def safe_relative_path(name: str) -> str:
    """Return ``name`` as a relative POSIX path that stays inside the target.

    Raises ``UnsafePathError`` with a short reason when the name must not be written.
    """
    if not name:
        raise UnsafePathError("empty file name")
    if "\x00" in name:
        raise UnsafePathError("file name contains a NUL byte")
    if name.startswith("/"):
        raise UnsafePathError("absolute file name")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafePathError("file name is not valid unicode") from None
    if len(encoded) > MAX_PATH_BYTES:
        raise UnsafePathError("file name too long for the filesystem")
    parts = name.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise UnsafePathError(f"file name has a {part or 'empty'!r} component")
        if len(part.encode("utf-8")) > MAX_COMPONENT_BYTES:
            raise UnsafePathError("a file name component is longer than 255 bytes")
    if parts[0] == META_DIR_NAME:
        raise UnsafePathError(f"file name inside ppsync's own {META_DIR_NAME}/ folder")
    return name


# What ppsync itself writes into a mirror: per-photo sidecars, album manifests, temporaries and
# partials, and everything under a ``.ppsync*`` folder (state, trash, replaced versions).
OWN_SUFFIXES = (".ppsync.json", ".ppsync.xmp", ".ppsync-tmp", ".ppsync-part")
OWN_NAMES = frozenset({".album.json"})


def written_by_ppsync(name: str) -> bool:
    """Is a file or folder of this name one ppsync writes (never to be uploaded)? Case is
    ignored: a copy on a disk that folds case may come back as ``IMG.PPSYNC.XMP``."""
    folded = name.casefold()
    return (folded in OWN_NAMES or folded.startswith(META_DIR_NAME)
            or folded.endswith(OWN_SUFFIXES))
