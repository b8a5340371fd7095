"""feedgen lives here: the site model in, RSS 2.0, Atom 1.0 and JSON Feed 1.1 files out (nothing is written here).

Every link in a feed is absolute, so feeds are made only when base_url has a host. An entry's id is a
tag: URI of host, publication date and slug: it survives rebuilds, a new theme, a new permalink pattern
and a move of the site to another path on the same host.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache, partial
from itertools import islice
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from feedgen.ext.base import BaseEntryExtension  # type: ignore[import-untyped]
from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]

from . import __version__
from .config import FeedsConfig
from .errors import ThemeError
from .links import absolute_links
from .model import FeedLink, Site, Story, Term
from .render import Output
from .sources import CONTROL_CHARACTERS
from .urls import SiteUrls, terms_path

if TYPE_CHECKING:
    from .incremental import PageMemo
    from .page_records import PageRecords

log = logging.getLogger(__name__)

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True)
class Category:
    """A niche, audience or tag of an entry: its slug, its title, and the page listing its kind."""

    term: str
    label: str
    scheme: str


@dataclass(frozen=True)
class Entry:
    """One story as every feed format shows it, every URL absolute."""

    id: str
    title: str
    url: str
    published: dt.datetime
    updated: dt.datetime
    author: str
    language: str
    categories: tuple[Category, ...]
    summary: str
    """Plain text."""
    content: str | None
    """The story's HTML with absolute links, or None when feeds carry summaries only."""
    image: str | None


@dataclass(frozen=True)
class Channel:
    """One feed: what it is about, where it lives, and its entries, newest first."""

    title: str
    description: str
    language: str
    author: str
    page_url: str
    """The page the feed mirrors (the home page, or the niche's, audience's or tag's page)."""
    links: tuple[FeedLink, ...]
    entries: tuple[Entry, ...]
    updated: dt.datetime
    """The newest entry's time, so a rebuild of the same stories gives the same feed."""


def render_feeds(
    site: Site, feeds: FeedsConfig, t: Callable[..., str], memo: PageMemo | None = None, records: PageRecords | None = None,
) -> list[Output]:
    """Every feed of the site and of its niches, audiences and tags, in each configured format.

    The preview passes its memo: a feed whose channel is the same as in the last build is not made again.
    A build with page records keeps a feed as the last build wrote it when its channel shows the same
    stories, with the same values (read whole), under the same heading.
    """
    urls = SiteUrls(site.info.base_url)
    if feeds.formats and not urls.origin:
        log.info("no feeds: they need absolute URLs, so set base_url to the site's full address, e.g. https://example.org/")
        return []
    # A story is an entry of several feeds; make each entry once, and only those a feed shows.
    entries: dict[str, Entry] = {}

    def filled(channel: Channel, stories: Sequence[Story]) -> Channel:
        chosen = [entries.get(s.slug) or entries.setdefault(s.slug, feed_entry(s, urls, feeds)) for s in stories]
        return replace(channel, entries=tuple(chosen))

    outputs = []
    for heading, stories, scope in _channels(site, feeds, urls, t):
        made = cache(partial(filled, heading, stories))
        for link in heading.links:
            self_url = urls.absolute(link.path)
            if records is not None:
                outputs.append(_kept_feed(records, heading, stories, link, self_url, scope, made))
            elif memo is not None:
                channel = made()
                outputs.append(memo.kept_data(link.path, (channel, link, self_url, scope), partial(_feed, channel, link, self_url, scope)))
            else:
                outputs.append(_feed(made(), link, self_url, scope))
    return outputs


def _feed(channel: Channel, link: FeedLink, self_url: str, scope: str) -> Output:
    return Output(link.path, FORMATS[link.format](channel, self_url), None, f"{link.label} feed of {scope}")


