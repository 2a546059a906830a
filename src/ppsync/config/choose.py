"""Which libraries a command works on (``--library``), without loading pydantic: ``status``
and ``health`` choose with it too."""

from __future__ import annotations

from collections.abc import Sequence

from ppsync.errors import ConfigError

# Exit codes from least to most serious: the code of a command over several libraries is the
# worst of theirs. A safety stop and a bad config need a person; an interrupt ended them all.
SEVERITY = (0, 1, 5, 3, 2, 4, 130)


def worst(codes: Sequence[int]) -> int:
    """The most serious exit code (an unknown code counts as more serious than 4)."""
    return max(codes, key=lambda code: SEVERITY.index(code) if code in SEVERITY else 5.5,
               default=0)


def choose(available: Sequence[str], wanted: Sequence[str] | None, *, command: str = "",
           one: bool = False) -> list[str]:
    """The names ``--library`` picks, in config order (all when none). ``available`` is
    ``[""]`` for a config without [libraries]. ``one``: the command works on one library and
    must be told which when there are several. Raises ``ConfigError`` (one line each)."""
    picked = list(dict.fromkeys(wanted or []))
    if available == [""]:
        if picked:
            raise ConfigError([f"--library {picked[0]}: this config has no [libraries] (it is "
                               "one library; leave --library out)"])
        return [""]
    unknown = [name for name in picked if name not in available]
    if unknown:
        raise ConfigError([f"--library {name}: no such library (the config has "
                           f"{', '.join(available)})" for name in unknown])
    chosen = [name for name in available if name in picked] if picked else list(available)
    if one and len(chosen) != 1:
        raise ConfigError([f"{command}: works on one library; name it with --library (one of "
                           f"{', '.join(available)})"])
    return chosen
