"""Command line: parse arguments, call one engine function, turn errors into exit codes.

``main`` is the console entry point. ``handle_error`` is the one place where an exception
becomes a message and an exit code; no traceback reaches the user for anything we expect.

Each command imports what it needs when it runs: at module level this file imports only the
standard library and ppsync's light modules, so ``--version`` and ``--help`` never load httpx,
pydantic, sqlite-utils or structlog (``tests/test_startup.py`` holds that).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ppsync import __version__
from ppsync.access import translate_denied
from ppsync.config.choose import choose, worst
from ppsync.errors import ConfigError, PpsyncError, SafetyStop, ServerError, StateDamaged
from ppsync.redact import redact
from ppsync.report import EXIT_MEANINGS, exit_meaning

if TYPE_CHECKING:
    from ppsync.config import Settings
    from ppsync.config.quick import QuickSettings
    from ppsync.models import Action
    from ppsync.servers.base import ServerInfo

EPILOG = "exit codes:\n" + "\n".join(f"  {code}  {text}" for code, text in EXIT_MEANINGS.items())


def build_parser(with_init: bool = True) -> argparse.ArgumentParser:
    """The command line; ``with_init=False`` leaves out the flags of ``init``, whose module
    costs a fifth of what ``status`` and ``health`` may spend (``main`` adds them whenever the
    command line names ``init``)."""
    parser = argparse.ArgumentParser(
        prog="ppsync",
        description="Keep a complete, verified copy of a PhotoPrism or Immich library on local "
                    "disk, and put it back into either kind of server.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, help="config file (default: $PPSYNC_CONFIG, "
                        "./ppsync.toml, /etc/ppsync/config.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"ppsync {__version__}")
    plain = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # Every command but init: which of a household's libraries ([libraries.NAME]) to work on.
    library = argparse.ArgumentParser(add_help=False)
    library.add_argument("--library", action="append", metavar="NAME", help="with "
                         "[libraries]: work on this library (repeatable); sync, status, "
                         "health, verify, check and daemon default to all, restore, upload, "
                         "plan and state need one")
    commands = _WithLibrary(plain, library)
    sync = commands.add_parser("sync", help="one pass: mirror every original, then exit")
    sync.add_argument("--dry-run", action="store_true", help="show what would happen, change "
                      "nothing")
    plan = commands.add_parser("plan", help="what a sync would do, without doing it")
    for one_shot in (sync, plan):
        one_shot.add_argument("--full", action="store_true", help="walk the whole library "
                              "(the only kind of pass that may delete), even when the last full "
                              "walk is younger than [schedule] full_every")
        one_shot.add_argument("--rebind", action="store_true", help="accept the configured "
                              "[server] as this mirror's server (a new address, or a library "
                              "migrated between PhotoPrism and Immich): files already mirrored "
                              "are matched by SHA-1 and moved to their new paths, never "
                              "downloaded again; this pass removes nothing, and files the new "
                              "server lacks wait for the next full walk (then the deletion "
                              "policy and its guards decide). A mirror refuses (exit 4) a "
                              "server other than the one it follows until this is run")
    status = commands.add_parser("status", help="what the last runs did")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--limit", type=int, default=10, help="how many runs (default 10)")
    verify = commands.add_parser("verify", help="re-hash the mirror against the recorded "
                                 "server hashes")
    verify.add_argument("--repair", action="store_true", help="set damaged files aside and "
                        "download missing or damaged originals again")
    state = commands.add_parser("state", help="when SQLite finds the state damaged: put the "
                                "newest good copy in place (restore), or start a new state "
                                "that adopts the mirrored files by SHA-1 (fresh)")
    state.add_argument("action", choices=("restore", "fresh"))
    commands.add_parser("check", help="validate config, reach the server, log in, report "
                        "version and counts")
    commands.add_parser("upload", help="one upload pass: send new photos from the [upload] "
                        "inbox to PhotoPrism, then exit")
    restore = commands.add_parser("restore", help="upload the mirror's originals into a "
                                  "PhotoPrism and re-apply its metadata sidecars and albums")
    restore.add_argument("--to", required=True, metavar="SERVER", help="'server' (the main "
                         "[server]), a [servers.NAME] name, another library's name (with "
                         "[libraries]: migrate into its server), or an http(s):// URL (used "
                         "with the main [server]'s credentials)")
    restore.add_argument("--dry-run", action="store_true", help="show what would happen, "
                         "change nothing")
    commands.add_parser("daemon", help="run sync passes (and upload passes when [upload] is "
                        "enabled) on the [schedule] until stopped")
    commands.add_parser("health", help="exit 0 if the last pass succeeded and is recent "
                        "(reads the state only)")
    init = plain.add_parser("init", help="write a first config (asked on a terminal, or "
                               "from flags), checked against the server; --config names it "
                               "(default ./ppsync.toml)")
    if with_init:
        from ppsync.first_run import add_arguments as add_init_arguments  # argparse only

        add_init_arguments(init)
    return parser


class _WithLibrary:
    """``add_subparsers`` whose parsers all take ``--library`` (``plain``: without it)."""

    def __init__(self, plain: Any, parent: argparse.ArgumentParser) -> None:
        self.plain = plain
        self._parent = parent

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self.plain.add_parser(
            name, parents=[self._parent], **kwargs)
        return parser


def handle_error(exc: BaseException) -> int:
    """Print what went wrong, without a traceback or a secret; return the exit code."""
    if isinstance(exc, ConfigError) and not isinstance(exc, StateDamaged):  # that names its way
        print("ppsync: configuration problem" + ("s:" if len(exc.problems) > 1 else ":"),
              file=sys.stderr)
        for problem in exc.problems:
            print(f"  {redact(problem)}", file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, PpsyncError):
        print(f"ppsync: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        print("ppsync: interrupted", file=sys.stderr)
        return 130
    raise exc


def _print(lines: Sequence[str]) -> None:
    print("\n".join(lines), flush=True)


def cmd_sync(settings: Settings, args: argparse.Namespace) -> int:
    from ppsync.mirror.sync import PassOptions, full_walk_due, run_sync
    from ppsync.progress import Progress
    from ppsync.report import summary_lines

    dry_run = args.command == "plan" or getattr(args, "dry_run", False)
    # The daemon's rule, so a timer every 15 minutes costs one request when nothing changed:
    # a change pass while the last complete full walk is younger than full_every.
    changes_only = not (args.full or args.rebind) and not full_walk_due(settings, time.time())

    def printer(action: Action) -> None:
        print(action.describe(), flush=True)

    with Progress.for_stream(sys.stderr, settings.log.format) as progress:
        report = run_sync(settings, PassOptions(
            command="plan" if dry_run else "sync", dry_run=dry_run, changes_only=changes_only,
            rebind=args.rebind, on_action=printer, on_progress=progress.tick))
    _print(summary_lines(report))
    return report.exit_code


def cmd_status(settings: QuickSettings, args: argparse.Namespace) -> int:
    from ppsync.report import status_lines, to_json

    data = _status_data(settings, args)
    if args.json:
        print(to_json(data))
    else:
        _print(status_lines(data["runs"], data["totals"], args.limit))
    return 0


def _status_data(settings: QuickSettings, args: argparse.Namespace) -> dict[str, Any]:
    """What ``status`` shows of one library: ``mirror``, ``set_aside`` and ``runs`` for
    --json, ``runs`` and ``totals`` for the text."""
    from ppsync.state.summary import read_summary

    # A window wider than --limit: identical failures fold into one row each.
    runs, totals = read_summary(settings.mirror.state_path,
                                args.limit if args.json else args.limit + 500)
    if args.json:
        aside = totals.pop("set_aside")
        return {"mirror": totals, "set_aside": aside, "runs": runs}
    return {"runs": runs, "totals": totals}


def cmd_verify(settings: Settings, args: argparse.Namespace) -> int:
    from ppsync.lock import TargetLock
    from ppsync.mirror.identity import guard_repair
    from ppsync.mirror.sync import PassOptions, guard_target, run_sync
    from ppsync.mirror.verify import verify_mirror
    from ppsync.report import summary_lines
    from ppsync.servers import open_server
    from ppsync.state import State

    layout = guard_target(settings.mirror)
    # A repair downloads from the server: one session checks it is the mirror's (down to the
    # account) before a damaged file is set aside, and the repair pass reuses it.
    server = open_server(settings.server) if args.repair else None
    try:
        with TargetLock(layout.meta / "lock"):
            state = State.open(settings.mirror.state_path)
            try:
                if server is not None:
                    guard_repair(state, settings.server, server)
                result = verify_mirror(state, layout, repair=args.repair)
            finally:
                state.close()
        _print([f"verify: {result.checked} files, {result.ok} ok, {len(result.missing)} "
                f"missing, {len(result.damaged)} damaged ({result.duration:.1f} s)"]
               + [f"  missing: {p}" for p in result.missing]
               + [f"  damaged: {p}" for p in result.damaged]
               + [f"  set aside: {f.path} -> {f.reason}" for f in result.set_aside])
        if server is None:
            return 1 if result.problems else 0
        report = run_sync(settings, PassOptions(command="repair", server=server))
    finally:
        if server is not None:
            server.close()
    _print(summary_lines(report))
    return report.exit_code


def cmd_state(settings: Settings, args: argparse.Namespace) -> int:
    from ppsync.lock import TargetLock
    from ppsync.mirror.sync import guard_target
    from ppsync.state.backup import restore_newest, start_fresh

    path = settings.mirror.state_path
    with TargetLock(guard_target(settings.mirror).meta / "lock"):  # no run is using it
        if args.action == "restore":
            copy, aside = restore_newest(path)
            lines = [f"state: restored from {copy.name}; the next sync brings it up to date "
                     "(files mirrored since are adopted by SHA-1, not downloaded)"]
        else:
            aside = start_fresh(path)
            lines = ["state: a new one starts with the next sync, which adopts the files "
                     "already in the mirror by SHA-1 (nothing is downloaded again)"]
    _print(lines + ([f"  the damaged state is kept as {aside}"] if aside else []))
    return 0


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    from ppsync.mirror.identity import ServerIdentity, follows_another
    from ppsync.servers import open_server

    server = open_server(settings.server)
    try:
        info = server.open()
        counts = server.library_counts()
        access = server.access(settings)
        reached = ServerIdentity.reached(settings.server, server)
    finally:
        server.close()
    other = follows_another(settings, reached)  # said, never refused: check changes nothing
    target = settings.mirror.target
    who = _logged_in_as(info, settings.server.client_id)
    _print([
        f"config: ok ({settings.server.url}, target {target})",
        f"server: {info.product} {info.version}, logged in {who}",
        access.scope_line,
        *([f"serves: {', '.join(access.served)}"] if access.served else []),
        *(f"cannot serve {feature}: {reason}" for feature, reason in access.problems.items()),
        "counts: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or
                       f"unknown {access.unknown_counts}".rstrip()),
        "target: " + ("exists" if target.is_dir() else
                      "MISSING (mount it, or create it, before the first sync)"),
        *([f"PROBLEM: {other}"] if other else []),
    ])
    if access.problems:
        return ServerError.exit_code
    return SafetyStop.exit_code if other else 0


def _logged_in_as(info: ServerInfo, client_id: str) -> str:
    """Who ``check`` logged in as, saying only what the server told: an Immich key without
    ``user.read`` may not read its own user, and a narrow PhotoPrism token (app password) its
    session; neither is "logged in as ?"."""
    if info.provider == "client":
        return f"as client {info.client_name or client_id}"
    if info.user_name:
        return f"as {info.user_name} ({info.provider})"
    if info.kind == "immich" and info.provider == "api key":
        return "with an API key that may not read its user (user.read)"
    if info.kind == "photoprism" and info.provider == "application":
        return "with a token that may not read its session (GET /session)"
    return f"({info.provider}); the server did not say as whom"


def cmd_upload(settings: Settings, args: argparse.Namespace) -> int:
    from ppsync.inbox.report import summary_lines as upload_summary_lines
    from ppsync.inbox.uploader import run_upload

    report = run_upload(settings)
    _print(upload_summary_lines(report))
    return report.exit_code


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from ppsync.restore.run import run_restore
    from ppsync.restore.run import summary_lines as restore_summary_lines

    report = run_restore(settings, args.to, dry_run=args.dry_run)
    _print(restore_summary_lines(report))
    return report.exit_code


def cmd_daemon(settings: Settings, args: argparse.Namespace) -> int:
    from ppsync.service.daemon import Daemon

    return Daemon(args.config, settings).run()


def cmd_health(settings: QuickSettings, args: argparse.Namespace) -> int:
    from ppsync.service.health import check_health

    verdict = check_health(settings)
    print(("healthy: " if verdict.ok else "unhealthy: ") + verdict.reason)
    return 0 if verdict.ok else 1


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "sync": cmd_sync, "plan": cmd_sync, "verify": cmd_verify, "check": cmd_check,
    "daemon": cmd_daemon, "upload": cmd_upload, "restore": cmd_restore, "state": cmd_state,
}
# Commands that read the state only, with the few keys of the config they need
# (``ppsync.config.quick``): they answer a container's health check or a person at once.
QUICK_COMMANDS: dict[str, Callable[[QuickSettings, argparse.Namespace], int]] = {
    "status": cmd_status, "health": cmd_health,
}


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C or SIGTERM to a one-shot command: end every wait for the server, on every
    thread (a walk's prefetch, downloads), then unwind like Ctrl-C."""
    from ppsync.servers.http import SHUTDOWN  # loaded already by any command that waits for one

    SHUTDOWN.set()
    raise KeyboardInterrupt


