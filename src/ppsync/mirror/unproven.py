"""A state from an older ppsync: files, but no recorded server. Whose are they?

Such a state must not take the first server it reaches as its own: pointed once at another one
by mistake (a typo in ``[server] url``), it would download that library, bind to it, and then
refuse its own server. So the configured server is unproven until a complete full walk lists
one of the mirror's own file keys (keys never meet across servers: PhotoPrism FileUIDs, Immich
asset ids, and two servers of one kind share none), or, failing that, a file whose content (its
SHA-1) the mirror holds: a library whose mirrored photos were all deleted, one of them uploaded
again, is still the mirror's. Until then the walk's actions are held back, so nothing is
downloaded from a server that may be the wrong one; a complete walk that lists none of the
mirror's files, by key or by content, is another server, or one every mirrored photo left:
refused like a recorded mismatch (exit 4), and ``sync --rebind`` accepts it.

A state with no active mirrored files has nothing to match: it is bound after a complete walk
that reached no safety stop (an empty state binds at once, ``identity.bind``).
"""

from __future__ import annotations

from ppsync.errors import SafetyStop
from ppsync.logs import get_logger
from ppsync.mirror.dry_run import ActionSink
from ppsync.mirror.identity import ServerIdentity, record_identity, recorded_identity
from ppsync.models import Action, RunReport
from ppsync.state import State

log = get_logger("ppsync.identity")

# Held actions are bounded: the listing is never held in memory, even of a large wrong server.
# Past the bound, actions are dropped; a walk that then proves the server binds the state, and
# records no change cursor and no full walk (``RunReport.deferred``): the next pass, even one
# asked for changes only, walks everything and plans what was dropped.
HOLD_LIMIT = 10_000
# Distinct photos a walk must list by content alone (no key) to prove the server the mirror's.
CONTENT_PROOF = 3


def is_unproven(state: State) -> bool:
    """Does this state know files but no server (written by a ppsync before identities)?"""
    return recorded_identity(state) is None and state.knows_files()


class UnprovenServer:
    """Holds a walk's actions until the walk lists a file the mirror holds (by key; by content,
    half of them), then passes them
    (and every later one) on to ``sink``; decides at the end of the walk."""

    def __init__(self, state: State, sink: ActionSink) -> None:
        self.state = state
        self.known = state.count_active()  # the mirror's own keys the walk may list
        self.matched = False
        # The mirror's SHA-1s a listed file with a new key holds (distinct; kept only until
        # they prove the server, so at most CONTENT_PROOF or half the mirror's files).
        self.by_content: set[str] = set()
        self.held: list[Action] = []
        self.dropped = 0  # actions past HOLD_LIMIT, planned again by the next (full) pass
        self._sink = sink

    def apply(self, action: Action) -> None:
        """The walk's sink. An action with a record is a listed key the mirror holds (the
        planner passes a record only for an active one); one without is a match when the
        mirror holds its content (a look-up in the state's SHA-1 index)."""
        if not self.matched and self._proves(action):
            self.matched = True
            held, self.held = self.held, []
            for earlier in held:
                self._sink(earlier)
        if self.matched:
            self._sink(action)
        elif len(self.held) < HOLD_LIMIT:
            self.held.append(action)
        else:
            self.dropped += 1

    def _proves(self, action: Action) -> bool:
        remote = action.remote
        if remote is None:
            return False
        if action.record is not None:
            return True
        if remote.sha1 and remote.sha1 not in self.by_content \
                and self.state.holds_sha1(remote.sha1):
            self.by_content.add(remote.sha1)
            # Content alone is weaker than a key (another library may share a few photos, a
            # family member's, say): distinct photos, at least CONTENT_PROOF of them and half
            # the mirror's files. A smaller mirror is proven by a key, or by `--rebind`.
            if len(self.by_content) >= max(CONTENT_PROOF, (self.known + 1) // 2):
                log.info("the server lists the mirror's files by content (their keys are new)",
                         matched=len(self.by_content), mirror_files=self.known)
                return True
        return False

    def judge_walk(self, complete: bool, configured: ServerIdentity) -> None:
        """After the walk: raise ``SafetyStop`` when it was complete and listed none of the
        mirror's files (another server); an incomplete one drops what it held (fetched once a
        walk proves the server)."""
        if self.dropped:
            log.info("actions past the hold limit wait for the next pass, which walks "
                     "everything", dropped=self.dropped)
        if self.held:
            log.warning("nothing fetched: this walk listed none of the mirror's files, so the "
                        "server is not known to be the mirror's", held_back=len(self.held),
                        complete=complete)
        self.held = []
        if complete and self.known and not self.matched:
            raise SafetyStop(
                f"this mirror's state records no server (written by an older ppsync), and "
                f"{configured.describe()} lists none of its {self.known} files, by key or by "
                "content: it is another server, or every mirrored photo was deleted from it — "
                "then `ppsync sync --rebind`. Nothing was downloaded or removed. If [server] is "
                "wrong, correct it. If this is the mirror's own library (every photo it held "
                "deleted there), the same library at a new address, or a library migrated to "
                "this server, run `ppsync sync --rebind` (`ppsync plan --rebind` shows first "
                "what it would do): it matches the files by SHA-1 and downloads only what is "
                "new; the next pass then applies the deletion policy to what the server lacks.")

    def bind_if_proven(self, report: RunReport, configured: ServerIdentity) -> None:
        """After the pass: record ``configured`` as the mirror's server when a complete walk
        listed the mirror's files (or, with none to list, reached no safety stop)."""
        if not report.walk_complete:
            return
        if self.matched or (not self.known and not report.safety_stop):
            record_identity(self.state, configured)
