"""The bundled demo site, built under the sub-path /repo/, checked as a reader and a crawler see it.

Every output is parsed (lxml for HTML, ElementTree for XML), never grepped. The expectations come
from the sources themselves: storysite.yaml and the front-matter of content/stories.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import markdown
import pytest
import yaml

from .conftest import REPO, serve_site

lxml_html = pytest.importorskip("lxml.html")

BASE_URL = "https://example.github.io/repo/"
BASE_PATH = "/repo/"
SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
MONTHS_ID = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)
MAX_REQUESTS = 2000
TIMEOUT = 5
REF_XPATH = "//a[@href]/@href | //link[@href]/@href | //img[@src]/@src | //script[@src]/@src"


# --- what the sources say --------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceStory:
    """A story file of the demo, read straight from its front-matter."""

    path: Path
    slug: str
    meta: dict
    body: str

    @property
    def url(self) -> str:
        return f"{BASE_PATH}stories/{self.slug}/"

    @property
    def lang(self) -> str:
        return str(self.meta.get("lang") or site_config()["language"])

    @property
    def date(self) -> dt.date:
        value = self.meta["date"]
        return value.date() if isinstance(value, dt.datetime) else value

    @property
    def paragraphs(self) -> list[str]:
        """The plain text of each top-level paragraph of the body, typographic quotes as built."""
        body = lxml_html.fragment_fromstring(markdown.markdown(self.body, extensions=["smarty"]), create_parent="div")
        return [text for text in (" ".join(p.text_content().split()) for p in body.xpath("./p")) if text]

    @property
    def summary(self) -> str:
        """The front-matter summary, else the first paragraph."""
        return " ".join(str(self.meta.get("summary") or "").split()) or self.paragraphs[0]


@functools.lru_cache(maxsize=None)
def site_config() -> dict:
    return yaml.safe_load((REPO / "storysite.yaml").read_text(encoding="utf-8"))


def _split_front_matter(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


@functools.lru_cache(maxsize=None)
def source_stories() -> tuple[SourceStory, ...]:
    folder = REPO / "content" / "stories"
    found = []
    for path in sorted([*folder.glob("*.md"), *folder.glob("*/index.md")]):
        meta, body = _split_front_matter(path)
        default_slug = path.parent.name if path.name == "index.md" else path.stem
        found.append(SourceStory(path, str(meta.get("slug") or default_slug), meta, body))
    return tuple(found)


def _is_future(story: SourceStory) -> bool:
    return story.date > dt.date.today() + dt.timedelta(days=1)


def published() -> list[SourceStory]:
    return [s for s in source_stories() if not s.meta.get("draft") and not _is_future(s)]


def drafts() -> list[SourceStory]:
    return [s for s in source_stories() if s.meta.get("draft")]


# --- what the build holds ---------------------------------------------------------------------------

def parse(path: Path):
    return lxml_html.fromstring(path.read_bytes())


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def refs(doc) -> list[str]:
    """Every URL a page refers to: a[href], link[href], img[src], script[src]."""
    return [str(value).strip() for value in doc.xpath(REF_XPATH)]


def file_of(site: Path, url_path: str) -> Path:
    """The file of the build that a site URL path (/repo/x/) is served from."""
    assert url_path.startswith(BASE_PATH), url_path
    rel = unquote(url_path[len(BASE_PATH):])
    return site / (rel + "index.html" if rel == "" or rel.endswith("/") else rel)


def text_of(element) -> str:
    return " ".join(element.text_content().split())


def main_links(doc) -> list[str]:
    return [str(h) for h in doc.xpath("//main//a/@href")]


def story_entries(doc) -> list[tuple[str, dt.datetime]]:
    """The stories listed in a page's main area: (story URL, published datetime), in page order."""
    entries = []
    for article in doc.xpath("//main//article"):
        links = [h for h in article.xpath(".//a/@href") if _is_story_url(h)]
        times = article.xpath(".//time/@datetime")
        assert links and times, f"a story entry without a story link or a <time datetime>: {text_of(article)[:80]}"
        entries.append((str(links[0]), dt.datetime.fromisoformat(str(times[0]))))
    return entries


def _is_story_url(href: str) -> bool:
    path = urlsplit(href).path
    parts = path[len(BASE_PATH):].strip("/").split("/")
    return path.startswith(BASE_PATH + "stories/") and len(parts) == 2


# --- the site served under /repo/ -------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(demo_build: Path) -> Iterator[str]:
    """The demo build served on 127.0.0.1 under /repo/; yields "http://127.0.0.1:PORT/repo/"."""
    with serve_site(demo_build, BASE_PATH) as url:
        yield url


