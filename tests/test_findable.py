"""The demo site as search engines and link previews read it, built with each shipped theme.

Titles, descriptions, canonical URLs, Open Graph and Twitter card tags, JSON-LD and the sitemap's
lastmod, parsed from the built pages and compared with what the sources say.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import THEMES, build, story
from .test_demo_site import (
    BASE_PATH,
    BASE_URL,
    SITEMAP_NS,
    SourceStory,
    file_of,
    home_pages,
    html_files,
    parse,
    published,
    site_config,
    story_entries,
)

NOT_FOUND = "404.html"


@pytest.fixture(scope="module", params=THEMES)
def site(request: pytest.FixtureRequest, demo_builds: Callable[[str], Path]) -> Path:
    """The demo built under /repo/ with each shipped theme."""
    return demo_builds(request.param)


def head(doc: Any, attribute: str, name: str) -> list[str]:
    """The content of <meta name=...> or <meta property=...> tags in the head."""
    return [str(v) for v in doc.xpath(f"//head/meta[@{attribute}='{name}']/@content")]


def linked_data(doc: Any) -> list[dict[str, Any]]:
    """Every JSON-LD object of a page."""
    return [json.loads(script.text) for script in doc.xpath("//script[@type='application/ld+json']")]


def parsed_time(value: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(value)
    assert when.tzinfo is not None, f"{value} has no time zone"
    return when


def as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def story_url(story: SourceStory) -> str:
    return BASE_URL + story.url[len(BASE_PATH):]


# --- every page -------------------------------------------------------------------------------------

def test_every_page_has_a_title_of_its_own(site: Path) -> None:
    titles = Counter(" ".join(parse(page).findtext(".//title").split()) for page in html_files(site))

    assert len(titles) > 1
    assert {title: count for title, count in titles.items() if count > 1} == {}


def test_every_page_has_link_preview_tags(site: Path) -> None:
    problems = []
    for page in html_files(site):
        doc = parse(page)
        where = str(page.relative_to(site))
        og = {name: head(doc, "property", f"og:{name}") for name in ("title", "type", "site_name", "description", "url")}
        description = head(doc, "name", "description")
        canonical = [str(h) for h in doc.xpath("//head/link[@rel='canonical']/@href")]
        expected = {
            "site_name": [site_config()["title"]],
            "description": description,
            "url": [] if page.name == NOT_FOUND else canonical,
        }
        problems += [f"{where}: og:{name} is {og[name]}, not {value}" for name, value in expected.items() if og[name] != value]
        if len(og["title"]) != 1 or not og["title"][0].strip():
            problems.append(f"{where}: og:title {og['title']}")
        if og["type"] not in (["article"], ["website"]):
            problems.append(f"{where}: og:type {og['type']}")
        card = head(doc, "name", "twitter:card")
        if card != (["summary_large_image"] if head(doc, "property", "og:image") else ["summary"]):
            problems.append(f"{where}: twitter:card {card}")

    assert problems == []


def test_every_page_but_the_404_page_describes_itself_in_json_ld(site: Path) -> None:
    problems = []
    for page in html_files(site):
        doc = parse(page)
        where = str(page.relative_to(site))
        objects = linked_data(doc)
        if page.name == NOT_FOUND:
            if objects:
                problems.append(f"{where}: the not-found page has JSON-LD")
            continue
        if len(objects) != 1:
            problems.append(f"{where}: {len(objects)} JSON-LD objects")
            continue
        data = objects[0]
        if data.get("@context") != "https://schema.org" or not data.get("@type"):
            problems.append(f"{where}: {data.get('@context')} {data.get('@type')}")
        canonical = str(doc.xpath("string(//head/link[@rel='canonical']/@href)"))
        if canonical not in (data.get("url"), data.get("mainEntityOfPage")):
            problems.append(f"{where}: JSON-LD names neither url nor mainEntityOfPage {canonical}")

    assert problems == []


# --- stories ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("story", published(), ids=lambda s: s.slug)
def test_a_story_page_tells_previews_and_search_engines_what_the_story_is(site: Path, story: SourceStory) -> None:
    doc = parse(file_of(site, story.url))
    cover = BASE_URL + story.url[len(BASE_PATH):] + story.meta["cover"] if story.meta.get("cover") else None
    [data] = linked_data(doc)

    assert head(doc, "name", "description") == [story.summary]
    assert head(doc, "property", "og:title") == [story.meta["title"]]
    assert head(doc, "property", "og:type") == ["article"]
    assert head(doc, "property", "og:url") == [story.meta.get("canonical") or story_url(story)]
    assert head(doc, "property", "og:image") == ([cover] if cover else [])
    if cover and story.meta.get("cover_alt"):
        assert head(doc, "property", "og:image:alt") == [story.meta["cover_alt"]]
    assert head(doc, "name", "twitter:card") == (["summary_large_image"] if cover else ["summary"])
    assert parsed_time(head(doc, "property", "article:published_time")[0]).date() == story.date

    assert data["@type"] == "BlogPosting"
    assert data["headline"] == story.meta["title"]
    assert data["description"] == story.summary
    assert data["author"]["name"] == (story.meta.get("author") or site_config()["author"])
    assert parsed_time(data["datePublished"]).date() == story.date
    assert parsed_time(data["dateModified"]).date() == as_date(story.meta.get("updated") or story.meta["date"])
    assert data.get("image") == cover
    assert data["url"] == story_url(story)
    assert data["inLanguage"] == story.lang
    assert data["publisher"]["name"] == site_config()["title"]


def test_the_demo_has_stories_with_and_without_covers_and_updates() -> None:
    """So that the story checks above see both sides of every branch."""
    assert {bool(s.meta.get("cover")) for s in published()} == {True, False}
    assert {bool(s.meta.get("updated")) for s in published()} == {True, False}


# --- the home page ----------------------------------------------------------------------------------

def test_the_home_page_is_described_as_a_blog_of_its_stories(site: Path) -> None:
    for page in home_pages(site):
        doc = parse(page)
        [data] = linked_data(doc)

        assert data["@type"] == "Blog"
        assert data["name"] == site_config()["title"]
        assert data["description"] == site_config()["description"]
        assert data["url"] == BASE_URL
        listed = [url for url, _ in story_entries(doc)]
        assert [post["url"] for post in data["blogPost"]] == [BASE_URL + url[len(BASE_PATH):] for url in listed]
    home = parse(site / "index.html")
    assert head(home, "property", "og:type") == ["website"]
    assert head(home, "name", "description") == [" ".join(site_config()["description"].split())]


# --- the sitemap ------------------------------------------------------------------------------------

def test_sitemap_dates_every_page_that_lists_stories_by_its_newest_story(site: Path) -> None:
    root = ET.parse(site / "sitemap.xml").getroot()
    lastmod = {u.findtext("sm:loc", namespaces=SITEMAP_NS): u.findtext("sm:lastmod", namespaces=SITEMAP_NS)
               for u in root.findall("sm:url", SITEMAP_NS)}
    newest = max(as_date(s.meta.get("updated") or s.meta["date"]) for s in published())
    config = site_config()

    assert parsed_time(lastmod[BASE_URL]).date() == newest
    for niche in config["niches"]:
        stories = [s for s in published() if s.meta["niche"] == niche]
        expected = max(as_date(s.meta.get("updated") or s.meta["date"]) for s in stories)
        assert parsed_time(lastmod[f"{BASE_URL}niches/{niche}/"]).date() == expected
    for audience in config["audiences"]:
        assert lastmod[f"{BASE_URL}audiences/{audience}/"], audience


# --- beyond the demo --------------------------------------------------------------------------------

def test_a_story_without_an_author_is_the_brands_and_an_outside_cover_is_kept(scratch_site) -> None:
    root = scratch_site({
        "storysite.yaml": "title: Fixture site\nbase_url: https://example.org/blog/\n",
        "content/stories/one.md": story(title="One", cover="https://images.example.net/one.jpg", cover_alt="A cup"),
        "content/stories/two.md": story(title="Two", date="2025-01-01", summary='"Ends with </script> & more"'),
    })
    config, _ = build(root)
    one = parse(config.output_dir / "stories" / "one" / "index.html")
    two = parse(config.output_dir / "stories" / "two" / "index.html")
    [one_data], [two_data] = linked_data(one), linked_data(two)

    assert one_data["author"] == {"@type": "Organization", "name": "Fixture site", "url": "https://example.org/blog/"}
    assert one_data["image"] == "https://images.example.net/one.jpg"
    assert head(one, "property", "og:image") == ["https://images.example.net/one.jpg"]
    assert head(one, "property", "og:image:alt") == ["A cup"]
    assert "image" not in two_data
    assert two_data["description"] == "Ends with </script> & more"
    assert head(two, "name", "twitter:card") == ["summary"]
