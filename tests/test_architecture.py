"""The package layout keeps its promises: no import cycles, layers only import downwards, and only
``servers/photoprism/`` knows PhotoPrism (its client, URLs and JSON field names)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "ppsync"
PHOTOPRISM = SRC / "servers" / "photoprism"
IMMICH = SRC / "servers" / "immich"

# Lower numbers are lower layers; a module may import its own layer or below, never above.
LAYERS = {
    "cli": 5, "__main__": 5,
    "service": 4,
    "mirror": 3, "export": 3, "inbox": 3, "restore": 3,
    "first_run": 3,  # `ppsync init`: config + a server check, like a command of the engine
    "servers": 2, "state": 2,
}
TOP = 1  # config, errors, models, logs, redact, report, fsutil, lock, procs, progress
# What only the PhotoPrism adapter may say: its wire names, headers and URL paths.
PHOTOPRISM_WORDS = re.compile(
    r"""["'](FileUID|PhotoUID|UID|Hash|Files|Root|Primary|Sidecar|UpdatedAt|DeletedAt|TakenAt"""
    r"""|TitleSrc|CaptionSrc|X-Count|X-Limit|X-Download-Token|downloadToken"""
    r"""|/api/v1|/dl/|/photos|/albums|/files/|/import/|/batch/photos/archive)["'/]""")

IMMICH_WORDS = re.compile(
    r"""["'](originalFileName|livePhotoVideoId|x-api-key|/search/metadata|/assets/|nextPage"""
    r"""|withExif|updatedAfter|localDateTime)["'/]""")


def modules() -> dict[str, Path]:
    return {".".join(p.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in SRC.rglob("*.py")}


def imports(path: Path) -> set[str]:
    """Every ppsync module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ppsync"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("ppsync"))
    return found


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], TOP) if len(parts) > 1 else TOP


def test_no_import_cycles() -> None:
    names = modules()
    graph = {m: {i for i in imports(p) if i in names and i != m} for m, p in names.items()}
    graph = {m: {i for i in deps if not m.startswith(i + ".")} for m, deps in graph.items()}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join(
                [*path[path.index(module):], module]))
        if module in done:
            return
        for dep in sorted(graph[module]):
            visit(dep, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_layers_import_only_downwards() -> None:
    wrong = [f"{m} (layer {layer(m)}) imports {i} (layer {layer(i)})"
             for m, p in modules().items() for i in imports(p) if layer(i) > layer(m)]
    assert wrong == []


def test_only_the_photoprism_adapter_knows_photoprism() -> None:
    outside = {m: p for m, p in modules().items() if not p.is_relative_to(PHOTOPRISM)}
    importers = [m for m, p in outside.items()
                 if any(i.startswith("ppsync.servers.photoprism") for i in imports(p))]
    assert importers == ["ppsync.servers"]  # open_server, importing the adapter lazily
    # Immich shares some URL paths (/albums): its own adapter may say them.
    words = [f"{p.relative_to(SRC)}:{n}: {line.strip()}" for p in outside.values()
             if not p.is_relative_to(IMMICH)
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if PHOTOPRISM_WORDS.search(line)]
    assert words == []


def test_only_the_immich_adapter_knows_immich() -> None:
    outside = {m: p for m, p in modules().items() if not p.is_relative_to(IMMICH)}
    importers = [m for m, p in outside.items()
                 if any(i.startswith("ppsync.servers.immich") for i in imports(p))]
    assert importers == ["ppsync.servers"]  # open_server, importing the adapter lazily
    words = [f"{p.relative_to(SRC)}:{n}: {line.strip()}" for p in outside.values()
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if IMMICH_WORDS.search(line)]
    assert words == []


def test_the_grep_would_catch_a_field_name() -> None:
    assert PHOTOPRISM_WORDS.search('uid = row.get("FileUID")')
    assert PHOTOPRISM_WORDS.search("params = {'/photos': 1}")
    assert not PHOTOPRISM_WORDS.search("the file key of a photo")
