"""Small fixture sites built end to end with the default theme; outputs parsed, never grepped."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import jinja2
import lxml.html
import pytest

from storysite import theme as theme_module
from storysite import writer
from storysite.errors import ContentError
from storysite.listing import look
from storysite.render import Output

from .conftest import DEMO_BASE_URL, REPO, THEMES, build, story

DECLARED = """\
title: Fixture site
base_url: https://example.org/blog/
paginate: 2
niches:
  starting-a-business:
    title: Starting a business
    description: The first year, from idea to invoice.
audiences:
  first-time-founders:
    title: First-time founders
    description: People starting their first company.
  marketers:
    title: Marketers
"""


def page(out: Path, path: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring((out / path).read_bytes())


def texts(tree: lxml.html.HtmlElement, xpath: str) -> list[str]:
    return [" ".join(e.text_content().split()) for e in tree.xpath(xpath)]


def story_links(tree: lxml.html.HtmlElement) -> list[str]:
    return sorted({h for h in tree.xpath("//main//a/@href") if "/stories/" in h})


@pytest.fixture
def five_stories(scratch_site) -> Path:
    files = {"storysite.yaml": DECLARED}
    for day in range(1, 6):
        files[f"content/stories/s{day}.md"] = story(title=f"Story {day}", date=f"2025-01-0{day}")
    files["content/stories/old.md"] = story(title="Old one", date="2023-06-01", audience="marketers", tags="[Trust, community]")
    files["content/stories/draft.md"] = story(title="Draft", draft="true")
    files["content/stories/future.md"] = story(title="Future", date="2999-01-01")
    return scratch_site(files)


def test_drafts_and_future_stories_are_left_out(five_stories: Path) -> None:
    config, result = build(five_stories)
    assert result.stories == 6
    assert not (config.output_dir / "stories/draft").exists()
    assert not (config.output_dir / "stories/future").exists()
    config, result = build(five_stories, drafts=True, future=True)
    assert result.stories == 8
    assert (config.output_dir / "stories/draft/index.html").is_file()
    assert (config.output_dir / "stories/future/index.html").is_file()


def test_home_page_is_paginated_newest_first(five_stories: Path) -> None:
    config, _ = build(five_stories)
    out = config.output_dir
    seen = []
    for path in ("index.html", "page/2/index.html", "page/3/index.html"):
        tree = page(out, path)
        links = [h for h in tree.xpath("//main//article//a/@href") if "/stories/" in h]
        seen += list(dict.fromkeys(links))
    assert seen == [f"/blog/stories/{s}/" for s in ("s5", "s4", "s3", "s2", "s1", "old")]
    assert not (out / "page/4").exists()
    assert "/blog/page/2/" in page(out, "index.html").xpath("//a/@href")


def test_niche_audience_tag_pages_and_map(five_stories: Path) -> None:
    config, _ = build(five_stories)
    out = config.output_dir
    niche = page(out, "niches/starting-a-business/index.html")
    assert texts(niche, "//h1") == ["Starting a business"]
    assert "The first year, from idea to invoice." in niche.text_content()
    assert len(story_links(niche)) == 6
    assert len(story_links(page(out, "audiences/marketers/index.html"))) == 1
    tag = page(out, "tags/trust/index.html")
    assert story_links(tag) == ["/blog/stories/old/"]
    assert (out / "tags/community/index.html").is_file()
    the_map = page(out, "map/index.html")
    hrefs = the_map.xpath("//main//a/@href")
    for path in ("niches/starting-a-business/", "audiences/first-time-founders/", "audiences/marketers/"):
        assert f"/blog/{path}" in hrefs
    archive = page(out, "archive/index.html")
    assert archive.xpath("//main//h2/@id") == ["y2025", "y2023"]


def test_story_page_shows_what_the_front_matter_says(scratch_site) -> None:
    root = scratch_site(
        {
            "storysite.yaml": DECLARED,
            "content/stories/one.md": story(
                title='"Tea & <script>alert(1)</script>"',
                audience="first-time-founders, marketers",
                tags="[trust]",
                author="Sari",
                updated="2025-04-01",
                summary="A short summary.",
                body="Read [the other one](two.md#end) too.\n",
            ),
            "content/stories/two.md": story(title="Two", date="2025-01-01"),
        }
    )
    config, _ = build(root)
    tree = page(config.output_dir, "stories/one/index.html")
    assert texts(tree, "//h1") == ["Tea & <script>alert(1)</script>"]
    # The only script is the page's JSON-LD, and the title inside it is data, not markup.
    [linked_data] = tree.xpath("//script")
    assert linked_data.get("type") == "application/ld+json"
    assert json.loads(linked_data.text)["headline"] == "Tea & <script>alert(1)</script>"
    assert "<" not in linked_data.text
    assert tree.xpath("//html/@lang") == ["en"]
    body = tree.text_content()
    for text in ("Sari", "Starting a business", "First-time founders", "Marketers", "trust", "March 14, 2025"):
        assert text in body
    assert "/blog/stories/two/#end" in tree.xpath("//a/@href")
    assert tree.xpath("//meta[@name='description']/@content") == ["A short summary."]
    assert tree.xpath("//link[@rel='canonical']/@href") == ["https://example.org/blog/stories/one/"]
    assert tree.xpath("//title/text()") == ["Tea & <script>alert(1)</script> · Fixture site"]


def test_languages_and_dates(scratch_site) -> None:
    root = scratch_site(
        {
            "storysite.yaml": "title: Situs\nlanguage: id\ntimezone: Asia/Jakarta\n",
            "content/stories/cerita.md": story(title="Cerita", date="2025-03-14T09:30:00+07:00"),
            "content/stories/english.md": story(title="English", lang="en", date="2025-08-01"),
        }
    )
    config, _ = build(root)
    cerita = page(config.output_dir, "stories/cerita/index.html")
    assert cerita.xpath("//html/@lang") == ["id"]
    assert "14 Maret 2025" in cerita.text_content()
    assert cerita.xpath("//time/@datetime")[0] == "2025-03-14T09:30:00+07:00"
    english = page(config.output_dir, "stories/english/index.html")
    assert english.xpath("//html/@lang") == ["en"]
    assert "August 1, 2025" in english.text_content()


def test_page_bundles_static_files_and_pages(scratch_site) -> None:
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><title>x</title></svg>'
    root = scratch_site(
        {
            "content/stories/bundle/index.md": story(
                title="Bundle", cover="cover.svg", cover_alt="A cover", body="![A chart](img/chart.svg)\n"
            ),
            "content/stories/bundle/cover.svg": svg,
            "content/stories/bundle/img/chart.svg": svg,
            "content/static/.well-known/security.txt": "Contact: mailto:a@example.org\n",
            "content/static/images/logo.svg": svg,
            "content/pages/about.md": "---\ntitle: About us\n---\n![Logo](../static/images/logo.svg)\n",
        }
    )
    config, result = build(root)
    out = config.output_dir
    assert result.pages == 1
    assert (out / "stories/bundle/cover.svg").is_file()
    assert (out / "stories/bundle/img/chart.svg").is_file()
    assert (out / ".well-known/security.txt").is_file()
    tree = page(out, "stories/bundle/index.html")
    srcs = tree.xpath("//img/@src")
    assert "/stories/bundle/cover.svg" in srcs and "/stories/bundle/img/chart.svg" in srcs
    assert tree.xpath("//img[@src='/stories/bundle/cover.svg']/@alt") == ["A cover"]
    about = page(out, "about/index.html")
    assert about.xpath("//main//img/@src") == ["/images/logo.svg"]
    assert "/about/" in page(out, "index.html").xpath("//nav//a/@href")


def test_dead_links_are_warnings_with_file_and_line(scratch_site, caplog) -> None:
    root = scratch_site({"content/stories/a.md": story(body="Fine.\n\nSee [b](nope.md) and ![x](gone.png).\n")})
    with caplog.at_level(logging.WARNING, logger="storysite"):
        _, result = build(root)
    messages = [str(w) for w in result.warnings]
    assert "content/stories/a.md:9: link to 'nope.md' matches no published story, page or file" in messages[0]
    assert "content/stories/a.md:9: link to 'gone.png'" in messages[1]
    assert len(caplog.records) == 2
    with pytest.raises(ContentError, match="nope.md"):
        build(root, strict=True)


def test_undeclared_niche_warns_with_a_hint(scratch_site) -> None:
    root = scratch_site({"storysite.yaml": DECLARED, "content/stories/a.md": story(audience="marketer")})
    _, result = build(root)
    assert [str(w) for w in result.warnings] == [
        "content/stories/a.md:5: audience 'marketer' is not declared (did you mean 'marketers'?)"
    ]


def test_unknown_front_matter_keys_reach_templates(scratch_site) -> None:
    root = scratch_site(
        {
            "content/stories/a.md": story(mood="hopeful", niche="starting-a-business"),
            "content/stories/b.md": story(title="B", niche="other-niche", mood="calm"),
            "templates/story-starting-a-business.html": "<p class=mood>{{ story.extra.mood }}</p>",
        }
    )
    config, _ = build(root)
    assert texts(page(config.output_dir, "stories/a/index.html"), "//p[@class='mood']") == ["hopeful"]
    # The other niche falls back to story.html of the theme.
    assert page(config.output_dir, "stories/b/index.html").xpath("//h1")


def test_child_theme_extends_default_and_site_override_extends_original(scratch_site) -> None:
    root = scratch_site(
        {
            "storysite.yaml": "theme: child\n",
            "themes/child/theme.yaml": "name: child\nextends: default\n",
            "themes/child/templates/404.html": "<p id=child>lost in the child theme</p>",
            "themes/child/static/css/extra.css": "body{}",
            "themes/child/i18n/en.yaml": "archive: Every story\n",
            "templates/page.html": '{% extends "default/page.html" %}',
            "content/pages/about.md": "---\ntitle: About\n---\nHello.\n",
            "content/stories/a.md": story(),
        }
    )
    config, _ = build(root)
    out = config.output_dir
    assert texts(page(out, "404.html"), "//p[@id='child']") == ["lost in the child theme"]
    assert (out / "css/extra.css").is_file() and (out / "css/storysite.css").is_file()
    assert texts(page(out, "about/index.html"), "//h1") == ["About"]
    assert "Every story" in texts(page(out, "index.html"), "//nav//a")


def test_theme_loop_is_an_error(scratch_site) -> None:
    root = scratch_site(
        {
            "storysite.yaml": "theme: a\n",
            "themes/a/theme.yaml": "extends: b\n",
            "themes/a/templates/x.html": "",
            "themes/b/theme.yaml": "extends: a\n",
            "themes/b/templates/x.html": "",
        }
    )
    with pytest.raises(ContentError, match="loop: a -> b -> a"):
        build(root)


def test_two_outputs_for_one_path_name_both_sources(scratch_site) -> None:
    root = scratch_site({"content/pages/map.md": "---\ntitle: Map\n---\nx\n", "content/stories/a.md": story()})
    with pytest.raises(ContentError) as caught:
        build(root)
    message = str(caught.value)
    assert "map/index.html" in message and "content/pages/map.md" not in message or "Map" in message
    assert "map.html" in message


def test_builds_are_reproducible(five_stories: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    first, _ = build(five_stories, output_dir=five_stories / "one")
    second, _ = build(five_stories, output_dir=five_stories / "two")
    files = sorted(p.relative_to(first.output_dir) for p in first.output_dir.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second.output_dir) for p in second.output_dir.rglob("*") if p.is_file())
    for rel in files:
        assert (first.output_dir / rel).read_bytes() == (second.output_dir / rel).read_bytes(), rel


def test_output_has_site_files_and_no_links(five_stories: Path) -> None:
    config, _ = build(five_stories)
    out = config.output_dir
    for name in ("404.html", "sitemap.xml", "robots.txt", ".nojekyll", "css/storysite.css"):
        assert (out / name).is_file(), name
    assert not [p for p in out.rglob("*") if p.is_symlink()]
    assert all(os.stat(p).st_nlink == 1 for p in out.rglob("*") if p.is_file())


def test_an_interrupted_write_leaves_the_previous_site(five_stories: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, _ = build(five_stories)
    before = {p: p.read_bytes() for p in config.output_dir.rglob("*") if p.is_file()}
    (five_stories / "content/stories/s1.md").write_text(story(title="Changed"), encoding="utf-8")

    staged: list[object] = []
    real_stage = writer._stage

    def interrupted(output: Output, target: Path) -> None:
        # Interrupt a Ctrl-C while the changed files are being written: one is staged, the next is not.
        if staged:
            raise KeyboardInterrupt
        staged.append(output)
        real_stage(output, target)

    monkeypatch.setattr(writer, "_stage", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(five_stories)
    assert {p: p.read_bytes() for p in config.output_dir.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in five_stories.iterdir()) == ["_site", "content", "storysite.yaml"]


def test_rendered_pages_wait_in_the_staging_folder_not_in_memory(five_stories: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from storysite import build as build_module

    plans: list[dict[str, Output]] = []
    real_write = build_module.write_site

    def noting(plan: dict[str, Output], out_dir: Path, state: bool = True, stager: writer.Stager | None = None) -> writer.WriteReport:
        plans.append(plan)
        return real_write(plan, out_dir, state, stager)

    monkeypatch.setattr(build_module, "write_site", noting)
    config, _ = build(five_stories)
    pages = {path: output for path, output in plans[0].items() if path.endswith(".html")}
    assert pages and all(output.data is None and output.staged for output in pages.values())
    first = {p.relative_to(config.output_dir).as_posix(): p.read_bytes() for p in config.output_dir.rglob("*") if p.is_file()}

    (five_stories / "content/stories/s1.md").write_text(story(title="Changed", date="2025-01-01"), encoding="utf-8")
    build(five_stories)
    pages = {path: output for path, output in plans[1].items() if path.endswith(".html")}
    staged = {path for path, output in pages.items() if output.staged}
    assert "stories/s1/index.html" in staged
    assert all(output.data is None for output in pages.values())
    assert all(output.kept for path, output in pages.items() if path not in staged), "the others were compared, not staged"
    after = {p.relative_to(config.output_dir).as_posix(): p.read_bytes() for p in config.output_dir.rglob("*") if p.is_file()}
    assert {path for path in after if after[path] != first.get(path)} <= staged | {p for p in after if not p.endswith(".html")}
    assert sorted(p.name for p in five_stories.iterdir()) == ["_site", "content", "storysite.yaml"]


def test_the_command_ends_its_process_once_all_is_written_and_said(five_stories: Path, tmp_path: Path) -> None:
    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "storysite", "build", "-s", str(five_stories), *args], check=False, capture_output=True, text=True)

    built = command("--timings")
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("Built 6 stories") and built.stdout.endswith("\n")
    assert built.stderr.splitlines()[-1].split()[0] == "total"
    again = command("--timings")
    assert again.returncode == 0 and [line.split()[0] for line in again.stderr.splitlines()][-2:] == ["discover", "total"], (
        "the build cache was committed: the second build finds nothing changed"
    )
    assert command("--no-cache", "--out", str(tmp_path / "cold")).returncode == 0
    cold = {p.relative_to(tmp_path / "cold"): p.read_bytes() for p in (tmp_path / "cold").rglob("*") if p.is_file()}
    assert {p.relative_to(five_stories / "_site"): p.read_bytes() for p in (five_stories / "_site").rglob("*") if p.is_file()} == cold


def test_the_output_listing_is_made_only_when_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    plan = {
        ".nojekyll": Output(".nojekyll", b"", None, "marker"),
        "a/index.html": Output("a/index.html", b"<p>a</p>", None, "page a"),
        "b/index.html": Output("b/index.html", b"<p>b</p>", None, "page b"),
    }
    left = writer.write_site(plan, out).state
    assert left is not None and look(out, left).as_left(left), "the listing of the folder as the write left it"
    # Without the listing no entry's status is read (the preview writes often and keeps none).
    looks: list[object] = []
    monkeypatch.setattr(writer, "look", lambda *args: looks.append(args) or look(*args))
    changed = {**plan, "a/index.html": Output("a/index.html", b"<p>A</p>", None, "page a")}
    report = writer.write_site(changed, out, state=False)
    assert report.state is None and report.written == ("a/index.html",)
    assert not looks
    assert (out / "a/index.html").read_bytes() == b"<p>A</p>" and (out / "b/index.html").read_bytes() == b"<p>b</p>"
    monkeypatch.undo()
    left = writer.write_site(plan, out).state
    assert left is not None and look(out, left).as_left(left)


def test_a_site_template_may_use_what_jinja_offers(scratch_site) -> None:
    # Templates reach functions through Jinja's context, and print values through autoescape: the
    # theme takes short ways through both, which must keep Jinja's meaning.
    template = """{% extends "default/page.html" %}
{% macro box(kind) %}<div class="box {{ kind }}">{{ caller() }}</div>{% endmacro %}
{% block content %}{{ super() }}
{% call box("note") %}<b>{{ page.title }}</b> {{ "<&'\\">" }} {{ "<i>kept</i>"|safe }}{% endcall %}
{% set ns = namespace(count=0) %}{% set comma = joiner(", ") %}
<p id="joined">{% for word in ["one", "two", "three"] %}{{ comma() }}{{ word }}{% set ns.count = ns.count + 1 %}{% endfor %}</p>
<p id="count">{{ ns.count }}</p>
<ul id="tree">{% for item in [{"name": "a", "kids": [{"name": "b", "kids": []}]}] recursive %}<li class="{{ loop.cycle("odd", "even") }}">{{ item.name }}{% if item.kids %}<ul>{{ loop(item.kids) }}</ul>{% endif %}</li>{% endfor %}</ul>
<p id="home">{{ t("home") }} {{ url("x/") }}</p>
{% macro bracket(value) %}[{{ value }}]{% endmacro %}
<p id="unescaped">{% autoescape false %}{{ bracket("<b>")|e }}{% endautoescape %}</p>
<pre id="ld">{{ meta.linked_data|tojson(indent=2) }}</pre>
{% endblock %}
"""
    root = scratch_site(
        {
            "templates/page.html": template,
            "content/pages/about.md": "---\ntitle: About <us>\n---\nHello.\n",
            "content/stories/a.md": story(),
        }
    )
    config, _ = build(root)
    about = page(config.output_dir, "about/index.html")
    assert texts(about, "//h1") == ["About <us>"]  # super(): the default page's content
    box = about.xpath("//div[@class='box note']")[0]
    assert box.xpath("string(b)") == "About <us>" and box.xpath("string(i)") == "kept"
    assert "<&'\">" in box.text_content()
    assert texts(about, "//p[@id='joined']") == ["one, two, three"]
    assert texts(about, "//p[@id='count']") == ["3"]
    assert [li.get("class") for li in about.xpath("//ul[@id='tree']//li")] == ["odd", "odd"]
    assert texts(about, "//ul[@id='tree']/li/ul/li") == ["b"]
    assert texts(about, "//p[@id='home']") == ["Home /x/"]
    # A macro called where autoescape is off returns plain text, which |e escapes: once in the macro, once more here.
    assert texts(about, "//p[@id='unescaped']") == ["[&lt;b&gt;]"]
    ld = about.xpath("string(//pre[@id='ld'])")
    keys = json.loads(ld, object_pairs_hook=lambda pairs: [key for key, _ in pairs])
    assert "\n  " in ld and keys == sorted(keys) and "name" in keys  # indented, keys sorted as |tojson sorts them


@pytest.mark.parametrize("theme", THEMES)
def test_the_themes_short_ways_through_jinja_make_the_bytes_jinja_makes(theme: str, demo_builds, tmp_path: Path, monkeypatch) -> None:
    # The theme calls functions and macros, and escapes printed text, by short ways of its own; with
    # Jinja's own context and templates every page must come out the same.
    monkeypatch.setattr(theme_module._Environment, "context_class", jinja2.runtime.Context)
    monkeypatch.setattr(theme_module._Environment, "template_class", jinja2.Template)
    out = tmp_path / "_site"
    build(REPO, base_url=DEMO_BASE_URL, output_dir=out, theme=theme)
    short = demo_builds(theme)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(short).as_posix() for p in short.rglob("*") if p.is_file())
    for name in files:
        assert (out / name).read_bytes() == (short / name).read_bytes(), name
