"""``ppsync init``: a guided first run that writes a config which is known to work.

It asks for what is missing (on a terminal) or takes it all as flags (in a script, where a
missing answer is an error that names every missing flag at once). Before anything is kept,
the answers are checked as ``ppsync check`` checks a config: the server is reached, the
credentials log in, and everything they cannot do for the chosen features is named. Nothing
is written when the server cannot be reached or refuses the login. Otherwise the config is
written (mode 0600) with the secret in a file of its own (mode 0600), and nothing else is
created: not the target (ppsync never creates it, so that an unmounted disk is never filled),
not the state, not the inbox. It refuses to overwrite an existing config unless told to.
"""

from __future__ import annotations

import argparse
import getpass
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ppsync.errors import AuthError, ConfigError

if TYPE_CHECKING:  # the config package loads pydantic: `ppsync --help` must not
    from ppsync.config.write import Answers, Kind, SecretKind

DEFAULT_PORT = {"photoprism": 2342, "immich": 2283}
SIDECAR_CHOICES = ("none", "json", "xmp", "both")
ALBUM_CHOICES = ("none", "symlink", "hardlink", "copy")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=("photoprism", "immich"), help="the server's kind")
    parser.add_argument("--url", help="the server's address, e.g. http://nas:2342")
    parser.add_argument("--username", default=None, help="log in with this user (PhotoPrism) "
                        "or e-mail (Immich) and a password, instead of a token or API key")
    parser.add_argument("--client-id", default=None, help="PhotoPrism: an OAuth client's ID "
                        "(its secret is the secret)")
    parser.add_argument("--secret-file", default=None, metavar="PATH", help="the password, "
                        "token, client secret or API key: a file the config will name as it "
                        "is, or '-' to read it from standard input into a file of its own")
    parser.add_argument("--target", type=Path, help="the mirror folder (created by you, not "
                        "by ppsync)")
    parser.add_argument("--sidecars", choices=SIDECAR_CHOICES, default=None, help="metadata "
                        "sidecars next to each photo (default json: what a restore reads)")
    parser.add_argument("--albums", choices=ALBUM_CHOICES, default=None, help="album folders "
                        "(default none)")
    parser.add_argument("--inbox", type=Path, default=None, help="a folder whose new photos "
                        "are sent to the server (default: no uploads)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing config")


@dataclass(frozen=True, slots=True)
class Secret:
    """The secret as the config will name it: an existing file, or text to write."""

    existing_file: Path | None = None
    text: str = ""


class Asker:
    """Asks for what the flags left out, on a terminal; off a terminal, collects what is
    missing so that one error names it all."""

    def __init__(self, interactive: bool, read_line: Callable[[], str] = sys.stdin.readline,
                 read_secret: Callable[[str], str] = getpass.getpass) -> None:
        self.interactive = interactive
        self.missing: list[str] = []
        self._read_line = read_line
        self._read_secret = read_secret

    def text(self, flag: str, question: str, default: str | None = None) -> str:
        if not self.interactive:
            if default is None:
                self.missing.append(flag)
            return default or ""
        shown = f" [{default}]" if default else ""
        while True:
            print(f"{question}{shown}: ", end="", file=sys.stderr, flush=True)
            answer = self._read_line().strip()
            if answer or default is not None:
                return answer or (default or "")
            print("  (an answer is needed)", file=sys.stderr)

    def choice(self, flag: str, question: str, choices: Sequence[str], default: str) -> str:
        while True:
            answer = self.text(flag, f"{question} ({'/'.join(choices)})", default)
            if answer in choices:
                return answer
            print(f"  one of {', '.join(choices)}", file=sys.stderr)

    def secret(self, question: str) -> str:
        if not self.interactive:
            self.missing.append("--secret-file")
            return ""
        return self._read_secret(f"{question} (not shown): ").strip()


def gather(args: argparse.Namespace, asker: Asker) -> tuple[Answers, Secret]:
    """Every answer, from the flags first, asking only for what they leave out."""
    from ppsync.config.write import Answers, secret_kind_for

    kind = cast("Kind", args.kind or asker.choice("--kind", "Server kind",
                                                ("photoprism", "immich"), "photoprism"))
    url = args.url or asker.text(
        "--url", f"Server address (e.g. http://nas:{DEFAULT_PORT[kind]})")
    username = args.username
    client_id = args.client_id
    if username is None and client_id is None and asker.interactive:
        if kind == "immich":
            username = asker.text("--username", "E-mail to log in with (empty: use an API key)",
                                  "")
        else:
            username = asker.text("--username", "User name to log in with (empty: use an app "
                                  "password or an OAuth client)", "")
            if not username:
                client_id = asker.text("--client-id", "OAuth client ID (empty: use an app "
                                       "password)", "")
    username, client_id = username or "", client_id or ""
    secret_kind = secret_kind_for(kind, username, client_id)
    secret = _secret(args.secret_file, secret_kind, asker)
    target = args.target or Path(asker.text("--target", "Mirror folder (you create or mount "
                                            "it; ppsync never does)"))
    sidecars = args.sidecars or asker.choice("--sidecars", "Metadata sidecars",
                                             SIDECAR_CHOICES, "json")
    albums = args.albums or asker.choice("--albums", "Album folders", ALBUM_CHOICES, "none")
    inbox = args.inbox
    if inbox is None and asker.interactive:
        named = asker.text("--inbox", "Folder of new photos to send to the server (empty: "
                           "none)", "")
        inbox = Path(named) if named else None
    if asker.missing:
        raise ConfigError([f"init: {flag} is needed (or run ppsync init on a terminal to be "
                           "asked)" for flag in asker.missing])
    answers = Answers(
        kind=kind, url=url.rstrip("/"), target=target.expanduser().absolute(),
        secret_kind=secret_kind, secret_file="", username=username, client_id=client_id,
        sidecars=sidecars, albums=albums,  # type: ignore[arg-type]  # checked by choice()
        inbox=inbox.expanduser().absolute() if inbox is not None else None)
    return answers, secret


