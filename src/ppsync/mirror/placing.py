"""Where each listed file lands: its ``[mirror] layout`` path, and a deterministic suffix when
several files want one path (``layout.resolve``; its docstring has the rule).

Per page, with what the state knows: the paths files hold now (a file keeps the plain name or
the suffix it already has), the paths other files claimed earlier in this walk, and the
active records that occupy a wanted path. Within a page the plain name goes to the lowest key;
across pages of a fresh mirror, to the file walked first (the server's listing order), and it
keeps it after that. A live photo's video is claimed with its still's key (``photo_uid``), so
both carry the same suffix and stay side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ppsync.errors import UnsafePathError
from ppsync.mirror import layout as templates
from ppsync.models import LocalRecord, RecordStatus, RemoteFile
from ppsync.state import State


class Placer:
    """Places the files of one walk under one template."""

    def __init__(self, template: templates.Layout, state: State, *, fold_case: bool) -> None:
        self.template = template
        self._state = state
        self.fold_case = fold_case
        # The server's own paths are unique on the server: collisions there are refused as
        # before (case on a disk that ignores it), never renamed.
        self._suffixes = template.template != "{server_path}"

    def place(self, files: list[RemoteFile], records: Mapping[str, LocalRecord]
              ) -> tuple[list[RemoteFile], dict[str, str]]:
        """Each file at its path; and file key → why it cannot be placed (a hostile name).
        ``records``: the state's records of these files (the caller plans with them too)."""
        placed, refused = [], {}
        for remote in files:
            try:
                placed.append(templates.place(self.template, remote))
            except UnsafePathError as exc:
                placed.append(remote)
                refused[remote.file_uid] = str(exc)
        if self._suffixes:
            placed = self._settle([f for f in placed if f.file_uid not in refused], placed,
                                  records)
        return placed, refused

    def _settle(self, files: list[RemoteFile], placed: list[RemoteFile],
                records: Mapping[str, LocalRecord]) -> list[RemoteFile]:
        keys = {f.file_uid for f in files}
        wanted = {f.name for f in files}
        current = {k: r.path for k, r in records.items()
                   if k in keys and r.status is RecordStatus.ACTIVE}
        claims = [templates.Claim(f.file_uid, f.name,
                                  f.photo_uid if f.photo_uid != f.file_uid else None)
                  for f in files]
        others: dict[str, str] = {}  # another file's key → the wanted path it holds
        for path, key in self._state.claims_on(wanted).items():
            if key not in keys:
                others[key] = path
        for path, record in self._state.active_owners_of(wanted).items():
            if record.file_uid not in keys:
                others.setdefault(record.file_uid, path)
        claims += [templates.Claim(key, path) for key, path in others.items()]
        current.update(others)
        paths = templates.resolve(claims, current, fold_case=self.fold_case)
        return [replace(f, name=paths[f.file_uid]) if f.file_uid in paths
                and paths[f.file_uid] != f.name else f for f in placed]