def _kept_feed(
    records: PageRecords, heading: Channel, stories: Sequence[Story], link: FeedLink, self_url: str, scope: str, made: Callable[[], Channel],
) -> Output:
    """A feed as the last build wrote it when it shows the same, else made (and recorded) anew.

    Its entries are made of its stories alone (each read whole); all else it shows is in `heading`
    and the call, and what the settings, versions and theme strings change is in the records' scope.
    """
    call = ("feed", heading, tuple(story.slug for story in stories), link, self_url, scope)
    kept = records.kept(link.path, call)
    if kept is not None:
        return kept
    output = records.render(call, stories, lambda: _feed(made(), link, self_url, scope))
    records.collect([records.take()])
    return output


def in_feeds(story: Story, now: dt.datetime) -> bool:
    """Drafts and future stories stay out of feeds, even when a preview build shows their pages."""
    return not story.draft and story.date <= now


def entry_id(story: Story, host: str) -> str:
    """A tag: URI (RFC 4151) that no theme, permalink pattern or base path changes."""
    return f"tag:{host},{story.date.date().isoformat()}:{quote(story.slug)}"


def feed_entry(story: Story, urls: SiteUrls, feeds: FeedsConfig) -> Entry:
    """A story as a feed entry: absolute links, categories, and full HTML or just the summary."""

    def resolve(ref: str) -> str:
        return urls.resolve(ref, story.path)

    image = resolve(story.cover) if story.cover else None
    content = None
    if feeds.content == "full":
        cover = f'<p><img src="{html.escape(image)}" alt="{html.escape(story.cover_alt)}"></p>\n' if image else ""
        content = cover + absolute_links(story.content, resolve)
    categories = [
        Category(ref.slug, ref.title, urls.absolute(terms_path(ref.kind)))
        for ref in (story.niche, *story.audiences, *story.tags)
    ]
    return Entry(
        id=entry_id(story, feeds.id_host or urlsplit(urls.base_url).hostname or ""),
        title=story.title,
        url=urls.absolute(story.path),
        published=story.date,
        updated=story.updated or story.date,
        author=story.author,
        language=story.lang.replace("_", "-"),
        categories=tuple(categories),
        summary=story.summary,
        content=content,
        image=image,
    )


def _channels(site: Site, feeds: FeedsConfig, urls: SiteUrls, t: Callable[..., str]) -> list[tuple[Channel, tuple[Story, ...], str]]:
    """The site's channel, then one per term that has feeds: each without its entries, with the stories they are made of."""
    info = site.info
    site_title = info.title or urlsplit(info.base_url).hostname or "storysite"  # a feed needs a title

    @cache
    def newest() -> dt.datetime:
        """An empty feed is as new as the newest story of the site, never as new as the build (only it goes through them all)."""
        return max((s.updated or s.date for s in site.stories if in_feeds(s, site.built_at)), default=site.built_at)

    def channel(title: str, description: str, page_path: str, links: tuple[FeedLink, ...], stories: Sequence[Story]) -> tuple[Channel, tuple[Story, ...]]:
        shown = tuple(islice((s for s in stories if in_feeds(s, site.built_at)), feeds.limit or None))
        return Channel(
            title=_xml_text(title),
            description=_xml_text(description or title),
            language=info.language.replace("_", "-"),
            author=_xml_text(info.author or site_title),
            page_url=urls.absolute(page_path),
            links=links,
            entries=(),
            updated=max(s.updated or s.date for s in shown) if shown else newest(),
        ), shown

    site_description = info.description or _string(t, "feed_description_site", site_title, site=site_title)
    found = [(*channel(site_title, site_description, "", info.feeds, site.stories), "the site")]
    for kind in ("niche", "audience", "tag"):
        for term in site.term(kind):
            if term.feeds:
                found.append((*channel(*_term_text(term, site_title, t), term.path, term.feeds, term.stories), f"{kind} '{term.slug}'"))
    return found


def _term_text(term: Term, site_title: str, t: Callable[..., str]) -> tuple[str, str]:
    title = f"{term.title} · {site_title}"
    return title, term.description or _string(t, f"feed_description_{term.kind}", title, term=term.title, site=site_title)