# Commands that read only the state: they run without the server's password or token.
STATE_ONLY = ("status", "health", "state")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(with_init="init" in argv).parse_args(argv)  # --version, --help end here
    if args.command == "init":  # there is no config to load yet: it writes one
        return _init(args)
    log_level = "debug" if args.verbose else None
    try:
        # A config, secret, state or mirror this uid may not use: one line, never a traceback.
        with translate_denied(args.config or Path.cwd()):
            if args.command in QUICK_COMMANDS:
                from ppsync.config.quick import quick_libraries

                quicks = dict(quick_libraries(args.config, log_level=log_level))
                chosen = choose(list(quicks), args.library, command=args.command)
                # No logging set up: nothing these commands run logs, and structlog would
                # cost a quarter of their time (tests/test_startup.py holds it unloaded).
                _stop_like_ctrl_c()
                if args.command == "status" and args.json and chosen != [""]:
                    return _status_json({name: quicks[name] for name in chosen}, args)
                quick_command = QUICK_COMMANDS[args.command]
                return _each_library([(name, partial(quick_command, quicks[name], args))
                                      for name in chosen], bind=False,
                                     meaning=_health_meaning if args.command == "health"
                                     else exit_meaning)
            from ppsync.config.libraries import load_household

            household = load_household(args.config, log_level=log_level,
                                       credentials=args.command not in STATE_ONLY)
            libraries = household.select(args.library, command=args.command,
                                         one=args.command in ONE_LIBRARY)
            from ppsync.logs import setup_logging

            first = household.first
            setup_logging(first.log.level, first.log.format, daemon=args.command == "daemon")
            if args.command == "daemon" and household.several:
                from ppsync.service.household import HouseholdDaemon

                return HouseholdDaemon(args.config, libraries, args.library).run()
            if args.command != "daemon":  # the daemon handles its signals itself
                _stop_like_ctrl_c()
            if args.command == "restore" and household.several:
                libraries = [_restore_to_library(libraries[0], household, args.to)]
            command = COMMANDS[args.command]
            return _each_library([(lib.name, partial(command, lib.settings, args))
                                  for lib in libraries], bind=True)
    except (PpsyncError, KeyboardInterrupt) as exc:
        return handle_error(exc)


