"""The pipeline in one function: config -> discover -> parse -> site model -> relate -> render -> write."""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from .assemble import assemble_site
from .cache import BuildCache
from .collector import collector_paused, collector_slowed
from .config import Config
from .dates import build_time
from .errors import ContentError, Problem
from .feeds import render_feeds
from .kept_stories import KeptStories
from .model import Story
from .page_records import FORMAT as DIGESTS_FORMAT
from .page_records import load_page_records, records_scope
from .parallel import fork_map
from .parse import parse_sources
from .relate import relate_stories, story_terms
from .relate_state import TERMS_NAMESPACE, TERMS_SCOPE, relate_kept, stored_terms
from .relate_store import text_digest
from .related_links import RelatedLinks, related_links
from .render import cname_outputs, planned_pages, render_site
from .sources import discover
from .stages import Stages, StageTime
from .textvec import PackedTerms, TextTerms, packed_terms
from .theme import (
    ThemeLayer,
    load_strings,
    make_environment,
    static_layers,
    theme_chain,
    translator,
)
from .unchanged import LastBuild, inputs_key, load_last_build, next_due, save_last_build
from .writer import Stager, asset_outputs, plan_outputs, static_outputs, write_site

if TYPE_CHECKING:
    from .incremental import Reuse  # the preview's: a build does without it

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    """What a build made, for the one-line summary."""

    stories: int
    pages: int
    files: int
    seconds: float
    warnings: tuple[Problem, ...]
    stages: tuple[StageTime, ...] = ()
    """What each pipeline stage took (`storysite build --timings`)."""
    written: tuple[str, ...] = ()
    """Output files that were new or changed (the others were left as they were)."""


def build_site(
    config: Config, stages: Stages | None = None, cache: BuildCache | None = None, reuse: Reuse | None = None
) -> BuildResult:
    """Build the whole site into config.output_dir; on any error the previous output stays as it was.

    With a build cache, Markdown already converted in an earlier build is taken from it. The
    preview passes `reuse`, which skips reading unchanged files and rendering unchanged pages.
    """
    started = time.perf_counter()
    stages = stages or Stages()
    cache = cache or BuildCache(None)
    with stages.stage("theme"):
        chain = theme_chain(config)
    with stages.stage("discover") as advance:
        sources = discover(config.content_dir)
        advance(len(sources.stories) + len(sources.pages) + len(sources.static))
        statuses: dict[Path, os.stat_result] = {}
        inputs = inputs_key(config, _theme_folders(config, chain), sources, statuses) if cache.enabled and reuse is None else ""
        last = load_last_build(cache, config.output_dir) if reuse is None else None
    if last is not None and last.holds(inputs, config.output_dir, build_time()):
        log.debug("nothing changed since the last build: %s is up to date", config.output_dir)
        for warning in last.warnings:
            log.warning("%s", warning)
        cache.commit()
        return BuildResult(last.stories, last.pages, last.files, time.perf_counter() - started, last.warnings, tuple(stages.times))
    kept = None
    with stages.stage("parse", len(sources.stories) + len(sources.pages)) as advance, collector_slowed():
        if reuse is None and cache.enabled:
            # Stories whose files did not change since the last build are taken as it assembled them.
            with collector_paused(set_aside=True):  # lasting objects, no cycles: the collector need never walk them
                kept = KeptStories(
                    cache, config, sources.stories, lambda paths: parse_sources(replace(sources, stories=tuple(paths), pages=()), config, cache=cache)[0],
                    DIGESTS_FORMAT, statuses,
                )
            advance(len(kept.stories))
            stories, pages = parse_sources(replace(sources, stories=tuple(path for path in sources.stories if path not in kept.stories)), config, advance, cache)
        elif reuse is None:
            stories, pages = parse_sources(sources, config, advance, cache)
        else:
            stories, pages = reuse.parsed.parse(sources, lambda changed: parse_sources(changed, config, advance, cache))
    # Assembling makes lasting objects, no cycles; a build sets them aside from the collector at once (see below).
    with stages.stage("assemble", len(stories) + len(pages)), collector_paused(set_aside=reuse is None):
        site, warnings = assemble_site(config, sources, stories, pages, build_time(), kept)
        if reuse is not None:
            site = reuse.model.same_objects(site)
        dates = [date for parsed in stories for date in (parsed.meta.date, parsed.meta.updated) if date]
        due = next_due(dates + [date for story in (kept.stories.values() if kept else ()) for date in (story.date, story.updated) if date], site.built_at)
        parsed_terms = {parsed.doc.path: (parsed.body.html, parsed.terms) for parsed in stories if parsed.terms is not None}
        del stories, pages  # the site model holds what later stages need; let the rest go before render
    if reuse is None:
        gc.freeze()  # the site model lives to the end: keep the garbage collector from walking it again and again
    for warning in warnings:
        log.warning("%s", warning)
    with stages.stage("relate", len(site.stories)):
        if reuse is None and cache.enabled:
            # Each story's text digest: relate keeps its term counts by it, page records digest stories with it.
            known = kept.texts if kept is not None else {}
            texts = {story.slug: known.get(story.slug) or text_digest(story) for story in site.stories}
            relations = relate_kept(site.stories, config, site.built_at, cache, partial(cached_text_terms, cache=cache, jobs=config.jobs, parsed=parsed_terms, texts=texts), texts)
        elif reuse is None:
            relations = relate_stories(site.stories, config, site.built_at, cached_text_terms(site.stories, cache, config.jobs, parsed_terms))
        else:
            relations = reuse.related.relate(site.stories, config, site.built_at, partial(cached_text_terms, cache=cache))
        del parsed_terms  # term counts are large; render needs none of them
    for warning in relations.warnings:
        log.warning("%s", warning)
    if config.strict and relations.warnings:
        raise ContentError(list(relations.warnings))
    # A build's pages go to the staging folder as they are made, not kept in memory (the preview
    # keeps them); a build that fails before the write leaves none there.
    stager = Stager(config.output_dir, last.output if last is not None else None) if reuse is None else None
    try:
        with stages.stage("render", planned_pages(site, config.paginate)) as advance:
            env = make_environment(config, chain) if reuse is None else reuse.environment(lambda: make_environment(config, chain))
            strings = load_strings(config, chain)
            link = partial(related_links, site.stories, weights=config.related.weights, translators=partial(translator, strings))
            # A build makes each story's links when first asked for: with page records, only for story pages that render.
            related = reuse.model.related_links(site.stories, relations, link) if reuse is not None else RelatedLinks(
                site.stories, relations, config.related.weights, partial(translator, strings))
            if reuse is not None:
                reuse.pages.start(site, config.output_dir, env)
            memo = reuse.pages if reuse is not None else None
            records = None
            if reuse is None and cache.enabled:
                scope = records_scope(config, _theme_folders(config, chain))
                records = load_page_records(cache, scope, config.output_dir, stager.left_status if stager is not None else None)
                records.start(site, env, texts, kept.digests if kept is not None else None)
            rendered = render_site(
                site, related, env, partial(translator, strings), config.paginate, advance, config.jobs, memo, records, stager,
                relations.shown,
            )
        with stages.stage("feeds") as advance:
            feeds = render_feeds(site, config.feeds, translator(strings, config.language), reuse.pages if reuse is not None else None, records)
            advance(len(feeds))
        with stages.stage("write") as advance:
            plan = plan_outputs(
                static_outputs(static_layers(config, chain)),
                [*asset_outputs(site.assets, config.root), *rendered, *feeds, *cname_outputs(config.cname)],
            )
            # The listing of the output folder lets the next build stop early; the preview keeps none.
            report = write_site(plan, config.output_dir, state=reuse is None and cache.enabled, stager=stager)
            advance(len(plan))
            if records is not None:
                records.save(cache, scope, (output.path for output in (*rendered, *feeds)), report.state)
            if kept is not None and records is not None:
                kept.save(texts, records.digest_of)
    except BaseException:
        if stager is not None:
            stager.discard()
        raise
    if reuse is not None:
        reuse.pages.finish()
    if reuse is None and any(not story.draft and story.date <= site.built_at for story in site.stories):
        # (A site with nothing published dates its feeds by the clock: never the same twice.)
        save_last_build(cache, config.output_dir, LastBuild(
            inputs, report.state, site.built_at, due,
            len(site.stories), len(site.pages), len(plan), (*warnings, *relations.warnings),
        ))
    cache.forget_unused()
    cache.commit()
    if reuse is None:
        gc.unfreeze()
    return BuildResult(
        len(site.stories), len(site.pages), len(plan), time.perf_counter() - started, (*warnings, *relations.warnings),
        tuple(stages.times), report.written,
    )


