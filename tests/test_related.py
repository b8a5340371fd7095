"""Related stories: the pure scorer table-tested, then built sites parsed and the CLI driven."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import html

from storysite.build import build_site
from storysite.cache import BuildCache
from storysite.cli import main
from storysite.config import RelatedConfig, load_config
from storysite.errors import ConfigError, ContentError
from storysite.relate import Item, Scorer, score_all
from storysite.textvec import count_tokens, text_terms, tfidf_vectors

from .conftest import REPO, build, story

DEFAULTS = RelatedConfig()


def settings(threshold: float = 0.0, count: int = 4, **weights: float) -> RelatedConfig:
    """Scoring settings; weights given replace the defaults, the rest keep theirs."""
    merged = {**DEFAULTS.weights, **weights}
    return RelatedConfig(count=count, threshold=threshold, weights=MappingProxyType(merged))


def items(*specs: dict[str, Any]) -> list[Item]:
    """Items with vectors made from each spec's `text`, like a site's stories."""
    vectors = tfidf_vectors([text_terms(str(s.get("title", "")), "", str(s.get("text", ""))) for s in specs])
    made = []
    for number, (spec, vector) in enumerate(zip(specs, vectors)):
        made.append(
            Item(
                slug=str(spec.get("slug", f"s{number}")),
                day=int(spec.get("day", 700_000)),
                niche=str(spec.get("niche", "n")),
                audiences=frozenset(spec.get("audiences", ("a",))),
                tags=frozenset(spec.get("tags", ())),
                vector=vector,
                target=bool(spec.get("target", True)),
                pinned=tuple(spec.get("pinned", ())),
            )
        )
    return made


def ranked(found: dict[str, tuple], slug: str) -> list[str]:
    return [relation.slug for relation in found[slug]]


# --- text analysis -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("The Market and the Cooperative", ["market", "cooperative"]),
        ("Kami membuka warung yang kecil di Yogyakarta", ["membuka", "warung", "yogyakarta"]),
        ("Café déjà-vu: naïve ÜBER 2024 x", ["café", "déjà-vu", "naïve", "über"]),
        ("Сообщество и доверие", ["сообщество", "доверие"]),
        ("it's what we've done, isn't it", []),
    ],
)
def test_tokens_are_unicode_lower_case_without_stop_words_or_numbers(text: str, expected: list[str]) -> None:
    assert list(count_tokens(text)) == expected


def test_text_terms_count_title_and_summary_extra_and_survive_json() -> None:
    terms = text_terms("Batik pricing", "Pricing a scarf", "Batik takes time. Pricing takes courage.")
    assert terms["pricing"] > terms["batik"] > terms["courage"] == 1
    assert json.loads(json.dumps(terms)) == terms
    assert text_terms("Batik pricing", "Pricing a scarf", "Batik takes time. Pricing takes courage.") == terms


def test_terms_in_one_story_or_in_most_stories_carry_no_weight() -> None:
    texts = ["coffee market unique", "coffee market batik", "coffee batik soap"] + [f"coffee word{n}x" for n in range(9)]
    vectors = tfidf_vectors([text_terms("", "", text) for text in texts])
    assert "unique" not in vectors[0]  # in one story only
    assert all("coffee" not in vector for vector in vectors)  # in every one of 12 stories
    assert set(vectors[1]) == {"market", "batik"}
    small = tfidf_vectors([text_terms("", "", text) for text in texts[:4]])
    assert "coffee" in small[0]  # a small site keeps it: idf alone makes it weigh little
    assert sum(weight * weight for weight in vectors[1].values()) == pytest.approx(1.0)


# --- scoring -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "a, b, expected",
    [
        ({"niche": "x"}, {"niche": "x"}, {"niche": 1.0}),
        ({"niche": "x"}, {"niche": "y"}, {"niche": 0.0}),
        ({"audiences": ("f", "m")}, {"audiences": ("m",)}, {"audience": 0.5}),
        ({"audiences": ("f",)}, {"audiences": ("m",)}, {"audience": 0.0}),
        ({"tags": ("a", "b", "c")}, {"tags": ("b", "c", "d")}, {"tags": 0.5}),
        ({"tags": ()}, {"tags": ()}, {"tags": 0.0}),
        ({"text": "batik scarf dye"}, {"text": "batik scarf dye"}, {"text": 1.0}),
        ({"text": "batik scarf dye"}, {"text": "tempe soybean mould"}, {"text": 0.0}),
    ],
)
def test_component_values(a: dict[str, Any], b: dict[str, Any], expected: dict[str, float]) -> None:
    # Two neutral stories make the texts' terms neither unique nor in most stories.
    pair = items(a, b, {"text": "tempe soybean mould"}, {"text": "batik scarf dye"})
    values = Scorer(DEFAULTS, 0).components(pair[0], pair[1])
    for name, value in expected.items():
        assert values[name] == pytest.approx(value)


def test_score_is_the_weighted_mean_and_components_with_weight_0_are_left_out() -> None:
    a, b = items({"niche": "x", "tags": ("t",)}, {"niche": "x", "tags": ("u",)})
    scorer = Scorer(settings(niche=1.0, audience=0.0, tags=1.0, text=0.0), 0)
    assert scorer.components(a, b) == {"niche": 1.0, "tags": 0.0}
    assert scorer.score(a, b) == pytest.approx(0.5)


def test_recency_halves_every_recency_days() -> None:
    old, new = items({"day": 1000}, {"day": 1000 + 365})
    scorer = Scorer(settings(recency=1.0), newest_day=1000 + 365)
    assert scorer.components(new, old)["recency"] == pytest.approx(0.5)
    assert scorer.components(old, new)["recency"] == pytest.approx(1.0)


def test_never_itself_drafts_or_future_stories() -> None:
    found = score_all(
        items(
            {"slug": "a", "tags": ("t",)},
            {"slug": "draft", "tags": ("t",), "target": False},
            {"slug": "b", "tags": ("t",)},
        ),
        settings(),
    )
    assert ranked(found, "a") == ["b"]
    assert ranked(found, "draft") == ["a", "b"]  # a draft previewed with --drafts still gets links


def test_no_filler_below_the_threshold() -> None:
    found = score_all(
        items({"slug": "a", "niche": "x", "audiences": ("f",)}, {"slug": "b", "niche": "y", "audiences": ("m",)}),
        settings(threshold=0.1),
    )
    assert found == {"a": (), "b": ()}


def test_ties_break_by_score_then_newer_then_slug() -> None:
    found = score_all(
        items(
            {"slug": "a", "tags": ("t", "u")},
            {"slug": "old-but-closer", "tags": ("t", "u"), "day": 600_000},
            {"slug": "z-new", "tags": ("t",), "day": 700_100},
            {"slug": "b-new", "tags": ("t",), "day": 700_100},
            {"slug": "c-older", "tags": ("t",), "day": 700_050},
        ),
        settings(),
    )
    assert ranked(found, "a") == ["old-but-closer", "b-new", "z-new", "c-older"]


def test_count_limits_the_links() -> None:
    found = score_all(items(*({"slug": f"s{i}", "tags": ("t",)} for i in range(8))), settings(count=2))
    assert all(len(links) == 2 for links in found.values())


def test_pinned_come_first_in_order_even_below_the_threshold() -> None:
    found = score_all(
        items(
            {"slug": "a", "tags": ("t",), "pinned": ("far", "a", "draft", "missing", "close", "far")},
            {"slug": "close", "tags": ("t",)},
            {"slug": "far", "niche": "elsewhere", "audiences": ("z",)},
            {"slug": "draft", "target": False},
            {"slug": "other", "tags": ("t",)},
        ),
        settings(threshold=0.2, count=3),
    )
    relations = found["a"]
    assert [(r.slug, r.pinned) for r in relations] == [("far", True), ("close", True), ("other", False)]
    assert relations[0].score < 0.2


def test_relations_say_what_is_shared() -> None:
    a, b = items({"audiences": ("f", "m"), "tags": ("x", "y")}, {"audiences": ("m", "f"), "tags": ("y",)})
    relation = Scorer(DEFAULTS, 0).relation(a, b)
    assert relation.shared_audiences == ("f", "m") and relation.shared_tags == ("y",)


def test_only_relates_the_stories_asked_for() -> None:
    found = score_all(items({"slug": "a"}, {"slug": "b"}, {"slug": "c"}), settings(), only={"b"})
    assert set(found) == {"b"} and ranked(found, "b") == ["a", "c"]


# --- built sites ---------------------------------------------------------------------------------

BATIK = "Batik dye, wax and cotton: our batik studio learned to price every batik scarf."
TEMPE = "Tempe needs soybeans, yeast and patience; our tempe kitchen wraps tempe in banana leaves."


def related_of(out: Path, slug: str) -> list[tuple[str, str]]:
    """(link URL, reasons) of a story page's related section, parsed from the HTML."""
    tree = html.parse(str(out / "stories" / slug / "index.html"))
    return [
        (li.xpath("string(a/@href)"), " ".join(li.xpath("string(small)").split()))
        for li in tree.xpath("//section[@class='related']//li")
    ]


