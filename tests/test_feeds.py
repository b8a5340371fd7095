"""Feeds as a reader app sees them: every feed parsed with feedparser, the XML checked with lxml.

The fixture site holds the text that breaks careless feed writers: `]]>`, `&`, `<`, emoji, right-to-left
script and control characters that XML cannot carry, in titles, summaries and bodies.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import lxml.etree
import lxml.html
import pytest
from click.testing import CliRunner

from storysite.cli import main
from storysite.config import FeedsConfig
from storysite.errors import ContentError

from .conftest import REPO, build, story

BASE_URL = "https://example.org/blog/"
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
FORMATS = {"rss": "feed.xml", "atom": "atom.xml", "json": "feed.json"}
HOSTILE_TITLE = "Fish & chips <b>not bold</b> ]]> 🐟 שלום עולם"
HOSTILE_TEXT = "Prices & margins < 5% ]]> for 🐟 sellers: مرحبا بالعالم"

CONFIG = f"""\
title: Feed fixture & friends
description: Stories for people who sell fish.
base_url: {BASE_URL}
timezone: Asia/Jakarta
author: The team
niches:
  starting-a-business:
    title: Starting a business
    description: The first year, from idea to invoice.
  building-community:
    title: Building community
audiences:
  first-time-founders:
    title: First-time founders
  marketers:
    title: Marketers
