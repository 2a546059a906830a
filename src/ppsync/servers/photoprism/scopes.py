"""What a PhotoPrism auth scope lets ppsync do, feature by feature (for ``ppsync check``).

A scope is ``*`` (everything), ``read`` (every read, no writes) or a list of resources such as
``photos albums files``, optionally narrowed by ``read`` or ``write`` (``Session.ValidateScope``
in PhotoPrism's ``internal/auth/acl/scope.go``). An ordinary password login has no scope: it
has the account's own rights. What each ppsync feature needs:

=========  =========================================================================
sync       photos (search, photo details); downloads use the download token (``?t=``)
sidecars   photos (photo details)
albums     albums (album list) and photos (album members are a photo search)
upload     files (upload, import, look-up by SHA-1), albums when uploads go into albums,
           and a session with a user (the upload URL names the user)
restore    (into this server) write files, photos and albums
=========  =========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from ppsync.config import Settings

RESOURCES = ("photos", "albums", "files")


def scope_permits(scope: str, resource: str, *, write: bool) -> bool:
    """May a session with ``scope`` use ``resource`` (reading, or writing when ``write``)?
    An empty scope is an ordinary login, which is not limited by a scope."""
    words = set(scope.lower().replace(",", " ").split())
    if not words or "*" in words:
        return True
    if words == {"read"}:
        return not write
    if resource not in words:
        return False
    return not (("read" in words and write) or ("write" in words and not write))


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    needs: tuple[tuple[str, bool], ...]  # (resource, write)
    needs_user: bool = False


def configured_features(settings: Settings | None, *, restore: bool = False) -> list[Feature]:
    """The features this config turns on (or a restore into the server needs), each with the
    resources it needs."""
    if restore or settings is None:
        return [Feature("restore", (("files", True), ("photos", True), ("albums", True)))]
    features = [Feature("sync", (("photos", False),))]
    if settings.metadata.enabled:
        features.append(Feature("sidecars", (("photos", False),)))
    if settings.albums.mode != "none":
        features.append(Feature("albums", (("albums", False), ("photos", False))))
    upload = settings.upload
    if upload.enabled:
        needs: tuple[tuple[str, bool], ...] = (("files", True),)
        if upload.albums:
            needs += (("albums", True),)
        features.append(Feature("upload", needs, needs_user=upload.mode == "upload"))
    return features


def unserved(settings: Settings | None, scope: str, *, has_user: bool,
             restore: bool = False) -> dict[str, str]:
    """Configured features the scope cannot serve, each with the reason."""
    problems: dict[str, str] = {}
    for feature in configured_features(settings, restore=restore):
        missing = [("write " if write else "") + resource for resource, write in feature.needs
                   if not scope_permits(scope, resource, write=write)]
        if missing:
            problems[feature.name] = f"the scope {scope!r} does not allow {', '.join(missing)}"
        elif feature.needs_user and not has_user:
            problems[feature.name] = (
                "the upload URL names the user this token acts for, and a token with this "
                "scope may not read its session to learn it: set server.user_uid to the UID "
                "that `photoprism users ls` shows for that user (a client that belongs to no "
                "user cannot upload at all)")
    return problems
