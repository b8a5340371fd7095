"""Time and peak memory of the relate stage on the synthetic corpus, at several sizes.

    python benchmarks/related_speed.py [--stories 1000 10000 20000] [--seed 0]

For each size: the whole stage (tokenising every story included), the stage when every story's term
counts come from a build cache, and the peak memory the stage allocates (tracemalloc, measured in a
separate run because tracing slows Python down). By default the stage runs in one process on one
core (`--jobs 0` lets it fork one worker per core, as a build does). The README's "Related stories"
section keeps the last figures measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import Synthetic, generate
from storysite.config import Config
from storysite.model import Story, TermRef
from storysite.relate import relate_stories, story_terms

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


def as_story(s: Synthetic) -> Story:
    """A site-model story as the assemble stage would make it (the body as simple HTML)."""
    paragraphs = s.body.strip().split("\n\n")
    content = "\n".join(f"<h2>{p[3:]}</h2>" if p.startswith("## ") else f"<p>{p}</p>" for p in paragraphs)
    date = dt.datetime.combine(s.date, dt.time(), dt.timezone.utc)
    return Story(
        slug=s.slug, title=s.title, path=f"stories/{s.slug}/", url=f"/stories/{s.slug}/", date=date, updated=None,
        niche=TermRef("niche", s.niche, s.niche, f"/niches/{s.niche}/"),
        audiences=tuple(TermRef("audience", a, a, f"/audiences/{a}/") for a in s.audiences),
        tags=tuple(TermRef("tag", t, t, f"/tags/{t}/") for t in s.tags),
        summary=s.summary, author="", cover=None, cover_alt="", lang=s.lang, draft=False, canonical=None,
        content=content, word_count=len(s.body.split()), reading_time=1, related_slugs=(),
        extra=MappingProxyType({}), source=Path(f"content/stories/{s.slug}.md"),
        shown=f"content/stories/{s.slug}.md", lines=MappingProxyType({}),
    )


def timed(action: Callable[[], Any]) -> str:
    """CPU and wall seconds of one run: on a busy machine the CPU time is the truer one-core cost."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    action()
    return f"{time.process_time() - cpu:.2f} s ({time.perf_counter() - wall:.2f} s wall)"


def peak_mb(action: Callable[[], Any]) -> float:
    """Peak memory allocated while `action` runs, beyond what existed before, in MB."""
    gc.collect()
    tracemalloc.start()
    action()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def measure(stories: Sequence[Story], config: Config) -> tuple[str, str, float, str]:
    """Time with tokenising, time from cached terms, peak MB, and time to tokenise alone."""
    cached = {story.slug: story_terms(story) for story in stories}
    tokenise = timed(lambda: [story_terms(story) for story in stories])
    whole = timed(lambda: relate_stories(stories, config, NOW))
    from_cache = timed(lambda: relate_stories(stories, config, NOW, terms=cached))
    memory = peak_mb(lambda: relate_stories(stories, config, NOW))
    return whole, from_cache, memory, tokenise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, nargs="+", default=[1000, 10000, 20000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="processes for the stage (default 1: the one-core figure)")
    args = parser.parse_args()
    config = Config(root=Path("."), jobs=args.jobs)
    print("CPU seconds of this process (wall seconds in brackets); with --jobs 1 the stage uses one core.")
    print("| stories | stage, tokenising included | stage, terms from cache | peak memory | tokenising alone |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for n in args.stories:
        stories = [as_story(s) for s in generate(n, args.seed)]
        whole, from_cache, memory, tokenise = measure(stories, config)
        print(f"| {n} | {whole} | {from_cache} | {memory:.0f} MB | {tokenise} |", flush=True)


if __name__ == "__main__":
    main()
