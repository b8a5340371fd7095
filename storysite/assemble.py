"""The site-model stage: choose what is published, decide every URL, group stories by term."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Config, FeedsConfig, TermInfo
from .errors import ContentError, Problem
from .links import resolve_ref, rewrite_links
from .model import (
    Asset,
    FeedLink,
    MenuItem,
    Page,
    Site,
    SiteInfo,
    Story,
    Term,
    TermRef,
    reading_minutes,
)
from .parse import ParsedPage, ParsedStory
from .sources import Sources, line_of
from .urls import SiteUrls, expand_permalink, safe_site_path, slugify, term_path

if TYPE_CHECKING:
    from .kept_stories import KeptStories

# Feed formats: the name readers know and the media type for <link rel="alternate">.
FEED_TYPES = {
    "rss": ("RSS", "application/rss+xml"),
    "atom": ("Atom", "application/atom+xml"),
    "json": ("JSON Feed", "application/feed+json"),
}


def is_published(meta_draft: bool, date: dt.datetime | None, config: Config, now: dt.datetime) -> bool:
    """Drafts and future-dated entries are left out unless the build asks for them."""
    if meta_draft and not config.drafts:
        return False
    return config.future or date is None or date <= now


@dataclass(frozen=True)
class AssembledStory:
    """A story of the site model, with what assembling it read besides its file and what it found."""

    story: Story
    names: tuple[str, tuple[str, ...], tuple[str, ...]]
    """Its niche, audiences and tags as its front-matter names them."""
    removed: tuple[Problem, ...]
    """Control characters removed from its file."""
    warnings: tuple[Problem, ...]
    """An undeclared niche or audience, dead links, a missing cover."""
    lookups: tuple[tuple[Path, str | None], ...] = ()
    """Each link target it looked for, with the URL found there (None: nothing), when asked to record them."""


def assemble_site(
    config: Config,
    sources: Sources,
    parsed_stories: list[ParsedStory],
    parsed_pages: list[ParsedPage],
    now: dt.datetime,
    kept: KeptStories | None = None,
) -> tuple[Site, list[Problem]]:
    """Build the site model; return it with the warnings found (errors under `strict`).

    With `kept`, the stories it holds (files that did not change, which `parsed_stories` then leaves
    out) are taken as the last build assembled them, unless a link target one of them looked for
    changed: those are parsed again. Each story assembled here is noted in `kept`.
    """
    urls = SiteUrls(config.base_url)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    published = {p.doc.path: p for p in parsed_stories if is_published(p.meta.draft, p.meta.date, config, now)}
    held = {path: k for path, k in kept.stories.items() if is_published(k.draft, k.date, config, now)} if kept else {}
    order = [path for path in sources.stories if path in published or path in held] if held else list(published)
    pages = [p for p in parsed_pages if is_published(p.meta.draft, None, config, now)]
    problems += _duplicates(
        (p.meta.slug, p.doc.shown, p.doc.lines.get("slug", 1)) if (p := published.get(path)) is not None
        else (held[path].slug, held[path].shown, held[path].slug_line)
        for path in order
    )
    problems += _duplicates((p.meta.slug, p.doc.shown, p.doc.lines.get("slug", 1)) for p in pages)

    # Every entry's site path, by source file: the one place where URLs of content are decided.
    site_paths = {p.doc.path: _story_path(p, config) for p in published.values()}
    site_paths.update({path: k.path for path, k in held.items()})
    site_paths.update({p.doc.path: f"{p.meta.slug}/" for p in pages})
    entries: list[ParsedStory | ParsedPage] = [*published.values(), *pages]
    for entry in entries:
        if not safe_site_path(site_paths[entry.doc.path]):
            problems.append(
                Problem(entry.doc.shown, entry.doc.lines.get("slug", 1), f"'{site_paths[entry.doc.path]}' leaves the output folder")
            )
    if problems:
        raise ContentError(problems)

    assets = _assets(sources, config, site_paths)
    targets: dict[Path, str] = {a.source: urls.url(a.path) for a in assets}
    targets.update({source: urls.url(path) for source, path in site_paths.items()})
    if kept is not None:
        # A kept story whose link targets moved is assembled again from its file.
        stale = [path for path, k in held.items() if any(targets.get(target) != url for target, url in k.lookups)]
        for again in kept.reparse(stale) if stale else ():
            del held[again.doc.path]
            published[again.doc.path] = again

    terms = _TermIndex(config, urls)
    assembled = []
    for path in order:
        if path in held:
            assembled.append(kept.take(held[path], terms.ref))  # type: ignore[union-attr]
            continue
        parsed = published[path]
        looked = _Lookups(targets) if kept is not None else None
        story_warnings = terms.check(parsed)
        content, dead = rewrite_links(parsed.body.html, path.parent, looked or targets)
        story_warnings += [_dead_link(parsed, ref) for ref in dead]
        source = parsed.doc.path
        story = _story(parsed, config, site_paths[source], targets[source], content, terms, looked or targets, story_warnings)
        meta = parsed.meta
        unit = AssembledStory(
            story, (meta.niche, meta.audiences, meta.tags), tuple(_removed_characters(parsed)), tuple(story_warnings),
            tuple(looked.seen.items()) if looked is not None else (),
        )
        assembled.append(unit)
        if kept is not None:
            kept.note(parsed, unit)
    for unit in assembled:
        warnings += unit.removed
    for page in pages:
        warnings += _removed_characters(page)
    built_stories = [unit.story for unit in assembled]
    for unit in assembled:
        warnings += unit.warnings
    built_stories.sort(key=lambda s: s.slug)
    built_stories.sort(key=lambda s: s.date, reverse=True)

    built_pages = []
    for parsed_page in pages:
        content, dead = rewrite_links(parsed_page.body.html, parsed_page.doc.path.parent, targets)
        warnings += [_dead_link(parsed_page, ref) for ref in dead]
        built_pages.append(_page(parsed_page, urls, site_paths[parsed_page.doc.path], content))
    built_pages.sort(key=lambda p: p.slug)

    if config.strict and warnings:
        raise ContentError([*warnings])
    info = SiteInfo(
        title=config.title,
        description=config.description,
        language=config.language,
        author=config.author,
        base_url=config.base_url,
        niches=terms.terms("niche", built_stories),
        audiences=terms.terms("audience", built_stories),
        tags=terms.terms("tag", built_stories),
        menu=tuple(
            MenuItem(p.title, p.url) for p in sorted(built_pages, key=lambda p: (p.weight, p.title.casefold())) if p.menu
        ),
        stories_count=len(built_stories),
        feeds=feed_links(config.feeds, urls, ""),
    )
    return Site(info, tuple(built_stories), tuple(built_pages), assets, now), warnings


class _Lookups(Mapping[Path, str]):
    """Link targets, noting each one looked for and what was found there."""

    def __init__(self, targets: Mapping[Path, str]) -> None:
        self._targets = targets
        self.seen: dict[Path, str | None] = {}

    def __contains__(self, key: object) -> bool:
        found = self._targets.get(key)  # type: ignore[call-overload]
        self.seen[key] = found  # type: ignore[index]
        return found is not None

    def __getitem__(self, key: Path) -> str:
        found = self.seen[key] = self._targets[key]
        return found

    def __iter__(self) -> Iterator[Path]:
        return iter(self._targets)

    def __len__(self) -> int:
        return len(self._targets)


def _story_path(parsed: ParsedStory, config: Config) -> str:
    date = parsed.meta.date
    return expand_permalink(
        config.story_permalink,
        slug=parsed.meta.slug,
        year=f"{date.year:04d}",
        month=f"{date.month:02d}",
        day=f"{date.day:02d}",
        niche=parsed.meta.niche,
    )


def feed_links(feeds: FeedsConfig, urls: SiteUrls, folder: str) -> tuple[FeedLink, ...]:
    """The feeds written into a site folder ("" or "niches/x/"); none when base_url has no host.

    A feed needs absolute URLs, which only a base_url with a host can give.
    """
    if not urls.origin:
        return ()
    return tuple(
        FeedLink(fmt, *FEED_TYPES[fmt], folder + feeds.paths[fmt], urls.url(folder + feeds.paths[fmt]))
        for fmt in feeds.formats
    )


def _removed_characters(entry: ParsedStory | ParsedPage) -> list[Problem]:
    return [
        Problem(
            entry.doc.shown,
            line,
            "removed control characters that XML cannot carry",
            "delete them from the file; they often come from text pasted from other programs",
        )
        for line in entry.doc.removed_lines
    ]


def _duplicates(entries: Iterable[tuple[str, str, int]]) -> list[Problem]:
    first: dict[str, tuple[str, int]] = {}
    problems = []
    for slug, shown, line in entries:
        if slug in first:
            other, other_line = first[slug]
            problems.append(
                Problem(shown, line, f"slug '{slug}' is already used by {other}:{other_line}", "give one of them another slug: in its front-matter")
            )
        else:
            first[slug] = (shown, line)
    return problems


def _assets(sources: Sources, config: Config, entry_paths: Mapping[Path, str]) -> tuple[Asset, ...]:
    static_dir = config.content_dir / "static"
    assets = [Asset(path, path.relative_to(static_dir).as_posix()) for path in sources.static]
    for index, files in sources.bundle_files.items():
        site_path = entry_paths.get(index)
        if site_path is not None:
            assets += [Asset(path, site_path + path.relative_to(index.parent).as_posix()) for path in files]
    return tuple(assets)


def _dead_link(parsed: ParsedStory | ParsedPage, ref: str) -> Problem:
    return Problem(
        parsed.doc.shown,
        line_of(parsed.doc, ref) or parsed.doc.body_line,
        f"link to '{ref}' matches no published story, page or file",
        "check the file name; a link to a story is its file name, e.g. other-story.md",
    )


def _story(
    parsed: ParsedStory,
    config: Config,
    path: str,
    url: str,
    content: str,
    terms: _TermIndex,
    targets: Mapping[Path, str],
    warnings: list[Problem],
) -> Story:
    meta = parsed.meta
    cover = None
    if meta.cover:
        cover = resolve_ref(meta.cover, parsed.doc.path.parent, targets)
        if cover is None:
            warnings.append(Problem(parsed.doc.shown, meta.lines.get("cover"), f"cover '{meta.cover}' is not a file here"))
    return Story(
        slug=meta.slug,
        title=meta.title,
        path=path,
        url=url,
        date=meta.date,
        updated=meta.updated,
        niche=terms.ref("niche", meta.niche),
        audiences=tuple(terms.ref("audience", a) for a in meta.audiences),
        tags=tuple(terms.ref("tag", t) for t in meta.tags),
        summary=meta.summary or parsed.body.first_paragraph,
        author=meta.author,
        cover=cover,
        cover_alt=meta.cover_alt,
        lang=meta.lang,
        draft=meta.draft,
        canonical=meta.canonical,
        content=content,
        word_count=parsed.body.word_count,
        reading_time=reading_minutes(parsed.body.word_count, config.words_per_minute),
        related_slugs=meta.related,
        extra=meta.extra,
        source=parsed.doc.path,
        shown=parsed.doc.shown,
        lines=meta.lines,
    )


def _page(parsed: ParsedPage, urls: SiteUrls, path: str, content: str) -> Page:
    meta = parsed.meta
    return Page(
        slug=meta.slug,
        title=meta.title,
        path=path,
        url=urls.url(path),
        summary=meta.summary or parsed.body.first_paragraph,
        lang=meta.lang,
        menu=meta.menu,
        weight=meta.weight,
        canonical=meta.canonical,
        content=content,
        extra=meta.extra,
        source=parsed.doc.path,
        shown=parsed.doc.shown,
    )


class _TermIndex:
    """Names, titles and URLs of niches, audiences and tags, declared or met in stories."""

    def __init__(self, config: Config, urls: SiteUrls) -> None:
        self.urls = urls
        self.feeds = config.feeds
        self.with_feeds = {"niche": config.feeds.niches, "audience": config.feeds.audiences, "tag": config.feeds.tags}
        self.declared: dict[str, Mapping[str, TermInfo]] = {
            "niche": config.niches,
            "audience": config.audiences,
            "tag": {},
        }
        self.titles: dict[tuple[str, str], str] = {}
        self.refs: dict[tuple[str, str], TermRef] = {}

    def ref(self, kind: str, name: str) -> TermRef:
        known = self.refs.get((kind, name))
        if known is None:
            # The same name always gives the same link (the title is the one first met).
            slug = slugify(name) if kind == "tag" else name
            info = self.declared[kind].get(slug)
            title = self.titles.setdefault((kind, slug), info.title if info else _title_of(kind, name))
            known = self.refs[(kind, name)] = TermRef(kind, slug, title, self.urls.url(term_path(kind, slug)))
        return known

    def check(self, parsed: ParsedStory) -> list[Problem]:
        """Warn about niches and audiences the site does not declare (when it declares any)."""
        found = []
        for kind, key, names in (("niche", "niche", [parsed.meta.niche]), ("audience", "audience", parsed.meta.audiences)):
            declared = self.declared[kind]
            for name in names:
                if declared and name not in declared:
                    close = difflib.get_close_matches(name, list(declared), n=1)
                    hint = f"did you mean '{close[0]}'?" if close else f"declare it under {kind}s: in storysite.yaml"
                    found.append(Problem(parsed.doc.shown, parsed.doc.lines.get(key), f"{kind} '{name}' is not declared", hint))
        return found

    def terms(self, kind: str, stories: list[Story]) -> tuple[Term, ...]:
        members: dict[str, list[Story]] = {slug: [] for slug in self.declared[kind]}
        for story in stories:
            refs = {"niche": (story.niche,), "audience": story.audiences, "tag": story.tags}[kind]
            for ref in refs:
                members.setdefault(ref.slug, []).append(story)
        terms = []
        for slug, members_of in members.items():
            info = self.declared[kind].get(slug)
            title = self.titles.get((kind, slug)) or (info.title if info else slug)
            path = term_path(kind, slug)
            feeds = feed_links(self.feeds, self.urls, path) if self.with_feeds[kind] else ()
            terms.append(
                Term(kind, slug, title, path, self.urls.url(path), info.description if info else "", tuple(members_of), info is not None,
                     feeds)
            )
        return tuple(sorted(terms, key=lambda t: (t.title.casefold(), t.slug)))


def _title_of(kind: str, name: str) -> str:
    return name if kind == "tag" else name.replace("-", " ").capitalize()