"""

HOSTILE_STORY = (
    "---\n"
    f'title: "{HOSTILE_TITLE}\x07"\n'
    "date: 2025-03-14T09:30:00+07:00\n"
    "updated: 2025-04-01T10:00:00+07:00\n"
    "niche: starting-a-business\n"
    "audience: [first-time-founders, marketers]\n"
    "tags: [Fish, trust]\n"
    'summary: "A summary with a form feed\\f and & < ]]> 🐟"\n'
    "author: Sari\n"
    "cover: cover.png\n"
    "cover_alt: A fish & a cup\n"
    "---\n"
    f"{HOSTILE_TEXT}\x01 and a bell\x1b here.\n"
    "\n"
    "Read [the other story](../other.md), see ![a photo](photo.png) and [the notes](#notes).\n"
    "\n"
    "<p><img src='photo.png' srcset='photo.png 1x, photo.png 2x' alt='raw html'></p>\n"
    "\n"
    "## Notes {#notes}\n"
    "\n"
    "Written in `<code> & ]]>`.\n"
)


@dataclass(frozen=True)
class Built:
    out: Path
    warnings: tuple[str, ...]


def feed_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.name in FORMATS.values())


def parsed(path: Path) -> feedparser.FeedParserDict:
    """An RSS or Atom feed as feedparser reads it; it must not be bozo (ill-formed)."""
    result = feedparser.parse(path.read_bytes())
    assert not result.bozo, f"{path}: {result.get('bozo_exception')}"
    assert result.version in ("rss20", "atom10"), path
    return result


@dataclass(frozen=True)
class Item:
    """What a reader shows of an entry, whatever the format."""

    id: str
    title: str
    link: str
    html: str
    summary: str
    """Plain text."""


def items(path: Path) -> list[Item]:
    """The entries of a feed: feedparser for RSS and Atom, json for JSON Feed (this feedparser cannot read it)."""
    if path.suffix == ".json":
        feed = json.loads(path.read_text("utf-8"))
        assert feed["version"] == "https://jsonfeed.org/version/1.1" and feed["title"], path
        return [Item(i["id"], i["title"], i["url"], i.get("content_html", ""), i["summary"]) for i in feed["items"]]
    return [
        Item(e.id, e.title, e.link, e.content[0].value if "content" in e else "", lxml.html.fromstring(e.summary).text_content())
        for e in parsed(path).entries
    ]


def file_of(out: Path, url: str) -> Path:
    """The built file a full URL of the site is served from."""
    assert url.startswith(BASE_URL), url
    rel = unquote(urlsplit(url).path)[len(urlsplit(BASE_URL).path):]
    return out / (rel + "index.html" if rel == "" or rel.endswith("/") else rel)


def site_files(scratch_site, config: str = CONFIG, **more: str | bytes) -> Path:
    files: dict[str, str | bytes] = {
        "storysite.yaml": config,
        "content/stories/hostile/index.md": HOSTILE_STORY,
        "content/stories/hostile/photo.png": b"\x89PNG fake",
        "content/stories/hostile/cover.png": b"\x89PNG fake",
        "content/stories/other.md": story(title="The other story", date="2025-02-01", niche="building-community",
                                          audience="marketers", body="Back to [the fish](hostile/index.md).\n"),
        "content/stories/old.md": story(title="An old one", date="2024-06-01"),
        "content/stories/draft.md": story(title="A draft", date="2025-01-01", draft="true"),
        "content/stories/future.md": story(title="From the future", date="2999-01-01"),
        "content/pages/about.md": "---\ntitle: About\n---\nAbout us.\n",
    }
    files.update(more)
    return scratch_site(files)


@pytest.fixture
def site(scratch_site) -> Path:
    return site_files(scratch_site)


@pytest.fixture
def built(site: Path) -> Built:
    # A preview build: draft and future pages are made, yet no feed may carry them.
    config, result = build(site, drafts=True, future=True)
    return Built(config.output_dir, tuple(str(w) for w in result.warnings))


PUBLISHED = {  # slug -> niche, audiences; newest first
    "hostile": ("starting-a-business", ("first-time-founders", "marketers")),
    "other": ("building-community", ("marketers",)),
    "old": ("starting-a-business", ("first-time-founders",)),
}


def expected_slugs(folder: str) -> list[str]:
    if folder == "":
        return list(PUBLISHED)
    slug = folder.strip("/").split("/")[1]
    return [s for s, (niche, audiences) in PUBLISHED.items() if slug == niche or slug in audiences]


def slug_of(entry_id: str) -> str:
    return entry_id.rsplit(":", 1)[1]


# --- every feed, as a reader app reads it ---------------------------------------------------------

def test_site_niche_and_audience_feeds_hold_exactly_the_published_stories_newest_first(built: Built) -> None:
    folders = ["", "niches/starting-a-business/", "niches/building-community/",
               "audiences/first-time-founders/", "audiences/marketers/"]
    assert len(feed_files(built.out)) == len(folders) * len(FORMATS)
    assert (built.out / "stories/draft/index.html").is_file() and (built.out / "stories/future/index.html").is_file()
    for folder in folders:
        for name in FORMATS.values():
            assert [slug_of(e.id) for e in items(built.out / folder / name)] == expected_slugs(folder), folder + name
    assert not (built.out / "tags/fish/feed.xml").exists()


def test_hostile_text_survives_in_every_format_and_control_characters_are_gone(built: Built) -> None:
    for name in FORMATS.values():
        entry = items(built.out / name)[0]
        assert entry.title == HOSTILE_TITLE
        body = lxml.html.fromstring(entry.html)
        assert HOSTILE_TEXT + " and a bell here." in body.text_content()
        assert "<code> & ]]>" in body.text_content()
        assert entry.summary == "A summary with a form feed and & < ]]> 🐟"
    for path in feed_files(built.out):
        text = path.read_text("utf-8")
        assert not any(ch in text for ch in "\x01\x07\x0c\x1b")


def test_control_characters_are_removed_with_a_warning_naming_the_file(built: Built, site: Path) -> None:
    removed = [w for w in built.warnings if "control characters" in w]
    # The title's line (2), the summary's YAML escape (8) and the body line (13).
    assert removed == [f"content/stories/hostile/index.md:{line}: removed control characters that XML cannot carry"
                       f" (delete them from the file; they often come from text pasted from other programs)"
                       for line in (2, 8, 13)]
    result = CliRunner().invoke(main, ["build", "-s", str(site)])
    assert result.exit_code == 0, result.output
    assert "warning: content/stories/hostile/index.md:2: removed control characters" in result.stderr
    with pytest.raises(ContentError, match="hostile/index.md:13: removed control characters"):
        build(site, strict=True)


def test_entry_ids_stay_the_same_across_rebuilds_themes_and_a_new_base_path(scratch_site) -> None:
    site = site_files(scratch_site, **{"themes/plain/theme.yaml": "extends: default\n",
                                       "themes/plain/templates/story.html": "{{ story.title }}\n"})
    first, _ = build(site, output_dir=site / "one")
    again, _ = build(site, output_dir=site / "two")
    moved, _ = build(site, output_dir=site / "three", base_url="https://example.org/elsewhere/")
    (site / "storysite.yaml").write_text(CONFIG + "theme: plain\npermalinks: {story: \"/{year}/{slug}/\"}\n", "utf-8")
    themed, _ = build(site, output_dir=site / "four")
    for name in FORMATS.values():
        assert (first.output_dir / name).read_bytes() == (again.output_dir / name).read_bytes()
        ids = [e.id for e in items(first.output_dir / name)]
        assert ids == [e.id for e in items(moved.output_dir / name)]
        assert ids == [e.id for e in items(themed.output_dir / name)]
        assert ids[0] == "tag:example.org,2025-03-14:hostile"
        links = [e.link for e in items(moved.output_dir / name)]
        assert links[0] == "https://example.org/elsewhere/stories/hostile/"


def test_id_host_keeps_entry_ids_when_the_site_moves_to_another_domain(scratch_site) -> None:
    site = site_files(scratch_site, CONFIG.replace(BASE_URL, "https://stories.example.com/") + "feeds: {id_host: example.org}\n")
    config, _ = build(site)
    for name in FORMATS.values():
        newest = items(config.output_dir / name)[0]
        assert newest.id == "tag:example.org,2025-03-14:hostile"
        assert newest.link == "https://stories.example.com/stories/hostile/"


def test_rss_guid_is_not_a_permalink_and_atom_ids_are_the_same(built: Built) -> None:
    rss = lxml.etree.parse(built.out / "feed.xml")
    atom = lxml.etree.parse(built.out / "atom.xml")
    guids = rss.xpath("//item/guid")
    assert {g.get("isPermaLink") for g in guids} == {"false"}
    assert [g.text for g in guids] == atom.xpath("//atom:entry/atom:id/text()", namespaces=NS)


def test_dates_carry_their_time_zone_and_the_channel_is_as_new_as_its_newest_entry(built: Built) -> None:
    rss = lxml.etree.parse(built.out / "feed.xml").getroot()
    item = rss.find("channel/item")
    published = email.utils.parsedate_to_datetime(item.findtext("pubDate"))
    assert published == dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert published.utcoffset() == dt.timedelta(hours=7)
    newest = dt.datetime(2025, 4, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert email.utils.parsedate_to_datetime(rss.findtext("channel/lastBuildDate")) == newest

    atom = lxml.etree.parse(built.out / "atom.xml").getroot()
    entry = atom.find("atom:entry", NS)
    assert dt.datetime.fromisoformat(entry.findtext("atom:published", namespaces=NS)) == published
    assert dt.datetime.fromisoformat(entry.findtext("atom:updated", namespaces=NS)) == newest
    assert dt.datetime.fromisoformat(atom.findtext("atom:updated", namespaces=NS)) == newest

    items = json.loads((built.out / "feed.json").read_text("utf-8"))["items"]
    assert dt.datetime.fromisoformat(items[0]["date_published"]) == published
    # A date without a time is midnight in the site's time zone (Asia/Jakarta), said so.
    assert items[-1]["date_published"] == "2024-06-01T00:00:00+07:00"

    niche = lxml.etree.parse(built.out / "niches/building-community/feed.xml").getroot()
    assert email.utils.parsedate_to_datetime(niche.findtext("channel/lastBuildDate")) == dt.datetime(
        2025, 2, 1, tzinfo=dt.timezone(dt.timedelta(hours=7))
    )


def test_feeds_do_not_depend_on_the_build_time(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01
    first, _ = build(site, output_dir=site / "one")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1798761600")  # 2027-01-01
    second, _ = build(site, output_dir=site / "two")
    for path in feed_files(first.output_dir):
        assert path.read_bytes() == (second.output_dir / path.relative_to(first.output_dir)).read_bytes()


def _links_in(path: Path) -> list[str]:
    """Every URL a feed holds: its own links, each entry's link, and every href/src/srcset in the HTML."""
    if path.suffix == ".json":
        feed = json.loads(path.read_text("utf-8"))
        urls = [feed["home_page_url"], feed["feed_url"]]
        htmls = []
        for item in feed["items"]:
            urls += [item["url"], *([item["image"]] if "image" in item else [])]
            htmls.append(item["content_html"])
    else:
        tree = lxml.etree.parse(path)
        urls = [*tree.xpath("//atom:link/@href", namespaces=NS), *tree.xpath("/rss/channel/link/text() | //item/link/text()")]
        urls += [c for c in tree.xpath("//category/@domain | //atom:category/@scheme", namespaces=NS)]
        htmls = [*tree.xpath("//content:encoded/text()", namespaces=NS),
                 *tree.xpath("//atom:content[@type='html']/text()", namespaces=NS)]
    for html in htmls:
        doc = lxml.html.fromstring(html)
        urls += doc.xpath("//@href | //@src")
        urls += [c.split()[0] for s in doc.xpath("//@srcset") for c in s.split(",")]
    return [str(u) for u in urls]


