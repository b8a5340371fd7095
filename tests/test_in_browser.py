"""The demo site as a reader meets it: in the system Chromium, served on 127.0.0.1 under /repo/.

Each shipped theme builds the demo once; the same pages are then opened at a desktop and a phone
size, in light and dark colour schemes, with and without JavaScript, and checked with axe-core.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import markdown
import pytest
import yaml

from . import tools
from .conftest import REPO, THEMES, serve_site
from .test_demo_site import BASE_PATH, SourceStory, lxml_html, published, site_config

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
STORY_BUDGET = 50_000
"""Bytes a story page may transfer before its images: HTML, CSS and any script together."""
SERIOUS = ("serious", "critical")


def story_with_most_media() -> SourceStory:
    """The published story that shows the most images (a cover counts), so image checks bite."""
    def images(story: SourceStory) -> int:
        return story.body.count("![") + (1 if story.meta.get("cover") else 0)

    return max(published(), key=images)


@dataclass(frozen=True)
class ReaderPage:
    """A page a reader opens, by its path under the site and the HTTP status it answers with."""

    name: str
    path: str
    status: int = 200


def reader_pages() -> list[ReaderPage]:
    """Home, a story, a niche, an audience, and an address that does not exist (the 404 page)."""
    config = site_config()
    return [
        ReaderPage("home", ""),
        ReaderPage("story", f"stories/{story_with_most_media().slug}/"),
        ReaderPage("niche", f"niches/{next(iter(config['niches']))}/"),
        ReaderPage("audience", f"audiences/{next(iter(config['audiences']))}/"),
        ReaderPage("not-found", "no/such/page/", status=404),
    ]


PAGES = reader_pages()


@dataclass(frozen=True)
class ServedDemo:
    theme: str
    url: str
    """The site's address: http://127.0.0.1:PORT/repo/."""
    folder: Path


@pytest.fixture(scope="session", params=THEMES)
def demo(request: pytest.FixtureRequest, demo_builds: Callable[[str], Path]) -> Iterator[ServedDemo]:
    """The demo built with each theme, served under /repo/ on 127.0.0.1."""
    folder = demo_builds(request.param)
    with serve_site(folder, BASE_PATH) as url:
        yield ServedDemo(request.param, url, folder)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless system Chromium for the whole session (Playwright never downloads its own)."""
    executable = tools.chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        tools.need(False, "playwright", "pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(tools.CHROMIUM_ARGS))
        yield browser
        browser.close()


@dataclass
class Visit:
    """What a browser saw while it opened one page."""

    page: Any
    status: int
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)


def visit(browser: Any, url: str, expected_status: int = 200, **context_options: Any) -> Visit:
    """Open `url` in a fresh browser context (no cache, no cookies) and record what happened."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    errors: list[str] = []
    failed: list[str] = []
    responses: list[Any] = []
    page.on("console", lambda message: errors.append(f"{message.text} ({message.location.get('url')})") if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("requestfailed", lambda request: failed.append(f"{request.url}: {request.failure}"))
    page.on("response", lambda response: responses.append(response))
    response = page.goto(url, wait_until="load")
    assert response is not None, url
    seen = Visit(page, response.status, errors, failed, responses)
    if expected_status != 200:
        # The browser reports the page's own not-found status as a console error; that one is expected.
        seen.console_errors = [e for e in errors if not (e.startswith("Failed to load resource") and e.endswith(f"({url})"))]
    return seen


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Visit]]:
    """visit() whose contexts are closed after the test."""
    contexts: list[Any] = []

    def opened(url: str, expected_status: int = 200, **options: Any) -> Visit:
        seen = visit(browser, url, expected_status, **options)
        contexts.append(seen.page.context)
        return seen

    yield opened
    for context in contexts:
        context.close()


def images_loaded(page: Any) -> list[tuple[str, int]]:
    """(address, natural width) of every image on the page, after each has been loaded and decoded."""
    return [tuple(pair) for pair in page.evaluate(
        """() => Promise.all([...document.images].map(img => {
               img.loading = "eager";
               return img.decode().then(() => [img.currentSrc || img.src, img.naturalWidth],
                                        () => [img.currentSrc || img.src, 0]);
           }))"""
    )]


# --- every page, at both sizes ----------------------------------------------------------------------

