"""Which server a mirror follows, and the guard that refuses a silent switch to another one.

A mirror's file keys belong to one server: PhotoPrism's FileUIDs and Immich's asset ids never
meet, and even two servers of one kind (or two accounts on one) share no keys. Pointed at another
server, a pass would find every known key missing (a mass removal the deletion guards stop on
every pass) and download the whole library again. So the state records the server it follows
(``meta`` key ``server_identity``): the kind, the normalised site URL and, on a server whose
accounts each have a library of their own (``Capabilities.library_per_account``) and when the
session says it at no extra cost, the account's key. Never a secret: no password, token, key or
URL user info.

* A state with no recorded identity and no files takes the configured one from its next pass
  that reaches the server. One with files (written by a ppsync before this) takes it from a
  complete full walk that lists its files, and refuses a server whose complete walk lists none
  of them (``mirror.unproven``).
* A state that knows files (mirrored or uploaded) and a configured server that is not the
  recorded one: every command that would talk to the server about this mirror refuses with
  ``SafetyStop`` (exit 4), before it lists or touches a file, naming both servers and the way out.
* ``ppsync sync --rebind`` accepts the configured server; that pass re-keys records by SHA-1
  (``mirror.rebind``) and records the new identity once its listing was complete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from ppsync.config import ServerConfig, Settings
from ppsync.errors import ConfigError, PpsyncError, SafetyStop
from ppsync.mirror.guards import record_run, refused_report
from ppsync.servers.base import PhotoServer
from ppsync.state import State

IDENTITY_KEY = "server_identity"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class ServerIdentity:
    """A server as a mirror knows it. ``account`` is "" when the session did not say."""

    kind: str
    url: str
    account: str = ""

    @classmethod
    def configured(cls, server: ServerConfig, account: str = "") -> ServerIdentity:
        return cls(server.kind, normalise_url(server.url), account)

    @classmethod
    def reached(cls, config: ServerConfig, server: PhotoServer) -> ServerIdentity:
        """The configured server with the account an open session acts for, where accounts
        have libraries of their own ("" elsewhere, or when the session does not say)."""
        account = server.info().user_key if server.capabilities.library_per_account else ""
        return cls.configured(config, account)

    def describe(self) -> str:
        return f"{self.kind} at {self.url}" + (f" (account {self.account})" if self.account
                                               else "")

    def same_server(self, other: ServerIdentity) -> bool:
        """Same kind and site; same account too when both sides know it."""
        if (self.kind, self.url) != (other.kind, other.url):
            return False
        return not (self.account and other.account and self.account != other.account)

    def merged(self, recorded: ServerIdentity | None) -> ServerIdentity:
        """This identity, keeping the recorded account when this session did not say it."""
        if recorded is not None and not self.account and self.same_server(recorded):
            return replace(self, account=recorded.account)
        return self


def normalise_url(url: str) -> str:
    """``scheme://host[:port]/path``: lower-case scheme and host, the port only when it is not
    the scheme's default, the path without a trailing slash; user info, query and fragment are
    dropped (user info may hold a password)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    try:
        port = parts.port
    except ValueError:  # not a number: keep the text we were given, minus user info
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def recorded_identity(state: State) -> ServerIdentity | None:
    """The identity the state recorded, or None (none yet, or unreadable: treated as none)."""
    raw = state.get_meta(IDENTITY_KEY)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return ServerIdentity(str(data["kind"]), str(data["url"]), str(data.get("account", "")))
    except (ValueError, KeyError, TypeError):
        return None


def record_identity(state: State, identity: ServerIdentity) -> None:
    state.set_meta(IDENTITY_KEY, json.dumps(
        {"kind": identity.kind, "url": identity.url, "account": identity.account},
        sort_keys=True))


def mismatch(state: State, configured: ServerIdentity) -> ServerIdentity | None:
    """The recorded identity when it is not ``configured`` and the state knows files; else
    None (nothing recorded, the same server, or a state with nothing to lose)."""
    recorded = recorded_identity(state)
    if recorded is None or recorded.same_server(configured) or not state.knows_files():
        return None
    return recorded


def refusal(recorded: ServerIdentity, configured: ServerIdentity) -> SafetyStop:
    """The error that stops a pass aimed at another server than the mirror's."""
    return SafetyStop(
        f"this mirror follows {recorded.describe()}, but [server] points at "
        f"{configured.describe()}. Nothing was listed, downloaded or removed. If this is the "
        "same library at a new address, or a library migrated to the new server, run "
        "`ppsync sync --rebind` (`ppsync plan --rebind` shows first what it would do): it "
        "matches the files by SHA-1 and downloads only what is new. If it is another library, "
        "give it a new [mirror] target instead.")


def guard_identity(state: State, configured: ServerIdentity) -> None:
    """Raise ``SafetyStop`` when the state follows another server than ``configured``."""
    recorded = mismatch(state, configured)
    if recorded is not None:
        raise refusal(recorded, configured)


def bind(state: State, configured: ServerIdentity) -> None:
    """After reaching the server without a mismatch: record it when the state has no identity
    and knows no files, or knew less (no account), so that a later switch is noticed. A state
    with files and no identity (an older ppsync) is bound only by a full walk that lists its
    files (``mirror.unproven``): the first server it reaches may be the wrong one."""
    recorded = recorded_identity(state)
    if recorded is None and state.knows_files():
        return
    identity = configured.merged(recorded)
    if recorded != identity:
        record_identity(state, identity)


def guard_repair(state: State, config: ServerConfig, server: PhotoServer) -> None:
    """``verify --repair`` downloads from the server: refuse (recorded as a refused repair
    pass, as is a failed login) before anything is set aside when the server is not the
    mirror's. Kind and address first, without a request; then the account, which ``server``
    is opened for (a key of another Immich user at the same address opens another library)."""
    try:
        guard_identity(state, ServerIdentity.configured(config))
        if not server.is_open:
            server.open()
        guard_identity(state, ServerIdentity.reached(config, server))
    except PpsyncError as exc:  # refused, or the login failed: the repair cannot run
        record_run(state, refused_report("repair", exc))
        raise


def follows_another(settings: Settings, reached: ServerIdentity) -> str:
    """For ``ppsync check``: the refusal a pass aimed at ``reached`` would meet, in words, or
    "". Reads the state only when it exists; never records anything."""
    path = settings.mirror.state_path
    if not path.is_file():
        return ""
    try:
        state = State.open(path)
    except ConfigError as exc:
        return str(exc)
    try:
        recorded = mismatch(state, reached)
        return str(refusal(recorded, reached)) if recorded is not None else ""
    finally:
        state.close()
