"""The parse stage: every source file read, its front-matter checked and its Markdown rendered."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .cache import BuildCache, content_key
from .config import Config
from .errors import ContentError, Problem, shown_path
from .markup import Rendered, render_markdown
from .parallel import fork_map
from .parsed_files import MARKDOWN, ParsedFiles, store_body, stored_bodies
from .schema import PageFrontMatter, StoryFrontMatter, page_meta, story_meta
from .sources import Document, Sources, read_document
from .stages import Advance, no_progress
from .textvec import html_text, packed_terms, text_terms


@dataclass(frozen=True)
class ParsedStory:
    """A story file, checked and rendered, before the site decides its URL."""

    doc: Document
    meta: StoryFrontMatter
    body: Rendered
    terms: bytes | None = None
    """The term counts of its title, summary and body HTML, when this build converted its Markdown.

    Marshalled (`textvec.packed_terms`): one object for each story rather than hundreds of small ones
    that, freed among the parse stage's lasting objects, would leave memory in pieces."""
    key: str = ""
    """The key of its Markdown in the build cache ("" without a cache)."""


@dataclass(frozen=True)
class ParsedPage:
    """A page file, checked and rendered."""

    doc: Document
    meta: PageFrontMatter
    body: Rendered


Checked = tuple[Document, StoryFrontMatter | PageFrontMatter]
_Converted = tuple[Rendered, bytes | None]
_Read = tuple[Document, StoryFrontMatter | PageFrontMatter, str, _Converted | None]
"""A file read and checked, with the key of its body and what it converts to (None: the cache has that)."""


def parse_sources(
    sources: Sources, config: Config, advance: Advance = no_progress, cache: BuildCache | None = None
) -> tuple[list[ParsedStory], list[ParsedPage]]:
    """Parse every story and page; raise one ContentError listing every broken file.

    A file unchanged since an earlier build is not read again, Markdown already converted in an
    earlier build comes from the build cache, and the rest of a large site is parsed on every core
    (`jobs` in the config). The result is the same either way.
    """
    entries = [(path, True) for path in sources.stories] + [(path, False) for path in sources.pages]
    remembered = ParsedFiles(cache, config)
    recalled = remembered.recall([path for path, _ in entries])
    advance(len(recalled))
    fresh = [entry for entry in entries if entry[0] not in recalled]
    cached = cache if cache is not None and cache.enabled else None
    converted_before = cached.keys(MARKDOWN) if cached is not None else frozenset()

    def store(index: int, result: _Read | list[Problem]) -> None:
        """Keep in the cache what a worker (or this process) just converted, while other files are still parsed."""
        if cached is None or isinstance(result, list):
            return
        doc, meta, key, converted = result
        if converted is not None:
            store_body(cached, key, converted[0])
            remembered.remember(doc, meta if isinstance(meta, StoryFrontMatter) else None, converted[0], key)

    # Forked workers inherit what they need: only what they read and made travels back.
    read = fork_map(
        lambda index: _read_file(config, fresh[index], converted_before, cached is not None), len(fresh), config.jobs, advance, store
    )
    results: dict[Path, _Read | list[Problem]] = dict(zip((path for path, _ in fresh), read))
    for path, is_story in entries:
        if path in recalled:
            doc, remembered_meta, body, _ = recalled[path]
            checked = (doc, remembered_meta) if remembered_meta is not None else _checked(config, doc, is_story)
            results[path] = checked if isinstance(checked, list) else (*checked, "", (body, None))
    problems = [problem for path, _ in entries if isinstance(result := results[path], list) for problem in result]
    if problems:
        raise ContentError(problems)
    parsed = {path: result for path, result in results.items() if not isinstance(result, list)}
    bodies = _bodies(parsed, cached)
    for path, _ in fresh:
        doc, checked_meta, key, converted = parsed[path]
        if converted is None:  # its Markdown came from the cache (`store` remembered the others)
            remembered.remember(doc, checked_meta if isinstance(checked_meta, StoryFrontMatter) else None, bodies[path][0], key)
    for path in remembered.unsettled_before:
        doc, remembered_meta, body, key = recalled[path]
        remembered.remember(doc, remembered_meta, body, key)
    stories, pages = [], []
    for path, _ in entries:
        doc, meta, key, _ = parsed[path]
        body, terms = bodies[path]
        if isinstance(meta, StoryFrontMatter):
            stories.append(ParsedStory(doc, meta, body, terms, key or (recalled[path][3] if path in recalled else "")))
        else:
            pages.append(ParsedPage(doc, meta, body))
    return stories, pages


def _read_file(config: Config, entry: tuple[Path, bool], converted_before: frozenset[str], keyed: bool) -> _Read | list[Problem]:
    """A file read, checked and converted (unless the cache has its body's HTML), or what is wrong with it."""
    path, is_story = entry
    try:
        doc = read_document(path, shown_path(path, config.root))
    except ContentError as exc:
        return exc.problems
    checked = _checked(config, doc, is_story)
    if isinstance(checked, list):
        return checked
    key = content_key(doc.body) if keyed else ""
    return doc, checked[1], key, None if key in converted_before else _converted(doc, checked[1])


def _checked(config: Config, doc: Document, is_story: bool) -> Checked | list[Problem]:
    """A document with its front-matter checked, or what is wrong with it."""
    try:
        return doc, story_meta(doc, config) if is_story else page_meta(doc, config)
    except ContentError as exc:
        return exc.problems


def _bodies(parsed: dict[Path, _Read], cache: BuildCache | None) -> dict[Path, _Converted]:
    """Each file's HTML (and a story's term counts): as converted now, else from the build cache.

    Those converted as they were read are in the cache already; one it fails to give back is converted here and stored.
    """
    keys = [key for _, _, key, converted in parsed.values() if key and converted is None]
    stored = stored_bodies(cache, keys) if cache is not None and keys else {}
    if cache is not None:
        cache.count_misses(sum(1 for _, _, key, converted in parsed.values() if key and converted is not None))
    bodies: dict[Path, _Converted] = {}
    for path, (doc, meta, key, converted) in parsed.items():
        if converted is not None:
            bodies[path] = converted
            continue
        body = stored.get(key)
        converted = (body, None) if body is not None else _converted(doc, meta)
        if cache is not None and key and key not in stored:
            store_body(cache, key, converted[0])
        bodies[path] = converted
    return bodies


def _converted(doc: Document, meta: StoryFrontMatter | PageFrontMatter) -> _Converted:
    """A body as HTML; for a story also the term counts of its text, as relating stories counts them."""
    body = render_markdown(doc.body)
    if not isinstance(meta, StoryFrontMatter):
        return body, None
    return body, packed_terms(text_terms(meta.title, meta.summary or body.first_paragraph, html_text(body.html)))

