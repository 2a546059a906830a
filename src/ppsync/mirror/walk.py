"""One walk of the server within a pass: plan each listed page against the state, remove
what a complete walk did not list (under the policy, behind the guards, each removal confirmed
when the listing asks it), and where the next change pass starts. ``sync`` runs the pass around it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ppsync.config import Settings
from ppsync.errors import Interrupted
from ppsync.export.sidecars import SidecarExport
from ppsync.logs import get_logger
from ppsync.mirror import layout as templates
from ppsync.mirror.dry_run import ActionSink
from ppsync.mirror.placing import Placer
from ppsync.mirror.planner import (
    Policy,
    RemovalVerdict,
    judge_confirmation,
    judge_removals,
    plan_file,
    removal_action,
)
from ppsync.mirror.rebind import Rebinder
from ppsync.mirror.renditions import held_versions
from ppsync.models import Action, ActionKind, RemoteFile, RunReport
from ppsync.servers.base import Listing, PhotoServer
from ppsync.state import State

log = get_logger("ppsync.sync")

# A change pass asks for photos updated since the last good pass began, minus this margin:
# imports that were being written as that pass started, and the gap between the server's HTTP
# clock and its database timestamps, fall inside it.
CHANGE_MARGIN = timedelta(minutes=5)


@dataclass
class PassOptions:
    """How to run one pass. The defaults are ``ppsync sync``."""

    command: str = "sync"
    dry_run: bool = False
    changes_only: bool = False  # a change pass: only what changed since the stored cursor
    rebind: bool = False  # accept the configured server as the mirror's (``mirror.rebind``)
    server: PhotoServer | None = None  # an open server to reuse (the daemon's)
    stop: threading.Event = field(default_factory=threading.Event)
    on_action: ActionSink | None = None
    on_progress: Callable[[], None] | None = None
    # What "now" is for retention (when an item was set aside, what has expired) and for the
    # scrub's plan (seconds since the epoch): tests pass a clock of their own to live months
    # in one process.
    clock: Callable[[], float] = time.time


def _dedupe(state: State) -> Callable[[list[RemoteFile]], list[RemoteFile]]:
    def fresh(files: list[RemoteFile]) -> list[RemoteFile]:
        unique = list({f.file_uid: f for f in files}.values())
        unseen = state.unwalked([f.file_uid for f in unique])
        return [f for f in unique if f.file_uid in unseen]

    return fresh


class SyncRun:
    """The steps of one pass, sharing the run's state, server and report."""

    def __init__(self, settings: Settings, state: State, server: PhotoServer,
                 report: RunReport, options: PassOptions) -> None:
        self.mirror = settings.mirror
        self.state = state
        self.server = server
        self.report = report
        self.options = options
        self.policy = Policy(self.mirror.delete, self.mirror.max_delete,
                             self.mirror.max_delete_percent)
        self.server_started: datetime | None = None
        self.sidecars: SidecarExport | None = None  # set when [metadata] exports anything
        self.listing: Listing | None = None  # the last walk's, for confirming its removals
        self.collision_note = ""  # why two names are one path, when the disk ignores case
        self.placer = Placer(templates.for_server(
            settings.mirror.layout, server_paths=server.capabilities.server_paths), state,
            fold_case=False)
        # A re-bind matches the new server's files to every file the mirror holds; any other
        # walk only to the files kept from an earlier server (``mirror.rebind``).
        self.rebinder = Rebinder(state, self.placer.template, dry_run=options.dry_run,
                                 kept_only=not options.rebind)

    def walk(self, apply: ActionSink, after_page: Callable[[], None],
             since: str = "") -> tuple[bool, str]:
        """Walk every page (or, with ``since``, the photos changed since then), planning each
        file against the state. Returns (complete, reason if not)."""
        self.state.begin_walk()
        listing = self.server.listing(self.mirror, _dedupe(self.state), since)
        try:
            for files in listing.pages():
                if self.options.stop.is_set():
                    raise Interrupted("stop requested; the pass ends here")
                self._plan_page(files, apply)
                # Which album members are archived now: the album export compares it with
                # what its manifests were written from (archiving moves no change stamp).
                self.state.note_archived(f.photo_uid for f in files if f.archived_mark)
                after_page()
        finally:  # a walk cut short (a stop, an error) reports what it listed until then
            self.report.listed = listing.listed
        self.server_started = listing.started()
        self.listing = listing
        return listing.verdict()

    def _plan_page(self, files: list[RemoteFile], apply: ActionSink) -> None:
        # A re-bind first hands records of the same content to the new server's keys, so
        # that placing and planning see those files as held (moved at most, never fetched).
        adopted, old_keys = self.rebinder.match(files)
        records = self.state.records_for(f.file_uid for f in files)  # placing moves no key
        files, refused = self.placer.place(files, records)
        records.update(adopted)
        claims = self.state.claims_on(f.name for f in files)
        versions = held_versions(self.state, files)  # edited renditions carry no hash
        key = self.state.claim_key
        walked: list[tuple[str, str | None]] = [(uid, None) for uid in old_keys]
        actions = []
        for remote in files:
            claimed_by = claims.get(key(remote.name))
            action = plan_file(remote, records.get(remote.file_uid), claimed_by,
                               versions.get(remote.file_uid))
            if remote.file_uid in refused:
                action = Action(ActionKind.REFUSE, remote.name, remote=remote,
                                record=records.get(remote.file_uid),
                                reason=refused[remote.file_uid])
            if action.kind is ActionKind.REFUSE and claimed_by not in (None, remote.file_uid):
                action = replace(action, reason=action.reason + self.collision_note)
            claimed = action.path if action.kind is not ActionKind.REFUSE else None
            if claimed is not None:
                claims[key(claimed)] = remote.file_uid
            walked.append((remote.file_uid, claimed))
            actions.append(action)
        self.state.record_walked(walked)
        if self.sidecars is not None:
            self.sidecars.note_page(files)
        for action in actions:
            apply(action)

    def remove_missing(self, complete: bool, reason: str, tracked_before: int,
                       apply: ActionSink) -> bool:
        """Remove (under the policy) the tracked files this full walk did not list, when that
        is safe. Returns False when the walk turned out to have missed files."""
        unseen = self.state.count_unwalked_active()
        verdict = judge_removals(
            walk_complete=complete, walk_reason=reason, listed=self.report.listed,
            tracked=tracked_before, unseen=unseen, policy=self.policy,
        )
        confirmed = True
        listing = self.listing
        if verdict.allowed and unseen and listing is not None \
                and listing.must_confirm_removals():
            verdict = self._confirm_gone(listing)
            confirmed = verdict.allowed
        if not verdict.allowed:
            self.report.safety_stop = verdict.reason
            log.error("safety stop", reason=verdict.reason)
            return complete and confirmed
        for record in self.state.unwalked_active():
            apply(removal_action(record, self.policy))
        return complete

    def _confirm_gone(self, listing: Listing) -> RemovalVerdict:
        """Ask the server again about each file the walk did not see (when no count could
        prove the walk whole, or the adapter trusts no count: ``must_confirm_removals``)."""
        unseen = {r.file_uid: r.sha1 for r in self.state.unwalked_active()}
        listed = listing.still_listed(unseen)
        log.info("files missing from the walk looked up again before any is removed",
                 missing=len(unseen), still_listed=len(listed))
        return judge_confirmation(len(unseen), len(listed))

    def change_cursor(self) -> str:
        """Where the next change pass starts: this pass's start on the server's clock (the
        local clock when it did not say), minus the margin, in RFC 3339."""
        started = self.server_started or datetime.fromtimestamp(self.report.started_at, UTC)
        return (started - CHANGE_MARGIN).strftime("%Y-%m-%dT%H:%M:%SZ")


