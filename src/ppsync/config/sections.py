"""The sections of the config file, one model each (``[server]``, ``[mirror]``, ``[monitor]``,
``[upload]``, ``[albums]``, ``[metadata]``, ``[log]``); ``[schedule]`` is in ``schedule``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from ppsync.config.sizes import Size, parse_size
from ppsync.config.values import (
    MAX_PAGE_SIZE,
    USER_UID,
    KeyedError,
    Section,
    client_conflicts,
    parse_duration,
)


class ServerConfig(Section):
    """[server] and each [servers.NAME]: one way in, exclusive (``_finish_server``). PhotoPrism:
    username + password, a token (app password), or an OAuth2 client (client_id + secret).
    Immich: an API key, or username (the e-mail) + password."""

    kind: Literal["photoprism", "immich"] = "photoprism"  # which adapter (servers/<kind>/)
    url: str
    username: str = "admin"
    password: SecretStr = SecretStr("")
    password_file: Path | None = None
    api_key: SecretStr = SecretStr("")  # Immich only: sent as x-api-key
    api_key_file: Path | None = None
    token: SecretStr = SecretStr("")
    token_file: Path | None = None
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    client_secret_file: Path | None = None
    # The user a client or a narrowly scoped token acts for, needed for uploads when the token
    # may not read its session; empty: read from the session.
    user_uid: str = ""
    verify_tls: bool = True
    ca_file: Path | None = None
    timeout: float = Field(default=60.0, gt=0)
    retries: int = Field(default=5, ge=0, le=20)  # extra attempts for timeouts, 429, 500
    retry_backoff: float = Field(default=1.0, gt=0)  # seconds; doubles per attempt, with jitter
    # restore only: this server's originals folder, mounted here. Restore copies the originals
    # there at their mirrored paths and indexes them, instead of uploading (which renames).
    originals_path: Path | None = None
    outage_wait: str = "5m"  # how long to wait out a server that went away (restart, upgrade)

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("client_id", "user_uid")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("user_uid")
    @classmethod
    def _is_user_uid(cls, value: str) -> str:
        if value and not USER_UID.fullmatch(value):
            raise ValueError("a user UID is 16 characters starting with u, e.g. "
                             "usqvci8x62r01fry (`photoprism users ls` shows it)")
        return value

    @field_validator("outage_wait")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _one_way_in(self) -> ServerConfig:
        """Client credentials exclude a username, a password and a token (found here, so
        that the problem is listed with every other one; secrets that come from files or
        systemd credentials are checked again once read)."""
        if self.kind == "immich":
            return self  # its rules are checked with the secrets read (``_check_immich``)
        if self.client_id or self.client_secret.get_secret_value() or self.client_secret_file:
            conflict = client_conflicts(
                "username" in self.model_fields_set and self.username != "",
                bool(self.password.get_secret_value() or self.password_file),
                bool(self.token.get_secret_value() or self.token_file))
            if conflict:
                raise KeyedError("client_id", conflict)
            if not self.client_id:
                raise KeyedError("client_id", "required with client_secret")
        return self

    @property
    def outage_wait_seconds(self) -> float:
        return parse_duration(self.outage_wait)


class MirrorConfig(Section):
    target: Path
    state: Path | None = None
    delete: Literal["keep", "trash", "mirror"] = "keep"
    max_delete: int = Field(default=100, ge=0)
    max_delete_percent: float = Field(default=50.0, ge=0, le=100)
    workers: int = Field(default=4, ge=1, le=32)
    page_size: int = Field(default=1000, ge=1, le=MAX_PAGE_SIZE)
    # An archived photo is still the user's photo (Immich keeps it off the timeline; PhotoPrism
    # hides it in its archive until someone deletes it there), so both kinds keep it by default:
    # left out, archiving a photo would remove its copy like a deletion, and a migration from
    # a mirror that left it out would drop it without a word.
    include_archived: bool = True
    include_private: bool = True
    query: str = ""
    require_mount: bool = False
    # Where files land: a template (``ppsync.mirror.layout``); "" = the server kind's default.
    layout: str = ""
    # Free space downloads leave on the target's disk: bytes, "1GiB", or "2%" of the disk; 0
    # turns the reserve off. 1 GiB: room for the state, sidecars and manifests of a large
    # library and for whatever else the NAS writes, and little on any disk that holds photos.
    min_free: int | str = "1GiB"

    @field_validator("min_free")
    @classmethod
    def _is_size(cls, value: int | str) -> int | str:
        parse_size(value)
        return value

    @property
    def min_free_limit(self) -> Size:
        return parse_size(self.min_free)

    @property
    def meta_dir(self) -> Path:
        """ppsync's own files (state, trash, in-flight downloads) live here."""
        return self.target / ".ppsync"

    @property
    def state_path(self) -> Path:
        return self.state if self.state is not None else self.meta_dir / "state.db"



