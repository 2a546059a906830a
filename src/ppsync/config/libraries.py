"""A household's libraries in one config: ``[libraries.NAME.<section>]``.

A config without ``[libraries]`` is one library, read by ``load_config`` exactly as before (its
name is ``""``, and nothing it writes or says changes). With ``[libraries]``, the top-level
sections are the defaults of every library and a library's own sections override them key by
key; each library becomes a complete ``Settings`` of its own (server, target, state, lock,
inbox, albums, metadata, retention, scrub, schedule, alerts).

Household-wide, set only at the top level: ``[log]`` (one daemon writes one log),
``[monitor] listen`` (one /healthz and /metrics for all) and ``[schedule] passes_at_once``.

Per library, besides its sections in the file:
- environment: ``PPSYNC_LIBRARIES__<NAME>__<SECTION>__<KEY>`` wins over the library's file keys;
  ``PPSYNC_<SECTION>__<KEY>`` is a default that a library's own file key overrides;
- systemd credentials: ``<NAME>.password``, ``<NAME>.token``, ``<NAME>.client_secret``,
  ``<NAME>.api_key`` (never the bare names: those would hand one member's key to all).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ppsync.config.basics import find_config_path, read_toml
from ppsync.config.choose import choose
from ppsync.config.load import CREDENTIAL_PREFIX, Settings, settings_from
from ppsync.errors import ConfigError

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
LIBRARY_SECTIONS = frozenset({"server", "mirror", "schedule", "monitor", "upload", "albums",
                              "metadata", "retention", "scrub", "servers"})
# Keys one daemon has once, whatever its libraries: (section, key or "" for all), and why.
HOUSEHOLD_KEYS = {
    ("log", ""): "one daemon writes one log",
    ("monitor", "listen"): "one daemon serves one /healthz and /metrics for every library",
    ("schedule", "passes_at_once"): "it limits the passes of all libraries together",
}
ENV_PREFIX = "ppsync_"


@dataclass(frozen=True, slots=True)
class Library:
    """One library: its name (``""`` for a config without ``[libraries]``) and settings."""

    name: str
    settings: Settings

    @property
    def label(self) -> str:
        return self.name or "default"


@dataclass(frozen=True, slots=True)
class Household:
    """Every library of a config, in the file's order."""

    libraries: tuple[Library, ...]

    @property
    def several(self) -> bool:
        """Did the config name its libraries ([libraries])? A single-library config keeps
        every output as it always was."""
        return bool(self.libraries[0].name)

    @property
    def names(self) -> list[str]:
        return [library.name for library in self.libraries]

    @property
    def first(self) -> Settings:
        """The household-wide settings ([log], [monitor] listen, passes_at_once) are the same
        in every library: they cannot be overridden."""
        return self.libraries[0].settings

    def select(self, names: Iterable[str] | None, *, command: str = "",
               one: bool = False) -> list[Library]:
        """The libraries a command names with ``--library`` (``choose.choose``)."""
        chosen = choose(self.names, list(names or []), command=command, one=one)
        return [library for library in self.libraries if library.name in chosen]


def has_libraries(data: Mapping[str, Any]) -> bool:
    return "libraries" in data


def load_household(explicit_path: Path | None = None, environ: Mapping[str, str] | None = None,
                   *, log_level: str | None = None, credentials: bool = True) -> Household:
    """Every library of the config. Without ``[libraries]``: one library named ``""``, read by
    ``load_config``. Raises ``ConfigError`` with every problem, each naming its library and key.
    """
    environ = os.environ if environ is None else environ
    path = find_config_path(explicit_path, environ)
    data = read_toml(path) if path is not None else {}
    base_dir = path.parent.absolute() if path is not None else Path.cwd()
    if not has_libraries(data):
        return Household((Library("", settings_from(data, environ, base_dir, log_level,
                                                    credentials)),))
    problems: list[str] = []
    tables = _library_tables(data["libraries"], problems)
    defaults = {key: value for key, value in data.items() if key != "libraries"}
    libraries: list[Library] = []
    for name, table in tables.items():
        prefix = f"libraries.{name}"
        _household_keys(prefix, table, problems)
        merged = _merge(defaults, table)
        token = CREDENTIAL_PREFIX.set(f"{name}.")
        try:
            settings = settings_from(merged, _library_environ(name, table, environ), base_dir,
                                     log_level, credentials)
        except ConfigError as exc:
            problems.extend(f"{prefix}.{problem}" for problem in exc.problems)
            continue
        finally:
            CREDENTIAL_PREFIX.reset(token)
        libraries.append(Library(name, settings))
    if not problems:
        _overlaps(libraries, problems)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    return Household(tuple(libraries))


