"""Builds with a cache keep pages the last build left: after every kind of edit, the output equals a cold build's."""

from __future__ import annotations

import logging
import marshal
import re
import shutil
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.corpus import write_site
from storysite import page_records, page_store, parallel
from storysite.build import build_site
from storysite.cache import CACHE_DIR, CACHE_FILE, open_cache
from storysite.config import load_config
from tests.test_relate_memo import front, rewrite


def files_of(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def cached_build(root: Path, **overrides: object) -> int:
    """Build with the site's cache, as `storysite build` does; return how many pages were rendered."""
    config = load_config(root, **overrides)
    with open_cache(config.root) as cache:
        result = build_site(config, cache=cache)
    return len([path for path in result.written if path.endswith(".html")])


def cold_build(root: Path, out: Path, **overrides: object) -> dict[str, bytes]:
    shutil.rmtree(out, ignore_errors=True)
    config = load_config(root, output_dir=out, **overrides)
    build_site(config)
    return files_of(out)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[Path]]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "2051337600")  # 2035
    root = tmp_path / "site"
    write_site(root, 40, seed=7)
    theme = root / "themes/house"
    (theme / "i18n").mkdir(parents=True)
    (theme / "templates").mkdir()
    (theme / "theme.yaml").write_text("extends: default\n", encoding="utf-8")
    (theme / "i18n/en.yaml").write_text('related_stories: "Read next"\n', encoding="utf-8")
    (root / "templates").mkdir()
    (root / "templates/404.html").write_text(
        '{% extends "default/404.html" %}\n', encoding="utf-8")
    rewrite(root / "storysite.yaml", lambda text: text + "theme: house\npaginate: 4\n")
    (root / "content/pages").mkdir()
    (root / "content/pages/about.md").write_text("---\ntitle: About us\nmenu: true\n---\nWho we are.\n", encoding="utf-8")
    return root, sorted((root / "content/stories").glob("*.md"))


