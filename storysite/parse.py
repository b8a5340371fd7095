"""The parse stage: every source file read, its front-matter checked and its Markdown rendered."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .errors import ContentError, Problem
from .markup import Rendered, render_markdown
from .schema import PageMeta, StoryMeta, page_meta, story_meta
from .sources import Document, Sources, read_document


@dataclass(frozen=True)
class ParsedStory:
    """A story file, checked and rendered, before the site decides its URL."""

    doc: Document
    meta: StoryMeta
    body: Rendered


@dataclass(frozen=True)
class ParsedPage:
    """A page file, checked and rendered."""

    doc: Document
    meta: PageMeta
    body: Rendered


def shown_path(path: Path, config: Config) -> str:
    """A path as messages show it: relative to the site folder when inside it."""
    return str(path.relative_to(config.root)) if path.is_relative_to(config.root) else str(path)


def parse_sources(sources: Sources, config: Config) -> tuple[list[ParsedStory], list[ParsedPage]]:
    """Parse every story and page; raise one ContentError listing every broken file."""
    problems: list[Problem] = []
    stories: list[ParsedStory] = []
    pages: list[ParsedPage] = []
    for path in sources.stories:
        try:
            doc = read_document(path, shown_path(path, config))
            stories.append(ParsedStory(doc, story_meta(doc, config), render_markdown(doc.body)))
        except ContentError as exc:
            problems.extend(exc.problems)
    for path in sources.pages:
        try:
            doc = read_document(path, shown_path(path, config))
            pages.append(ParsedPage(doc, page_meta(doc, config), render_markdown(doc.body)))
        except ContentError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ContentError(problems)
    return stories, pages
