"""ppsync's trash (``<target>/.ppsync/trash/``) for the files that stand beside an original
without being one: the ``.ppsync.json`` / ``.ppsync.xmp`` sidecars ppsync writes.

Layout: everything in the trash sits at its relative path in the mirror, so a photo set aside
keeps its shape: ``trash/2024/05/IMG_7.jpg`` (the executor's removal), ``trash/2024/05/
IMG_7.mov`` and ``trash/2024/05/IMG_7.xmp`` (its other originals, removed the same way) and
``trash/2024/05/IMG_7.jpg.ppsync.json`` (here). A name already taken there gets ``~1``,
``~2``... (``fsutil.unique_path``): nothing in the trash is ever overwritten. Whatever prunes the
trash may remove a photo's files together by that shared path.

A sidecar goes into the trash with its original (``delete = "trash"``) rather than being
deleted: it holds what the server said of the photo (albums, captions, who set them), which a
restore from the mirror needs. When the photo comes back, its sidecar comes back with it,
unless the trash still holds the original beside it (the photo came back with other content,
downloaded anew): then the two stay together in the trash and a fresh sidecar is written.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from ppsync.fsutil import existing_path, fsync_dir, move_into
from ppsync.logs import get_logger
from ppsync.mirror.executor import Layout

log = get_logger("ppsync.trash")


def set_aside(layout: Layout, rel: str) -> Path | None:
    """Move the file at ``rel`` (a sidecar whose original went to the trash) to the trash at
    the same relative path; where it went, or None when there was no such file. Raises
    ``OSError`` when it cannot be moved (it then stays where it was)."""
    source = existing_path(layout.target, rel)
    if source is None:
        return None
    aside = move_into(source, layout.trash, rel)
    fsync_dir(source.parent)
    log.info("sidecar set aside with its original", path=rel,
             kept_at=layout.relative(aside))
    return aside


def take_back(layout: Layout, rel: str, original: str) -> bool:
    """Put the sidecar kept at ``trash/rel`` back at ``rel`` when nothing is there and the
    trash no longer holds its ``original`` (which came back from it). True if it was moved.
    Only from inside the target: a trash folder that is a symlink leading out is never taken
    from. Raises ``OSError`` when the move fails."""
    final, kept = layout.target / rel, layout.trash / rel
    # Cheapest first: nearly every sidecar written has none kept in the trash.
    if not kept.is_file() or final.exists() or final.is_symlink() or _holds(layout, original):
        return False
    if existing_path(layout.target, layout.relative(kept)) is None:
        return False  # a link, or a trash folder that leads out of the target
    os.replace(kept, final)
    fsync_dir(final.parent)
    fsync_dir(kept.parent)
    log.info("sidecar taken back from .ppsync/trash", path=rel)
    return True


def _holds(layout: Layout, rel: str) -> bool:
    """Does the trash hold a file at ``rel`` (or ``rel~N``)?"""
    kept = layout.trash / rel
    if kept.exists() or kept.is_symlink():
        return True
    return kept.parent.is_dir() and any(kept.parent.glob(glob.escape(kept.name) + "~*"))