def edits(root: Path, files: list[Path], out: Path) -> list[tuple[str, Callable[[], None]]]:
    """What a writer (or a user of the output folder) does between builds; each leaves a site that builds."""
    first, second, third, fourth = files[3], files[10], files[20], files[30]
    added = root / "content/stories/added-story.md"
    cache = root / CACHE_DIR / CACHE_FILE
    records = root / CACHE_DIR / page_store.RECORDS_FILE
    title = re.search(r"^title: (.*)$", second.read_text(encoding="utf-8"), re.MULTILINE).group(1)  # type: ignore[union-attr]
    return [
        ("a paragraph added to a body", lambda: rewrite(first, lambda t: t + "\nMore about the market and the cooperative.\n")),
        ("a title", lambda: front(second, "title", '"Quokkas of the cooperative market"')),
        ("the title as it was before (the pages that show it recorded it anew)", lambda: front(second, "title", title)),
        ("a summary", lambda: front(third, "summary", '"A short word on what this is about."')),
        ("a date that moves a story to another index page", lambda: front(fourth, "date", "2034-12-31")),
        ("a date it was updated", lambda: front(third, "updated", "2034-12-30")),
        ("another niche", lambda: front(first, "niche", "money-and-pricing")),
        ("other audiences", lambda: front(second, "audience", "[investors, designers]")),
        ("other tags", lambda: front(third, "tags", "[community, trust, brand-new-tag]")),
        ("a linked story's audiences and tags in another order (its relations as they were)", lambda: _reorder_linked(root, out)),
        ("a story added", lambda: added.write_text(
            files[0].read_text(encoding="utf-8").replace("title:", "slug: not-yet-written\ntitle:", 1), encoding="utf-8")),
        ("a story deleted", lambda: files[25].unlink()),
        ("a story made a draft", lambda: front(files[12], "draft", "true")),
        ("a page's body", lambda: rewrite(root / "content/pages/about.md", lambda t: t + "\nAnd where to find us.\n")),
        ("a page added to the menu", lambda: (root / "content/pages/contact.md").write_text(
            "---\ntitle: Contact\nmenu: true\nweight: 2\n---\nWrite to us.\n", encoding="utf-8")),
        ("a page's title in the menu", lambda: front(root / "content/pages/about.md", "title", "Who we are")),
        ("a pinned related story", lambda: front(fourth, "related", f"[{second.stem}, not-yet-written]")),
        ("a slug", lambda: front(files[15], "slug", "renamed-story")),
        ("two linked stories' slugs swapped", lambda: _swap_slugs(root, out)),
        ("a template", lambda: rewrite(root / "templates/404.html", lambda t: t + "<!-- changed -->\n")),
        ("a new template", lambda: (root / "templates/story.html").write_text(
            '{% extends "default/story.html" %}\n{% block content %}<p>{{ story.word_count }}</p>{{ super() }}{% endblock %}\n',
            encoding="utf-8")),
        ("a template that shows related stories' scores", lambda: (root / "templates/story.html").write_text(
            '{% extends "default/story.html" %}\n{% block content %}{{ super() }}'
            '{% for link in related %}<p>{{ link.score|round(4) }} {{ link.components }}</p>{% endfor %}{% endblock %}\n',
            encoding="utf-8")),
        ("a body that moves scores, shown", lambda: rewrite(third, lambda t: t + "\nThe market of the cooperative, again.\n")),
        ("a linked story's audiences and tags in another order, scores shown", lambda: _reorder_linked(root, out)),
        ("a UI string", lambda: rewrite(root / "themes/house/i18n/en.yaml", lambda t: t.replace("Read next", "Read on"))),
        ("a setting", lambda: rewrite(root / "storysite.yaml", lambda t: t.replace("paginate: 4", "paginate: 5"))),
        ("the site's title", lambda: rewrite(root / "storysite.yaml", lambda t: re.sub(r"^title: .*$", "title: Other", t, flags=re.MULTILINE))),
        ("an output page deleted", lambda: next((out / "stories").rglob("index.html")).unlink()),
        ("an output page changed by hand", lambda: rewrite(out / "index.html", lambda t: t.replace("<main", "<main data-x='1'"))),
        ("an output page replaced by another of the same size", lambda: _swap(out / "archive" / "index.html")),
        ("the cache deleted", lambda: shutil.rmtree(root / CACHE_DIR)),
        ("the cache corrupted", lambda: cache.write_bytes(b"not a database" * 100)),
        ("the page records damaged, and a body", lambda: (_damage(records), _add_line(first))),
        ("page records whose columns do not fit each other, and a body", lambda: (_unfit(records), _add_line(second))),
        ("a body again, with the cache rebuilt", lambda: rewrite(fourth, lambda t: t + "\nA last word.\n")),
    ]


def _reorder_linked(root: Path, out: Path) -> None:
    """Reverse the audiences and tags of a story that a related link's reasons name two of (which only its page shows)."""
    for page in sorted((out / "stories").rglob("index.html")):
        text = page.read_text(encoding="utf-8")
        found = re.search(r'<a href="[^"]*/stories/([^/"]+)/"[^>]*>[^<]*</a> <small class="reasons">[^<]*, ', text)
        source = _sources(root).get(found.group(1)) if found else None
        if source is not None:
            text = source.read_text(encoding="utf-8")
            for key in ("audience", "tags"):
                listed = re.search(rf"^{key}: \[(.*)\]$", text, re.MULTILINE)
                if listed:
                    front(source, key, "[" + ", ".join(reversed(listed.group(1).split(", "))) + "]")
            return
    raise AssertionError("no related link names two audiences or tags")


def _sources(root: Path) -> dict[str, Path]:
    """Each story's source file by its slug."""
    found = {}
    for source in (root / "content/stories").glob("*.md"):
        slug = re.search(r"^slug: (.*)$", source.read_text(encoding="utf-8"), re.MULTILINE)
        found[slug.group(1) if slug else source.stem] = source
    return found


