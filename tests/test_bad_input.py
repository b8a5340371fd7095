"""Every user mistake: a `path:line: what (hint)` message, exit code 1, no traceback, old output intact."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from storysite.cli import main

from .conftest import story

GOOD = {
    "storysite.yaml": "title: Test site\n",
    "content/stories/good.md": story(title="Good story"),
}

# name -> (files to add, text the error must contain)
MISTAKES = {
    "broken yaml": (
        {"content/stories/bad.md": "---\ntitle: Fine\ndate: 2025-01-01\nniche: [unclosed\naudience: [a]\n---\nBody\n"},
        "content/stories/bad.md:5: invalid YAML",
    ),
    "front-matter never closed": (
        {"content/stories/bad.md": "---\ntitle: Open\ndate: 2025-01-01\n\nBody without a closing fence\n"},
        "content/stories/bad.md:1: front-matter is never closed (end it with a line of three dashes: ---)",
    ),
    "no front-matter": (
        {"content/stories/bad.md": "# Just markdown\n"},
        "content/stories/bad.md:1: no front-matter",
    ),
    "missing title": (
        {"content/stories/bad.md": "---\ndate: 2025-01-01\nniche: n\naudience: [a]\n---\nBody\n"},
        "content/stories/bad.md:2: 'title' is missing (add a line such as title:",
    ),
    "missing date": (
        {"content/stories/bad.md": "---\ntitle: T\nniche: n\naudience: [a]\n---\nBody\n"},
        "content/stories/bad.md:2: 'date' is missing",
    ),
    "missing niche": (
        {"content/stories/bad.md": "---\ntitle: T\ndate: 2025-01-01\naudience: [a]\n---\nBody\n"},
        "content/stories/bad.md:2: 'niche' is missing",
    ),
    "missing audience": (
        {"content/stories/bad.md": "---\ntitle: T\ndate: 2025-01-01\nniche: n\n---\nBody\n"},
        "content/stories/bad.md:2: 'audience' is missing",
    ),
    "date that is not a date": (
        {"content/stories/bad.md": "---\ntitle: T\ndate: last tuesday\nniche: n\naudience: [a]\n---\n"},
        "content/stories/bad.md:3: 'date' is not a date: 'last tuesday' (use 2025-03-14",
    ),
    "impossible date": (
        {"content/stories/bad.md": "---\ntitle: T\ndate: 2025-02-30\nniche: n\naudience: [a]\n---\n"},
        "content/stories/bad.md:3: 'date' is not a date",
    ),
    "audience not a list": (
        {"content/stories/bad.md": "---\ntitle: T\ndate: 2025-01-01\nniche: n\naudience: founders\n---\n"},
        "content/stories/bad.md:5: 'audience' must be a list of names (write audience: [founders])",
    ),
    "audience list of mappings": (
        {"content/stories/bad.md": "---\ntitle: T\ndate: 2025-01-01\nniche: n\naudience:\n  - name: x\n---\n"},
        "content/stories/bad.md:5: 'audience' must be a list of names",
    ),
    "two stories with one slug": (
        {"content/stories/other.md": story(title="Other", slug="good")},
        "content/stories/other.md:2: slug 'good' is already used by content/stories/good.md:1",
    ),
    "not utf-8": (
        {"content/stories/bad.md": b"---\ntitle: T\ndate: 2025-01-01\nniche: n\naudience: [a]\n---\ncaf\xe9\n"},
        "content/stories/bad.md:7: not UTF-8 text (byte 0xe9) (save the file as UTF-8)",
    ),
    "slug leaving the output folder": (
        {"content/stories/bad.md": story(slug="../../escape")},
        "content/stories/bad.md:2: slug '../../escape' cannot be used in a URL",
    ),
    "permalink leaving the output folder": (
        {"storysite.yaml": "title: T\npermalinks:\n  story: /../../{slug}/\n"},
        "content/stories/good.md:1: '../../good/' leaves the output folder",
    ),
    "unknown config key": (
        {"storysite.yaml": "titel: Test site\npaginate: 5\n"},
        "storysite.yaml:1: unknown setting 'titel' (did you mean 'title'?)",
    ),
    "config value of the wrong type": (
        {"storysite.yaml": "title: T\npaginate: many\n"},
        "storysite.yaml:2: 'paginate' must be a whole number of at least 1",
    ),
    "broken config yaml": (
        {"storysite.yaml": "title: T\n  bad: indent\n"},
        "storysite.yaml:2: invalid YAML",
    ),
    "undeclared niche under strict": (
        {
            "storysite.yaml": "title: T\nstrict: true\nniches:\n  starting-a-business: {title: Starting}\n",
            "content/stories/bad.md": story(niche="starting-a-busines"),
        },
        "content/stories/bad.md:4: niche 'starting-a-busines' is not declared (did you mean 'starting-a-business'?)",
    ),
    "unknown theme": (
        {"storysite.yaml": "title: T\ntheme: nope\n"},
        "theme 'nope' not found",
    ),
    "template error": (
        {"templates/story.html": "{% extends 'base.html' %}{% block content %}{{ story.no_such_field }}{% endblock %}"},
        "templates/story.html:1: template error: ",
    ),
}


@pytest.fixture
def built_good_site(scratch_site) -> Path:
    root = scratch_site(GOOD)
    result = CliRunner().invoke(main, ["build", "-s", str(root)])
    assert result.exit_code == 0, result.output
    return root


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", MISTAKES)
def test_mistake_is_reported_and_old_site_kept(built_good_site: Path, scratch_site, name: str) -> None:
    files, expected = MISTAKES[name]
    before = _snapshot(built_good_site / "_site")
    scratch_site(files)
    result = CliRunner().invoke(main, ["build", "-s", str(built_good_site)])
    assert result.exit_code == 1, result.output
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert _snapshot(built_good_site / "_site") == before
    assert not list(built_good_site.glob("_site.*")), "no staging folder is left behind"


def test_debug_shows_the_traceback(built_good_site: Path, scratch_site) -> None:
    scratch_site({"content/stories/bad.md": "---\ntitle: T\n"})
    result = CliRunner().invoke(main, ["build", "-s", str(built_good_site), "--debug"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr


def test_every_problem_is_reported_at_once(scratch_site) -> None:
    root = scratch_site(
        {
            "storysite.yaml": "titel: x\npaginat: 3\n",
        }
    )
    result = CliRunner().invoke(main, ["build", "-s", str(root)])
    assert "unknown setting 'titel'" in result.stderr
    assert "unknown setting 'paginat'" in result.stderr
    root = scratch_site(
        {
            "content/stories/a.md": "---\ndate: 2025-01-01\nniche: n\naudience: [a]\n---\n",
            "content/stories/b.md": "---\ntitle: T\ndate: nope\nniche: n\naudience: a\n---\n",
        },
        folder="two",
    )
    result = CliRunner().invoke(main, ["build", "-s", str(root)])
    assert "a.md:2: 'title' is missing" in result.stderr
    assert "b.md:3: 'date' is not a date" in result.stderr
    assert "b.md:5: 'audience' must be a list" in result.stderr


@pytest.mark.parametrize("out", ["content", ".", "..", "content/static/out", "themes"])
def test_out_may_not_overwrite_the_sources(built_good_site: Path, out: str) -> None:
    before = _snapshot(built_good_site)
    result = CliRunner().invoke(main, ["build", "-s", str(built_good_site), "--out", str(built_good_site / out)])
    assert result.exit_code == 1
    assert "would overwrite" in result.stderr and "(build into a folder of its own" in result.stderr
    assert _snapshot(built_good_site) == before


def test_bom_and_crlf_just_work(scratch_site) -> None:
    text = "\ufeff" + story(title="Windows story", body="First line.\n\nSecond paragraph.\n").replace("\n", "\r\n")
    root = scratch_site({"content/stories/win.md": text.encode("utf-8")})
    result = CliRunner().invoke(main, ["build", "-s", str(root)])
    assert result.exit_code == 0, result.output
    assert (root / "_site/stories/win/index.html").is_file()


def test_out_never_replaces_a_folder_it_did_not_build(built_good_site: Path, tmp_path: Path) -> None:
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "letter.txt").write_text("keep me", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "-s", str(built_good_site), "--out", str(precious)])
    assert result.exit_code == 1
    assert "holds files that storysite did not build" in result.stderr
    assert (precious / "letter.txt").read_text(encoding="utf-8") == "keep me"
    # An empty folder, or one a build made, is fine.
    empty = tmp_path / "empty"
    empty.mkdir()
    for out in (empty, empty):
        assert CliRunner().invoke(main, ["build", "-s", str(built_good_site), "--out", str(out)]).exit_code == 0