class MonitorConfig(Section):
    listen: str = ""  # "127.0.0.1:9108" serves /healthz and /metrics; empty = off
    ping_url: str = ""  # Healthchecks.io / Uptime Kuma: gets /start, success and /fail
    notify_command: str = ""  # run on failure and on recovery; the summary on stdin
    notify_url: str = ""  # POSTed a JSON summary on failure and on recovery

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value:
            host, _, port = value.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError("must look like 127.0.0.1:9108")
        return value

    @field_validator("ping_url", "notify_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


# What PhotoPrism imports (pkg/media, pkg/fs): images, RAW, video, plus XMP sidecars, which are
# sent together with the photo of the same name in the same folder. Other sidecars (json, aae,
# yml) are left out: PhotoPrism ignores them without a photo and Google Takeout JSON is noise.
DEFAULT_UPLOAD_EXTENSIONS = (
    "jpg", "jpeg", "png", "gif", "webp", "heic", "heif", "avif", "jxl", "tif", "tiff", "bmp",
    "dng", "cr2", "cr3", "nef", "arw", "raf", "orf", "rw2",
    "mp4", "mov", "m4v", "avi", "mkv", "3gp", "webm",
    "xmp",
)


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


class UploadConfig(Section):
    enabled: bool = False
    inbox: Path | None = None
    albums: list[str] = Field(default_factory=list)  # album UIDs or titles
    after: Literal["keep", "move", "delete"] = "keep"
    done_dir: Path | None = None  # for after = "move"; default <inbox>/.ppsync-done
    settle_seconds: float = Field(default=30.0, ge=0)
    extensions: list[str] = Field(default_factory=list)  # empty: DEFAULT_UPLOAD_EXTENSIONS
    mode: Literal["upload", "import-folder"] = "upload"
    import_path: Path | None = None  # the server's import folder as mounted here
    batch_mb: int = Field(default=500, ge=1, le=100_000)  # bytes imported per PUT

    _none_if_empty = field_validator("inbox", "done_dir", "import_path", mode="before")(
        _empty_is_none)

    @field_validator("extensions")
    @classmethod
    def _clean_extensions(cls, value: list[str]) -> list[str]:
        cleaned = [ext.strip().lower().lstrip(".") for ext in value]
        if any(not ext or "/" in ext for ext in cleaned):
            raise ValueError("extensions are names like \"jpg\" or \"mp4\"")
        return cleaned

    @field_validator("albums")
    @classmethod
    def _clean_albums(cls, value: list[str]) -> list[str]:
        cleaned = [album.strip() for album in value]
        if any(not album for album in cleaned):
            raise ValueError("an album is a UID or a title, not empty")
        return cleaned

    @property
    def allowed_extensions(self) -> frozenset[str]:
        return frozenset(self.extensions or DEFAULT_UPLOAD_EXTENSIONS)

    @property
    def done_path(self) -> Path:
        assert self.inbox is not None
        return self.done_dir if self.done_dir is not None else self.inbox / ".ppsync-done"


ALBUM_TYPES = ("album", "folder", "moment", "month", "state")
AlbumType = Literal["album", "folder", "moment", "month", "state"]


def _manual_albums_only() -> list[AlbumType]:
    return ["album"]


class AlbumsConfig(Section):
    """[albums]: one folder per PhotoPrism album under ``<target>/<folder>``."""

    mode: Literal["none", "symlink", "hardlink", "copy"] = "none"
    folder: str = "Albums"
    types: list[AlbumType] = Field(default_factory=_manual_albums_only)

    @field_validator("folder")
    @classmethod
    def _safe_folder(cls, value: str) -> str:
        value = value.strip().strip("/")
        parts = value.split("/")
        if not value or "\x00" in value or any(p in ("", ".", "..") for p in parts):
            raise ValueError("a relative folder name inside the target, like \"Albums\"")
        if parts[0].startswith("."):
            raise ValueError("must not start with \".\" (.ppsync/ is ppsync's own folder)")
        return value

    @field_validator("types")
    @classmethod
    def _some_types(cls, value: list[AlbumType]) -> list[AlbumType]:
        if not value:
            raise ValueError(f"name at least one of {', '.join(ALBUM_TYPES)}")
        return list(dict.fromkeys(value))


class MetadataConfig(Section):
    """[metadata]: per-photo sidecars next to the primary original, and sidecar originals."""

    sidecars: Literal["none", "json", "xmp", "both"] = "none"
    # None: on when sidecars != "none" (resolved by load_config).
    originals_sidecars: bool | None = None

    @property
    def enabled(self) -> bool:
        return self.sidecars != "none" or bool(self.originals_sidecars)


class LogConfig(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "console", "json"] = "auto"


