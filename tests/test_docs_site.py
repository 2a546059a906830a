"""The docs site: README.md is a front page whose commands are true, every page of docs/ is in
the nav, the configuration page is rendered from config.example.toml and covers every key of
the settings model, and `mkdocs build --strict` passes (and fails on a broken link or a page
left out of the nav) where MkDocs is installed (`pip install -e '.[docs]'`)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from pydantic import BaseModel

from ppsync.config import ServerConfig, Settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
HAS_MKDOCS = (importlib.util.find_spec("mkdocs") is not None
              and importlib.util.find_spec("material") is not None)
NEEDS_MKDOCS = pytest.mark.skipif(not HAS_MKDOCS, reason="MkDocs Material is not installed "
                                  "(pip install -e '.[docs]')")


def load_hooks(root: Path = ROOT) -> ModuleType:
    """docs/hooks/site.py, the file mkdocs.yml names, as a module (no MkDocs needed)."""
    name = f"ppsync_docs_hooks_{abs(hash(root))}"
    spec = importlib.util.spec_from_file_location(name, root / "docs" / "hooks" / "site.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def section_models() -> dict[str, type[BaseModel]]:
    """Each table of the config and the model of its keys, from the settings model itself."""
    models: dict[str, type[BaseModel]] = {}
    for name, info in Settings.model_fields.items():
        model = info.annotation
        if name == "servers":  # dict[str, ServerConfig]: [servers.<name>]
            model = ServerConfig
        assert isinstance(model, type) and issubclass(model, BaseModel), name
        models[name] = model
    return models


def uncovered_keys(example: str) -> list[str]:
    """Every key of the settings model that the page rendered from ``example`` has no row
    for, as ``table.key``. [server]'s keys count wherever a server is described ([server],
    its Immich variant, [servers.<name>]), since [servers.<name>] takes "the same keys"."""
    hooks = load_hooks()
    page = hooks.render_reference(example)
    _, sections = hooks.parse_example(example)
    documented: dict[str, set[str]] = {}
    for section in sections:
        table = "servers" if section.table.startswith("servers.") else section.table
        documented.setdefault(table, set()).update(key.name for key in section.keys)
    documented["server"] = documented.get("server", set()) | documented.get("servers", set())
    missing = []
    for table, model in section_models().items():
        if table == "servers":
            if "servers" not in documented:
                missing.append("servers.<name>")
            keys = documented.get("server", set())
        else:
            keys = documented.get(table, set())
        for key in model.model_fields:
            if key not in keys or f"| `{key}` |" not in page:
                missing.append(f"{table}.{key}")
    return missing


# --- the configuration page ----------------------------------------------------------------


def test_the_configuration_page_covers_every_key_of_the_settings_model():
    assert uncovered_keys((ROOT / "config.example.toml").read_text()) == []


def test_a_key_left_out_of_the_example_config_is_named():
    example = (ROOT / "config.example.toml").read_text()
    without = re.sub(r"^(# ?)?require_mount = .*\n", "", example, flags=re.M)
    assert without != example
    assert uncovered_keys(without) == ["mirror.require_mount"]
    without_fresh = "\n".join(line for line in example.splitlines()
                              if not line.startswith("# [servers."))
    assert "servers.<name>" in uncovered_keys(without_fresh)


def test_the_reference_renders_notes_keys_comments_and_alternatives():
    example = """\
# The file's header.
[server]                          # which server
url = "http://h:1"                # its address
#                                 # (more about the address)
# token = ""                      # optional, commented out
# A note about the keys that follow.
retries = 5

# >>> immich: an alternative block
# [server]
# api_key = ""                    # a key
#  api_key_file = ""
# <<< immich

