"""A ``--rebind`` pass: the files of the newly accepted server take over the records of the same
content, matched by SHA-1, so that nothing already on disk is downloaded again.

Per walk page, before the files are placed and planned: each listed file without an active
record under its own key takes an active record of the same SHA-1 that no listed file has
claimed yet in this walk. The record is re-keyed (file key and photo key of the new server);
planning then sees an unchanged file at its recorded path, and where the layout puts it
elsewhere the usual MOVE carries it there (the path a layout change takes: the same path
checks, nothing overwritten, nothing downloaded). A dry run re-keys in memory only.

Deterministic choices, none of which loses a copy:

* Several records with the file's SHA-1 (duplicates in the old library): the one already at
  the path the layout wants for the file, else the one with the lowest path. The others stay
  where they are, counted as "not on the new server".
* Several listed files with one SHA-1 (duplicates on the new server): the first one walked
  (within a page, the lowest key) takes the record; the others are downloaded like new files.
* A listed file that already has an active record under its own key (the same server at a new
  address) keeps it: nothing to match.
"""

from __future__ import annotations

from dataclasses import replace

from ppsync.errors import UnsafePathError
from ppsync.logs import get_logger
from ppsync.mirror import layout as templates
from ppsync.models import LocalRecord, RecordStatus, RemoteFile
from ppsync.state import State

log = get_logger("ppsync.rebind")


class Rebinder:
    """Matches the pages of one walk to the records of the server the mirror followed before."""

    def __init__(self, state: State, template: templates.Layout, *, dry_run: bool) -> None:
        self._state = state
        self._template = template
        self._dry_run = dry_run
        self._taken: set[str] = set()  # old keys matched in this walk (a dry run keeps them)
        self.matched = 0

    def match(self, files: list[RemoteFile]) -> tuple[dict[str, LocalRecord], list[str]]:
        """Match the page's files that have no active record of their own.

        Returns the matched records under their new keys (new key → record) and the old keys
        they were matched from (to be noted as seen by this walk). Outside a dry run the state
        already holds the records under their new keys.
        """
        keys = {f.file_uid for f in files}
        own = self._state.records_for(keys)
        unmatched = sorted((f for f in files if f.file_uid not in own
                            or own[f.file_uid].status is not RecordStatus.ACTIVE),
                           key=lambda f: f.file_uid)
        if not unmatched:
            return {}, []
        candidates = self._state.unclaimed_by_sha1(f.sha1 for f in unmatched)
        adopted: dict[str, LocalRecord] = {}
        old_keys: list[str] = []
        for remote in unmatched:
            free = [r for r in candidates.get(remote.sha1, ())
                    if r.file_uid not in keys and r.file_uid not in self._taken]
            if not free:
                continue
            record = self._choose(remote, free)
            self._taken.add(record.file_uid)
            rekeyed = replace(record, file_uid=remote.file_uid, photo_uid=remote.photo_uid)
            if not self._dry_run:
                self._state.rekey(record.file_uid, rekeyed)
            adopted[remote.file_uid] = rekeyed
            old_keys.append(record.file_uid)
            log.debug("matched by SHA-1", old_key=record.file_uid, new_key=remote.file_uid,
                      path=record.path)
        self.matched += len(adopted)
        return adopted, old_keys

    def _choose(self, remote: RemoteFile, free: list[LocalRecord]) -> LocalRecord:
        """The record already where the layout wants ``remote``, else the lowest path."""
        try:
            wanted = templates.place(self._template, remote).name
        except UnsafePathError:
            wanted = ""
        return next((r for r in free if r.path == wanted), free[0])