def _theme_folders(config: Config, chain: tuple[ThemeLayer, ...]) -> list[Path]:
    """Every folder of templates, theme files and UI strings the build reads."""
    site_templates = config.root / "templates"
    return [layer.folder for layer in chain] + ([site_templates] if site_templates.is_dir() else [])


def cached_text_terms(
    stories: Sequence[Story], cache: BuildCache, jobs: int = 1, parsed: Mapping[Path, tuple[str, bytes]] | None = None,
    texts: Mapping[str, str] | None = None,
) -> PackedTerms:
    """Each story's term counts for text similarity, from the parse stage or the build cache when they have them.

    `parsed` holds, by source file, the body HTML the parse stage counted terms in and the counts:
    they are the story's own when its content is that HTML (no link in it was rewritten). Those
    neither has are worked out on up to `jobs` processes; all are stored in the cache (by `text_digest`,
    taken from `texts` where it has them).
    """
    counted = parsed or {}
    packed = {
        story.slug: html_terms[1]
        for story in stories
        if (html_terms := counted.get(story.source)) is not None and html_terms[0] == story.content
    }
    terms: dict[str, bytes | TextTerms] = dict(packed)
    if not cache.enabled:
        return PackedTerms(terms)
    cache.namespace(TERMS_NAMESPACE, TERMS_SCOPE)
    keys = {story.slug: (texts or {}).get(story.slug) or text_digest(story) for story in stories}
    stored = stored_terms(cache, [keys[story.slug] for story in stories if story.slug not in terms])
    missing = []
    for story in stories:
        if story.slug in packed:
            cache.put_bytes(TERMS_NAMESPACE, keys[story.slug], packed[story.slug])
        elif (stored_terms_of := stored.get(keys[story.slug])) is not None:
            terms[story.slug] = stored_terms_of
        else:
            missing.append((story, keys[story.slug]))
    for (story, key), found in zip(missing, fork_map(lambda i: packed_terms(story_terms(missing[i][0])), len(missing), jobs)):
        cache.put_bytes(TERMS_NAMESPACE, key, found)
        terms[story.slug] = found
    return PackedTerms(terms)