def test_every_link_in_every_feed_is_absolute_and_resolves_to_a_built_file(built: Built) -> None:
    checked = 0
    for path in feed_files(built.out):
        for url in _links_in(path):
            assert urlsplit(url).scheme == "https", f"{path}: {url}"
            assert file_of(built.out, url.split("#")[0]).is_file(), f"{path}: {url}"
            checked += 1
    assert checked > 100
    hostile = lxml.html.fromstring(parsed(built.out / "feed.xml").entries[0].content[0].value)
    assert hostile.xpath("//a/@href") == [BASE_URL + "stories/other/", BASE_URL + "stories/hostile/#notes"]
    assert hostile.xpath("//img/@src") == [BASE_URL + "stories/hostile/" + name for name in ("cover.png", "photo.png", "photo.png")]


# --- the XML itself ---------------------------------------------------------------------------------

def test_rss_has_the_required_channel_and_item_elements(built: Built) -> None:
    for path in [p for p in feed_files(built.out) if p.name == "feed.xml"]:
        rss = lxml.etree.parse(path).getroot()
        assert rss.tag == "rss" and rss.get("version") == "2.0"
        channel = rss.find("channel")
        for name in ("title", "link", "description", "language", "lastBuildDate"):
            assert (channel.findtext(name) or "").strip(), f"{path}: channel/{name}"
        assert channel.find("atom:link[@rel='self']", NS).get("href") == BASE_URL + path.relative_to(built.out).as_posix()
        for item in channel.findall("item"):
            for name in ("title", "link", "guid", "pubDate", "description"):
                assert (item.findtext(name) or "").strip(), f"{path}: item/{name}"
            assert item.findtext("content:encoded", namespaces=NS)
            assert item.findtext("dc:creator", namespaces=NS) in ("Sari", "The team")
            assert item.findall("category")


