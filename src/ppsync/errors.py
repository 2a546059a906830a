"""The one exception tree of ppsync.

Every error ppsync raises on purpose is a ``PpsyncError``; foreign errors (httpx, OSError from the
state database, pydantic) are translated where they enter, never matched by message text.
Each top-level class carries the process exit code it maps to::

    PpsyncError                      exit 1  (generic failure)
    ├── ConfigError                  exit 2  bad config or usage
    │   └── StateDamaged                     SQLite reports the state database damaged; the
    │                                        message names the way back (``ppsync state``)
    ├── ServerError                  exit 3  cannot reach or authenticate to the server
    │   ├── ServerUnreachable                connection refused, DNS, TLS, timeouts after retries
    │   ├── AuthError                        wrong password, 2FA, rate limit, token rejected twice
    │   │   └── PermissionRefused                logged in, but refused for lack of a permission
    │   │                                        or scope (HTTP 403, or ``check``'s preflight)
    │   ├── ServerBusy                       429 / 5xx that outlasted every retry
    │   └── UploadRefused                    403 on upload/import: read-only server or the
    │                                        upload/import feature is off (inbox untouched)
    ├── ServerDataError              exit 3  the server answered, but not in a shape we understand
    ├── SafetyStop                   exit 4  a guard stopped the run; nothing was removed
    ├── LockHeld                     exit 5  another ppsync run holds the lock on this target
    ├── Interrupted                  exit 130 a signal asked the run to stop (daemon shutdown)
    ├── DiskFull                     exit 1  ENOSPC: the pass stops, temporaries are removed
    └── ItemError                    (one file failed; recorded in the report, run exits 1)
        ├── IntegrityError                   bytes on disk do not match the server's SHA-1 or size
        ├── UnsafePathError                  a server file name that would leave the target
        ├── RemoteFileMissing                the server listed a file it then could not serve (404)
        ├── UploadTooLarge                   the server refused one upload as too large (413)
        └── UploadFailed                     one upload did not get through (507, 400, a file that
                                             changed while being sent); retried next pass

``TransientHTTPError`` is internal to the client: it marks a response worth retrying and never
escapes ``client.py`` (it is converted to ``ServerBusy`` once the retries are spent).
"""

from __future__ import annotations


class PpsyncError(Exception):
    """Base class; ``exit_code`` is what the CLI returns when this ends a run."""

    exit_code = 1


class ConfigError(PpsyncError):
    """Bad configuration or usage. ``problems`` lists every problem found, each with its key."""

    exit_code = 2

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class StateDamaged(ConfigError):
    """SQLite found the state database damaged (``ppsync.state.backup`` says the way back)."""


class ServerError(PpsyncError):
    """The PhotoPrism server could not be reached or would not let us in."""

    exit_code = 3


class ServerUnreachable(ServerError):
    """Network-level failure: refused connection, DNS, TLS, timeouts (after retries)."""


class AuthError(ServerError):
    """Login refused, or the session stayed invalid after one re-login."""


class PermissionRefused(AuthError):
    """The server let us in but refused this for lack of a permission or scope (HTTP 403), or
    the preflight found the credentials cannot do the configured work."""


class ServerBusy(ServerError):
    """429 or 5xx responses that outlasted every retry."""


class ServerDataError(PpsyncError):
    """The server answered with data we cannot interpret (bad JSON, missing fields)."""

    exit_code = 3


class SafetyStop(PpsyncError):
    """A guard stopped the run before anything was removed."""

    exit_code = 4


class LockHeld(PpsyncError):
    """Another ppsync process holds the lock on this target."""

    exit_code = 5


class Interrupted(PpsyncError):
    """A stop was requested (SIGTERM/SIGINT); in-flight downloads stay resumable."""

    exit_code = 130


# The run report's error for a one-shot command stopped by Ctrl-C or SIGTERM.
INTERRUPTED = "interrupted by a signal; the next run resumes where this one stopped"


class DiskFull(PpsyncError):
    """No space left on the mirror's disk; the pass stops instead of failing file by file."""


class ItemError(PpsyncError):
    """One file could not be mirrored; the run goes on and reports it."""


class IntegrityError(ItemError):
    """Downloaded bytes do not match the server's size or SHA-1."""


class UnsafePathError(ItemError):
    """A server file name that is absolute, climbs out, or cannot be stored."""


class RemoteFileMissing(ItemError):
    """The server listed the file but answered 404 when asked for its bytes."""


class UploadRefused(ServerError):
    """The server refuses uploads or imports (HTTP 403): read-only, or the feature is off."""


class UploadTooLarge(ItemError):
    """The server refused one upload as too large (HTTP 413): a permanent rejection."""


class UploadFailed(ItemError):
    """One upload did not get through (storage full, bad request, file changed while sent)."""


class TransientHTTPError(PpsyncError):
    """A retryable HTTP status (429, 5xx) or a body cut short; internal to the client."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)