# Commands that work on one library: with several, --library must name it.
ONE_LIBRARY = ("restore", "upload", "plan", "state")


def _health_meaning(code: int) -> str:
    return "unhealthy" if code else "healthy"


def _each_library(runs: list[tuple[str, Callable[[], int]]], *, bind: bool,
                  meaning: Callable[[int], str] = exit_meaning) -> int:
    """Run a command for each library, one after another; one library's failure never stops
    the next. A config without [libraries] (one run named "") is exactly as before. Returns the
    worst exit code, and says which library gave it."""
    if runs and runs[0][0] == "":
        return runs[0][1]()
    codes: dict[str, int] = {}
    for name, run in runs:
        print(f"library {name}:", flush=True)
        if bind:
            from ppsync.logs import bind_library

            bind_library(name)
        try:
            codes[name] = run()
        except PpsyncError as exc:
            codes[name] = handle_error(exc)
    code = worst(list(codes.values()))
    if len(codes) > 1:
        gave = [name for name, each in codes.items() if each == code]
        each = ", ".join(f"{name} {codes[name]}" for name in codes)
        print(f"libraries: exit {code} ({meaning(code)})"
              + (f" from {', '.join(gave)}" if code else "") + f" [{each}]", flush=True)
    return code


def _restore_to_library(library: Any, household: Any, to: str) -> Any:
    """``restore --library old --to new``: the library ``old`` restored into the server of
    library ``new`` (a [servers.NAME] of that name still wins, as it always did)."""
    settings = library.settings
    if to in settings.servers or to not in household.names:
        return library
    if to == library.name:
        raise ConfigError([f"restore --to {to}: that is the library being restored; name "
                           "another library (or 'server' to restore into its own server)"])
    other = household.select([to])[0].settings.server
    return replace(library, settings=settings.model_copy(
        update={"servers": {**settings.servers, to: other}}))


def _status_json(quicks: dict[str, QuickSettings], args: argparse.Namespace) -> int:
    """``status --json`` over several libraries: one document, a block per library."""
    from ppsync.report import to_json

    print(to_json({"libraries": {name: _status_data(settings, args)
                                 for name, settings in quicks.items()}}))
    return 0


def _stop_like_ctrl_c() -> None:
    """SIGTERM (systemd stopping ppsync-once, docker stop, a NAS job's timeout) ends a one-shot
    command the way Ctrl-C does: downloads stay resumable, and the run is recorded as
    interrupted (exit 130) instead of vanishing mid-write."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)


def _init(args: argparse.Namespace) -> int:
    from ppsync.first_run import run_init

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run_init(args)
    except (PpsyncError, KeyboardInterrupt) as exc:
        return handle_error(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
