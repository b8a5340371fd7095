"""The parse stage: every source file read, its front-matter checked and its Markdown rendered."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from .cache import BuildCache, content_key, version_scope
from .config import Config
from .errors import ContentError, Problem, shown_path
from .markup import MARKDOWN_ENGINE, Rendered, render_markdown
from .parallel import Mapper, pool
from .schema import PageFrontMatter, StoryFrontMatter, page_meta, story_meta
from .sources import Document, Sources, read_document
from .stages import Advance, no_progress


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
    sources: Sources, config: Config, advance: Advance = no_progress, cache: BuildCache | None = None
) -> tuple[list[ParsedStory], list[ParsedPage]]:
    """Parse every story and page; raise one ContentError listing every broken file.

    Markdown already converted in an earlier build comes from the build cache; the rest of a large
    site is parsed on every core (`jobs` in the config). The result is the same either way.
    """
    entries = [(path, True) for path in sources.stories] + [(path, False) for path in sources.pages]
    with pool(config.jobs, len(entries)) as map_each:
        checked = map_each(partial(_read_checked, config), entries, no_progress)
        problems = [problem for result in checked if isinstance(result, list) for problem in result]
        if problems:
            raise ContentError(problems)
        heads = [result for result in checked if not isinstance(result, list)]
        bodies = _markdown([doc.body for doc, _ in heads], cache, map_each, advance)
    stories = [ParsedStory(doc, meta, body) for (doc, meta), body in zip(heads, bodies) if isinstance(meta, StoryFrontMatter)]
    pages = [ParsedPage(doc, meta, body) for (doc, meta), body in zip(heads, bodies) if isinstance(meta, PageFrontMatter)]
    return stories, pages


def _read_checked(config: Config, entry: tuple[Path, bool]) -> tuple[Document, StoryFrontMatter | PageFrontMatter] | list[Problem]:
    """A file read and its front-matter checked, or what is wrong with it (problems cross processes, exceptions do not)."""
    path, is_story = entry
    try:
        doc = read_document(path, shown_path(path, config.root))
        return doc, story_meta(doc, config) if is_story else page_meta(doc, config)
    except ContentError as exc:
        return exc.problems


def _markdown(texts: list[str], cache: BuildCache | None, map_each: Mapper[str, Rendered], advance: Advance) -> list[Rendered]:
    """Each body as HTML: from the build cache when it has it, else converted (and remembered)."""
    if cache is None or not cache.enabled:
        return map_each(render_markdown, texts, advance)
    cache.namespace("markdown", version_scope(MARKDOWN_ENGINE))
    keys = [content_key(text) for text in texts]
    found: list[Rendered | None] = [_decoded(cache.get("markdown", key)) for key in keys]
    advance(sum(result is not None for result in found))
    missing = [index for index, result in enumerate(found) if result is None]
    for index, result in zip(missing, map_each(render_markdown, [texts[i] for i in missing], advance)):
        found[index] = result
        cache.put("markdown", keys[index], [result.html, result.first_paragraph, result.word_count])
    return [result for result in found if result is not None]


def _decoded(value: object) -> Rendered | None:
    """A cached value back as Rendered; anything of another shape counts as missing."""
    if isinstance(value, list) and len(value) == 3:
        html, first_paragraph, word_count = value
        if isinstance(html, str) and isinstance(first_paragraph, str) and isinstance(word_count, int):
            return Rendered(html, first_paragraph, word_count)
    return None
