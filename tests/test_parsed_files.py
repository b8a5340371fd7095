"""Rebuilds with the build cache: a file unchanged since the last build is not read again, an edited one always is."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from storysite import parse
from storysite.build import build_site
from storysite.cache import CACHE_DIR, CACHE_FILE, open_cache
from storysite.cli import main
from storysite.config import load_config
from storysite.parse import parse_sources
from storysite.sources import Document, discover

from .conftest import story

RICH_FRONT_MATTER = """\
---
title: "Rich: front-matter"
date: 2025-01-05T09:30:00+07:00
updated: 2025-01-06
niche: starting-a-business
audience: [first-time-founders, marketers]
tags: [trust, 2025]
summary: 'A summary with "quotes" and ‘curly’ ones'
draft: false
weight: 1.5
nothing: null
series: {name: Basics, part: 2, since: 2024-12-01, steps: [one, {two: 2024-12-02T10:00:00Z}]}
---
A body with a [link](two.md) and *emphasis*.
"""

SITE = {
    "storysite.yaml": "title: Parsed files\nbase_url: https://example.org/\n",
    "content/stories/one.md": RICH_FRONT_MATTER,
    "content/stories/two.md": story(title="Two", date="2025-01-02", body="Second story, same words.\n"),
    "content/stories/three.md": story(title="Three", date="2025-01-03", body="Third story.\n", blob="!!binary aGVsbG8="),
    "content/stories/four.md": story(title="Four", date="2025-01-04", body="Fourth story.\n", kinds="!!set {a, b}"),
    "content/pages/about.md": "---\ntitle: About\n---\nWho we are.\n",
}


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")


@pytest.fixture
def no_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust the times of files written a moment ago (a test cannot wait for them to settle)."""
    monkeypatch.setattr("storysite.parsed_files.MARGIN_NS", 0)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the source files the parse stage reads."""
    read: list[str] = []
    real = parse.read_document

    def counting(path: Path, shown: str):  # type: ignore[no-untyped-def]
        read.append(path.name)
        return real(path, shown)

    monkeypatch.setattr(parse, "read_document", counting)
    return read


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def cached_build(root: Path) -> dict[str, bytes]:
    config = load_config(root, jobs=1)
    with open_cache(root) as cache:
        build_site(config, cache=cache)
    return snapshot(config.output_dir)


def cold_build(root: Path, out: Path) -> dict[str, bytes]:
    result = CliRunner().invoke(main, ["build", "-s", str(root), "--no-cache", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return snapshot(out)


def rewrite(path: Path, text: str, same_times: bool = False) -> None:
    """Write a file; with same_times, put its old access and modification times back."""
    before = path.stat()
    path.write_text(text, encoding="utf-8")
    if same_times:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_an_unchanged_file_is_not_read_again(scratch_site, tmp_path: Path, no_margin: None, reads: list[str]) -> None:
    root = scratch_site(SITE)
    cached_build(root)
    assert sorted(reads) == ["about.md", "four.md", "one.md", "three.md", "two.md"]
    reads.clear()
    rewrite(root / "content/stories/two.md", story(title="Two", date="2025-01-02", body="Second story, new words.\n"))
    built = cached_build(root)
    # Front-matter JSON cannot carry exactly (a set, bytes) is read each time.
    assert sorted(reads) == ["four.md", "three.md", "two.md"]
    assert "new words" in built["stories/two/index.html"].decode()
    assert built == cold_build(root, tmp_path / "cold")


def test_a_remembered_file_parses_to_what_reading_it_gives(scratch_site, no_margin: None) -> None:
    root = scratch_site(SITE)
    config = load_config(root, jobs=1)
    with open_cache(root) as cache:
        read_stories, read_pages = parse_sources(discover(config.content_dir), config, cache=cache)
    with open_cache(root) as cache:
        stories, pages = parse_sources(discover(config.content_dir), config, cache=cache)
    # The Markdown itself is not remembered (nothing after the parse stage reads it): a remembered
    # file's document is the one read but for its body.
    def as_remembered(doc: Document) -> Document:
        return replace(doc, body="", body_unread=True)

    assert [s.doc.path.name for s in stories if s.doc.body_unread] == ["one.md", "two.md"], "three and four are read again"
    assert [replace(page, doc=as_remembered(page.doc)) for page in read_pages] == pages
    assert [(as_remembered(r.doc) if s.doc.body_unread else r.doc, r.meta, r.body) for r, s in zip(read_stories, stories)] == [
        (s.doc, s.meta, s.body) for s in stories
    ]
    rich = next(s.doc.meta for s in stories if s.doc.path.name == "one.md")
    assert rich["series"]["steps"][1]["two"].utcoffset() is not None and type(rich["weight"]) is float
    assert [type(s.doc.meta["date"]) for s in stories] == [type(s.doc.meta["date"]) for s in read_stories]


def test_an_edit_that_keeps_size_and_modification_time_is_read(scratch_site, tmp_path: Path, no_margin: None, reads: list[str]) -> None:
    root = scratch_site(SITE)
    path = root / "content/stories/two.md"
    cached_build(root)
    reads.clear()
    old = path.read_text(encoding="utf-8")
    new = old.replace("same words", "SAME WORDS")
    assert len(new) == len(old)
    rewrite(path, new, same_times=True)
    built = cached_build(root)
    assert "two.md" in reads
    assert "SAME WORDS" in built["stories/two/index.html"].decode()
    assert built == cold_build(root, tmp_path / "cold")


def test_files_saved_moments_before_a_build_are_compared_by_their_bytes(scratch_site, tmp_path: Path, reads: list[str]) -> None:
    root = scratch_site(SITE)
    cached_build(root)
    rewrite(root / "content/pages/about.md", "---\ntitle: About us\n---\nWho we are.\n")
    reads.clear()
    built = cached_build(root)
    assert sorted(reads) == ["about.md", "four.md", "three.md"], "the others' bytes are as they were"
    assert built == cold_build(root, tmp_path / "cold")


def test_an_edit_a_coarse_file_system_cannot_see_is_caught_by_the_bytes(
    scratch_site, tmp_path: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Neither status-change times nor inodes, and modification times to 2 s: a same-size edit within
    # those 2 s keeps the signature.
    monkeypatch.setattr("storysite.parsed_files.file_signature", lambda status: [status.st_size, status.st_mtime_ns // 2_000_000_000])
    root = scratch_site(SITE)
    path = root / "content/stories/two.md"
    cached_build(root)
    old = path.read_text(encoding="utf-8")
    rewrite(path, old.replace("same words", "SAME WORDS"), same_times=True)
    reads.clear()
    built = cached_build(root)
    assert sorted(reads) == ["four.md", "three.md", "two.md"]
    assert "SAME WORDS" in built["stories/two/index.html"].decode()
    assert built == cold_build(root, tmp_path / "cold")


def test_a_damaged_record_is_read_again_not_trusted(scratch_site, tmp_path: Path, no_margin: None, reads: list[str]) -> None:
    root = scratch_site(SITE)
    built = _rebuilt_after(root, reads, "UPDATE entries SET value = CAST(replace(CAST(value AS TEXT), 'Second', 'Stale!') AS BLOB) WHERE namespace IN ('parsed-files', 'kept-stories', 'markdown')")
    assert "two.md" in reads
    assert "Stale!" not in built["stories/two/index.html"].decode()
    assert built == cold_build(root, tmp_path / "cold")


def test_a_file_whose_converted_markdown_is_gone_is_read_again(scratch_site, tmp_path: Path, no_margin: None, reads: list[str]) -> None:
    root = scratch_site(SITE)
    # The record of each file is there, the HTML it names is not (a damaged entry is dropped so).
    built = _rebuilt_after(root, reads, "DELETE FROM entries WHERE namespace IN ('markdown', 'kept-stories')")
    assert sorted(reads) == ["about.md", "four.md", "one.md", "three.md", "two.md"]
    assert built == cold_build(root, tmp_path / "cold")


def test_a_story_dated_in_the_site_time_zone_is_remembered_as_it_was_checked(scratch_site, no_margin: None) -> None:
    root = scratch_site({**SITE, "storysite.yaml": SITE["storysite.yaml"] + "timezone: Asia/Jakarta\nauthor: Sari\n"})
    config = load_config(root, jobs=1)
    with open_cache(root) as cache:
        read_stories, _ = parse_sources(discover(config.content_dir), config, cache=cache)
    with open_cache(root) as cache:
        stories, _ = parse_sources(discover(config.content_dir), config, cache=cache)
    assert [s.meta for s in stories] == [s.meta for s in read_stories]
    assert {str(s.meta.date.tzinfo) for s in stories} == {"Asia/Jakarta", "UTC+07:00"}
    assert {s.meta.author for s in stories} == {"Sari"}


def test_markdown_of_files_not_read_stays_cached_for_when_their_times_change(
    scratch_site, tmp_path: Path, no_margin: None, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = scratch_site(SITE)
    cached_build(root)
    rewrite(root / "content/stories/two.md", story(title="Two", date="2025-01-02", body="Second story, new words.\n"))
    cached_build(root)
    converted: list[str] = []
    real = parse.render_markdown
    monkeypatch.setattr(parse, "render_markdown", lambda text: converted.append(text) or real(text))
    for path in (root / "content").rglob("*.md"):
        os.utime(path)  # as a checkout or a copy leaves files: new times, same bytes
    reads.clear()
    built = cached_build(root)
    assert len(reads) == 5 and converted == [], "every file read again, no body converted again"
    assert built == cold_build(root, tmp_path / "cold")


def test_a_remembered_file_names_the_line_of_a_dead_link_as_a_read_one_does(scratch_site, no_margin: None, caplog: pytest.LogCaptureFixture) -> None:
    root = scratch_site({**SITE, "content/stories/two.md": story(title="Two", date="2025-01-02", body="Words.\n\nSee [gone](gone.md).\n")})
    text = (root / "content/stories/two.md").read_text(encoding="utf-8")
    line = text[: text.index("[gone]")].count("\n") + 1
    warnings = []
    for edit in ("", "An edit of another story.\n"):
        rewrite(root / "content/stories/one.md", RICH_FRONT_MATTER + edit)
        caplog.clear()
        cached_build(root)
        warnings.append([record.getMessage() for record in caplog.records if "gone.md" in record.getMessage()])
    config = load_config(root, jobs=1)
    with open_cache(root) as cache:
        stories, _ = parse_sources(discover(config.content_dir), config, cache=cache)
    assert next(s.doc for s in stories if s.doc.path.name == "two.md").body_unread, "the second build did not read it again"
    expected = (
        f"content/stories/two.md:{line}: link to 'gone.md' matches no published story, page or file"
        " (check the file name; a link to a story is its file name, e.g. other-story.md)"
    )
    assert warnings[0] == warnings[1] == [expected]


def _rebuilt_after(root: Path, reads: list[str], damage: str) -> dict[str, bytes]:
    """Build, change the cache by the SQL statement `damage`, edit another story, build again: the pages."""
    cached_build(root)
    with sqlite3.connect(root / CACHE_DIR / CACHE_FILE) as db:
        db.execute(damage)
    db.close()
    rewrite(root / "content/stories/four.md", story(title="Four", date="2025-01-04", body="Fourth story, edited.\n"))
    reads.clear()
    return cached_build(root)