def fetch(url: str) -> tuple[int, str, bytes]:
    """GET a URL: (status, content type, body); an HTTP error is a status, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read()


def crawl(start: str) -> dict[str, tuple[int, str]]:
    """Follow every same-site reference from `start`; return {url: (status, first referrer)}."""
    origin = urlsplit(start).netloc
    seen: dict[str, str] = {start: "(start)"}
    results: dict[str, tuple[int, str]] = {}
    queue = deque([start])
    while queue:
        assert len(results) < MAX_REQUESTS, f"more than {MAX_REQUESTS} URLs: is the site linking in circles?"
        url = queue.popleft()
        status, content_type, body = fetch(url)
        results[url] = (status, seen[url])
        if status != 200 or content_type != "text/html":
            continue
        for ref in refs(lxml_html.fromstring(body)):
            target = urljoin(url, ref)
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https") or parts.netloc != origin:
                continue  # mailto:, tel:, other hosts: not ours to check
            target = parts._replace(fragment="").geturl()
            if target not in seen:
                seen[target] = url
                queue.append(target)
    return results


# --- serving and crawling ---------------------------------------------------------------------------

def test_crawl_from_home_reaches_every_page_and_every_reference_answers(served: str, demo_build: Path) -> None:
    results = crawl(served)

    broken = {url: f"{status} (linked from {referrer})" for url, (status, referrer) in results.items() if status != 200}
    assert broken == {}
    reached = {file_of(demo_build, urlsplit(url).path) for url in results}
    pages = {p for p in html_files(demo_build) if p != demo_build / "404.html"}
    unreached = sorted(str(p.relative_to(demo_build)) for p in pages - reached)
    assert unreached == [], "pages no link leads to from the home page"


def test_a_missing_path_answers_404(served: str) -> None:
    status, _, _ = fetch(urljoin(served, "a/b/c/"))

    assert status == 404


def test_the_404_page_served_at_a_nested_missing_url_links_only_to_what_answers(served: str) -> None:
    missing = urljoin(served, "a/b/c")
    status, content_type, body = fetch(missing)
    doc = lxml_html.fromstring(body)
    targets = {urljoin(missing, r).partition("#")[0] for r in refs(doc) if not r.startswith("#")}
    answers = {target: fetch(target)[0] for target in sorted(targets) if urlsplit(target).netloc == urlsplit(served).netloc}

    assert (status, content_type) == (404, "text/html")
    assert len(doc.xpath("//h1")) == 1
    assert urljoin(served, "css/storysite.css") in answers and served in answers
    assert {target: code for target, code in answers.items() if code != 200} == {}


def test_the_404_page_uses_root_relative_urls_so_it_works_at_any_depth(demo_build: Path) -> None:
    doc = parse(demo_build / "404.html")
    urls = [r for r in refs(doc) if not r.startswith("#")]  # a same-page fragment works anywhere

    assert urls, "the 404 page links nowhere"
    assert [u for u in urls if not u.startswith(BASE_PATH)] == []
    assert doc.xpath("//link[@rel='stylesheet']/@href") == [f"{BASE_PATH}css/storysite.css"]


# --- every page -------------------------------------------------------------------------------------

def test_no_link_escapes_the_sub_path_or_points_to_markdown(demo_build: Path) -> None:
    escaping, markdown_links = [], []
    for page in html_files(demo_build):
        doc = parse(page)
        where = str(page.relative_to(demo_build))
        for ref in (str(v).strip() for v in doc.xpath("//@href | //@src")):
            if ref.startswith("/") and not ref.startswith("//") and not ref.startswith(BASE_PATH):
                escaping.append((where, ref))
            if urlsplit(ref).path.endswith(".md"):
                markdown_links.append((where, ref))

    assert escaping == []
    assert markdown_links == []


def test_every_page_has_the_head_and_heading_a_reader_and_a_search_engine_need(demo_build: Path) -> None:
    problems = []
    for page in html_files(demo_build):
        doc = parse(page)
        where = str(page.relative_to(demo_build))

        def check(ok: bool, what: str) -> None:
            if not ok:
                problems.append(f"{where}: {what}")

        check(len(doc.xpath("//h1")) == 1, f"{len(doc.xpath('//h1'))} h1 elements, not 1")
        check(bool(doc.get("lang", "").strip()), "<html> has no lang")
        titles = doc.xpath("//head/title")
        check(len(titles) == 1 and bool(text_of(titles[0])), "no <title> or an empty one")
        descriptions = doc.xpath("//head/meta[@name='description']/@content")
        check(len(descriptions) == 1 and bool(str(descriptions[0]).strip()), "no meta description")
        canonical = doc.xpath("//head/link[@rel='canonical']/@href")
        if page.name == "404.html":
            # A not-found page has no canonical address; it asks not to be indexed instead.
            check(canonical == [], "the 404 page names a canonical URL")
            check("noindex" in doc.xpath("string(//head/meta[@name='robots']/@content)"), "404 page not noindex")
        else:
            check(len(canonical) == 1 and str(canonical[0]).startswith(BASE_URL), f"canonical {canonical}")
        stylesheets = doc.xpath("//head/link[@rel='stylesheet']/@href")
        check(f"{BASE_PATH}css/storysite.css" in stylesheets, f"stylesheets {stylesheets}")
        for img in doc.xpath("//img"):
            check(bool((img.get("alt") or "").strip()), f"img {img.get('src')} has no alt text")

    assert (demo_build / "css" / "storysite.css").is_file()
    assert problems == []


def test_story_pages_have_their_own_canonical_url(demo_build: Path) -> None:
    for story in published():
        doc = parse(file_of(demo_build, story.url))
        expected = story.meta.get("canonical") or BASE_URL + story.url[len(BASE_PATH):]

        assert doc.xpath("//head/link[@rel='canonical']/@href") == [expected]


# --- the home page and its pages --------------------------------------------------------------------

def home_pages(site: Path) -> list[Path]:
    pages = [site / "index.html"]
    number = 2
    while (site / "page" / str(number) / "index.html").exists():
        pages.append(site / "page" / str(number) / "index.html")
        number += 1
    return pages


def test_home_page_lists_the_newest_stories_first_one_page_full(demo_build: Path) -> None:
    per_page = site_config()["paginate"]
    entries = story_entries(parse(demo_build / "index.html"))

    assert len(published()) > per_page, "the demo should have enough stories to paginate"
    assert len(entries) == per_page
    dates = [when for _, when in entries]
    assert dates == sorted(dates, reverse=True)


def test_home_pages_together_list_every_published_story_exactly_once_newest_first(demo_build: Path) -> None:
    per_page = site_config()["paginate"]
    pages = home_pages(demo_build)
    listed = [story_entries(parse(page)) for page in pages]
    every = [entry for page in listed for entry in page]

    assert len(pages) == math.ceil(len(published()) / per_page)
    assert [len(page) for page in listed[:-1]] == [per_page] * (len(pages) - 1)
    assert 1 <= len(listed[-1]) <= per_page
    urls = [url for url, _ in every]
    assert sorted(urls) == sorted(s.url for s in published())
    assert len(set(urls)) == len(urls)
    dates = [when for _, when in every]
    assert dates == sorted(dates, reverse=True)


def test_home_page_navigation_links_to_the_about_page(demo_build: Path) -> None:
    doc = parse(demo_build / "index.html")
    nav_links = [str(h) for h in doc.xpath("//header//nav//a/@href")]

    assert (demo_build / "about" / "index.html").is_file()
    assert f"{BASE_PATH}about/" in nav_links
    about = parse(demo_build / "about" / "index.html")
    assert text_of(about.xpath("//h1")[0]) == _split_front_matter(REPO / "content" / "pages" / "about.md")[0]["title"]


# --- stories, niches, audiences ---------------------------------------------------------------------

@pytest.mark.parametrize("story", published(), ids=lambda s: s.slug)
def test_published_story_has_a_page_and_is_listed_on_its_niche_and_audiences(demo_build: Path, story: SourceStory) -> None:
    page = file_of(demo_build, story.url)
    assert page.is_file()
    doc = parse(page)
    assert text_of(doc.xpath("//h1")[0]) == story.meta["title"]
    assert doc.get("lang") == story.lang

    niche_page = file_of(demo_build, f"{BASE_PATH}niches/{story.meta['niche']}/")
    assert story.url in main_links(parse(niche_page))
    for audience in story.meta["audience"]:
        audience_page = file_of(demo_build, f"{BASE_PATH}audiences/{audience}/")
        assert story.url in main_links(parse(audience_page)), f"missing from audience {audience}"


def test_draft_story_has_no_page_and_no_link(demo_build: Path) -> None:
    assert drafts(), "the demo is expected to hold a draft story"
    linked = {str(urlsplit(r).path) for page in html_files(demo_build) for r in refs(parse(page))}
    for story in drafts():
        assert not file_of(demo_build, story.url).exists()
        assert not file_of(demo_build, story.url).parent.exists()
        assert story.url not in linked


@pytest.mark.parametrize("niche", sorted(site_config()["niches"]))
def test_niche_page_shows_the_declared_title_and_description(demo_build: Path, niche: str) -> None:
    declared = site_config()["niches"][niche]
    doc = parse(file_of(demo_build, f"{BASE_PATH}niches/{niche}/"))
    main_texts = {text_of(element) for element in doc.xpath("//main//*")}

    assert text_of(doc.xpath("//h1")[0]) == declared["title"]
    assert " ".join(declared["description"].split()) in main_texts


def test_indonesian_stories_are_marked_and_dated_in_indonesian(demo_build: Path) -> None:
    indonesian = [s for s in published() if s.lang == "id"]
    assert indonesian, "the demo is expected to hold stories in Indonesian"
    for story in indonesian:
        doc = parse(file_of(demo_build, story.url))
        published_on = [
            text_of(t) for t in doc.xpath("//main//time[@datetime]")
            if dt.datetime.fromisoformat(t.get("datetime")).date() == story.date
        ]

        assert doc.get("lang") == "id", story.slug
        assert published_on, f"{story.slug}: no <time> for {story.date}"
        month = MONTHS_ID[story.date.month - 1]
        assert month in published_on[0].split(), f"{story.slug}: {published_on[0]!r} lacks {month}"
        assert str(story.date.year) in published_on[0]


def test_bundle_story_images_sit_next_to_its_page(demo_build: Path) -> None:
    bundles = [s for s in published() if s.path.name == "index.md"]
    assert bundles, "the demo is expected to hold a page bundle"
    for story in bundles:
        page = file_of(demo_build, story.url)
        doc = parse(page)
        images = [str(src) for src in doc.xpath("//main//img/@src")]
        source_images = sorted(p.name for p in story.path.parent.iterdir() if p.suffix in (".svg", ".png", ".jpg", ".webp"))

        assert sorted(Path(urlsplit(src).path).name for src in images) == source_images
        for src in images:
            served_file = file_of(demo_build, urlsplit(src).path)
            assert served_file.is_file(), src
            assert served_file.parent == page.parent, f"{src} is not next to {page}"
        if story.meta.get("cover"):
            cover = doc.xpath("//main//figure//img/@src")
            assert [Path(urlsplit(str(c)).path).name for c in cover] == [story.meta["cover"]]


def test_markdown_links_between_stories_point_to_the_target_story_url(demo_build: Path) -> None:
    by_path = {s.path.resolve(): s for s in source_stories()}
    checked = 0
    for story in published():
        body = lxml_html.fragment_fromstring(markdown.markdown(story.body), create_parent="div")
        built_links = main_links(parse(file_of(demo_build, story.url)))
        for href in (str(h) for h in body.xpath("//a/@href")):
            parts = urlsplit(href)
            if parts.scheme or not parts.path.endswith(".md"):
                continue
            target = by_path[(story.path.parent / unquote(parts.path)).resolve()]
            expected = target.url + (f"#{parts.fragment}" if parts.fragment else "")
            assert expected in built_links, f"{story.slug}: {href} should become {expected}"
            checked += 1

    assert checked > 0, "the demo is expected to link stories to each other with .md links"


# --- files beside the pages -------------------------------------------------------------------------

def test_sitemap_lists_every_story_with_absolute_urls_and_lastmod(demo_build: Path) -> None:
    root = ET.parse(demo_build / "sitemap.xml").getroot()
    entries = {u.findtext("sm:loc", namespaces=SITEMAP_NS): u.findtext("sm:lastmod", namespaces=SITEMAP_NS)
               for u in root.findall("sm:url", SITEMAP_NS)}

    assert root.tag == f"{{{SITEMAP_NS['sm']}}}urlset"
    assert [loc for loc in entries if not (loc or "").startswith(BASE_URL)] == []
    for loc in entries:
        assert file_of(demo_build, urlsplit(loc).path).is_file(), f"{loc} is in the sitemap but not in the build"
    for story in published():
        loc = BASE_URL + story.url[len(BASE_PATH):]
        assert loc in entries, story.slug
        assert entries[loc], f"{story.slug} has no lastmod"
        lastmod = dt.datetime.fromisoformat(entries[loc])
        assert lastmod.date() >= story.date
    for story in drafts():
        assert BASE_URL + story.url[len(BASE_PATH):] not in entries


def test_robots_txt_names_the_sitemap(demo_build: Path) -> None:
    lines = (demo_build / "robots.txt").read_text(encoding="utf-8").splitlines()
    fields = {(key.strip().lower(), value.strip()) for key, _, value in (line.partition(":") for line in lines)}

    assert ("sitemap", f"{BASE_URL}sitemap.xml") in fields


def test_output_is_ready_for_github_pages_without_symlinks(demo_build: Path) -> None:
    assert (demo_build / ".nojekyll").is_file()
    links = [
        os.path.join(folder, name)
        for folder, dirs, files in os.walk(demo_build)
        for name in [*dirs, *files]
        if os.path.islink(os.path.join(folder, name))
    ]
    assert links == []
