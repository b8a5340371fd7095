"""The render stage: the site model through the theme's templates into outputs (nothing is written here)."""

from __future__ import annotations

import datetime as dt
import gc
import logging
import xml.etree.ElementTree as etree
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from . import __version__, parallel
from .collector import collector_paused
from .dates import format_date
from .linked_data import last_changed, page_data, story_image
from .model import RelatedLink, Site, Story
from .parallel import fork_map
from .related_links import link_reads
from .stages import Advance, no_progress
from .theme import Environment, render_template
from .urls import (
    ARCHIVE_PATH,
    MAP_PATH,
    NOT_FOUND_PATH,
    SiteUrls,
    home_path,
    output_file,
    terms_path,
)

if TYPE_CHECKING:
    from .incremental import PageMemo
    from .page_records import Fresh, PageRecords

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Output:
    """One file of the built site: its bytes, or a file to copy, and what made it."""

    path: str
    """Path inside the output folder, e.g. "stories/x/index.html"."""
    data: bytes | None
    source: Path | None
    origin: str
    """What produced it, for messages about clashes."""
    kept: bool = False
    """The output folder holds it already, as the last build wrote it: a page kept rather than rendered."""
    staged: bool = False
    """Its bytes wait in the writer's staging folder already (`writer.Stager`), not in memory."""
    status: bytes | None = None
    """The status of its staged file as the writer wrote it, packed (`listing.packed_status`)."""


@dataclass(frozen=True)
class PageMeta:
    """What every template knows about the page it renders."""

    kind: str
    title: str
    description: str
    url: str
    canonical: str
    lang: str
    path: str
    name: str = ""
    """The page's own title, without the site's: for link previews."""
    image: str | None = None
    """Full URL of the page's picture (a story's cover) for link previews, or None."""
    image_alt: str = ""
    published: dt.datetime | None = None
    """A story's date and last change, for link previews; None on other pages."""
    modified: dt.datetime | None = None
    linked_data: Mapping[str, Any] | None = None
    """The page described for search engines (schema.org JSON-LD); print it with |tojson."""


@dataclass(frozen=True)
class ShownLinks:
    """A story page's related links as the page records count them in what the page is asked to show.

    `shown` is the digest of its relations without their scores (`related_links.shown_relations`); `links()`
    makes the links, for a page that renders or reads their scores.
    """

    shown: bytes
    slug: str
    related: Mapping[str, tuple[RelatedLink, ...]]

    def links(self) -> tuple[RelatedLink, ...]:
        return self.related.get(self.slug, ())


Planned = tuple[list[str], str, str, str, str, str | None, str | None, dict[str, Any]]
"""A page to render: its template names, kind, site path, title, description, language, canonical URL and context."""


@dataclass(frozen=True)
class Paginator:
    """Where a page of the home page list stands among the others."""

    number: int
    count: int
    prev_url: str | None
    next_url: str | None


