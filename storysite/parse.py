"""The parse stage: every source file read, its front-matter checked and its Markdown rendered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .cache import BuildCache, version_scope
from .config import Config
from .errors import ContentError, Problem, shown_path
from .markup import MARKDOWN_ENGINE, Rendered, render_markdown
from .schema import PageFrontMatter, StoryFrontMatter, page_meta, story_meta
from .sources import Document, Sources, read_document
from .stages import Advance, no_progress

T = TypeVar("T")


@dataclass(frozen=True)
class ParsedStory:
    """A story file, checked and rendered, before the site decides its URL."""

    doc: Document
    meta: StoryFrontMatter
    body: Rendered


@dataclass(frozen=True)
class ParsedPage:
    """A page file, checked and rendered."""

    doc: Document
    meta: PageFrontMatter
    body: Rendered


def parse_sources(
    sources: Sources, config: Config, advance: Advance = no_progress, markdown: Callable[[str], Rendered] = render_markdown
) -> tuple[list[ParsedStory], list[ParsedPage]]:
    """Parse every story and page; raise one ContentError listing every broken file.

    `markdown` converts a body; a build passes one that remembers results in the build cache.
    """
    problems: list[Problem] = []
    stories = _parse_each(sources.stories, config, problems, lambda d: ParsedStory(d, story_meta(d, config), markdown(d.body)))
    advance(len(sources.stories))
    pages = _parse_each(sources.pages, config, problems, lambda d: ParsedPage(d, page_meta(d, config), markdown(d.body)))
    advance(len(sources.pages))
    if problems:
        raise ContentError(problems)
    return stories, pages


def _parse_each(paths: Sequence[Path], config: Config, problems: list[Problem], parse: Callable[[Document], T]) -> list[T]:
    parsed = []
    for path in paths:
        try:
            parsed.append(parse(read_document(path, shown_path(path, config.root))))
        except ContentError as exc:
            problems.extend(exc.problems)
    return parsed


def cached_markdown(cache: BuildCache) -> Callable[[str], Rendered]:
    """render_markdown, remembered in the build cache by the hash of the body."""
    cache.namespace("markdown", version_scope(MARKDOWN_ENGINE))
    return cache.memo(
        "markdown",
        render_markdown,
        lambda r: [r.html, r.first_paragraph, r.word_count],
        lambda v: Rendered(str(v[0]), str(v[1]), int(v[2])),
    )
