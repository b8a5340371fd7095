"""Rebuilds that take unchanged stories as the last build assembled them: the same site model, pages and warnings as a cold build."""

from __future__ import annotations

import sqlite3
from dataclasses import fields, is_dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from storysite import build as build_module
from storysite.build import build_site
from storysite.cache import CACHE_DIR, CACHE_FILE, open_cache
from storysite.config import load_config
from storysite.errors import Problem
from storysite.kept_stories import KeptStories
from storysite.model import Site

from .conftest import story
from .test_parsed_files import fixed_now, no_margin, rewrite, snapshot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("fixed_now", "no_margin")

RICH = """\
---
title: "Rich: front-matter"
date: 2025-01-05T09:30:00
updated: 2025-01-06
niche: starting-a-business
audience: [first-time-founders, marketers]
tags: [Coffee Beans, 2025]
summary: 'A summary with "quotes"'
cover: photo.jpg
weight: 1.5
series: {name: Basics, part: 2, since: 2024-12-01, steps: [one, {two: 2024-12-02T10:00:00Z}]}
---
A body with a [link](../two.md), a [dead one](../nowhere.md) and a ![photo](photo.jpg).
"""

SITE = {
    "storysite.yaml": "title: Kept stories\nbase_url: https://example.org/blog/\ntimezone: Asia/Jakarta\nniches:\n  starting-a-business: {}\n",
    "content/stories/rich/index.md": RICH,
    "content/stories/rich/photo.jpg": "not really a photo",
    "content/stories/two.md": story(title="Two", date="2025-01-02", body="Second story.\n"),
    "content/stories/three.md": story(title="Three", date="2025-01-03", body="Third story, see [two](two.md).\n", niche="elsewhere"),
    "content/pages/about.md": "---\ntitle: About\n---\nWho we are, see [three](../stories/three.md).\n",
}


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The slugs of the stories a build takes as the last build assembled them."""
    slugs: list[str] = []
    real = KeptStories.take

    def counting(self: KeptStories, kept: Any, ref: Any) -> Any:
        slugs.append(kept.slug)
        return real(self, kept, ref)

    monkeypatch.setattr(KeptStories, "take", counting)
    return slugs


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Site, list[Problem]]]:
    """The site model and warnings each build assembles."""
    made: list[tuple[Site, list[Problem]]] = []
    real = build_module.assemble_site

    def keeping(*args: Any, **kwargs: Any) -> tuple[Site, list[Problem]]:
        result = real(*args, **kwargs)
        made.append(result)
        return result

    monkeypatch.setattr(build_module, "assemble_site", keeping)
    return made


def build(root: Path, out: Path | None = None, cache: bool = True) -> tuple[dict[str, bytes], tuple[Problem, ...]]:
    config = load_config(root, jobs=1, output_dir=out)
    with open_cache(root, enabled=cache) as opened:
        result = build_site(config, cache=opened)
    return snapshot(config.output_dir), result.warnings


def assert_same(old: Any, new: Any, where: str = "site") -> None:
    """Equal values of the same types all the way down (a dict where a mapping proxy was is a difference)."""
    assert type(old) is type(new), f"{where}: {type(old).__name__} != {type(new).__name__}"
    if is_dataclass(old):
        for field in fields(old):
            assert_same(getattr(old, field.name), getattr(new, field.name), f"{where}.{field.name}")
    elif isinstance(old, (tuple, list)):
        assert len(old) == len(new), where
        for index, (a, b) in enumerate(zip(old, new)):
            assert_same(a, b, f"{where}[{index}]")
    elif isinstance(old, (dict, MappingProxyType)):
        assert list(old) == list(new), where
        for key in old:
            assert_same(old[key], new[key], f"{where}[{key!r}]")
    else:
        assert old == new, where


def edit_two(root: Path) -> None:
    rewrite(root / "content/stories/two.md", story(title="Two", date="2025-01-02", body="Second story, edited.\n"))


def test_stories_taken_as_they_were_make_the_site_a_cold_build_makes(scratch_site, tmp_path: Path, taken: list[str], models: list) -> None:
    root = scratch_site(SITE)
    build(root)
    assert taken == []
    edit_two(root)
    built, warnings = build(root)
    assert sorted(taken) == ["rich", "three"]
    cold, cold_warnings = build(root, tmp_path / "cold", cache=False)
    assert built == cold
    assert warnings == cold_warnings
    assert [str(w) for w in warnings if "../nowhere.md" in str(w) or "elsewhere" in str(w)], "the kept stories' warnings are given again"
    assert_same(models[2][0].stories, models[1][0].stories)
    assert_same(models[2][0].info, models[1][0].info)


def test_a_story_whose_link_target_moved_is_assembled_again(scratch_site, tmp_path: Path, taken: list[str]) -> None:
    root = scratch_site(SITE)
    build(root)
    rewrite(root / "content/stories/two.md", story(title="Two", date="2025-01-02", slug="second", body="Second story.\n"))
    built, warnings = build(root)
    assert sorted(taken) == [], "both stories that link to two.md read its URL"
    assert 'href="/blog/stories/second/"' in built["stories/three/index.html"].decode()
    assert (built, warnings) == build(root, tmp_path / "cold", cache=False)


def test_a_dead_link_that_comes_alive(scratch_site, tmp_path: Path, taken: list[str]) -> None:
    root = scratch_site(SITE)
    _, warnings = build(root)
    assert any("../nowhere.md" in str(w) for w in warnings)
    (root / "content/stories/nowhere.md").write_text(story(title="Nowhere", date="2025-01-01", body="Here now.\n"), encoding="utf-8")
    built, warnings = build(root)
    assert "rich" not in taken
    assert not any("../nowhere.md" in str(w) for w in warnings)
    assert 'href="/blog/stories/nowhere/"' in built["stories/rich/index.html"].decode()
    assert (built, warnings) == build(root, tmp_path / "cold", cache=False)


def test_a_tag_title_first_met_in_another_file(scratch_site, tmp_path: Path, taken: list[str]) -> None:
    root = scratch_site(SITE)
    build(root)
    # Sorted before rich/index.md, it now gives the tag its title.
    (root / "content/stories/a-first.md").write_text(
        story(title="First", date="2025-01-01", tags="[coffee beans]", body="First.\n"), encoding="utf-8"
    )
    built, warnings = build(root)
    assert "rich" in taken
    page = built["stories/rich/index.html"].decode()
    assert ">coffee beans<" in page and ">Coffee Beans<" not in page
    assert (built, warnings) == build(root, tmp_path / "cold", cache=False)


def test_a_damaged_kept_story_is_not_trusted(scratch_site, tmp_path: Path, taken: list[str]) -> None:
    root = scratch_site(SITE)
    build(root)
    with sqlite3.connect(root / CACHE_DIR / CACHE_FILE) as db:
        db.execute("UPDATE entries SET value = CAST(replace(CAST(value AS TEXT), 'Third', 'Stale') AS BLOB) WHERE namespace = 'kept-stories'")
    db.close()
    edit_two(root)
    built, warnings = build(root)
    assert sorted(taken) == ["rich"]
    assert "Stale" not in built["stories/three/index.html"].decode()
    assert (built, warnings) == build(root, tmp_path / "cold", cache=False)


def test_files_saved_moments_before_the_build_are_not_kept(scratch_site, monkeypatch: pytest.MonkeyPatch, taken: list[str]) -> None:
    monkeypatch.setattr("storysite.parsed_files.MARGIN_NS", 3 * 10**9)
    root = scratch_site(SITE)
    build(root)
    edit_two(root)
    build(root)
    assert taken == []