class Renderer:
    """Renders pages of one site with one Jinja environment and its UI strings."""

    def __init__(
        self,
        site: Site,
        env: Environment,
        translators: Callable[[str], Callable[..., str]],
        memo: PageMemo | None = None,
        records: PageRecords | None = None,
        stage: Callable[[Output], Output] | None = None,
    ) -> None:
        self.memo = memo
        self.records = records
        self.stage = stage
        """Hands each rendered page to the writer as soon as it is made (its bytes then leave memory)."""
        self.site = site
        self.env = env
        self.translators = translators
        self.urls = SiteUrls(site.info.base_url)
        info = site.info
        self.site_values = (info.title, info.description, info.language, info.author, info.base_url)
        """What of the site a page's values are made from, besides what it is asked to show."""
        self.planned: list[Planned] = []
        self.languages: dict[str, tuple[Callable[..., str], Callable[..., str]]] = {}

    def language(self, lang: str) -> tuple[Callable[..., str], Callable[..., str]]:
        """t() and format_date() for pages in `lang`, made once per language."""
        if lang not in self.languages:
            self.languages[lang] = (
                self.translators(lang),
                lambda value, format="long": format_date(value, lang, format),
            )
        return self.languages[lang]

    def page(self, names: list[str], page_kind: str, path: str, title: str, description: str = "", *,
             lang: str | None = None, canonical: str | None = None, **context: Any) -> None:
        """Plan one page, to be rendered from the first template of `names` that exists."""
        self.planned.append((names, page_kind, path, title, description, lang, canonical, context))

    def render_all(self, jobs: int, advance: Advance) -> list[Output]:
        """Every planned page, in order, on up to `jobs` processes."""

        records = self.records
        outputs: list[Output | None] = [None] * len(self.planned)
        if records is not None and records.has_stored:
            with collector_paused(set_aside=gc.get_freeze_count() > 0):
                for index, planned in enumerate(self.planned):
                    outputs[index] = records.kept(output_file(planned[2]), self._call(*planned))
            advance(records.kept_count)
        redo = [index for index, output in enumerate(outputs) if output is None]
        for index, output in zip(redo, self._render_dealt(redo, jobs, advance)):
            outputs[index] = output
        if records is not None:
            log.debug("kept %d pages as the last build left them, rendered %d", records.kept_count, len(redo))
        return outputs  # type: ignore[return-value]

    def _render_dealt(self, indexes: list[int], jobs: int, advance: Advance) -> list[Output]:
        """Planned pages `indexes`, in order; on several processes, dealt out so that each process gets as much work.

        A page that lists a thousand stories costs as much as a thousand story pages.
        """
        records = self.records
        order = _dealt(indexes, [self._weight(index) for index in indexes], parallel.CHUNK)

        def render(position: int) -> tuple[Output | Exception, Fresh | None]:
            try:
                names, page_kind, path, title, description, lang, canonical, context = self.planned[order[position]]
                output = self.render(names, page_kind, path, title, description, lang=lang, canonical=canonical, **context)
                if self.stage is not None:
                    output = self.stage(output)
            except Exception as exc:  # raised below, in page order, as a serial run would meet it
                return exc, None
            return output, records.take() if records is not None else None

        done = dict(zip(order, fork_map(render, len(order), jobs, advance)))
        if records is not None:
            records.collect(fresh for _, fresh in done.values())
        outputs = []
        for index in indexes:
            output = done[index][0]
            if isinstance(output, Exception):
                raise output
            outputs.append(output)
        return outputs

    def _weight(self, index: int) -> int:
        """About how much work a planned page is: the stories and terms it lists."""
        context = self.planned[index][-1]
        term = context.get("term")
        listed = len(context.get("stories", ())) + len(context.get("terms", ())) + (len(term.stories) if term else 0)
        return 1 + listed + sum(len(group) for _, group in context.get("years", ()))

    def _call(self, names: list[str], page_kind: str, path: str, title: str, description: str,
              lang: str | None, canonical: str | None, context: dict[str, Any]) -> tuple[Any, ...]:
        """What a page is asked to show: equal calls make equal template values.

        Its plain values in one flat tuple (the template names last), then the context.
        """
        return ((page_kind, path, title, description, lang, canonical, *self.site_values, *names), context)

    def render(self, names: list[str], page_kind: str, path: str, title: str, description: str = "", *,
               lang: str | None = None, canonical: str | None = None, **context: Any) -> Output:
        """One page from the first template of `names` that exists."""
        call = self._call(names, page_kind, path, title, description, lang, canonical, context)
        if self.memo is not None and (kept := self.memo.kept_call(output_file(path), call)) is not None:
            return kept
        info = self.site.info
        lang = lang or info.language
        description = description or info.description
        canonical = canonical or self.urls.absolute(path)
        story: Story | None = context.get("story")
        meta = PageMeta(
            kind=page_kind,
            title=title if page_kind == "home" and title == info.title else f"{title} · {info.title}",
            description=description,
            url=self.urls.url(path),
            canonical=canonical,
            lang=lang,
            path=path,
            name=title,
            image=story_image(story, self.urls) if story else None,
            image_alt=story.cover_alt if story else "",
            published=story.date if story else None,
            modified=last_changed(story) if story else None,
            linked_data=page_data(page_kind, title, description, canonical, lang, info, self.urls,
                                  story=story, stories=context.get("stories", ())),
        )
        t, dates = self.language(lang)
        variables = dict(
            site=info,
            meta=meta,
            t=t,
            url=self.urls.url,
            format_date=dates,
            generator=f"storysite {__version__}",
            **context,
        )
        if self.memo is not None:
            return self._render_with_memo(self.memo, names, output_file(path), f"{page_kind} '{title}'", variables, call)
        if self.records is not None:
            subjects = (story, *context.get("stories", ())) if story else context.get("stories", ())
            related = variables.get("related")
            if type(related) is ShownLinks:
                variables["related"] = related = related.links()
            reads = link_reads(related) if related else ()
            return self._render_recorded(self.records, names, output_file(path), f"{page_kind} '{title}'", variables, call, subjects, reads)
        template_name, html = render_template(self.env, names, variables)
        return Output(output_file(path), html.encode("utf-8"), None, f"template {template_name} for {page_kind} '{title}'")

    def _render_recorded(
        self, records: PageRecords, names: list[str], target: str, what: str, variables: dict[str, Any],
        call: tuple[Any, ...], subjects: tuple[object, ...], reads: Iterable[tuple[object, str]] = (),
    ) -> Output:
        """Render a page and record what it reads (and `reads`, attributes its values were made from), for the next build to keep it by."""

        def render() -> Output:
            template_name, html = render_template(self.env, names, variables)
            return Output(target, html.encode("utf-8"), None, f"template {template_name} for {what}")

        return records.render(call, subjects, render, reads)

    def _render_with_memo(
        self, memo: PageMemo, names: list[str], target: str, what: str, variables: dict[str, Any], call: tuple[Any, ...]
    ) -> Output:
        """In the preview: keep a page whose inputs did not change, else render it and record its reads."""
        kept = memo.kept_output(target, variables, call)
        if kept is not None:
            return kept
        chosen: list[str] = []

        def render() -> str:
            template_name, html = render_template(self.env, names, variables)
            chosen.append(template_name)
            return html

        html = memo.render(target, variables, f"template for {what}", render, call)
        return Output(target, html.encode("utf-8"), None, f"template {chosen[0]} for {what}")


