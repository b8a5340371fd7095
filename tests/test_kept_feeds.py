"""A build with a cache keeps the feeds whose stories and heading did not change, and makes the others anew."""

from __future__ import annotations

import json
from pathlib import Path

from storysite.build import build_site
from storysite.cache import open_cache
from storysite.config import load_config
from tests.test_feeds import slug_of
from tests.test_page_records import (
    cold_build,
    files_of,
    site,  # noqa: F401 (a fixture)
)
from tests.test_relate_memo import front, rewrite


def written_feeds(root: Path) -> set[str]:
    """Build with the site's cache; return the feeds the build wrote."""
    with open_cache(root) as cache:
        result = build_site(load_config(root), cache=cache)
    return {path for path in result.written if path.endswith((".xml", ".json"))} - {"sitemap.xml"}


def test_a_cached_build_writes_again_exactly_the_feeds_whose_stories_changed(site: tuple[Path, list[Path]], tmp_path: Path) -> None:  # noqa: F811
    root, files = site
    out = root / "_site"
    every_feed = written_feeds(root)
    newest = slug_of(json.loads((out / "feed.json").read_text(encoding="utf-8"))["items"][0]["id"])
    holding = {path for path in every_feed if f":{newest}<" in (text := (out / path).read_text(encoding="utf-8")) or f':{newest}"' in text}
    assert "feed.json" in holding and holding < every_feed
    front(next(path for path in files if path.stem == newest), "title", '"A title the feeds must show"')
    assert written_feeds(root) == holding
    assert files_of(out) == cold_build(root, tmp_path / "cold")
    rewrite(root / "content/pages/about.md", lambda text: text + "More about us.\n")
    assert written_feeds(root) == set(), "a page no feed shows changed"
    assert files_of(out) == cold_build(root, tmp_path / "cold")
