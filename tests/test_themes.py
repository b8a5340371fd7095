"""The bundled magazine theme builds on the default one: `theme: magazine` switches, and what it does not
override (templates, static files, UI strings) comes from the default theme."""

from __future__ import annotations

from pathlib import Path

import lxml.html

from storysite.theme import SOURCE_THEMES

from .conftest import ScratchSite, build, story

COVER = b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20"/></svg>'


def site_files(theme: str, language: str = "en") -> dict[str, str | bytes]:
    return {
        "storysite.yaml": f"title: Fixture site\nlanguage: {language}\ntheme: {theme}\n",
        "content/stories/old.md": story(title="The older one", date="2025-01-01"),
        "content/stories/new/index.md": story(title="The newest one", date="2025-03-01", cover="cover.svg",
                                              cover_alt="A black box"),
        "content/stories/new/cover.svg": COVER,
    }


def built(scratch_site: ScratchSite, theme: str, language: str = "en") -> Path:
    root = scratch_site(site_files(theme, language), folder=f"{theme}-{language}")
    build(root)
    return root / "_site"


def parse(path: Path):
    return lxml.html.fromstring(path.read_bytes())


def main_html(page: Path) -> str:
    return lxml.html.tostring(parse(page).xpath("//main")[0], encoding="unicode")


def test_theme_magazine_lays_its_stylesheet_over_the_default_one_on_every_page(scratch_site: ScratchSite) -> None:
    out = built(scratch_site, "magazine")
    pages = sorted(out.rglob("*.html"))

    assert pages
    for page in pages:
        sheets = [str(h) for h in parse(page).xpath("//head/link[@rel='stylesheet']/@href")]
        assert sheets == ["/css/storysite.css", "/css/magazine.css"], page
    assert (out / "css" / "storysite.css").read_bytes() == (SOURCE_THEMES / "default/static/css/storysite.css").read_bytes()
    assert (out / "css" / "magazine.css").is_file()
    assert (out / "favicon.svg").is_file()


def test_the_magazine_front_page_leads_with_the_newest_story_and_its_cover(scratch_site: ScratchSite) -> None:
    home = parse(built(scratch_site, "magazine") / "index.html")
    [lead] = home.xpath("//main//article[contains(@class, 'lead-story')]")

    assert " ".join(home.xpath("string(//h1)").split()) == "In this issue"
    assert lead.xpath(".//h2//a/@href") == ["/stories/new/"]
    assert lead.xpath(".//img/@src") == ["/stories/new/cover.svg"]
    assert lead.xpath(".//img/@alt") == ["A black box"]
    assert [str(h) for h in home.xpath("//main//ul[contains(@class, 'story-grid')]//h2//a/@href")] == ["/stories/old/"]


def test_templates_the_magazine_does_not_override_render_as_in_the_default_theme(scratch_site: ScratchSite) -> None:
    magazine, default = built(scratch_site, "magazine"), built(scratch_site, "default")

    for page in ("stories/new/index.html", "archive/index.html", "niches/starting-a-business/index.html", "404.html"):
        assert main_html(magazine / page) == main_html(default / page), page
    assert main_html(magazine / "index.html") != main_html(default / "index.html")


def test_ui_strings_the_magazine_does_not_change_come_from_the_default_theme(scratch_site: ScratchSite) -> None:
    magazine, default = parse(built(scratch_site, "magazine", "id") / "index.html"), parse(built(scratch_site, "default", "id") / "index.html")
    nav = "//header//nav//a/text()"

    assert " ".join(magazine.xpath("string(//h1)").split()) == "Dalam edisi ini"
    assert magazine.xpath(nav) == default.xpath(nav)
    assert "Peta" in magazine.xpath(nav)
