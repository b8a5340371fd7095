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
from .parsed_files import ParsedFiles
from .schema import PageFrontMatter, StoryFrontMatter, page_meta, story_meta
from .sources import Document, Sources, read_document
from .stages import Advance, no_progress
from .textvec import TextTerms, html_text, text_terms


@dataclass(frozen=True)
class ParsedStory:
    """A story file, checked and rendered, before the site decides its URL."""

    doc: Document
    meta: StoryFrontMatter
    body: Rendered
    terms: TextTerms | None = None
    """The term counts of its title, summary and body HTML, when this build converted its Markdown."""


@dataclass(frozen=True)
class ParsedPage:
    """A page file, checked and rendered."""

    doc: Document
    meta: PageFrontMatter
    body: Rendered


Checked = tuple[Document, StoryFrontMatter | PageFrontMatter]
_Job = tuple[str, tuple[str, str | None] | None]
"""A body to convert, with a story's title and summary (None for a page)."""
_Converted = tuple[Rendered, TextTerms | None]


def parse_sources(
    sources: Sources, config: Config, advance: Advance = no_progress, cache: BuildCache | None = None
) -> tuple[list[ParsedStory], list[ParsedPage]]:
    """Parse every story and page; raise one ContentError listing every broken file.

    A file unchanged since an earlier build is not read again, Markdown already converted in an
    earlier build comes from the build cache, and the rest of a large site is parsed on every core
    (`jobs` in the config). The result is the same either way.
    """
    entries = [(path, True) for path in sources.stories] + [(path, False) for path in sources.pages]
    remembered = ParsedFiles(cache, config.root)
    recalled = remembered.recall([path for path, _ in entries])
    fresh = [entry for entry in entries if entry[0] not in recalled]
    with pool(config.jobs, len(fresh)) as map_each:
        read = dict(zip([path for path, _ in fresh], map_each(partial(_read_checked, config), fresh, no_progress)))
        checked = {path: read[path] if path in read else _checked(config, recalled[path][0], is_story) for path, is_story in entries}
        problems = [problem for result in checked.values() if isinstance(result, list) for problem in result]
        if problems:
            raise ContentError(problems)
        advance(len(recalled))
        good = {path: result for path, result in checked.items() if not isinstance(result, list)}
        heads = [good[path] for path, _ in fresh]
        converted = _markdown(heads, cache, map_each, advance)
    for (doc, _), (body, _) in zip(heads, converted):
        remembered.remember(doc, body)
    bodies: dict[Path, _Converted] = {path: (body, None) for path, (_, body) in recalled.items()}
    bodies.update((doc.path, result) for (doc, _), result in zip(heads, converted))
    stories, pages = [], []
    for path, _ in entries:
        doc, meta = good[path]
        body, terms = bodies[path]
        if isinstance(meta, StoryFrontMatter):
            stories.append(ParsedStory(doc, meta, body, terms))
        else:
            pages.append(ParsedPage(doc, meta, body))
    return stories, pages


def _read_checked(config: Config, entry: tuple[Path, bool]) -> Checked | list[Problem]:
    """A file read and its front-matter checked, or what is wrong with it (problems cross processes, exceptions do not)."""
    path, is_story = entry
    try:
        doc = read_document(path, shown_path(path, config.root))
    except ContentError as exc:
        return exc.problems
    return _checked(config, doc, is_story)


def _checked(config: Config, doc: Document, is_story: bool) -> Checked | list[Problem]:
    """A document with its front-matter checked, or what is wrong with it."""
    try:
        return doc, story_meta(doc, config) if is_story else page_meta(doc, config)
    except ContentError as exc:
        return exc.problems


def _markdown(heads: list[Checked], cache: BuildCache | None, map_each: Mapper[_Job, _Converted], advance: Advance) -> list[_Converted]:
    """Each body as HTML: from the build cache when it has it, else converted (and remembered)."""
    jobs = [(doc.body, (meta.title, meta.summary) if isinstance(meta, StoryFrontMatter) else None) for doc, meta in heads]
    if cache is None or not cache.enabled:
        return map_each(_converted, jobs, advance)
    cache.namespace("markdown", version_scope(MARKDOWN_ENGINE))
    keys = [content_key(doc.body) for doc, _ in heads]
    stored = cache.get_many("markdown", keys)
    found: list[_Converted | None] = [None] * len(keys)
    for index, key in enumerate(keys):
        body = _decoded(stored.get(key))
        found[index] = None if body is None else (body, None)
    advance(sum(result is not None for result in found))
    missing = [index for index, result in enumerate(found) if result is None]
    for index, result in zip(missing, map_each(_converted, [jobs[i] for i in missing], advance)):
        found[index] = result
        body = result[0]
        cache.put("markdown", keys[index], [body.html, body.first_paragraph, body.word_count])
    return [result for result in found if result is not None]


def _converted(job: _Job) -> _Converted:
    """A body as HTML; for a story also the term counts of its text, as relating stories counts them."""
    text, story = job
    body = render_markdown(text)
    if story is None:
        return body, None
    title, summary = story
    return body, text_terms(title, summary or body.first_paragraph, html_text(body.html))
def _decoded(value: object) -> Rendered | None:
    """A cached value back as Rendered; anything of another shape counts as missing."""
    if isinstance(value, list) and len(value) == 3:
        html, first_paragraph, word_count = value
        if isinstance(html, str) and isinstance(first_paragraph, str) and isinstance(word_count, int):
            return Rendered(html, first_paragraph, word_count)
    return None
