"""The preview's related stories: brought up to date after each kind of save, always what a full relate gives."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.corpus import write_site
from storysite.assemble import assemble_site
from storysite.config import Config, load_config
from storysite.incremental import ModelMemo
from storysite.model import Site
from storysite.parse import parse_sources
from storysite.relate import relate_stories
from storysite.relate_memo import RelateMemo
from storysite.sources import discover

NOW = dt.datetime(2035, 1, 1, tzinfo=dt.timezone.utc)


def built_model(config: Config) -> Site:
    stories, pages = parse_sources(discover(config.content_dir), config)
    site, _ = assemble_site(config, discover(config.content_dir), stories, pages, NOW)
    return site


def rewrite(path: Path, change: Callable[[str], str]) -> None:
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")


def front(path: Path, key: str, value: str) -> None:
    """Set a front-matter key of a story file."""
    rewrite(path, lambda text: re.sub(rf"^{key}: .*$", f"{key}: {value}", text, count=1, flags=re.MULTILINE)
            if re.search(rf"^{key}: ", text, re.MULTILINE) else text.replace("---\n", f"---\n{key}: {value}\n", 1))


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, list[Path]]:
    root = tmp_path / "site"
    write_site(root, 90, seed=5)
    return root, sorted((root / "content/stories").glob("*.md"))


def edits(root: Path, files: list[Path]) -> list[tuple[str, Callable[[], None]]]:
    """Saves a writer makes, in order; each leaves a site that builds."""
    first, second, third, fourth = files[3], files[10], files[20], files[30]
    extra = root / "content/stories/added-story.md"
    return [
        ("more words in a body", lambda: rewrite(first, lambda t: t + "\nMore about the market and the cooperative.\n")),
        ("a new word in one story", lambda: rewrite(second, lambda t: t + "\nZanzibarite quokkas.\n")),
        ("the new word in a second story", lambda: rewrite(third, lambda t: t + "\nThe zanzibarite again.\n")),
        ("words taken out", lambda: rewrite(first, lambda t: t.rsplit("\n\n", 2)[0] + "\n")),
        ("other tags", lambda: front(second, "tags", "[community, trust, brand-new-tag]")),
        ("other audiences", lambda: front(third, "audience", "[investors]")),
        ("another niche", lambda: front(fourth, "niche", "money-and-pricing")),
        ("a pinned story", lambda: front(fourth, "related", f"[{second.stem}, not-yet-written]")),
        ("the newest date", lambda: front(first, "date", "2034-12-31")),
        ("a date in the future", lambda: front(third, "date", "2036-01-01")),
        ("a story added", lambda: extra.write_text(files[0].read_text(encoding="utf-8").replace("title:", "slug: not-yet-written\ntitle:", 1), encoding="utf-8")),
        ("the added story edited", lambda: rewrite(extra, lambda t: t + "\nZanzibarite quokkas everywhere.\n")),
        ("a slug changed", lambda: front(second, "slug", "renamed-story")),
        ("a story deleted", lambda: files[50].unlink()),
        ("a title", lambda: front(files[60], "title", '"Quokkas of the cooperative market"')),
    ]


@pytest.mark.parametrize("kept_objects", [False, True], ids=["new objects", "unchanged stories kept as objects"])
def test_incremental_relate_equals_a_full_relate_after_every_save(corpus: tuple[Path, list[Path]], kept_objects: bool) -> None:
    root, files = corpus
    config = load_config(root, future=True)
    memo = RelateMemo()
    model = ModelMemo()

    def site_model(config: Config) -> Site:
        site = built_model(config)
        return model.same_objects(site) if kept_objects else site

    site = site_model(config)
    assert memo.relate(site.stories, config, NOW, lambda stories: {}) == relate_stories(site.stories, config, NOW)
    for name, edit in edits(root, files):
        edit()
        site = site_model(config)
        full = relate_stories(site.stories, config, NOW)
        assert memo.relate(site.stories, config, NOW, lambda stories: {}) == full, f"after {name}"
        assert any(full.by_slug.values())


def test_a_body_edit_reranks_only_the_stories_it_can_reach(corpus: tuple[Path, list[Path]]) -> None:
    root, files = corpus
    config = load_config(root)
    memo = RelateMemo()
    memo.relate(built_model(config).stories, config, NOW, lambda stories: {})
    assert memo.reranked == len(files)
    rewrite(files[7], lambda t: t + "\n" + t.rsplit("\n\n", 1)[1])  # its last paragraph again: its own words weigh more
    stories = built_model(config).stories
    assert memo.relate(stories, config, NOW, lambda stories: {}) == relate_stories(stories, config, NOW)
    assert 1 <= memo.reranked < len(files) // 2


def test_changed_settings_start_afresh(corpus: tuple[Path, list[Path]]) -> None:
    root, _ = corpus
    memo = RelateMemo()
    config = load_config(root)
    memo.relate(built_model(config).stories, config, NOW, lambda stories: {})
    (root / "storysite.yaml").write_text((root / "storysite.yaml").read_text() + "related:\n  count: 2\n  weights: {text: 3}\n")
    config = load_config(root)
    stories = built_model(config).stories
    assert memo.relate(stories, config, NOW, lambda stories: {}) == relate_stories(stories, config, NOW)
    assert memo.reranked == len(stories)
