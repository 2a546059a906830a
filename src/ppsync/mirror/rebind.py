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

What a re-bind's walk did not list stays on disk, kept (``RecordStatus.KEPT``, set once the
server is accepted): the new server's defaults may leave out what the old one listed (an
archive, private, hidden or locked photos, a ``query``, photos not restored yet), so its
listing is no proof that they were deleted, and no later walk removes them. Every walk, not
only a re-bind, first offers its unmatched files to the kept records the same way (``kept``
mode): a file of that content that the server lists later (taken out of the archive, the
filter changed) takes its kept copy back instead of downloading it again.
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

    def __init__(self, state: State, template: templates.Layout, *, dry_run: bool,
                 kept_only: bool = False) -> None:
        self._state = state
        self._template = template
        self._dry_run = dry_run
        # Not a re-bind: match only to records kept from an earlier server, and only while
        # there are any (a steady mirror asks nothing more per page).
        self._kept_only = kept_only
        self._any = not kept_only or state.count_kept() > 0
        self._taken: set[str] = set()  # old keys matched in this walk (a dry run keeps them)
        self.matched = 0

    def match(self, files: list[RemoteFile]) -> tuple[dict[str, LocalRecord], list[str]]:
        """Match the page's files that have no active record of their own.

        Returns the matched records under their new keys (new key → record) and the old keys
        they were matched from (to be noted as seen by this walk). Outside a dry run the state
        already holds the records under their new keys.
        """
        if not self._any:
            return {}, []
        keys = {f.file_uid for f in files}
        own = self._state.records_for(keys)
        adopted: dict[str, LocalRecord] = {}
        old_keys: list[str] = []
        for remote in files:  # a kept record under the listed key itself: the server's again
            record = own.get(remote.file_uid)
            if record is not None and record.status is RecordStatus.KEPT:
                self._take(record, remote, adopted, old_keys)
        unmatched = sorted((f for f in files if f.file_uid not in own
                            or own[f.file_uid].status is RecordStatus.GONE),
                           key=lambda f: f.file_uid)
        if not unmatched:
            self.matched += len(adopted)
            return adopted, old_keys
        candidates = self._state.unclaimed_by_sha1((f.sha1 for f in unmatched),
                                                   kept_only=self._kept_only)
        for remote in unmatched:
            free = [r for r in candidates.get(remote.sha1, ())
                    if r.file_uid not in keys and r.file_uid not in self._taken]
            if not free:
                continue
            self._take(self._choose(remote, free), remote, adopted, old_keys)
        self.matched += len(adopted)
        return adopted, old_keys

    def _take(self, record: LocalRecord, remote: RemoteFile, adopted: dict[str, LocalRecord],
              old_keys: list[str]) -> None:
        """``remote`` takes over ``record``: re-keyed, active."""
        self._taken.add(record.file_uid)
        rekeyed = replace(record, file_uid=remote.file_uid, photo_uid=remote.photo_uid,
                          status=RecordStatus.ACTIVE)
        if not self._dry_run:
            self._state.rekey(record.file_uid, rekeyed)
        adopted[remote.file_uid] = rekeyed
        if record.file_uid != remote.file_uid:
            old_keys.append(record.file_uid)
        if record.status is RecordStatus.KEPT:  # rare, and the user wants to know
            log.info("kept copy taken back by SHA-1", old_key=record.file_uid,
                     new_key=remote.file_uid, path=record.path)
        else:
            log.debug("matched by SHA-1", old_key=record.file_uid, new_key=remote.file_uid,
                      path=record.path)

    def _choose(self, remote: RemoteFile, free: list[LocalRecord]) -> LocalRecord:
        """The record already where the layout wants ``remote``, else the lowest path."""
        try:
            wanted = templates.place(self._template, remote).name
        except UnsafePathError:
            wanted = ""
        return next((r for r in free if r.path == wanted), free[0])