def _string(t: Callable[..., str], key: str, fallback: str, **values: str) -> str:
    """A UI string of the theme; a theme that lacks feed strings still gets a feed."""
    try:
        return t(key, **values)
    except ThemeError:
        return fallback


def _xml_text(text: str) -> str:
    # Stories are cleaned when read; this keeps a control character in storysite.yaml from breaking XML.
    return CONTROL_CHARACTERS.sub("", text)


class _EntryLanguage(BaseEntryExtension):  # type: ignore[misc]
    """xml:lang on an Atom entry written in another language than its feed (RSS 2.0 has no such thing)."""

    language = ""

    def extend_atom(self, entry: Any) -> Any:
        if self.language:
            entry.set(XML_LANG, self.language)
        return entry


def _generator(channel: Channel, self_url: str, media_type: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(channel.page_url)
    fg.title(channel.title)
    fg.subtitle(channel.description)
    fg.description(channel.description)
    fg.language(channel.language)
    fg.author(name=channel.author)
    fg.link(href=self_url, rel="self", type=media_type)
    fg.link(href=channel.page_url, rel="alternate", type="text/html")  # the last link is RSS's <link>
    fg.updated(channel.updated)
    fg.generator("storysite", version=__version__)
    for entry in channel.entries:
        fe = fg.add_entry(order="append")
        if entry.language != channel.language:
            fe.register_extension("lang", _EntryLanguage, atom=True, rss=False)
            fe.lang.language = entry.language
        fe.id(entry.id)
        fe.title(entry.title)
        fe.link(href=entry.url, rel="alternate", type="text/html")
        fe.published(entry.published)
        fe.updated(entry.updated)
        if entry.author:
            fe.author(name=entry.author)
            fe.dc.dc_creator(entry.author)
        fe.category([{"term": c.term, "label": c.label, "scheme": c.scheme} for c in entry.categories])
        # Both RSS description and Atom summary are read as HTML, so the plain text is escaped once.
        if entry.summary:
            fe.summary(html.escape(entry.summary, quote=False), type="html")
        if entry.content is not None:
            fe.content(entry.content, type="html")
    return fg


def rss_feed(channel: Channel, self_url: str) -> bytes:
    """RSS 2.0 with content:encoded, dc:creator and an atom:link to itself."""
    data: bytes = _generator(channel, self_url, "application/rss+xml").rss_str(pretty=True)
    return data


def atom_feed(channel: Channel, self_url: str) -> bytes:
    """Atom 1.0 (RFC 4287)."""
    data: bytes = _generator(channel, self_url, "application/atom+xml").atom_str(pretty=True)
    return data


def json_feed(channel: Channel, self_url: str) -> bytes:
    """JSON Feed 1.1 (jsonfeed.org)."""
    items = []
    for entry in channel.entries:
        item: dict[str, object] = {"id": entry.id, "url": entry.url, "title": entry.title}
        if entry.content is not None:
            item["content_html"] = entry.content
        else:
            item["content_text"] = entry.summary
        if entry.summary:
            item["summary"] = entry.summary
        if entry.image:
            item["image"] = entry.image
        item["date_published"] = entry.published.isoformat()
        item["date_modified"] = entry.updated.isoformat()
        if entry.author:
            item["authors"] = [{"name": entry.author}]
        item["tags"] = [c.label for c in entry.categories]
        item["language"] = entry.language
        items.append(item)
    feed = {
        "version": JSON_FEED_VERSION,
        "title": channel.title,
        "home_page_url": channel.page_url,
        "feed_url": self_url,
        "description": channel.description,
        "language": channel.language,
        "authors": [{"name": channel.author}],
        "items": items,
    }
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


FORMATS: dict[str, Callable[[Channel, str], bytes]] = {"rss": rss_feed, "atom": atom_feed, "json": json_feed}
