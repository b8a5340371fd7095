"""Unit tests of the pure pieces: URLs, config values, Markdown facts, dates, link resolution."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urljoin

import pytest

from storysite.config import load_config
from storysite.dates import format_date, to_datetime
from storysite.errors import ConfigError
from storysite.links import rewrite_links
from storysite.markup import Rendered, render_markdown
from storysite.model import reading_minutes
from storysite.urls import SiteUrls, output_file, safe_site_path, slugify


@pytest.mark.parametrize(
    ("base", "path", "url", "absolute"),
    [
        ("/", "", "/", "/"),
        ("/", "stories/a/", "/stories/a/", "/stories/a/"),
        ("https://example.org/", "css/x.css", "/css/x.css", "https://example.org/css/x.css"),
        ("https://u.github.io/repo/", "", "/repo/", "https://u.github.io/repo/"),
        ("https://u.github.io/repo/", "/tags/a b/", "/repo/tags/a%20b/", "https://u.github.io/repo/tags/a%20b/"),
        ("https://u.github.io/repo", "x/", "/repo/x/", "https://u.github.io/repo/x/"),
        ("/repo/", "https://other.org/x", "https://other.org/x", "https://other.org/x"),
    ],
)
def test_site_urls(base: str, path: str, url: str, absolute: str) -> None:
    urls = SiteUrls(base)
    assert urls.url(path) == url
    assert urls.absolute(path) == absolute


@pytest.mark.parametrize("base", ["https://u.github.io/repo/", "http://h:8080/", "/sub/", "/", "ftp://h/x/", "gemini://h/"])
def test_resolve_joins_links_as_urljoin_does(base: str) -> None:
    # resolve() answers plain paths from the root without urljoin: it must answer as urljoin does.
    urls = SiteUrls(base)
    refs = ["/", "/stories/a-b_c/", "/a/b", "/a//b/", "/a/./b/", "/a/../b", "/.well-known/x", "/a;p/", "/a?q=1",
            "/a#f", "//host/x", "/a b/", "/%E2%80%A6/", "/a/.", "/a/..", "/ünï/", "", "a/b", "../c", "https://x.org/y"]
    for page_path in ["stories/x/", "", "404.html", "https://other.org/x/", "a b/"]:
        for ref in refs:
            assert urls.resolve(ref, page_path) == urljoin(urls.absolute(page_path), ref), (ref, page_path)


@pytest.mark.parametrize(
    ("site_path", "safe"),
    [
        ("", True), ("stories/a/", True), ("../a/", False), ("a/../../b/", False), ("/etc/", False), ("a\\b/", False),
        ("stories/a/index.html", True), ("tags/ünïcode_2/", True), ("a/..b/.well-known/", True), ("a/..", False), ("c:/x", False),
        ("a/b:/", False), ("a/ /b", False), ("a\x00b", False), ("a//b/", True), ("./a", True), ("-x/", True),
    ],
)
def test_safe_site_path(site_path: str, safe: bool) -> None:
    assert safe_site_path(site_path) is safe


def test_output_file_and_slugify() -> None:
    assert output_file("") == "index.html"
    assert output_file("stories/a/") == "stories/a/index.html"
    assert output_file("404.html") == "404.html"
    assert slugify("Trust & Community!") == "trust-community"
    assert slugify("Kopi Susu ☕") == "kopi-susu"
    assert slugify("Édition spéciale") == "édition-spéciale"


def test_config_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.title == "My stories"
    assert config.base_url == "/"
    assert config.output_dir == tmp_path.resolve() / "_site"
    assert config.content_dir == tmp_path.resolve() / "content"


def test_config_values_are_checked_and_resolved(tmp_path: Path) -> None:
    (tmp_path / "storysite.yaml").write_text(
        "base_url: https://u.github.io/repo\noutput_dir: public\n"
        "niches:\n  starting-a-business:\n    title: Starting up\n    description: First steps\n"
        "audiences:\n  founders: First-time founders\n",
        encoding="utf-8",
    )
    config = load_config(tmp_path)
    assert config.base_url == "https://u.github.io/repo/"
    assert config.output_dir == tmp_path.resolve() / "public"
    assert config.niches["starting-a-business"].description == "First steps"
    assert config.audiences["founders"].title == "First-time founders"


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("base_url: ftp://x/\n", "is not a site address"),
        ("base_url: relative/path\n", "must be a full URL or start with /"),
        ("timezone: Mars/Olympus\n", "unknown time zone"),
        ("language: 'english please'\n", "is not a language code"),
        ("permalinks: {story: /stories/}\n", "must use {slug}"),
        ("strict: yes please\n", "must be true or false"),
        ("niches: [a, b]\n", "must map slugs"),
    ],
)
def test_config_mistakes(tmp_path: Path, yaml_text: str, message: str) -> None:
    (tmp_path / "storysite.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path)


def test_markdown_facts() -> None:
    rendered = render_markdown('![photo](a.jpg)\n\nThe *first* "real" paragraph.\n\nMore words here.\n')
    assert rendered.first_paragraph == "The first “real” paragraph."
    assert rendered.word_count == 7
    assert '<img alt="photo" src="a.jpg">' in rendered.html
    assert reading_minutes(0, 200) == 1
    assert reading_minutes(401, 200) == 3


def test_dates_parse_and_format() -> None:
    jakarta = dt.timezone(dt.timedelta(hours=7))
    assert to_datetime(dt.date(2025, 3, 14), jakarta) == dt.datetime(2025, 3, 14, tzinfo=jakarta)
    assert to_datetime("2025-03-14T09:30:00Z", jakarta) == dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.timezone.utc)
    assert to_datetime("March 14", jakarta) is None
    assert to_datetime(2025, jakarta) is None
    day = dt.datetime(2025, 3, 14, tzinfo=jakarta)
    assert format_date(day, "id") == "14 Maret 2025"
    assert format_date(day, "en") == "March 14, 2025"


def test_rewrite_links(tmp_path: Path) -> None:
    stories = tmp_path / "content/stories"
    targets = {
        stories / "other.md": "/repo/stories/other/",
        stories / "bundle/index.md": "/repo/stories/bundle/",
        stories / "bundle/pic.png": "/repo/stories/bundle/pic.png",
        tmp_path / "content/static/logo.svg": "/repo/logo.svg",
    }
    html = (
        '<a href="other.md#part">a</a> <a href="bundle/">b</a> <img src="bundle/pic.png" alt="">'
        '<img src="../static/logo.svg" alt=""> <a href="https://x.org/a.md">x</a> <a href="#top">t</a>'
        ' <a href="missing.md">m</a>'
    )
    rewritten, dead = rewrite_links(html, stories, targets)
    assert 'href="/repo/stories/other/#part"' in rewritten
    assert 'href="/repo/stories/bundle/"' in rewritten
    assert 'src="/repo/stories/bundle/pic.png"' in rewritten
    assert 'src="/repo/logo.svg"' in rewritten
    assert 'href="https://x.org/a.md"' in rewritten and 'href="#top"' in rewritten
    assert dead == ["missing.md"]


def test_command_line_options_are_checked_like_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="command line: 'example.org' must be a full URL"):
        load_config(tmp_path, base_url="example.org")
    config = load_config(tmp_path, base_url="https://u.github.io/repo", output_dir=tmp_path / "public", drafts=True)
    assert (config.base_url, config.output_dir, config.drafts) == ("https://u.github.io/repo/", tmp_path / "public", True)


def test_a_blank_body_has_no_summary_or_words_of_its_own() -> None:
    render_markdown("A paragraph of some other story.")
    for blank in ("", "  \n\n"):
        assert render_markdown(blank) == Rendered("", "", 0)