def test_atom_has_the_required_feed_and_entry_elements(built: Built) -> None:
    for path in [p for p in feed_files(built.out) if p.name == "atom.xml"]:
        atom = lxml.etree.parse(path).getroot()
        assert atom.tag == "{http://www.w3.org/2005/Atom}feed"
        for name in ("id", "title", "updated", "author/atom:name", "subtitle"):
            assert (atom.findtext(f"atom:{name}", namespaces=NS) or "").strip(), f"{path}: {name}"
        assert atom.find("atom:link[@rel='self']", NS) is not None
        assert atom.find("atom:link[@rel='alternate']", NS) is not None
        for entry in atom.findall("atom:entry", NS):
            for name in ("id", "title", "updated", "published", "summary", "content"):
                assert (entry.findtext(f"atom:{name}", namespaces=NS) or "").strip(), f"{path}: entry/{name}"
            # An Atom link without rel is the alternate (RFC 4287, 4.2.7.2).
            assert entry.xpath("atom:link[not(@rel) or @rel='alternate']/@href", namespaces=NS)[0].startswith(BASE_URL)
            assert entry.findall("atom:category", NS)


def test_niche_and_audiences_are_categories_and_the_description_is_never_empty(built: Built) -> None:
    entry = parsed(built.out / "atom.xml").entries[0]
    assert [(t.term, t.label) for t in entry.tags] == [
        ("starting-a-business", "Starting a business"), ("first-time-founders", "First-time founders"),
        ("marketers", "Marketers"), ("fish", "Fish"), ("trust", "trust"),
    ]
    assert entry.author == "Sari"
    declared = parsed(built.out / "niches/starting-a-business/feed.xml").feed
    assert declared.subtitle == "The first year, from idea to invoice."
    assert declared.title == "Starting a business · Feed fixture & friends"
    undescribed = parsed(built.out / "niches/building-community/feed.xml").feed
    assert undescribed.subtitle == "Stories about Building community from Feed fixture & friends"


