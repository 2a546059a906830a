"""The permissions preflight: before any work, name everything the credentials lack.

``sync``, ``upload``, the daemon and ``restore`` (against its target, for what a restore
needs) call ``preflight`` once, right after they open a session, and before anything is
listed, downloaded, uploaded or changed. It asks ``PhotoServer.access`` (which ``ppsync
check`` prints) and, when a configured feature cannot be served, raises ONE
``PermissionRefused`` (an ``AuthError``, exit 3) naming each feature and all it lacks, so a key
missing two permissions learns of both at once. A documented degrade (``Access.degrades``:
Immich sidecars without album names) is a warning, not a stop. The cost is that of
``access``: one request on an Immich that tells a key its permissions, a few harmless ones
elsewhere.
"""

from __future__ import annotations

from ppsync.config import Settings
from ppsync.errors import PermissionRefused
from ppsync.logs import get_logger
from ppsync.servers.base import PhotoServer

log = get_logger("ppsync.preflight")


def preflight(server: PhotoServer, settings: Settings | None, *, restore: bool = False) -> None:
    """Raise ``PermissionRefused`` (an ``AuthError``) naming every feature the session
    cannot serve and what it lacks."""
    access = server.access(settings, restore=restore)
    stops = {f: why for f, why in access.problems.items() if f not in access.degrades}
    for feature, why in access.problems.items():
        if feature in access.degrades:
            log.warning("permissions: served in part", feature=feature, reason=why)
    if stops:
        raise PermissionRefused(
            "the credentials cannot do the configured work, so nothing was done: "
            + "; ".join(f"{feature}: {why}" for feature, why in stops.items()))
