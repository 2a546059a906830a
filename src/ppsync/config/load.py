"""Reading the config: TOML file < env ``PPSYNC_<SECTION>__<KEY>`` < CLI flags, secrets from
files or systemd credentials, and the checks that need more than one key; every problem at once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from ppsync.access import denied, is_denied
from ppsync.config.basics import absolute, find_config_path, read_toml
from ppsync.config.retention import RetentionConfig
from ppsync.config.schedule import ScheduleConfig
from ppsync.config.scrub import ScrubConfig
from ppsync.config.sections import (
    AlbumsConfig,
    LogConfig,
    MetadataConfig,
    MirrorConfig,
    MonitorConfig,
    ServerConfig,
    UploadConfig,
)
from ppsync.config.values import (
    CLIENT_ID,
    KeyedError,
    client_conflicts,
)
from ppsync.errors import ConfigError

# The environment load_config was given (tests pass their own; the CLI passes os.environ).
_ENVIRON: ContextVar[Mapping[str, str]] = ContextVar("ppsync_environ")
# With [libraries]: the systemd credentials of library NAME are named ``NAME.api_key`` etc.
CREDENTIAL_PREFIX: ContextVar[str] = ContextVar("ppsync_credential_prefix", default="")


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
    retention: RetentionConfig = RetentionConfig()
    scrub: ScrubConfig = ScrubConfig()
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
        # Unreadable for this uid (a secret bind-mounted with its host mode): say who and how.
        reason = denied(path, exc, write=False) if is_denied(exc) else f"{path}: {exc.strerror}"
        problems.append(f"{key}: cannot read {reason}")
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
    credential = CREDENTIAL_PREFIX.get() + name
    if not inline and credentials and (Path(credentials) / credential).is_file():
        raw[name] = _read_secret_file(f"{section}.{name}", Path(credentials) / credential,
                                      problems)


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
    data = read_toml(path) if path is not None else {}
    base_dir = path.parent.absolute() if path is not None else Path.cwd()
    if "libraries" in data:  # the callers that iterate libraries use config.libraries
        raise ConfigError(["libraries: this config holds several libraries; ppsync reads it "
                           "with load_household"])
    return settings_from(data, environ, base_dir, log_level, credentials)


def settings_from(data: dict[str, Any], environ: Mapping[str, str], base_dir: Path,
                  log_level: str | None, credentials: bool) -> Settings:
    """``load_config`` for parsed TOML: the model built, secrets read, paths made absolute
    against ``base_dir``. Raises ``ConfigError`` with every problem."""
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
    mirror["target"] = absolute(Path(mirror["target"]), base_dir)
    if mirror["state"] is not None:
        mirror["state"] = absolute(Path(mirror["state"]), base_dir)
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
    # A secret file named relatively is beside the config, as every other path in it is (not
    # in whatever folder the service happens to start in).
    for file_key in ("password_file", "token_file", "client_secret_file", "api_key_file"):
        if server.get(file_key):
            server[file_key] = absolute(Path(server[file_key]), base_dir)
    if config.kind == "immich":
        _check_immich(key, config, server, cred_env, problems)
    else:
        _check_photoprism(key, config, server, cred_env, problems)
    if server["originals_path"] is not None:
        server["originals_path"] = absolute(Path(server["originals_path"]), base_dir)
    if server["ca_file"] is not None:
        server["ca_file"] = absolute(Path(server["ca_file"]), base_dir)
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
    elif not CLIENT_ID.fullmatch(client_id):
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
            values[key] = absolute(Path(values[key]), base_dir)
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