def render_site(
    site: Site,
    related: Mapping[str, tuple[RelatedLink, ...]],
    env: Environment,
    translators: Callable[[str], Callable[..., str]],
    per_page: int,
    advance: Advance = no_progress,
    jobs: int = 1,
    memo: PageMemo | None = None,
    records: PageRecords | None = None,
    stage: Callable[[Output], Output] | None = None,
    shown: Mapping[str, bytes] | None = None,
) -> list[Output]:
    """Every HTML page, the sitemap and robots.txt of the site; a large site on up to `jobs` processes.

    The preview passes a memo of pages; it renders in this process, where the memo can trace reads.
    A build with a cache passes the last build's page records, and renders only what they cannot keep;
    with `shown` (each story's `related_links.shown_relations`), a story page's related links are made only
    when it renders (`related` may make them when first asked for).
    """
    r = Renderer(site, env, translators, memo, records, stage)
    info = site.info
    pages_of = [site.stories[i : i + per_page] for i in range(0, len(site.stories), per_page)] or [()]
    for number, stories in enumerate(pages_of, start=1):
        r.page(
            ["index.html"], "home", home_path(number), info.title if number == 1 else f"{info.title} ({number})",
            stories=stories,
            paginator=Paginator(
                number,
                len(pages_of),
                r.urls.url(home_path(number - 1)) if number > 1 else None,
                r.urls.url(home_path(number + 1)) if number < len(pages_of) else None,
            ),
        )
    for index, story in enumerate(site.stories):
        r.page(
            [f"story-{story.niche.slug}.html", "story.html"], "story", story.path, story.title, story.summary,
            lang=story.lang, canonical=story.canonical,
            story=story,
            related=(
                ShownLinks(digest, story.slug, related)
                if records is not None and shown is not None and (digest := shown.get(story.slug)) is not None
                else related.get(story.slug, ())
            ),
            newer=site.stories[index - 1] if index > 0 else None,
            older=site.stories[index + 1] if index + 1 < len(site.stories) else None,
        )
    for page in site.pages:
        r.page([f"page-{page.slug}.html", "page.html"], "page", page.path, page.title, page.summary,
               lang=page.lang, canonical=page.canonical, page=page)
    t = r.translators(info.language)
    for kind in ("niche", "audience", "tag"):
        terms = site.term(kind)
        r.page(["terms.html"], "terms", terms_path(kind), t(f"{kind}s"), kind=kind, terms=terms)
        for term in terms:
            r.page([f"{kind}-{term.slug}.html", f"{kind}.html", "term.html"], kind, term.path, term.title,
                   term.description, term=term)
    r.page(["map.html"], "map", MAP_PATH, t("map"), niches=info.niches, audiences=info.audiences)
    years = tuple((year, tuple(group)) for year, group in groupby(site.stories, key=lambda s: s.date.year))
    r.page(["archive.html"], "archive", ARCHIVE_PATH, t("archive"), years=years)
    r.page(["404.html"], "404", NOT_FOUND_PATH, t("not_found_title"))
    outputs = r.render_all(1 if memo is not None else jobs, advance)
    if r.urls.origin:
        outputs.append(_sitemap(site, r.urls, memo, records))
    else:
        log.info("no sitemap.xml: it needs absolute URLs, so set base_url to the site's full address")
    outputs.append(Output("robots.txt", _robots(r.urls).encode(), None, "robots.txt"))
    outputs.append(Output(".nojekyll", b"", None, ".nojekyll (GitHub Pages: publish as it is)"))
    return outputs


