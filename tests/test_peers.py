"""The peer benchmark's setup, without the peers: the Eleventy site it writes, and its tables when a
peer cannot run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

from benchmarks import peers
from benchmarks.peers import Run, report, tools, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("peers") / "corpus"
    write_corpus(root, 12, seed=1)
    return root


def _front_matter(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}, text
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front) or {}, body


def test_eleventy_reads_storysites_story_files_as_they_are(corpus: Path) -> None:
    ours = sorted((corpus / "storysite" / "content" / "stories").glob("*.md"))
    theirs = sorted((corpus / "eleventy" / "src" / "stories").glob("*.md"))
    assert len(ours) == 12
    assert [p.name for p in theirs] == [p.name for p in ours]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(ours, theirs, strict=True))
    assert (corpus / "eleventy" / "node_modules").resolve() == (peers.ELEVENTY / "node_modules").resolve()
    assert not (corpus / "eleventy" / "package.json").exists()


def test_eleventy_templates_parse_and_make_every_kind_of_page(corpus: Path) -> None:
    source = corpus / "eleventy" / "src"
    templates = sorted(source.rglob("*.njk"))
    permalinks = {}
    for template in templates:
        front, body = _front_matter(template)
        # Nunjucks and Jinja share this syntax: a template Jinja cannot parse is broken for Eleventy too.
        jinja2.Environment().parse(body)
        if "permalink" in front:
            jinja2.Environment().parse(front["permalink"])
            permalinks[template.name] = front
    assert {"index.njk", "term.njk", "taxonomy.njk", "archive.njk"} <= set(permalinks)
    assert permalinks["index.njk"]["pagination"]["data"] == "collections.stories"
    assert permalinks["term.njk"]["pagination"]["data"] == "collections.terms"
    assert (source / "stories" / "stories.11tydata.json").is_file()


def test_eleventy_config_is_valid_javascript(corpus: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no Node.js here")
    checked = subprocess.run([node, "--check", str(corpus / "eleventy" / "eleventy.config.mjs")],
                             check=False, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_without_npm_eleventy_is_not_measured_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peers.shutil, "which", lambda name: None)
    chosen, missing = tools(None, lambda name: name in {"storysite", "eleventy"})
    assert [tool.name for tool in chosen] == ["storysite"]
    assert "npm" in missing["eleventy"]
    chosen, missing = tools(None, lambda name: name != "eleventy")
    assert "eleventy" not in missing
    assert "eleventy" not in [tool.name for tool in chosen]


def test_a_peer_not_measured_gets_a_row_and_no_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    runs = {scenario: Run(2.0, 3.0, 100.0, 40) for scenario in peers.SCENARIOS}
    results = {"storysite": runs, "hugo": {scenario: Run(4.0, 4.0, 300.0, 42) for scenario in peers.SCENARIOS}}
    report(1000, results, 1, {"eleventy": "no Node.js and npm on this machine"}, {"hugo": "Hugo without related content"})
    out = capsys.readouterr().out
    tables = [[[cell.strip() for cell in line.strip("|").split("|")] for line in block.splitlines() if line.startswith("|")]
              for block in out.split("\n\n") if block.startswith("|")]
    figures, ratios = tables
    assert [row[:2] for row in figures[2:]] == [["storysite", s] for s in peers.SCENARIOS] + [
        ["hugo", s] for s in peers.SCENARIOS] + [["eleventy", "-"]]
    assert [row[0] for row in ratios[2:]] == ["hugo"]
    assert [float(cell) for cell in ratios[2][1:]] == [0.5, 0.5, 0.5]
    assert "eleventy was not measured: no Node.js and npm on this machine." in out
    assert "hugo: Hugo without related content." in out


def test_what_a_cold_build_starts_without_is_set_aside_not_deleted(tmp_path: Path) -> None:
    # Deleted files would make the next build slower on some disks: they wait in one folder for the end.
    aside = tmp_path / "set-aside"
    root = tmp_path / "corpus"
    write_corpus(root, 3, seed=1)
    (root / "storysite" / "_site").mkdir()
    (root / "storysite" / "_site" / "index.html").write_text("old", encoding="utf-8")
    (root / "hugo" / ".hugo_build.lock").write_text("", encoding="utf-8")
    peers.set_aside(root / "storysite" / "_site", aside)
    peers.set_aside(root / "hugo" / ".hugo_build.lock", aside)
    peers.set_aside(root / "storysite" / "not-there", aside)
    assert not (root / "storysite" / "_site").exists() and not (root / "hugo" / ".hugo_build.lock").exists()
    assert sorted(p.name for p in aside.iterdir()) == ["0-_site", "1-.hugo_build.lock"]
    assert (aside / "0-_site" / "index.html").read_text(encoding="utf-8") == "old"
    write_corpus(root, 3, seed=2, aside=aside)  # the earlier corpus goes aside whole
    assert (aside / "2-corpus" / "storysite" / "content" / "stories").is_dir()
    assert len(list((root / "storysite" / "content" / "stories").glob("*.md"))) == 3
