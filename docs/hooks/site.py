"""MkDocs hooks: the pages whose text lives elsewhere, so that nothing is written twice.

- ``configuration.md``: the key reference is rendered from ``config.example.toml`` (the file a
  test loads, so it matches the code) where the page says ``<!-- config-reference -->``;
- ``index.md``: ``README.md``, the front page, with its links into ``docs/`` made site links;
- ``changelog.md``: ``CHANGELOG.md``.

``render_reference`` and ``parse_example`` need nothing but the standard library, so the tests
can check the page without MkDocs installed (tests/test_docs_site.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"
MARKER = "<!-- config-reference -->"

_TABLE = re.compile(r"^\[([\w.]+)\]\s*(?:#\s?(.*))?$")
_COMMENTED_TABLE = re.compile(r"^#\s*\[([\w.]+)\]\s*(?:#\s?(.*))?$")
_KEY = re.compile(r"^([a-z_]+)\s*=\s*(.*)$")
# An alternative block: "# >>> immich: <why>" ... "# <<< immich", every line commented out.
_BLOCK_START = re.compile(r"^#\s*>>>\s*(\w+):?\s*(.*)$")
_BLOCK_END = re.compile(r"^#\s*<<<")


@dataclass
class Key:
    name: str
    value: str
    commented: bool  # commented out in the example: optional, or an alternative
    doc: list[str] = field(default_factory=list)


@dataclass
class Section:
    table: str  # the TOML table, e.g. "server", "servers.fresh"
    title: str  # the heading, e.g. "[server]", "[server] for Immich"
    notes: list[str] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # the example's own text, verbatim


def _split_comment(text: str) -> tuple[str, str]:
    """``value  # comment`` -> (value, comment); a ``#`` inside quotes is part of the value."""
    quote = ""
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#":
            return text[:i].strip(), text[i + 1:].strip()
    return text.strip(), ""


def parse_example(text: str) -> tuple[list[str], list[Section]]:
    """The example config as (the notes before its first table, its sections in order)."""
    intro: list[str] = []
    sections: list[Section] = []
    current: Section | None = None
    block: Section | None = None  # inside "# >>> kind" ... "# <<< kind"
    pending: list[str] = []  # comment lines at column 0 since the last key: notes
    for raw in text.splitlines():
        line = raw.rstrip()
        if block is not None:
            block.lines.append(line)
            if _BLOCK_END.match(line):
                block = None
                continue
            inner = re.sub(r"^# ?", "", line)
            if inner.lstrip().startswith("["):
                continue
            _take_line(block, inner.lstrip() if _KEY.match(inner.lstrip()) else inner,
                       commented=False, notes=block.notes)
            continue
        if match := _BLOCK_START.match(line):
            block = Section(current.table if current else match.group(1),
                            f"[{current.table if current else ''}] for {match.group(1).title()}")
            block.lines.append(line)
            if match.group(2):
                block.notes.append(match.group(2))
            sections.append(block)
            continue
        table = _TABLE.match(line) or _COMMENTED_TABLE.match(line)
        if table:
            previous = current
            current = Section(table.group(1), f"[{table.group(1)}]")
            if previous is not None and pending:
                # The comment just above a table is about it: its lines move along.
                moved = previous.lines[len(previous.lines) - len(pending):]
                del previous.lines[len(previous.lines) - len(pending):]
                current.lines.extend(moved)
            if line.startswith("#"):
                current.notes.append("Commented out in the example: an optional table.")
            current.notes.extend(pending)
            pending = []
            if table.group(2):
                current.notes.append(table.group(2))
            current.lines.append(line)
            sections.append(current)
            continue
        if current is None:
            if line.startswith("#"):
                intro.append(line.lstrip("# ").strip())
            continue
        current.lines.append(line)
        keys = len(current.keys)
        _take_line(current, line, commented=line.startswith("#"), notes=pending)
        if len(current.keys) > keys:
            # Notes since the last key introduce this one; notes after the last key of a
            # table may introduce the next table (a commented-out one), so they wait.
            current.notes.extend(pending)
            pending = []
    if current is not None:
        current.notes.extend(pending)
    for section in sections:
        while section.lines and not section.lines[-1].strip():
            section.lines.pop()
    return intro, sections