@pytest.mark.parametrize("viewport", VIEWPORTS, ids=str)
@pytest.mark.parametrize("reader_page", PAGES, ids=lambda p: p.name)
def test_page_loads_cleanly_and_fits_the_screen(demo: ServedDemo, open_page: Callable[..., Visit],
                                                reader_page: ReaderPage, viewport: str) -> None:
    seen = open_page(demo.url + reader_page.path, reader_page.status, viewport=VIEWPORTS[viewport])

    assert seen.status == reader_page.status
    assert seen.console_errors == []
    assert seen.failed == []
    bad = [f"{r.status} {r.url}" for r in seen.responses if r.status >= 400 and r.request.resource_type != "document"]
    assert bad == []
    assert seen.page.locator("main h1").count() == 1
    assert seen.page.locator("link[rel=stylesheet]").count() >= 1
    sheets_applied = seen.page.evaluate("() => document.styleSheets.length")
    assert sheets_applied >= 1, "the stylesheet did not load"
    icons = seen.page.eval_on_selector_all("link[rel~=icon]", "links => links.map(link => link.href)")
    assert icons, "no icon link: browsers would ask the host's root for /favicon.ico"
    assert [icon for icon in icons if seen.page.request.get(icon).status != 200] == []
    broken_images = [(src, width) for src, width in images_loaded(seen.page) if width == 0]
    assert broken_images == []
    widths = seen.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths[0]}px of content in {widths[1]}px"


def test_the_story_page_shows_every_image_of_the_story(demo: ServedDemo, open_page: Callable[..., Visit]) -> None:
    story = story_with_most_media()
    seen = open_page(demo.url + f"stories/{story.slug}/")
    loaded = {Path(urlsplit(src).path).name for src, width in images_loaded(seen.page) if width > 0}
    expected = set(lxml_html.fragment_fromstring(markdown.markdown(story.body), create_parent="div").xpath("//img/@src"))
    if story.meta.get("cover"):
        expected.add(story.meta["cover"])

    assert expected, "the demo should hold a story with images"
    assert {Path(src).name for src in expected} <= loaded


def test_a_story_reads_with_javascript_disabled(demo: ServedDemo, open_page: Callable[..., Visit]) -> None:
    story = story_with_most_media()
    seen = open_page(demo.url + f"stories/{story.slug}/", java_script_enabled=False, viewport=VIEWPORTS["phone"])
    paragraphs = story.paragraphs
    shown = " ".join(seen.page.locator("main").inner_text().split())

    assert seen.page.locator("main h1").inner_text() == story.meta["title"]
    assert seen.page.locator("main h1").is_visible()
    assert paragraphs, "the story has no paragraphs to read"
    assert [p for p in paragraphs if p not in shown] == []


FEED_ROOTS = {"application/rss+xml": "rss", "application/atom+xml": "{http://www.w3.org/2005/Atom}feed"}
JSON_FEED = "application/feed+json"


def same_site_links(page: Any) -> list[dict[str, str]]:
    """Every a[href] and link[href] of the page that leads elsewhere on its host: href (no fragment), rel, type."""
    return page.evaluate(
        """() => [...document.querySelectorAll("a[href]:not([href^='#']), link[href]")]
               .map(e => ({url: new URL(e.href, location.href), rel: e.getAttribute("rel") || "", type: e.getAttribute("type") || ""}))
               .filter(l => l.url.origin === location.origin)
               .map(l => ({href: l.url.href.split("#")[0], rel: l.rel, type: l.type}))"""
    )


def is_feed_of_type(body: bytes, media_type: str) -> bool:
    """True when a file is the kind of feed its link's type says."""
    if media_type == JSON_FEED:
        return str(json.loads(body).get("version", "")).startswith("https://jsonfeed.org/version/")
    return ET.fromstring(body).tag == FEED_ROOTS[media_type]


@pytest.mark.parametrize("reader_page", PAGES, ids=lambda p: p.name)
def test_every_link_on_a_reader_page_answers_and_feed_links_lead_to_feeds(demo: ServedDemo, open_page: Callable[..., Visit],
                                                                          reader_page: ReaderPage) -> None:
    seen = open_page(demo.url + reader_page.path, reader_page.status)
    links = same_site_links(seen.page)
    broken, not_feeds = [], []
    for href in sorted({link["href"] for link in links}):
        response = seen.page.request.get(href)
        if response.status != 200:
            broken.append(f"{response.status} {href}")
    feeds = {(link["href"], link["type"]) for link in links if link["type"] in {*FEED_ROOTS, JSON_FEED}}
    for href, media_type in sorted(feeds):
        if not is_feed_of_type(seen.page.request.get(href).body(), media_type):
            not_feeds.append(f"{href} is not {media_type}")

    assert broken == []
    assert not_feeds == []
    alternates = [link for link in links if link["rel"] == "alternate"]
    assert alternates, "no feed to discover"
    if reader_page.name in ("niche", "audience"):
        own = [href for href, _ in feeds if f"/{reader_page.path}" in href]
        assert own, f"the {reader_page.name} page offers no feed of its own"