def _secret(named: str | None, secret_kind: SecretKind, asker: Asker) -> Secret:
    words = secret_kind.replace("_", " ")
    if named == "-":
        return Secret(text=sys.stdin.readline().strip())
    if named:
        path = Path(named).expanduser().absolute()
        if not path.is_file():
            raise ConfigError([f"init: --secret-file {path}: no such file"])
        return Secret(existing_file=path)
    return Secret(text=asker.secret(f"The {words}"))


def run_init(args: argparse.Namespace, *, interactive: bool | None = None) -> int:
    """Ask, check, write; print what was done and the next command. Returns the exit code."""
    config = (args.config or Path("ppsync.toml")).expanduser().absolute()
    if config.exists() and not args.force:
        raise ConfigError([f"init: {config} exists; it is left as it is (--force replaces "
                           "it, or choose another path with --config)"])
    if not config.parent.is_dir():
        raise ConfigError([f"init: {config.parent} does not exist: create it, or choose "
                           "another path with --config"])
    asker = Asker(sys.stdin.isatty() if interactive is None else interactive)
    answers, secret = gather(args, asker)
    if secret.existing_file is None and not secret.text:
        raise ConfigError([f"init: the {answers.secret_kind.replace('_', ' ')} is empty"])
    secret_path = config.with_name(f"{config.stem}.{answers.secret_kind}")
    if secret.existing_file is None and secret_path.exists() and not args.force:
        raise ConfigError([f"init: {secret_path} exists; it is left as it is (--force "
                           "replaces it)"])
    named = (str(secret.existing_file) if secret.existing_file is not None
             else secret_path.name)  # beside the config: a relative name moves with it
    answers = replace(answers, secret_file=named)
    lines, problems = _check_then_write(config, secret_path, answers, secret)
    print("\n".join(lines), flush=True)
    return AuthError.exit_code if problems else 0


def _check_then_write(config: Path, secret_path: Path, answers: Answers,
                      secret: Secret) -> tuple[list[str], dict[str, str]]:
    """Check the config in a scratch folder beside it; keep it only when the server took the
    login. Returns the lines to print and the features the credentials cannot serve."""
    from ppsync.config import load_config
    from ppsync.config.write import render_config, write_private
    from ppsync.servers import open_server

    text = render_config(answers)
    scratch = Path(tempfile.mkdtemp(prefix=".ppsync-init-", dir=config.parent))
    try:
        write_private(scratch / config.name, text)
        if secret.existing_file is None:
            write_private(scratch / secret_path.name, secret.text + "\n")
        # Only what is written decides: PPSYNC_* variables of this shell are not read.
        settings = load_config(scratch / config.name, {})
        server = open_server(settings.server)
        try:
            info = server.open()
            access = server.access(settings)
        finally:
            server.close()
        if secret.existing_file is None:
            (scratch / secret_path.name).replace(secret_path)
        (scratch / config.name).replace(config)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    who = info.client_name or info.user_name or answers.username or answers.client_id
    lines = [f"checked: {info.product} {info.version} at {answers.url}, logged in"
             + (f" as {who}" if who else ""),
             *([f"serves: {', '.join(access.served)}"] if access.served else []),
             *(f"cannot serve {feature}: {why}" for feature, why in access.problems.items()),
             f"wrote {config} (mode 0600)"
             + ("" if secret.existing_file is not None
                else f" and the {answers.secret_kind.replace('_', ' ')} in {secret_path} "
                "(mode 0600)")]
    if not answers.target.is_dir():
        lines.append(f"before the first sync: create {answers.target}, or mount the disk that "
                     "holds the mirror there (ppsync never creates its target, so a disk that "
                     "is not mounted is never filled by mistake)")
    if answers.inbox is not None and not answers.inbox.is_dir():
        lines.append(f"before the first upload: create the inbox {answers.inbox}")
    if access.problems:
        lines.append("the credentials cannot do all of the above: give them what is named, "
                     f"then run: ppsync --config {config} check")
    lines.append(f"next: ppsync --config {config} sync   (then `ppsync --config {config} "
                 "daemon`, or a systemd unit or container: see docs/running.md)")
    return lines, dict(access.problems)
