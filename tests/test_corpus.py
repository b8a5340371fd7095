"""The benchmark corpus generator: deterministic, and the sites it writes build."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.corpus import TOPICS, generate, write_site

from .conftest import build


def test_same_seed_same_corpus_other_seed_other_corpus() -> None:
    assert generate(40, seed=3) == generate(40, seed=3)
    assert generate(40, seed=3) != generate(40, seed=4)


def test_stories_have_hidden_topics_and_several_paragraphs() -> None:
    stories = generate(200)
    assert {story.topic for story in stories} <= set(range(TOPICS))
    assert len({story.topic for story in stories}) > TOPICS // 2
    assert len({story.slug for story in stories}) == len(stories)
    for story in stories:
        assert 250 <= len(story.body.split()) <= 700
        assert story.body.count("\n\n") >= 4


def test_written_site_builds_with_every_story(tmp_path: Path) -> None:
    stories = write_site(tmp_path / "bench", 30, seed=1)
    _, result = build(tmp_path / "bench")
    assert result.stories == 30
    assert result.warnings == ()
    topics = json.loads((tmp_path / "bench" / "topics.json").read_text(encoding="utf-8"))
    assert topics == {story.slug: story.topic for story in stories}
    assert (tmp_path / "bench" / "_site" / "stories" / stories[0].slug / "index.html").is_file()