def _take_line(section: Section, line: str, *, commented: bool, notes: list[str]) -> None:
    """One line of a table: a key (set or commented out), a comment that continues the last
    key's, or a note about the keys that follow."""
    stripped = line.strip()
    if not stripped:
        return
    body = re.sub(r"^#\s?", "", stripped) if commented else stripped
    key = _KEY.match(body)
    if key and not body.startswith("#"):
        value, comment = _split_comment(key.group(2))
        section.keys.append(Key(key.group(1), value, commented, [comment] if comment else []))
        return
    continuation = stripped.startswith("#") and (
        not line.startswith("#") or re.match(r"^#\s{2,}#", line) is not None)
    if continuation and section.keys:
        section.keys[-1].doc.append(re.sub(r"^#(\s*#)?\s?", "", stripped))
        return
    notes.append(body.lstrip("# ").strip())


def _prose(text: str) -> str:
    """A comment as Markdown text: what would be markup (``<target>``, ``*/2``, ``[mirror]``)
    stays literal, except inside backticks, which the comments use for commands."""
    parts = re.split(r"(`[^`]*`)", text)
    for i in range(0, len(parts), 2):
        part = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts[i] = re.sub(r"([\\*_\[\]])", r"\\\1", part)
    return "".join(parts).replace("|", "\\|")


def _cell(words: list[str]) -> str:
    return _prose(" ".join(words)) or " "


def render_reference(text: str) -> str:
    """Markdown for every table of the example config: its notes, a table of its keys (the
    value the example sets, and what the comment says), and the example's own lines."""
    intro, sections = parse_example(text)
    out = [_prose(" ".join(intro)), ""]
    for section in sections:
        out += [f"### `{section.title.split(' ', 1)[0]}`"
                + (f" {section.title.split(' ', 1)[1]}" if " " in section.title else ""), ""]
        if section.notes:
            out += [_prose(" ".join(section.notes)), ""]
        if section.keys:
            out += ["| key | in the example | what it does |", "|---|---|---|"]
            for key in section.keys:
                value = f"`{key.value}`".replace("|", "\\|") if key.value else " "
                if key.commented:
                    value += " (commented out)"
                out.append(f"| `{key.name}` | {value} | {_cell(key.doc)} |")
            out.append("")
        out += ["```toml", *section.lines, "```", ""]
    return "\n".join(out)


def _site_links(markdown: str) -> str:
    """Links of README.md and CHANGELOG.md (at the repository's root) as links between the
    site's pages, where both are pages at the site's root."""
    markdown = re.sub(r"\]\(docs/", "](", markdown)
    return markdown.replace("](CHANGELOG.md", "](changelog.md")


def _page_links(markdown: str) -> str:
    """Links of a page in docs/ to README.md or CHANGELOG.md, which are right on GitHub, as
    links to the pages the site makes of them."""
    return markdown.replace("](../CHANGELOG.md", "](changelog.md").replace(
        "](../README.md", "](index.md")


# --- MkDocs hooks (MkDocs is imported only when it runs them) ---------------------------------


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for name, source, transform in (("index.md", "README.md", _site_links),
                                    ("changelog.md", "CHANGELOG.md", _site_links)):
        if files.get_file_from_path(name) is None:
            content = transform((ROOT / source).read_text(encoding="utf-8"))
            files.append(File.generated(config, name, content=content))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri == "configuration.md":
        if MARKER not in markdown:
            raise ValueError(f"configuration.md lost its {MARKER} line")
        markdown = markdown.replace(MARKER,
                                    render_reference(EXAMPLE.read_text(encoding="utf-8")))
    return _page_links(markdown)