def test_the_story_page_offers_related_stories_with_their_reasons(demo: ServedDemo, open_page: Callable[..., Visit]) -> None:
    story = story_with_most_media()
    seen = open_page(demo.url + f"stories/{story.slug}/", viewport=VIEWPORTS["phone"])
    heading = ui_strings()["related_stories"]
    section = seen.page.locator("main section", has=seen.page.get_by_role("heading", name=heading, exact=True))
    entries = section.locator("li")
    story_urls = {demo.url + f"stories/{s.slug}/" for s in published()} - {seen.page.url}

    assert section.count() == 1 and section.is_visible()
    assert entries.count() >= 1
    for index in range(entries.count()):
        entry = entries.nth(index)
        link = entry.locator("a").first
        assert link.evaluate("a => a.href") in story_urls
        reasons = entry.inner_text().replace(link.inner_text(), "").strip()
        assert reasons, f"no reasons given for {link.inner_text()}"


def ui_strings() -> dict[str, str]:
    """The default theme's English UI strings (the magazine keeps these)."""
    return yaml.safe_load((REPO / "themes" / "default" / "i18n" / "en.yaml").read_text(encoding="utf-8"))


# --- accessibility ----------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", VIEWPORTS, ids=str)
@pytest.mark.parametrize("reader_page", PAGES, ids=lambda p: p.name)
def test_axe_finds_no_serious_accessibility_violation(demo: ServedDemo, open_page: Callable[..., Visit],
                                                      reader_page: ReaderPage, viewport: str, scheme: str) -> None:
    axe = tools.axe_script()
    seen = open_page(demo.url + reader_page.path, reader_page.status, viewport=VIEWPORTS[viewport], color_scheme=scheme)
    assert seen.page.evaluate(f"() => matchMedia('(prefers-color-scheme: {scheme})').matches")
    seen.page.add_script_tag(content=axe)
    violations = seen.page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v => ({
               id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + (n.failureSummary || "")),
           }))"""
    )

    assert [v for v in violations if v["impact"] in SERIOUS] == []


# --- light ------------------------------------------------------------------------------------------

def test_every_story_page_is_light_and_loads_nothing_from_other_hosts(demo: ServedDemo, browser: Any) -> None:
    origin = urlsplit(demo.url).netloc
    heavy, foreign, fonts = {}, [], []
    for story in published():
        seen = visit(browser, demo.url + f"stories/{story.slug}/")
        requests = [r.request for r in seen.responses]
        foreign += [r.url for r in requests if urlsplit(r.url).netloc != origin]
        fonts += [r.url for r in requests if r.resource_type == "font"]
        weight = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"]
                     for r in requests if r.resource_type not in ("image", "media"))
        if weight > STORY_BUDGET:
            heavy[story.slug] = weight
        seen.page.context.close()

    assert foreign == []
    assert fonts == []
    assert heavy == {}, f"story pages over {STORY_BUDGET} bytes before images"


# --- the checks above can fail ----------------------------------------------------------------------

BROKEN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Broken</title>
<style>p.faint { color: #ddd; background: #fff; }</style></head>
<body><main><h1>Broken</h1>
<p class="faint">Text too faint to read.</p>
<img src="missing.png">
<div style="width: 2000px">Too wide.</div>
<script>console.error("boom")</script>
</main></body></html>
"""


def test_the_checks_catch_a_broken_page(tmp_path: Path, open_page: Callable[..., Visit]) -> None:
    site = tmp_path / "_site"
    site.mkdir()
    (site / "index.html").write_text(BROKEN_PAGE, encoding="utf-8")
    axe = tools.axe_script()
    with serve_site(site, BASE_PATH) as url:
        seen = open_page(url, viewport=VIEWPORTS["phone"])
        seen.page.add_script_tag(content=axe)
        found = seen.page.evaluate("async () => (await axe.run()).violations.map(v => [v.id, v.impact])")
        images = images_loaded(seen.page)
        widths = seen.page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")

    assert any(e.startswith("boom") for e in seen.console_errors)
    assert [r.url for r in seen.responses if r.status == 404] == [url + "missing.png"]
    assert {("color-contrast", "serious"), ("image-alt", "critical")} <= {tuple(v) for v in found}
    assert [width for _, width in images] == [0]
    assert widths[0] > widths[1]
