"""The one typed configuration model: TOML file < env ``PPSYNC_<SECTION>__<KEY>`` < CLI flags.

``load_config`` is the only entry point. It reports every problem at once, each with its key path
(``server.url: ...``), as a single ``ConfigError``; it never lets a pydantic traceback through.
Secrets may come from the file, from ``*_file`` keys, or from systemd's ``$CREDENTIALS_DIRECTORY``
(credential names ``password``, ``token``, ``client_secret`` and ``api_key``); they are held as
``SecretStr`` so that printing a config never shows them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import tzinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from ppsync.errors import ConfigError

# The environment load_config was given (tests pass their own; the CLI passes os.environ).
_ENVIRON: ContextVar[Mapping[str, str]] = ContextVar("ppsync_environ")

DEFAULT_CONFIG_PATHS = (Path("ppsync.toml"), Path("/etc/ppsync/config.toml"))
MAX_PAGE_SIZE = 100_000  # the server clamps silently above this and the walk would end early


_DURATION = re.compile(r"(\d+)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``"30s"``, ``"15m"``, ``"2h"``, ``"1d"`` or combinations like ``"1h30m"`` → seconds.

    Raises ``ValueError`` for anything else.
    """
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not cleaned or _DURATION.sub("", cleaned).strip():
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 2h, 1d or 1h30m")
    return float(sum(int(n) * _UNIT_SECONDS[unit] for n, unit in parts))


_CLIENT_ID = re.compile(r"c[0-9a-z]{15}")
_USER_UID = re.compile(r"u[0-9a-z]{15}")


class KeyedError(ValueError):
    """A problem found by a section's model validator that belongs to one of its keys
    (pydantic would name only the section)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def client_conflicts(username: bool, password: bool, token: bool) -> str:
    """The problem with client credentials configured next to another way in, or ""."""
    others = [name for name, given in (("username", username), ("password", password),
                                       ("token", token)) if given]
    if not others:
        return ""
    return (f"a client logs in with client_id and client_secret alone; remove "
            f"{' and '.join(others)} (or the client credentials)")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Section):
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
        if value and not _USER_UID.fullmatch(value):
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


# ``[mirror] include_archived`` when unset. PhotoPrism's archive is its trash (a photo is deleted
# by archiving it, then maybe purged), so it stays out; an archived Immich photo is still the
# user's photo, only kept off the timeline (immich-api.md §8), so it stays in the backup.
ARCHIVED_BY_DEFAULT: Mapping[str, bool] = {"photoprism": False, "immich": True}


class MirrorConfig(_Section):
    target: Path
    state: Path | None = None
    delete: Literal["keep", "trash", "mirror"] = "keep"
    max_delete: int = Field(default=100, ge=0)
    max_delete_percent: float = Field(default=50.0, ge=0, le=100)
    workers: int = Field(default=4, ge=1, le=32)
    page_size: int = Field(default=1000, ge=1, le=MAX_PAGE_SIZE)
    # None (unset): the server kind's default, ``ARCHIVED_BY_DEFAULT``; ``load_config`` decides.
    include_archived: bool | None = None
    include_private: bool = True
    query: str = ""
    require_mount: bool = False
    # Where files land: a template (``ppsync.mirror.layout``); "" = the server kind's default.
    layout: str = ""

    @property
    def meta_dir(self) -> Path:
        """ppsync's own files (state, trash, in-flight downloads) live here."""
        return self.target / ".ppsync"

    @property
    def state_path(self) -> Path:
        return self.state if self.state is not None else self.meta_dir / "state.db"


class ScheduleConfig(_Section):
    interval: str = ""  # a duration; default 15m when cron is not set either
    cron: str = ""  # a 5-field crontab expression, instead of interval
    full_every: str = "24h"  # a fast change pass is replaced by a full walk this often
    jitter: str = "0s"  # random delay added to each pass
    timezone: str = ""  # the zone cron expressions follow; empty: the local zone (TZ)

    @field_validator("timezone")
    @classmethod
    def _is_zone(cls, value: str) -> str:
        value = value.strip()
        if value:
            zone_info(value, "")
        return value

    @field_validator("interval", "full_every", "jitter")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        if value:
            parse_duration(value)
        return value

    @field_validator("cron")
    @classmethod
    def _is_cron(cls, value: str) -> str:
        if value:
            from apscheduler.triggers.cron import CronTrigger  # only when a cron is configured

            if len(value.split()) != 5:
                raise ValueError("needs 5 fields: minute hour day month weekday")
            CronTrigger.from_crontab(value, timezone="UTC")  # the zone is checked apart
        return value

    @model_validator(mode="after")
    def _one_of_interval_or_cron(self) -> ScheduleConfig:
        if self.interval and self.cron:
            raise ValueError("set either interval or cron, not both")
        if self.interval and parse_duration(self.interval) < 1:
            raise ValueError("interval must be at least 1s")
        return self

    @property
    def interval_seconds(self) -> float:
        return parse_duration(self.interval or "15m")

    @property
    def full_every_seconds(self) -> float:
        return parse_duration(self.full_every)

    @property
    def jitter_seconds(self) -> float:
        return parse_duration(self.jitter)


