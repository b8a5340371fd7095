"""`storysite related SLUG`: one story's related stories with each score broken down, for writers."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from .assemble import assemble_site
from .build import cached_text_terms
from .cache import BuildCache
from .config import RELATED_COMPONENTS, Config
from .dates import build_time
from .errors import ContentError, Problem
from .model import RelatedLink, Story
from .parse import parse_sources
from .relate import relate_stories
from .related_links import related_links
from .sources import discover
from .theme import load_strings, theme_chain, translator


@dataclass(frozen=True)
class Explained:
    """A story, its related links as the site shows them, and the settings that chose them."""

    story: Story
    links: tuple[RelatedLink, ...]
    config: Config
    warnings: tuple[Problem, ...]


def explain_related(config: Config, slug: str, cache: BuildCache) -> Explained:
    """Read the site and relate the story `slug` (reasons in the site's language)."""
    sources = discover(config.content_dir)
    stories, pages = parse_sources(sources, config, cache=cache)
    site, _ = assemble_site(config, sources, stories, pages, build_time())
    story = next((s for s in site.stories if s.slug == slug), None)
    if story is None:
        close = difflib.get_close_matches(slug, [s.slug for s in site.stories], n=1)
        hint = f"did you mean '{close[0]}'?" if close else "drafts and future stories count only with --drafts, --future"
        raise ContentError(Problem(slug, None, "no published story has this slug", hint))
    relations = relate_stories(site.stories, config, site.built_at, cached_text_terms(site.stories, cache), only={slug})
    strings = load_strings(config, theme_chain(config))
    links = related_links(site.stories, relations, config.related.weights, lambda _: translator(strings, config.language))
    mine = tuple(w for w in relations.warnings if w.path == story.shown)
    return Explained(story, links.get(slug, ()), config, mine)


def explained_json(explained: Explained) -> dict[str, Any]:
    """The explanation as plain data for `--json`."""
    settings = explained.config.related
    return {
        "story": explained.story.slug,
        "title": explained.story.title,
        "weights": dict(settings.weights),
        "threshold": settings.threshold,
        "count": settings.count,
        "related": [
            {
                "slug": link.story.slug,
                "title": link.story.title,
                "url": link.story.url,
                "score": round(link.score, 6),
                "pinned": link.pinned,
                "components": {name: round(value, 6) for name, value in link.components.items()},
                "contributions": {
                    name: round(settings.weights[name] * value / _total(explained), 6)
                    for name, value in link.components.items()
                },
                "reasons": list(link.reasons),
            }
            for link in explained.links
        ],
        "warnings": [str(w) for w in explained.warnings],
    }


def explained_text(explained: Explained) -> str:
    """The explanation as a table: one row per link, each component's value and what it adds."""
    settings = explained.config.related
    used = [name for name in RELATED_COMPONENTS if settings.weights.get(name)]
    weights = ", ".join(f"{name} {settings.weights[name]:g}" for name in used)
    lines = [
        f"Related to {explained.story.slug} \"{explained.story.title}\"",
        f"weights: {weights}; threshold {settings.threshold:g}; at most {settings.count}",
        "",
    ]
    if not explained.links:
        lines.append("No story scores above the threshold: this story shows no related links.")
        return "\n".join(lines)
    header = f"{'score':>6}  " + "  ".join(f"{name:>9}" for name in used) + "  story"
    lines += [header, "-" * len(header)]
    for link in explained.links:
        cells = "  ".join(_cell(link, name, explained) for name in used)
        pin = "  (pinned)" if link.pinned else ""
        lines.append(f"{link.score:6.3f}  {cells}  {link.story.slug}{pin}")
        if link.reasons:
            lines.append(" " * 8 + " · ".join(link.reasons))
    lines.append("")
    lines.append("Each column: the component's value (0 to 1) and, after =, what it adds to the score.")
    return "\n".join(lines)


def _total(explained: Explained) -> float:
    return sum(explained.config.related.weights.values()) or 1.0


def _cell(link: RelatedLink, name: str, explained: Explained) -> str:
    value = link.components.get(name, 0.0)
    added = explained.config.related.weights[name] * value / _total(explained)
    return f"{value:.2f}={added:.3f}".rjust(9)