def site_files(**extra: str) -> dict[str, str]:
    config = "title: Test\nniches: {making: {title: Making}, cooking: {title: Cooking}}\n"
    config += "audiences: {founders: {title: First-time founders}, cooks: {title: Cooks}}\n" + extra.pop("config", "")
    files = {
        "storysite.yaml": config,
        "content/stories/batik-one.md": story("Batik one", niche="making", audience="founders", body=BATIK, tags="[craft, batik]"),
        "content/stories/batik-two.md": story("Batik two", niche="making", audience="founders", body=BATIK, tags="[batik]"),
        "content/stories/tempe-one.md": story("Tempe one", niche="cooking", audience="cooks", body=TEMPE),
        "content/stories/tempe-two.md": story("Tempe two", niche="cooking", audience="cooks", body=TEMPE, date="2025-01-02"),
        "content/stories/tempe-draft.md": story("Tempe draft", niche="cooking", audience="cooks", body=TEMPE, draft="true"),
        "content/stories/tempe-future.md": story("Tempe future", niche="cooking", audience="cooks", body=TEMPE, date="2999-01-01"),
    }
    files.update(extra)
    return files


def test_story_pages_link_related_stories_with_reasons(scratch_site) -> None:
    root = scratch_site(site_files())
    config, _ = build(root, drafts=True, future=True)
    out = config.output_dir
    assert related_of(out, "batik-one") == [
        ("/stories/batik-two/", "similar text · same niche · also for First-time founders · shared tags: batik")
    ]
    # Drafts and future stories get related links when previewed, but are never linked to.
    # Equal scores: the newer story first.
    assert [url for url, _ in related_of(out, "tempe-draft")] == ["/stories/tempe-one/", "/stories/tempe-two/"]
    assert [url for url, _ in related_of(out, "tempe-one")] == ["/stories/tempe-two/"]