def _dealt(items: list[int], weights: list[int], chunk: int) -> list[int]:
    """`items` reordered so that each run of `chunk` of them weighs about the same: the heaviest dealt out first."""
    sizes = [min(chunk, len(items) - start) for start in range(0, len(items), chunk)]
    chunks: list[list[int]] = [[] for _ in sizes]
    heaviest_first = iter(sorted(range(len(items)), key=lambda i: -weights[i]))
    for round_ in range(chunk):
        for number, size in enumerate(sizes):
            if round_ < size:
                chunks[number].append(items[next(heaviest_first)])
    return [item for dealt in chunks for item in dealt]


def cname_outputs(cname: str) -> list[Output]:
    """CNAME, which tells GitHub Pages the site's custom domain, when storysite.yaml names one."""
    return [Output("CNAME", f"{cname}\n".encode(), None, "cname in storysite.yaml")] if cname else []


def planned_pages(site: Site, per_page: int) -> int:
    """How many HTML pages render_site makes, for progress."""
    home_pages = max(1, -(-len(site.stories) // per_page))
    terms = sum(1 + len(site.term(kind)) for kind in ("niche", "audience", "tag"))
    return home_pages + len(site.stories) + len(site.pages) + terms + 3


def _sitemap(site: Site, urls: SiteUrls, memo: PageMemo | None = None, records: PageRecords | None = None) -> Output:
    if records is not None:
        call = ("sitemap", urls.base_url, site.stories, site.pages)
        return records.made("sitemap.xml", call, _sitemap_reads(site), lambda: _sitemap_file(_sitemap_entries(site), urls))
    entries = _sitemap_entries(site)
    if memo is not None:
        return memo.kept_data("sitemap.xml", (urls.base_url, entries), lambda: _sitemap_file(entries, urls))
    return _sitemap_file(entries, urls)


def _sitemap_entries(site: Site) -> list[tuple[str, str | None]]:
    """The site path of each page and, for a page that shows stories, when the newest of them last changed."""
    entries: list[tuple[str, str | None]] = []

    def add(path: str, stories: tuple[Story, ...] = (), lastmod: str | None = None) -> None:
        entries.append((path, max(map(last_changed, stories)).isoformat(timespec="seconds") if stories else lastmod))

    everything = max(map(last_changed, site.stories)).isoformat(timespec="seconds") if site.stories else None
    add("", lastmod=everything)
    for story in site.stories:
        add(story.path, (story,))
    for page in site.pages:
        add(page.path)
    for kind in ("niche", "audience", "tag"):
        add(terms_path(kind), lastmod=everything)
        for term in site.term(kind):
            add(term.path, term.stories)
    for path in (MAP_PATH, ARCHIVE_PATH):
        add(path, lastmod=everything)
    return entries


def _sitemap_reads(site: Site) -> Iterator[tuple[object, str]]:
    """What `_sitemap_entries` reads of the site's objects, besides the stories and pages it lists."""
    for kind in ("niches", "audiences", "tags"):
        yield site.info, kind
    for story in site.stories:
        yield from ((story, "path"), (story, "date"), (story, "updated"))
    for page in site.pages:
        yield page, "path"
    for kind in ("niche", "audience", "tag"):
        for term in site.term(kind):
            yield from ((term, "path"), (term, "stories"))


def _sitemap_file(entries: list[tuple[str, str | None]], urls: SiteUrls) -> Output:
    root = etree.Element("urlset", xmlns="http://www.sitemaps.org/schemas/sitemap/0.9")
    for path, lastmod in entries:
        entry = etree.SubElement(root, "url")
        etree.SubElement(entry, "loc").text = urls.absolute(path)
        if lastmod is not None:
            etree.SubElement(entry, "lastmod").text = lastmod
    etree.indent(root)
    data = b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="utf-8") + b"\n"
    return Output("sitemap.xml", data, None, "sitemap.xml")


def _robots(urls: SiteUrls) -> str:
    lines = ["User-agent: *", "Allow: /"]
    if urls.origin:
        lines.append(f"Sitemap: {urls.absolute('sitemap.xml')}")
    return "\n".join(lines) + "\n"