def zone_info(name: str, source: str) -> tzinfo:
    """The IANA time zone ``name`` (``Europe/Berlin``); ``source`` names where it came from for
    the message. Raises ``ValueError`` for an unknown or malformed name."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        where = f"{source} " if source else ""
        raise ValueError(f"{where}{name!r} is not a time zone name like Europe/Berlin or "
                         "Etc/UTC") from None


def schedule_zone(schedule: ScheduleConfig) -> tzinfo:
    """The zone cron expressions follow: ``[schedule] timezone``, else the local zone (``TZ``,
    else /etc/localtime). Raises ``ConfigError`` when TZ names no zone."""
    if schedule.timezone:
        return zone_info(schedule.timezone, "")
    from tzlocal import get_localzone

    try:
        return get_localzone()
    except (LookupError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        raise ConfigError(f"TZ: {os.environ.get('TZ', '')!r} is not a time zone name like "
                          "Europe/Berlin; set TZ or [schedule] timezone") from None


def zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


class MonitorConfig(_Section):
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


class UploadConfig(_Section):
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


class AlbumsConfig(_Section):
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


class MetadataConfig(_Section):
    """[metadata]: per-photo sidecars next to the primary original, and sidecar originals."""

    sidecars: Literal["none", "json", "xmp", "both"] = "none"
    # None: on when sidecars != "none" (resolved by load_config).
    originals_sidecars: bool | None = None

    @property
    def enabled(self) -> bool:
        return self.sidecars != "none" or bool(self.originals_sidecars)


class LogConfig(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "console", "json"] = "auto"


class _GivenEnvSource(EnvSettingsSource):
    """pydantic-settings' env source, reading the mapping given to ``load_config``."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRON.get(os.environ)
        return parse_env_vars(environ, self.case_sensitive, self.env_ignore_empty,
                              self.env_parse_none_str)


