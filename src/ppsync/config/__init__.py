"""The one typed configuration model: TOML file < env ``PPSYNC_<SECTION>__<KEY>`` < CLI flags.

``load_config`` is the only entry point. It reports every problem at once, each with its key path
(``server.url: ...``), as a single ``ConfigError``; it never lets a pydantic traceback through.
Secrets may come from the file, from ``*_file`` keys, or from systemd's ``$CREDENTIALS_DIRECTORY``
(credential names ``password``, ``token``, ``client_secret`` and ``api_key``); they are held as
``SecretStr`` so that printing a config never shows them.

The package: ``values`` (durations, the keyed error, the section base), ``sections`` (one model
per table), ``schedule`` (``[schedule]`` and its time zone), ``retention``
(``[retention]``), ``sizes`` (``50GiB``, ``10%``), ``load`` (``Settings`` and
``load_config``). Import from here.
"""

from ppsync.config.load import Settings, find_config_path, load_config
from ppsync.config.retention import RetentionConfig
from ppsync.config.schedule import ScheduleConfig, schedule_zone, zone_info, zone_name
from ppsync.config.scrub import ScrubConfig, parse_rate
from ppsync.config.sections import (
    ALBUM_TYPES,
    DEFAULT_UPLOAD_EXTENSIONS,
    AlbumsConfig,
    LogConfig,
    MetadataConfig,
    MirrorConfig,
    MonitorConfig,
    ServerConfig,
    UploadConfig,
)
from ppsync.config.sizes import Size, parse_size
from ppsync.config.values import (
    DEFAULT_CONFIG_PATHS,
    MAX_PAGE_SIZE,
    KeyedError,
    client_conflicts,
    parse_duration,
)

__all__ = [
    "ALBUM_TYPES", "DEFAULT_CONFIG_PATHS", "DEFAULT_UPLOAD_EXTENSIONS", "MAX_PAGE_SIZE",
    "AlbumsConfig", "KeyedError", "LogConfig", "MetadataConfig", "MirrorConfig",
    "MonitorConfig", "RetentionConfig", "ScheduleConfig", "ScrubConfig", "ServerConfig",
    "Settings", "Size", "UploadConfig", "client_conflicts", "find_config_path", "load_config",
    "parse_duration", "parse_rate", "parse_size", "schedule_zone", "zone_info", "zone_name",
]