def test_reasons_follow_the_story_language(scratch_site) -> None:
    files = site_files()
    files["content/stories/batik-two.md"] = story("Batik dua", niche="making", audience="founders", body=BATIK, lang="id")
    config, _ = build(scratch_site(files))
    assert related_of(config.output_dir, "batik-two") == [
        ("/stories/batik-one/", "isi yang mirip · ceruk yang sama · juga untuk First-time founders")
    ]


def test_pins_and_unknown_pins_warn_with_file_and_line(scratch_site) -> None:
    files = site_files()
    files["content/stories/batik-one.md"] = story(
        "Batik one", niche="making", audience="founders", body=BATIK, related="[tempe-one, tempe-draft, batik-one, no-such]"
    )
    root = scratch_site(files)
    config, result = build(root)
    assert related_of(config.output_dir, "batik-one") == [
        ("/stories/tempe-one/", "chosen by the writer"),
        ("/stories/batik-two/", "similar text · same niche · also for First-time founders"),
    ]
    messages = [str(w) for w in result.warnings]
    not_published = "is not a published story (use the slug of a story that is not a draft or dated in the future)"
    assert messages == [
        f"content/stories/batik-one.md:2: related story 'tempe-draft' {not_published}",
        "content/stories/batik-one.md:2: a story cannot be related to itself (remove it from 'related')",
        f"content/stories/batik-one.md:2: related story 'no-such' {not_published}",
    ]
    with pytest.raises(ContentError, match="no-such"):
        build(root, strict=True)


def test_related_settings_from_storysite_yaml(scratch_site) -> None:
    files = site_files(config="related: {count: 1, threshold: 0.9, weights: {text: 0, niche: 1}}\n")
    config, _ = build(scratch_site(files))
    assert config.related.weights["text"] == 0 and config.related.count == 1
    assert related_of(config.output_dir, "batik-one") == [
        ("/stories/batik-two/", "same niche · also for First-time founders · shared tags: batik")
    ]