def _library_tables(raw: Any, problems: list[str]) -> dict[str, dict[str, Any]]:
    """``[libraries]`` as {name: its sections}; a bad name or shape is a problem."""
    if not isinstance(raw, dict) or not raw:
        problems.append("libraries: name at least one library, as [libraries.NAME.server] "
                        "and [libraries.NAME.mirror]")
        return {}
    tables: dict[str, dict[str, Any]] = {}
    for name, table in raw.items():
        if not NAME.fullmatch(name):
            problems.append(f"libraries.{name}: a library name is 1 to 32 lowercase letters, "
                            "digits, - or _, starting with a letter or digit (it names "
                            "credentials, metric labels and log lines)")
        elif not isinstance(table, dict):
            problems.append(f"libraries.{name}: expected a table of sections")
        else:
            for section, value in table.items():
                if section not in LIBRARY_SECTIONS and (section, "") not in HOUSEHOLD_KEYS:
                    problems.append(f"libraries.{name}.{section}: unknown key")
                elif not isinstance(value, dict):
                    problems.append(f"libraries.{name}.{section}: expected a table")
            tables[name] = table
    return tables


def _household_keys(prefix: str, table: dict[str, Any], problems: list[str]) -> None:
    for (section, key), why in HOUSEHOLD_KEYS.items():
        given = table.get(section)
        if not isinstance(given, dict):
            continue
        if key == "" or key in given:
            where = f"[{section}]" if key == "" else f"[{section}] {key}"
            problems.append(f"{prefix}.{section}{'.' + key if key else ''}: set {where} at "
                            f"the top level only ({why})")


def _merge(defaults: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    """The top-level sections overridden key by key by the library's (``servers`` by name)."""
    merged: dict[str, Any] = {key: dict(value) if isinstance(value, dict) else value
                              for key, value in defaults.items()}
    for section, values in table.items():
        if (section, "") in HOUSEHOLD_KEYS or not isinstance(values, dict):
            continue
        base = merged.get(section)
        merged[section] = {**base, **values} if isinstance(base, dict) else dict(values)
    return merged


def _library_environ(name: str, table: dict[str, Any],
                     environ: Mapping[str, str]) -> dict[str, str]:
    """The environment one library's model reads: the library's own variables
    (``PPSYNC_LIBRARIES__NAME__SECTION__KEY``) win; a top-level ``PPSYNC_SECTION__KEY`` is a
    default, dropped where the library's file sets that key (file < env holds per level)."""
    own_prefix = f"{ENV_PREFIX}libraries__{name}__"
    own: dict[str, str] = {}
    result: dict[str, str] = {}
    set_here = {(section.lower(), key.lower()) for section, values in table.items()
                if isinstance(values, dict) for key in values}
    for variable, value in environ.items():
        lowered = variable.lower()
        if lowered.startswith(own_prefix):
            own[ENV_PREFIX.upper() + variable[len(own_prefix):]] = value
        elif lowered.startswith(f"{ENV_PREFIX}libraries__"):
            continue  # another library's
        elif lowered.startswith(ENV_PREFIX):
            parts = lowered[len(ENV_PREFIX):].split("__")
            if len(parts) >= 2 and (parts[0], parts[1]) in set_here:
                continue
            result[variable] = value
        else:
            result[variable] = value
    result.update(own)
    return result


def _nested(inner: Path, outer: Path) -> bool:
    return Path(os.path.realpath(inner)).is_relative_to(os.path.realpath(outer))


def _overlaps(libraries: list[Library], problems: list[str]) -> None:
    """Two libraries sharing a target or a state (or one inside the other's) would delete
    each other's photos as strangers; an inbox inside another's mirror would echo."""
    for i, one in enumerate(libraries):
        for other in libraries[i + 1:]:
            a, b = one.settings.mirror, other.settings.mirror
            where = f"libraries.{other.name}.mirror"
            if _nested(a.target, b.target) or _nested(b.target, a.target):
                problems.append(f"{where}.target: {b.target} and the target of library "
                                f"{one.name} ({a.target}) are the same or inside one another; "
                                "each library needs a folder of its own")
            if _nested(a.state_path, b.state_path) or _nested(b.state_path, a.state_path):
                problems.append(f"{where}.state: {b.state_path} is also the state of library "
                                f"{one.name}; each library needs a state of its own")
        for other in libraries:
            if other is one:
                continue
            inbox = one.settings.upload.inbox
            if inbox is not None and (_nested(inbox, other.settings.mirror.target)
                                      or _nested(other.settings.mirror.target, inbox)):
                problems.append(f"libraries.{one.name}.upload.inbox: {inbox} and the target "
                                f"of library {other.name} must not contain each other "
                                "(ppsync would upload the photos it mirrors)")
