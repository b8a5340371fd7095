"""docs/templates.md is a contract: every variable and field it documents reaches the templates."""

from __future__ import annotations

import re
from typing import Any

import pytest

from storysite import render

from .conftest import REPO, build

DOC = (REPO / "docs/templates.md").read_text("utf-8")


def _section(title: str) -> str:
    return DOC.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _names(cell: str) -> list[str]:
    """Backticked names at the start of each item: `site`, `t(key)` -> site, t."""
    return [m.split("(")[0] for m in re.findall(r"`([A-Za-z_][\w]*(?:\([^`]*\))?)`", cell)]


def _table_rows(section: str) -> list[list[str]]:
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row] for row in rows]


@pytest.fixture(scope="module")
def rendered_contexts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Build the demo site and keep the variables each template was given."""
    seen: dict[str, dict[str, Any]] = {}
    original = render.render_template

    def spy(env: Any, names: list[str], variables: dict[str, Any]) -> tuple[str, str]:
        name, html = original(env, names, variables)
        seen.setdefault(name, variables)
        return name, html

    render.render_template = spy
    try:
        build(REPO, output_dir=tmp_path_factory.mktemp("contract") / "_site")
    finally:
        render.render_template = original
    return seen


def test_every_template_gets_the_common_variables(rendered_contexts: dict[str, dict[str, Any]]) -> None:
    common = [row[0].strip("`") for row in _table_rows(_section("Every template"))]
    common = [name.split("(")[0] for name in common]
    assert {"site", "meta", "t", "url", "format_date", "generator"} <= set(common)
    for template, variables in rendered_contexts.items():
        assert set(common) <= set(variables), template


def test_each_template_gets_its_documented_variables(rendered_contexts: dict[str, dict[str, Any]]) -> None:
    rows = _table_rows(_section("Per template"))
    assert len(rows) == 8
    for template_cell, variables_cell in rows:
        template = template_cell.strip("`")
        documented = [n for n in _names(variables_cell) if n not in _NOT_VARIABLES]
        assert template in rendered_contexts, f"{template} was never rendered"
        assert set(documented) <= set(rendered_contexts[template]), template


# Words in backticks in the per-template table that name fields or values, not variables.
_NOT_VARIABLES = {"number", "count", "prev_url", "next_url", "None", "Story", "RelatedLink", "Term", "niche",
                  "audience", "tag", "year", "stories"}


def test_documented_object_fields_exist(rendered_contexts: dict[str, dict[str, Any]]) -> None:
    story_vars = rendered_contexts["story.html"]
    story = story_vars["story"]
    term = rendered_contexts["term.html"]["term"]
    objects = {
        "Story": story,
        "Page": rendered_contexts["page.html"]["page"],
        "TermRef": story.niche,
        "Term": term,
        "SiteInfo": story_vars["site"],
        "PageMeta": story_vars["meta"],
        "FeedLink": story_vars["site"].feeds[0],
        "RelatedLink": story_vars["related"][0],
    }
    documented = dict(re.findall(r"^- `(\w+)`: (.*?)(?=^- `|\Z)", _section("Objects"), re.S | re.M))
    documented["SiteInfo"], documented["PageMeta"] = (
        row[1] for row in _table_rows(_section("Every template"))[:2]
    )
    for name, obj in objects.items():
        # Parentheses explain a field (its type, its values); the fields are what stands outside them.
        outside = re.sub(r"\([^()]*\)", "", documented[name])
        fields = [f for f in _names(outside) if f not in {name, "TermRef"}]
        assert fields, name
        missing = [f for f in fields if not hasattr(obj, f)]
        assert not missing, f"{name} lacks {missing}"