def test_json_feed_follows_version_1_1(built: Built) -> None:
    for path in [p for p in feed_files(built.out) if p.name == "feed.json"]:
        feed = json.loads(path.read_text("utf-8"))
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        assert feed["title"] and feed["description"] and feed["feed_url"] == BASE_URL + path.relative_to(built.out).as_posix()
        for item in feed["items"]:
            assert item["id"].startswith("tag:example.org,") and item["content_html"] and item["url"].startswith(BASE_URL)


# --- configuration -----------------------------------------------------------------------------------

def test_summary_feeds_limit_custom_paths_and_tag_feeds(scratch_site) -> None:
    site = site_files(scratch_site, CONFIG + "feeds:\n  content: summary\n  limit: 2\n  tags: true\n"
                      "  audiences: false\n  formats: [rss, atom]\n  paths: {rss: rss.xml}\n")
    config, _ = build(site)
    out = config.output_dir
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.name in ("rss.xml", "atom.xml", "feed.json"))
    assert names == sorted(f"{folder}{name}" for folder in ("", "niches/starting-a-business/", "niches/building-community/",
                                                            "tags/fish/", "tags/trust/") for name in ("rss.xml", "atom.xml"))
    rss = parsed(out / "rss.xml")
    assert len(rss.entries) == 2 and "content" not in rss.entries[0]
    atom = lxml.etree.parse(out / "atom.xml")
    assert atom.xpath("//atom:content", namespaces=NS) == [] and len(atom.xpath("//atom:entry", namespaces=NS)) == 2
    head = lxml.html.fromstring((out / "index.html").read_bytes())
    assert head.xpath("//head/link[@rel='alternate']/@href") == ["/blog/rss.xml", "/blog/atom.xml"]


def test_a_site_without_title_or_description_and_a_story_without_words_still_get_valid_feeds(scratch_site) -> None:
    site = scratch_site({
        "storysite.yaml": f'title: ""\nbase_url: {BASE_URL}\n',
        "content/stories/picture/index.md": story(title="Only a picture", body="![](p.png)\n"),
        "content/stories/picture/p.png": b"\x89PNG fake",
    })
    config, _ = build(site)
    for name in ("feed.xml", "atom.xml"):
        feed = parsed(config.output_dir / name)
        assert feed.feed.title == "example.org"
        assert feed.feed.subtitle == "The latest stories from example.org"
        assert [e.title for e in feed.entries] == ["Only a picture"]
    item = json.loads((config.output_dir / "feed.json").read_text("utf-8"))["items"][0]
    assert item["title"] == "Only a picture" and "summary" not in item


def test_feeds_false_writes_no_feed_and_links_none(scratch_site) -> None:
    config, _ = build(site_files(scratch_site, CONFIG + "feeds: false\n"))
    assert feed_files(config.output_dir) == []
    assert lxml.html.fromstring((config.output_dir / "index.html").read_bytes()).xpath("//link[@rel='alternate']") == []


def test_feed_settings_are_checked_all_at_once(scratch_site) -> None:
    site = site_files(scratch_site, CONFIG + "feeds:\n  content: partial\n  limit: -1\n  formats: [rss, xml]\n"
                      "  colour: blue\n  paths: {atom: /atom.xml}\n")
    with pytest.raises(ContentError) as caught:
        build(site)
    messages = [p.message for p in caught.value.problems]
    assert messages == [
        "'feeds.content' must be full or summary, not 'partial'",
        "'feeds.limit' must be a whole number",
        "'feeds.formats' must be a list of feed formats",
        "unknown setting 'feeds.colour'",
        "'feeds.paths.atom' must be a file name such as atom.xml",
    ]
    assert {p.line for p in caught.value.problems} == {CONFIG.count("\n") + 1}