class Settings(BaseSettings):
    """The whole configuration. Build it with ``load_config``, not directly."""

    model_config = SettingsConfigDict(
        env_prefix="PPSYNC_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    server: ServerConfig
    mirror: MirrorConfig
    log: LogConfig = LogConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    monitor: MonitorConfig = MonitorConfig()
    upload: UploadConfig = UploadConfig()
    albums: AlbumsConfig = AlbumsConfig()
    metadata: MetadataConfig = MetadataConfig()
    # Other PhotoPrism servers by name, e.g. [servers.fresh] for `ppsync restore --to fresh`.
    servers: dict[str, ServerConfig] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init kwargs; the environment must win over it.
        return (_GivenEnvSource(settings_cls), init_settings)


def find_config_path(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The config file to read: --config, else $PPSYNC_CONFIG, else the first default that exists.

    An explicitly named file that does not exist is an error; with no file at all the config may
    still come entirely from the environment.
    """
    named = explicit or (Path(environ["PPSYNC_CONFIG"]) if environ.get("PPSYNC_CONFIG") else None)
    if named is not None:
        if not named.is_file():
            raise ConfigError(f"config file {named} does not exist or is not a file")
        return named
    return next((p for p in DEFAULT_CONFIG_PATHS if p.is_file()), None)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _format_validation_errors(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        keyed = error.get("ctx", {}).get("error")
        if isinstance(keyed, KeyedError):  # a section's check that belongs to one key
            key, message = f"{key}.{keyed.key}", keyed.message
        problems.append(f"{key}: {message}")
    return problems


def _read_secret_file(key: str, path: Path, problems: list[str]) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        problems.append(f"{key}: cannot read {path}: {exc.strerror}")
        return ""


def _resolve_secret(
    section: str, name: str, raw: dict[str, Any], environ: Mapping[str, str], problems: list[str]
) -> None:
    """Fill ``raw[name]`` from ``raw[name_file]`` or $CREDENTIALS_DIRECTORY/<name> when unset."""
    file_key = f"{name}_file"
    inline, from_file = raw.get(name), raw.get(file_key)
    if inline and from_file:
        problems.append(f"{section}.{file_key}: set either {name} or {file_key}, not both")
        return
    if from_file:
        raw[name] = _read_secret_file(f"{section}.{file_key}", Path(from_file), problems)
        return
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    if not inline and credentials and (Path(credentials) / name).is_file():
        raw[name] = _read_secret_file(f"{section}.{name}", Path(credentials) / name, problems)


def _absolute(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else (base / path).absolute()


def load_config(
    explicit_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    log_level: str | None = None,
    credentials: bool = True,
) -> Settings:
    """Read, merge and validate the configuration.

    Takes the --config path (or None), the environment, and CLI overrides. Returns a frozen
    ``Settings``. Raises ``ConfigError`` listing every problem found, each with its key.
    ``credentials=False`` (``status``, ``health``: they read only the state) neither needs
    nor reads the server's secrets.
    """
    environ = os.environ if environ is None else environ
    path = find_config_path(explicit_path, environ)
    data = _read_toml(path) if path is not None else {}
    base_dir = path.parent.absolute() if path is not None else Path.cwd()
    token = _ENVIRON.set(environ)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_errors(exc)) from None
    finally:
        _ENVIRON.reset(token)
    return _finish(settings, environ, base_dir, log_level, credentials)


def _finish(
    settings: Settings, environ: Mapping[str, str], base_dir: Path, log_level: str | None,
    credentials: bool = True,
) -> Settings:
    """Resolve secrets and relative paths, then apply CLI overrides; all problems at once."""
    problems: list[str] = []
    server = (_finish_server("server", settings.server, environ, base_dir, problems,
                             credentials=True)
              if credentials else settings.server.model_dump())
    servers = {name: _finish_server(f"servers.{name}", extra, environ, base_dir, problems,
                                    credentials=False)
               for name, extra in settings.servers.items()} if credentials else {}
    mirror = settings.mirror.model_dump()
    mirror["target"] = _absolute(Path(mirror["target"]), base_dir)
    if mirror["include_archived"] is None:
        mirror["include_archived"] = ARCHIVED_BY_DEFAULT[settings.server.kind]
    if mirror["state"] is not None:
        mirror["state"] = _absolute(Path(mirror["state"]), base_dir)
    log = settings.log.model_dump()
    if log_level is not None:
        log["level"] = log_level
    upload = _finish_upload(settings.upload, mirror["target"], base_dir, problems)
    for key, values in [("server", server), *((f"servers.{n}", s) for n, s in servers.items())]:
        originals = values["originals_path"]
        if originals is not None and (_nested(originals, mirror["target"])
                                      or _nested(mirror["target"], originals)):
            problems.append(f"{key}.originals_path: {originals} and mirror.target must not be "
                            "inside one another")
    metadata = settings.metadata
    if metadata.originals_sidecars is None:
        metadata = MetadataConfig(sidecars=metadata.sidecars,
                                  originals_sidecars=metadata.sidecars != "none")
    if problems:
        raise ConfigError(problems)
    return settings.model_copy(
        update={
            "server": ServerConfig(**server),
            "servers": {name: ServerConfig(**values) for name, values in servers.items()},
            "mirror": MirrorConfig(**mirror),
            "log": LogConfig(**log),
            "upload": upload,
            "metadata": metadata,
        }
    )


def _nested(inner: Path, outer: Path) -> bool:
    """Is ``inner`` the same folder as ``outer`` or inside it (symlinks resolved)?"""
    return Path(os.path.realpath(inner)).is_relative_to(os.path.realpath(outer))


def _finish_server(key: str, config: ServerConfig, environ: Mapping[str, str], base_dir: Path,
                   problems: list[str], *, credentials: bool) -> dict[str, Any]:
    """One server section with its secrets resolved (systemd credentials only for the main
    [server]: they carry no server name) and its CA file made absolute."""
    server = config.model_dump()
    server["password"] = config.password.get_secret_value()
    server["token"] = config.token.get_secret_value()
    cred_env = environ if credentials else {k: v for k, v in environ.items()
                                            if k != "CREDENTIALS_DIRECTORY"}
    server["client_secret"] = config.client_secret.get_secret_value()
    server["api_key"] = config.api_key.get_secret_value()
    if config.kind == "immich":
        _check_immich(key, config, server, cred_env, problems)
    else:
        _check_photoprism(key, config, server, cred_env, problems)
    if server["originals_path"] is not None:
        server["originals_path"] = _absolute(Path(server["originals_path"]), base_dir)
    if server["ca_file"] is not None:
        server["ca_file"] = _absolute(Path(server["ca_file"]), base_dir)
        if not server["ca_file"].is_file():
            problems.append(f"{key}.ca_file: {server['ca_file']} does not exist")
    return server


# Keys that only one kind of server understands: naming them for the other is a mistake.
_PHOTOPRISM_ONLY = ("token", "token_file", "client_id", "client_secret", "client_secret_file",
                    "user_uid", "originals_path")
_IMMICH_ONLY = ("api_key", "api_key_file")


def _check_photoprism(key: str, config: ServerConfig, server: dict[str, Any],
                      environ: Mapping[str, str], problems: list[str]) -> None:
    """A PhotoPrism section: no Immich keys; one of its three ways in, secrets read."""
    for name in _IMMICH_ONLY:
        if name in config.model_fields_set:
            problems.append(f"{key}.{name}: only for kind = \"immich\" (PhotoPrism logs in "
                            "with a password, a token (app password) or a client)")
    server["api_key"], server["api_key_file"] = "", None
    for name in ("password", "token", "client_secret"):
        _resolve_secret(key, name, server, environ, problems)
    if server["client_id"] or server["client_secret"]:
        server["username"] = ""  # not used by a client (and never mistaken for a login)
        _check_client(key, server, problems)
    elif not server["password"] and not server["token"]:
        problems.append(f"{key}.password: no credentials configured (set password or "
                        "password_file, token or token_file, or client_id with client_secret)")


def _check_immich(key: str, config: ServerConfig, server: dict[str, Any],
                  environ: Mapping[str, str], problems: list[str]) -> None:
    """An Immich section: no PhotoPrism keys; an API key (inline, from a file or the systemd
    credential ``api_key``) or the e-mail and password of a login, never both."""
    for name in _PHOTOPRISM_ONLY:
        if name in config.model_fields_set:
            problems.append(f"{key}.{name}: only for kind = \"photoprism\" (Immich logs in "
                            "with api_key, or username (the e-mail) + password)")
    server["token"], server["token_file"] = "", None
    server["client_id"], server["client_secret"], server["client_secret_file"] = "", "", None
    server["user_uid"], server["originals_path"] = "", None
    for name in ("api_key", "password"):
        _resolve_secret(key, name, server, environ, problems)
    named = "username" in config.model_fields_set and config.username != ""
    if not named:
        server["username"] = ""  # "admin" is PhotoPrism's default, never an Immich e-mail
    login = named or bool(server["password"])
    if server["api_key"] and login:
        problems.append(f"{key}.api_key: set either api_key (or api_key_file) or username + "
                        "password, not both")
    elif not server["api_key"] and not login:
        problems.append(f"{key}.api_key: no credentials configured (set api_key, api_key_file "
                        "or the systemd credential api_key, or username (the e-mail) + password)")
    elif login and not (named and server["password"]):
        missing = "password" if named else "username"
        problems.append(f"{key}.{missing}: an Immich login needs both username (the e-mail) "
                        "and password")


def _check_client(key: str, server: dict[str, Any], problems: list[str]) -> None:
    """Client credentials, once secrets are read: both halves, in PhotoPrism's formats, and
    no password or token from a file or a systemd credential next to them."""
    conflict = client_conflicts(False, bool(server["password"]), bool(server["token"]))
    if conflict:
        problems.append(f"{key}.client_id: {conflict}")
    client_id, secret = server["client_id"], server["client_secret"]
    if not client_id:
        problems.append(f"{key}.client_id: required with client_secret")
    elif not _CLIENT_ID.fullmatch(client_id):
        problems.append(f"{key}.client_id: {client_id!r} is not a PhotoPrism client ID (16 "
                        "characters starting with c, as `photoprism clients add` prints it)")
    if not secret:
        problems.append(f"{key}.client_secret: required with client_id (set client_secret, "
                        "client_secret_file, or the systemd credential client_secret)")
    elif not secret.isalnum():
        problems.append(f"{key}.client_secret: a PhotoPrism client secret has only letters and "
                        "digits; check the value for a stray character or quote")


def _finish_upload(upload: UploadConfig, target: Path, base_dir: Path,
                   problems: list[str]) -> UploadConfig:
    """Absolute paths for [upload], and the checks that keep uploads from echoing: the inbox,
    the done folder and the import folder must all stay out of the mirror (and the mirror out of
    the inbox), or ppsync would upload what it downloaded."""
    values = upload.model_dump()
    for key in ("inbox", "done_dir", "import_path"):
        if values[key] is not None:
            values[key] = _absolute(Path(values[key]), base_dir)
    inbox, done_dir, import_path = values["inbox"], values["done_dir"], values["import_path"]
    if upload.enabled and inbox is None:
        problems.append("upload.inbox: required when upload.enabled = true")
    if inbox is not None and (_nested(inbox, target) or _nested(target, inbox)):
        problems.append(f"upload.inbox: {inbox} and mirror.target {target} must not contain "
                        "each other (ppsync would upload the photos it mirrors)")
    if done_dir is not None and _nested(done_dir, target):
        problems.append(f"upload.done_dir: {done_dir} must not be inside mirror.target {target}")
    if upload.mode == "import-folder":
        if import_path is None:
            problems.append('upload.import_path: required when upload.mode = "import-folder"')
        elif _nested(import_path, target) or (inbox is not None and (
                _nested(import_path, inbox) or _nested(inbox, import_path))):
            problems.append(f"upload.import_path: {import_path} must be outside mirror.target "
                            "and upload.inbox")
    return UploadConfig(**values)