[mirror]
target = "/srv/m"                 # must exist: <target> is never created, */2 | keep
# The next table is optional:
# [servers.fresh]
# url = "https://x"
"""
    hooks = load_hooks()
    intro, sections = hooks.parse_example(example)
    assert intro == ["The file's header."]
    assert [(s.table, s.title) for s in sections] == [
        ("server", "[server]"), ("server", "[server] for Immich"), ("mirror", "[mirror]"),
        ("servers.fresh", "[servers.fresh]")]
    server, immich, mirror, fresh = sections
    assert [(k.name, k.value, k.commented) for k in server.keys] == [
        ("url", '"http://h:1"', False), ("token", '""', True), ("retries", "5", False)]
    assert server.keys[0].doc == ["its address", "(more about the address)"]
    assert server.notes == ["which server", "A note about the keys that follow."]
    assert [k.name for k in immich.keys] == ["api_key", "api_key_file"]
    assert immich.notes == ["an alternative block"]
    assert fresh.notes[-1] == "The next table is optional:"
    assert "# The next table is optional:" not in mirror.lines  # it moved with its table
    page = hooks.render_reference(example)
    assert "### `[server]` for Immich" in page
    # Markup in a comment stays literal: no HTML tag, no emphasis, no extra table column.
    assert ("| `target` | `\"/srv/m\"` | must exist: &lt;target&gt; is never created, \\*/2 "
            "\\| keep |") in page
    assert "| `token` | `\"\"` (commented out) | optional, commented out |" in page
    assert '```toml\n[mirror]\ntarget = "/srv/m"' in page  # the example's own lines


# --- README.md, the front page ---------------------------------------------------------------


def code_after(heading: str) -> str:
    """The first code block in README.md's section ``heading``."""
    text = README.read_text()
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)\n```", section, re.S)
    assert match, heading
    return match.group(1)


def test_readme_is_a_front_page_with_a_quick_start_per_kind():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    headings = re.findall(r"^## (.*)$", text, re.M)
    for needed in ("Install and run one sync", "Run the tests", "Quick start: PhotoPrism",
                   "Quick start: Immich", "Documentation"):
        assert needed in headings
    assert "ppsync init" in text
    for link in re.findall(r"\]\(((?:docs/|CHANGELOG)[^)#]*)", text):
        assert (ROOT / link).exists(), link


def test_the_readme_test_command_is_what_ci_runs():
    command = code_after("Run the tests")
    assert command == ("python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && "
                       ".venv/bin/python -m pytest -q")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "python3 -m venv .venv" in ci
    installs = [line for line in ci if re.match(r"^\.venv/bin/pip install .*-e '\.\[", line)]
    assert installs and "test" in re.search(r"\[([\w,]+)\]", installs[0]).group(1).split(",")
    assert "docs" in re.search(r"\[([\w,]+)\]", installs[0]).group(1).split(",")
    assert ".venv/bin/python -m pytest -q" in ci
    assert any(line.startswith("NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict ")
               for line in ci)


def test_the_readme_install_and_run_command_names_a_real_command(tmp_path: Path):
    command = code_after("Install and run one sync")
    assert command == ("python3 -m venv .venv && .venv/bin/pip install . && "
                       ".venv/bin/ppsync --config ppsync.toml sync")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^ppsync = "ppsync\.__main__:entry"', pyproject, re.M)
    # The same arguments reach the same command: a config that is not there is one clear line.
    result = subprocess.run([sys.executable, "-m", "ppsync", "--config", "ppsync.toml", "sync"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "config file ppsync.toml does not exist" in result.stderr
    assert "Traceback" not in result.stderr


# --- the site --------------------------------------------------------------------------------


def nav_pages(config: dict) -> set[str]:
    pages: set[str] = set()

    def walk(items: list) -> None:
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                walk(value)
            else:
                pages.add(value)

    walk(config["nav"])
    return pages


def test_every_page_is_in_the_nav_and_every_nav_entry_is_a_page():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    generated = {"index.md", "changelog.md"}  # README.md and CHANGELOG.md, by the hook
    assert nav_pages(config) == on_disk | generated
    assert config["hooks"] == ["docs/hooks/site.py"]
    assert (DOCS / "images" / "status-page.png").is_file()
    assert "](images/status-page.png)" in (DOCS / "monitoring.md").read_text()


def test_troubleshooting_names_every_exit_code():
    from ppsync.report import EXIT_MEANINGS

    page = (DOCS / "troubleshooting.md").read_text()
    for code in EXIT_MEANINGS:
        assert re.search(rf"^## Exit {code}\b", page, re.M), code


def build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(site)], cwd=root, capture_output=True, text=True, timeout=300,
                          env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})


@NEEDS_MKDOCS
def test_the_site_builds_strict(tmp_path: Path):
    result = build(ROOT, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "site" / "configuration" / "index.html").read_text()
    for table, model in section_models().items():
        if table != "servers":
            assert f'id="{table}"' in config
            for key in model.model_fields:
                assert f"<code>{key}</code>" in config, (table, key)
    index = (tmp_path / "site" / "index.html").read_text()
    assert "Quick start: Immich" in index and 'href="running/"' in index
    assert "Earlier figures" in (tmp_path / "site" / "changelog" / "index.html").read_text()


def copy_of_the_docs(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(DOCS, root / "docs")
    for name in ("mkdocs.yml", "README.md", "CHANGELOG.md", "config.example.toml"):
        shutil.copy(ROOT / name, root / name)
    return root


@NEEDS_MKDOCS
def test_a_broken_link_an_unknown_anchor_or_a_page_left_out_of_the_nav_fails_the_build(
        tmp_path: Path):
    root = copy_of_the_docs(tmp_path)
    assert build(root, tmp_path / "ok").returncode == 0
    safety = root / "docs" / "safety.md"
    original = safety.read_text()
    for broken, says in (("[gone](nowhere.md)", "nowhere.md"),
                         ("[gone](running.md#no-such-heading)", "no-such-heading")):
        safety.write_text(original + f"\n{broken}\n")
        result = build(root, tmp_path / "broken")
        assert result.returncode != 0 and says in result.stderr, result.stderr
    safety.write_text(original)
    (root / "docs" / "orphan.md").write_text("# Not in the nav\n")
    result = build(root, tmp_path / "orphan")
    assert result.returncode != 0 and "orphan.md" in result.stderr, result.stderr