def test_every_feeds_setting_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("### Feeds\n", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    documented = {name for cell in rows for name in re.findall(r"`(\w+)`", cell)}
    assert documented == {f.name for f in dataclasses.fields(FeedsConfig)}


def test_without_a_host_in_base_url_there_are_no_feeds_and_the_build_says_why(
    scratch_site, caplog: pytest.LogCaptureFixture
) -> None:
    site = site_files(scratch_site, CONFIG.replace(BASE_URL, "/blog/"))
    with caplog.at_level(logging.INFO, logger="storysite"):
        config, _ = build(site)
    assert feed_files(config.output_dir) == []
    assert any("no feeds" in r.getMessage() and "base_url" in r.getMessage() for r in caplog.records)
    page = lxml.html.fromstring((config.output_dir / "niches/starting-a-business/index.html").read_bytes())
    assert page.xpath("//link[@rel='alternate']") == [] and page.xpath("//*[@class='subscribe']") == []


# --- the pages that point to the feeds ---------------------------------------------------------------

def test_every_page_links_the_site_feeds_and_term_pages_their_own(built: Built) -> None:
    site_feeds = [f"/blog/{name}" for name in FORMATS.values()]
    pages = sorted(built.out.rglob("*.html"))
    assert len(pages) > 10
    for path in pages:
        doc = lxml.html.fromstring(path.read_bytes())
        alternates = doc.xpath("//head/link[@rel='alternate']/@href")
        assert alternates[:3] == site_feeds, path
        folder = path.parent.relative_to(built.out).as_posix() + "/"
        if folder.startswith(("niches/", "audiences/")) and folder.count("/") == 2:
            own = [f"/blog/{folder}{name}" for name in FORMATS.values()]
            assert alternates[3:] == own, path
            assert doc.xpath("//main//p[@class='subscribe']/a/@href") == own
            assert [" ".join(a.text_content().split()) for a in doc.xpath("//main//p[@class='subscribe']/a")] == [
                "RSS", "Atom", "JSON Feed"]
        else:
            assert alternates[3:] == [], path
    types = lxml.html.fromstring((built.out / "index.html").read_bytes()).xpath("//head/link[@rel='alternate']/@type")
    assert types == ["application/rss+xml", "application/atom+xml", "application/feed+json"]


# --- the demo site -----------------------------------------------------------------------------------

def test_demo_site_feeds_parse_and_list_its_published_stories(demo_build: Path) -> None:
    from .test_demo_site import BASE_URL as DEMO_URL
    from .test_demo_site import published, site_config

    feed = parsed(demo_build / "feed.xml")
    assert feed.feed.link == DEMO_URL
    assert sorted(e.link for e in feed.entries) == sorted(f"{DEMO_URL}stories/{s.slug}/" for s in published())
    dates = [email.utils.parsedate_to_datetime(e.published) for e in feed.entries]
    assert dates == sorted(dates, reverse=True)
    for niche in site_config()["niches"]:
        for name in FORMATS.values():
            entries = items(demo_build / "niches" / niche / name)
            assert sorted(e.link for e in entries) == sorted(
                f"{DEMO_URL}stories/{s.slug}/" for s in published() if s.meta["niche"] == niche)
    for audience in site_config()["audiences"]:
        entries = items(demo_build / "audiences" / audience / "atom.xml")
        assert len(entries) == len([s for s in published() if audience in s.meta["audience"]])


def test_demo_stories_in_another_language_say_so_in_atom_and_json(demo_build: Path) -> None:
    from .test_demo_site import BASE_URL as DEMO_URL
    from .test_demo_site import published

    languages = {f"{DEMO_URL}stories/{s.slug}/": s.lang for s in published()}
    assert len(set(languages.values())) > 1
    atom = lxml.etree.parse(demo_build / "atom.xml").getroot()
    assert atom.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    for entry in atom.findall("atom:entry", NS):
        link = entry.find("atom:link", NS).get("href")
        assert entry.get("{http://www.w3.org/XML/1998/namespace}lang", "en") == languages[link]
    for item in json.loads((demo_build / "feed.json").read_text("utf-8"))["items"]:
        assert item["language"] == languages[item["url"]]


def test_a_feed_without_entries_is_as_new_as_the_newest_published_story(scratch_site) -> None:
    config = CONFIG.replace("  building-community:\n", "  quiet-corner:\n    title: Quiet corner\n  building-community:\n")
    draft = story(title="A quiet draft", date="2025-05-01", niche="quiet-corner", draft="true")
    root = site_files(scratch_site, config, **{"content/stories/draft.md": draft})
    out = build(root, drafts=True, future=True)[0].output_dir
    (feed,) = out.glob("*/quiet-corner/atom.xml")
    atom = lxml.etree.parse(str(feed)).getroot()
    assert atom.findall("atom:entry", NS) == []
    newest = dt.datetime(2025, 4, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert dt.datetime.fromisoformat(atom.findtext("atom:updated", namespaces=NS)) == newest