def _swap_slugs(root: Path, out: Path) -> None:
    """Give two stories that a story page links to each other's slug."""
    for page in sorted((out / "stories").rglob("index.html")):
        linked = re.findall(r'<a href="[^"]*/stories/([^/"]+)/"[^>]*>[^<]*</a> <small class="reasons">', page.read_text(encoding="utf-8"))
        by_slug = _sources(root)
        if len(linked) >= 2 and linked[0] in by_slug and linked[1] in by_slug:
            front(by_slug[linked[0]], "slug", linked[1])
            front(by_slug[linked[1]], "slug", linked[0])
            return
    raise AssertionError("no story page links to two stories")


def _add_line(story: Path) -> None:
    rewrite(story, lambda t: t + "\nOne more line.\n")


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _unfit(path: Path) -> None:
    """Leave out the file status of the last page recorded, under a checksum that matches."""
    value = list(marshal.loads(path.read_bytes()[4:]))
    value[-4] = value[-4][: -8 * page_store.STATUS]
    body = marshal.dumps(tuple(value))
    path.write_bytes(zlib.crc32(body).to_bytes(4, "little") + body)


def _swap(path: Path) -> None:
    data = path.read_bytes()
    path.unlink()
    path.write_bytes(data.replace(b"<main", b"<niam", 1))


@pytest.mark.parametrize("forked", [False, True], ids=["in this process", "in forked workers, tables compacted"])
def test_a_cached_build_after_each_edit_equals_a_cold_build(
    site: tuple[Path, list[Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: bool
) -> None:
    root, files = site
    overrides: dict[str, object] = {}
    if forked:
        monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
        monkeypatch.setattr(page_records, "SLACK", 0)
        overrides["jobs"] = 2
    out = root / "_site"
    cached_build(root, **overrides)
    for what, edit in edits(root, files, out):
        edit()
        cached_build(root, **overrides)
        assert files_of(out) == cold_build(root, tmp_path / "cold", **overrides), f"after {what}"


def test_an_edited_body_renders_only_the_pages_that_show_it(
    site: tuple[Path, list[Path]], caplog: pytest.LogCaptureFixture
) -> None:
    root, files = site
    cached_build(root)
    rewrite(files[3], lambda t: t + "\nMore about the market and the cooperative.\n")
    with caplog.at_level(logging.DEBUG, logger="storysite.render"):
        cached_build(root)
    kept, rendered = map(int, re.findall(r"kept (\d+) pages as the last build left them, rendered (\d+)", caplog.text)[-1])
    pages = len([path for path in (root / "_site").rglob("*.html")])
    assert kept + rendered == pages
    assert 1 <= rendered <= 4  # its own page, and those that show its reading time or date


def test_a_changed_setting_renders_every_page(site: tuple[Path, list[Path]], caplog: pytest.LogCaptureFixture) -> None:
    root, _ = site
    cached_build(root)
    with caplog.at_level(logging.DEBUG, logger="storysite.render"):
        config = load_config(root, future=True)  # a changed setting: nothing the last build recorded holds
        with open_cache(config.root) as cache:
            build_site(config, cache=cache)
    assert re.search(r"kept 0 pages as the last build left them", caplog.text)


def test_records_are_of_one_output_folder(site: tuple[Path, list[Path]], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root, files = site
    other = tmp_path / "other"
    cached_build(root)
    rewrite(files[3], lambda t: t + "\nMore about the market and the cooperative.\n")
    with caplog.at_level(logging.DEBUG, logger="storysite.render"):
        cached_build(root, output_dir=other)  # the records are of _site/: every page renders
        assert re.findall(r"kept (\d+) pages as the last build left them", caplog.text)[-1] == "0"
        assert files_of(other) == cold_build(root, tmp_path / "cold")
        cached_build(root)
        assert re.findall(r"kept (\d+) pages as the last build left them", caplog.text)[-1] == "0"
    assert files_of(root / "_site") == files_of(other)
