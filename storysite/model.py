"""The site model: typed, frozen stories, pages and terms, with every URL already decided."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


@dataclass(frozen=True)
class TermRef:
    """A link to a niche, audience or tag page, as a story shows it."""

    kind: str
    """"niche", "audience" or "tag"."""
    slug: str
    title: str
    url: str


@dataclass(frozen=True)
class Story:
    """One published story, ready to render."""

    slug: str
    title: str
    path: str
    """Site path of its page, e.g. "stories/x/" (the writer's concern)."""
    url: str
    """Link to its page, base path included."""
    date: dt.datetime
    updated: dt.datetime | None
    niche: TermRef
    audiences: tuple[TermRef, ...]
    tags: tuple[TermRef, ...]
    summary: str
    """Plain text: the front-matter summary, else the first paragraph."""
    author: str
    cover: str | None
    """URL of the cover image."""
    cover_alt: str
    lang: str
    draft: bool
    canonical: str | None
    content: str
    """The body as HTML, links resolved."""
    word_count: int
    reading_time: int
    """Minutes, at least 1."""
    related_slugs: tuple[str, ...]
    """Stories the writer pinned with `related:`."""
    extra: Mapping[str, Any]
    """Front-matter keys the schema does not know."""
    source: Path
    shown: str
    """The source path as messages show it."""
    lines: Mapping[str, int]
    """The line of each front-matter key."""


@dataclass(frozen=True)
class Page:
    """A standalone page such as About."""

    slug: str
    title: str
    path: str
    url: str
    summary: str
    lang: str
    menu: bool
    weight: int
    canonical: str | None
    content: str
    extra: Mapping[str, Any]
    source: Path
    shown: str


@dataclass(frozen=True)
class FeedLink:
    """A feed a reader can subscribe to: the site's, or one niche's, audience's or tag's."""

    format: str
    """"rss", "atom" or "json"."""
    label: str
    """The format's name as readers know it: "RSS", "Atom", "JSON Feed"."""
    media_type: str
    """For <link rel="alternate" type="...">."""
    path: str
    """Site path of the file, e.g. "niches/x/feed.xml"."""
    url: str
    """Link to it, base path included."""


@dataclass(frozen=True)
class Term:
    """A niche, audience or tag with its stories, newest first."""

    kind: str
    slug: str
    title: str
    path: str
    url: str
    description: str
    stories: tuple[Story, ...]
    declared: bool
    """Named in storysite.yaml (always false for tags)."""
    feeds: tuple[FeedLink, ...] = ()
    """Its own feeds; none when the config turns them off or base_url has no host."""

    @property
    def ref(self) -> TermRef:
        """The short form that stories carry."""
        return TermRef(self.kind, self.slug, self.title, self.url)


@dataclass(frozen=True)
class RelatedLink:
    """A story worth reading next, with why."""

    story: Story
    score: float
    """From 0 to 1: the weighted mean of the components."""
    reasons: tuple[str, ...]
    """Short phrases in the page's language, strongest first, e.g. "same niche", "similar text"."""
    components: Mapping[str, float] = field(default_factory=dict)
    """Each scoring component's value from 0 to 1 (niche, audience, tags, text, recency)."""
    pinned: bool = False
    """Chosen by the writer with `related:` in the front-matter."""


@dataclass(frozen=True)
class MenuItem:
    """One entry of the site menu."""

    title: str
    url: str


@dataclass(frozen=True)
class Asset:
    """A file copied as it is: a static file or an image beside a story."""

    source: Path
    path: str
    """Site path it is copied to."""


@dataclass(frozen=True)
class SiteInfo:
    """What every template knows about the site."""

    title: str
    description: str
    language: str
    author: str
    base_url: str
    niches: tuple[Term, ...]
    audiences: tuple[Term, ...]
    tags: tuple[Term, ...]
    menu: tuple[MenuItem, ...]
    stories_count: int
    feeds: tuple[FeedLink, ...] = ()
    """The site's feeds, for autodiscovery; none when the config turns them off or base_url has no host."""


@dataclass(frozen=True)
class Site:
    """Everything the render stage needs, and nothing it has to look up elsewhere."""

    info: SiteInfo
    stories: tuple[Story, ...]
    """Published stories, newest first (ties by slug)."""
    pages: tuple[Page, ...]
    assets: tuple[Asset, ...]
    built_at: dt.datetime

    def term(self, kind: str) -> tuple[Term, ...]:
        """The niches, audiences or tags."""
        return {"niche": self.info.niches, "audience": self.info.audiences, "tag": self.info.tags}[kind]


def reading_minutes(word_count: int, words_per_minute: int) -> int:
    """Reading time in whole minutes, never less than one."""
    return max(1, math.ceil(word_count / words_per_minute))
