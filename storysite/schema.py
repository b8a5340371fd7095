"""The one place that maps front-matter keys to typed fields, and says what is wrong when it can't."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from .config import SLUG_RE, Config
from .dates import find_timezone, to_datetime
from .errors import ContentError, Problem
from .sources import Document
from .urls import slugify

STORY_KEYS = (
    "title date niche audience tags summary updated author slug cover cover_alt lang draft related canonical"
).split()
PAGE_KEYS = "title slug summary lang draft menu weight canonical".split()


@dataclass(frozen=True)
class StoryFrontMatter:
    """A story's front-matter, checked and typed."""

    slug: str
    title: str
    date: dt.datetime
    updated: dt.datetime | None
    niche: str
    audiences: tuple[str, ...]
    tags: tuple[str, ...]
    summary: str | None
    author: str
    cover: str | None
    cover_alt: str
    lang: str
    draft: bool
    related: tuple[str, ...]
    canonical: str | None
    extra: Mapping[str, Any]
    lines: Mapping[str, int]
    """The line of each front-matter key, for later messages."""


@dataclass(frozen=True)
class PageFrontMatter:
    """A standalone page's front-matter, checked and typed."""

    slug: str
    title: str
    summary: str | None
    lang: str
    draft: bool
    menu: bool
    weight: int
    canonical: str | None
    extra: Mapping[str, Any]


class _Fields:
    """Reads one document's front-matter, collecting every problem before raising them together."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def fail(self, key: str, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.doc.shown, self.doc.lines.get(key, 2), message, hint))

    def raise_problems(self) -> None:
        if self.problems:
            raise ContentError(self.problems)

    def text(self, key: str, required: bool = False, default: str | None = None) -> str | None:
        value = self.doc.meta.get(key)
        if value is None or value == "":
            if required:
                self.problems.append(
                    Problem(self.doc.shown, 2, f"'{key}' is missing", f"add a line such as {key}: {_EXAMPLES[key]}")
                )
            return default
        if isinstance(value, (dict, list, bool)):
            self.fail(key, f"'{key}' must be text, not {type(value).__name__}", f"e.g. {key}: {_EXAMPLES.get(key, '...')}")
            return default
        return str(value).strip()

    def when(self, key: str, tz: dt.tzinfo, required: bool = False) -> dt.datetime | None:
        value = self.doc.meta.get(key)
        if value is None:
            if required:
                self.problems.append(Problem(self.doc.shown, 2, f"'{key}' is missing", "add e.g. date: 2025-03-14"))
            return None
        parsed = to_datetime(value, tz)
        if parsed is None:
            self.fail(key, f"'{key}' is not a date: {value!r}", "use 2025-03-14 or 2025-03-14T09:30:00+07:00")
        return parsed

    def names(self, key: str, required: bool = False) -> tuple[str, ...]:
        value = self.doc.meta.get(key)
        if value is None or value == []:
            if required:
                self.problems.append(
                    Problem(self.doc.shown, 2, f"'{key}' is missing", f"add a list such as {key}: {_EXAMPLES[key]}")
                )
            return ()
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) and str(v).strip() for v in value):
            shown = value if not isinstance(value, list) else "…"
            self.fail(key, f"'{key}' must be a list of names", f"write {key}: [{shown}]")
            return ()
        return tuple(dict.fromkeys(str(v).strip() for v in value))

    def slugs(self, key: str, required: bool = False) -> tuple[str, ...]:
        found = self.names(key, required)
        bad = [name for name in found if not SLUG_RE.match(name)]
        for name in bad:
            self.fail(key, f"'{name}' in '{key}' is not a slug", f"write it as {slugify(name) or 'lowercase-words'}")
        return tuple(name for name in found if name not in bad)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.doc.meta.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"'{key}' must be true or false")
            return default
        return value

    def slug(self) -> str:
        name = self.doc.path.parent.name if self.doc.path.name == "index.md" else self.doc.path.stem
        slug = self.text("slug") or name
        if not SLUG_RE.match(slug):
            self.fail(
                "slug",
                f"slug '{slug}' cannot be used in a URL: it must not hold /, .. or spaces",
                f"use e.g. {slugify(slug) or 'my-story'}",
            )
        return slug

    def extra(self, known: list[str]) -> Mapping[str, Any]:
        return MappingProxyType({k: v for k, v in self.doc.meta.items() if str(k) not in known})


_EXAMPLES = {
    "title": '"Connecting the dots"',
    "niche": "starting-a-business",
    "audience": "[first-time-founders]",
    "tags": "[community, trust]",
    "related": "[other-story-slug]",
}


def meta_settings(config: Config) -> tuple[str, ...]:
    """The settings that story_meta and page_meta read: a check made under other settings is stale."""
    return (config.timezone, config.author, config.language)


def story_meta(doc: Document, config: Config) -> StoryFrontMatter:
    """Check a story's front-matter; raise ContentError naming every problem at once."""
    tz = find_timezone(config.timezone) or dt.timezone.utc
    fields = _Fields(doc)
    niche_name = ""
    if isinstance(doc.meta.get("niche"), list):
        fields.fail("niche", "a story serves one niche, not a list", "pick the one it serves most: niche: <slug>")
    else:
        niche_name = fields.text("niche", required=True) or ""
    if niche_name and not SLUG_RE.match(niche_name):
        fields.fail("niche", f"niche '{niche_name}' is not a slug", f"write niche: {slugify(niche_name)}")
    meta = StoryFrontMatter(
        slug=fields.slug(),
        title=fields.text("title", required=True) or "",
        date=fields.when("date", tz, required=True) or dt.datetime.min.replace(tzinfo=tz),
        updated=fields.when("updated", tz),
        niche=niche_name,
        audiences=fields.slugs("audience", required=True),
        tags=fields.names("tags"),
        summary=fields.text("summary"),
        author=fields.text("author") or config.author,
        cover=fields.text("cover"),
        cover_alt=fields.text("cover_alt") or "",
        lang=fields.text("lang") or config.language,
        draft=fields.flag("draft"),
        related=fields.slugs("related"),
        canonical=fields.text("canonical"),
        extra=fields.extra(STORY_KEYS),
        lines=MappingProxyType(dict(doc.lines)),
    )
    fields.raise_problems()
    return meta


def page_meta(doc: Document, config: Config) -> PageFrontMatter:
    """Check a standalone page's front-matter."""
    fields = _Fields(doc)
    weight = doc.meta.get("weight", 0)
    if isinstance(weight, bool) or not isinstance(weight, int):
        fields.fail("weight", "'weight' must be a whole number", "pages with lower weight come first in the menu")
        weight = 0
    meta = PageFrontMatter(
        slug=fields.slug(),
        title=fields.text("title", required=True) or "",
        summary=fields.text("summary"),
        lang=fields.text("lang") or config.language,
        draft=fields.flag("draft"),
        menu=fields.flag("menu", default=True),
        weight=weight,
        canonical=fields.text("canonical"),
        extra=fields.extra(PAGE_KEYS),
    )
    fields.raise_problems()
    return meta