@pytest.mark.parametrize(
    "related, message",
    [
        ("[4]", "'related' must be a mapping"),
        ("{count: 0}", "'related.count' must be a whole number of at least 1"),
        ("{threshold: 2}", "'related.threshold' must be a number from 0 to 1"),
        ("{treshold: 0.1}", "unknown setting 'related.treshold' (did you mean 'threshold'?)"),
        ("{weights: {txt: 1}}", "unknown related weight 'txt' (did you mean 'text'?)"),
        ("{weights: {niche: -1}}", "weight 'niche' must be a number of at least 0"),
        ("{weights: {niche: 0, audience: 0, tags: 0, text: 0}}", "at least one related weight must be above 0"),
    ],
)
def test_bad_related_settings(scratch_site, related: str, message: str) -> None:
    root = scratch_site({"storysite.yaml": f"title: T\nrelated: {related}\n"})
    with pytest.raises(ConfigError) as caught:
        build(root)
    assert f"storysite.yaml:2: {message}" in str(caught.value)


def test_every_related_setting_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("### Related stories\n", 1)[1].split("\n#", 1)[0]
    documented = {line.split("`")[1] for line in section.splitlines() if line.startswith("| `") and " key |" not in line}
    assert documented == {f.name for f in dataclasses.fields(RelatedConfig)}
    assert all(f"`{name}`" in section for name in DEFAULTS.weights)


# --- the CLI -------------------------------------------------------------------------------------

def test_cli_related_breaks_scores_down(scratch_site) -> None:
    root = scratch_site(site_files())
    result = CliRunner().invoke(main, ["related", "batik-one", "-s", str(root)])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines() if line.strip().endswith("batik-two")]
    assert len(rows) == 1
    score, *cells, _ = rows[0]
    values = [tuple(map(float, cell.split("="))) for cell in cells]
    assert len(values) == 4  # niche, audience, tags, text: recency is off
    assert float(score) == pytest.approx(sum(added for _, added in values), abs=0.002)
    assert "similar text · same niche" in result.output


def test_cli_related_json(scratch_site) -> None:
    root = scratch_site(site_files())
    result = CliRunner().invoke(main, ["related", "tempe-one", "--json", "-s", str(root)])
    data = json.loads(result.output)
    assert data["story"] == "tempe-one" and data["count"] == 4
    [link] = data["related"]
    assert link["slug"] == "tempe-two" and not link["pinned"]
    assert set(link["components"]) == {"niche", "audience", "tags", "text"}
    assert link["score"] == pytest.approx(sum(link["contributions"].values()), abs=1e-5)
    assert link["reasons"][0] == "similar text"


def test_cli_related_unknown_slug(scratch_site) -> None:
    root = scratch_site(site_files())
    result = CliRunner().invoke(main, ["related", "batik-on", "-s", str(root)])
    assert result.exit_code == 1
    assert re.search(r"no published story has this slug \(did you mean 'batik-one'\?\)", result.output)


def test_related_links_do_not_depend_on_the_hash_seed(scratch_site, tmp_path: Path) -> None:
    """Candidate order comes from sets and dicts of strings: output must not change between runs."""
    files = site_files()
    for number in range(12):
        files[f"content/stories/more-{number}.md"] = story(
            f"More {number}", niche="making", audience="founders", tags="[craft, batik, dye]",
            body=BATIK if number % 2 else TEMPE,
        )
    root = scratch_site(files)
    pages = []
    for seed in ("1", "2"):
        out = tmp_path / f"out{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "storysite", "build", "-q", "--no-cache", "-s", str(root), "-o", str(out)],
                       env=env, check=True)
        pages.append({p.relative_to(out): p.read_bytes() for p in sorted(out.glob("stories/*/index.html"))})
    assert pages[0] == pages[1]
    assert any(related_of(tmp_path / "out1", f"more-{n}") for n in range(12))


def test_a_story_of_stop_words_only_builds_with_and_without_the_cache(scratch_site, tmp_path: Path) -> None:
    files = site_files()
    files["content/stories/three.md"] = story("Three", niche="making", audience="founders", body="It was the one.\n")
    root = scratch_site(files)
    for _ in range(2):  # the second build takes its (empty) term counts from the cache
        with BuildCache(tmp_path / "cache.sqlite") as cache:
            build_site(load_config(root), cache=cache)
    assert related_of(root / "_site", "three") == []
