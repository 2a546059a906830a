"""Which version of each edited rendition the mirror holds (``models.EDITED_SUFFIX``).

The server keeps no hash of an edited rendition, so the planner cannot tell from the listing
whether the bytes on disk are still the edit the server shows. The listing gives the photo's
change stamp instead (Immich's ``updatedAt``: an edit, a changed edit and a revert all move
it); the stamp of the version last put in place is noted here, in the state's ``meta`` table
(no schema change), and a rendition listed with another stamp is downloaded again. The old
version is kept aside like any replaced original, unless its bytes are the same.
"""

from __future__ import annotations

from collections.abc import Iterable

from ppsync.models import RemoteFile
from ppsync.state import State

_PREFIX = "rendition_version:"


def held_versions(state: State, files: Iterable[RemoteFile]) -> dict[str, str]:
    """File key → the stamp of the version the mirror holds, for the renditions in
    ``files`` that have one noted."""
    out = {}
    for remote in files:
        if remote.rendition:
            version = state.get_meta(_PREFIX + remote.file_uid)
            if version is not None:
                out[remote.file_uid] = version
    return out


def note_version(state: State, remote: RemoteFile) -> None:
    """After ``remote`` (a rendition, as listed) was put in place: its stamp is what we hold."""
    state.set_meta(_PREFIX + remote.file_uid, remote.photo_updated_at)
