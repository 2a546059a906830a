"""The one typed configuration model: TOML file < env ``PPSYNC_<SECTION>__<KEY>`` < CLI flags.

``load_config`` is the only entry point. It reports every problem at once, each with its key path
(``server.url: ...``), as a single ``ConfigError``; it never lets a pydantic traceback through.
Secrets may come from the file, from ``*_file`` keys, or from systemd's ``$CREDENTIALS_DIRECTORY``
(credential names ``password``, ``token``, ``client_secret`` and ``api_key``); they are held as
``SecretStr`` so that printing a config never shows them.

The package: ``basics`` (finding and reading the file, durations, time zones: no pydantic),
``values`` (the keyed error, the section base), ``sections`` (one model per table),
``schedule`` (``[schedule]``), ``retention`` (``[retention]``), ``sizes`` (``50GiB``,
``10%``), ``load`` (``Settings`` and ``load_config``), and ``quick``: the few keys ``status``
and ``health`` read, validated as the model does, without loading pydantic. Import from here.

Names are loaded when first used (PEP 562): ``from ppsync.config.quick import ...`` must not
pay for pydantic, and importing any submodule runs this file first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ppsync.config.basics import (
        DEFAULT_CONFIG_PATHS,
        find_config_path,
        parse_duration,
        schedule_zone,
        zone_info,
        zone_name,
    )
    from ppsync.config.load import Settings, load_config
    from ppsync.config.retention import RetentionConfig
    from ppsync.config.schedule import ScheduleConfig
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
    from ppsync.config.values import MAX_PAGE_SIZE, KeyedError, client_conflicts

# Where each name lives.
_HOMES = {
    "DEFAULT_CONFIG_PATHS": "basics", "parse_duration": "basics", "schedule_zone": "basics",
    "zone_info": "basics", "zone_name": "basics",
    "find_config_path": "basics", "Settings": "load", "load_config": "load",
    "RetentionConfig": "retention", "ScheduleConfig": "schedule",
    "ScrubConfig": "scrub", "parse_rate": "scrub",
    "ALBUM_TYPES": "sections", "DEFAULT_UPLOAD_EXTENSIONS": "sections",
    "AlbumsConfig": "sections", "LogConfig": "sections", "MetadataConfig": "sections",
    "MirrorConfig": "sections", "MonitorConfig": "sections", "ServerConfig": "sections",
    "UploadConfig": "sections",
    "Size": "sizes", "parse_size": "sizes",
    "MAX_PAGE_SIZE": "values", "KeyedError": "values", "client_conflicts": "values",
}

__all__ = [
    "ALBUM_TYPES", "DEFAULT_CONFIG_PATHS", "DEFAULT_UPLOAD_EXTENSIONS", "MAX_PAGE_SIZE",
    "AlbumsConfig", "KeyedError", "LogConfig", "MetadataConfig", "MirrorConfig",
    "MonitorConfig", "RetentionConfig", "ScheduleConfig", "ScrubConfig", "ServerConfig",
    "Settings", "Size", "UploadConfig", "client_conflicts", "find_config_path", "load_config",
    "parse_duration", "parse_rate", "parse_size", "schedule_zone", "zone_info", "zone_name",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # once: later look-ups do not come here
    return value
