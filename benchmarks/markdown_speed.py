"""CPU seconds to convert Markdown bodies: storysite's converter beside Python-Markdown's `smarty`.

    python benchmarks/markdown_speed.py [--stories 1000] [--repeat 3]

Both converters run in this one process, one after the other, on the same bodies, best of
`--repeat` rounds: the synthetic corpus bodies (no quotes, few dashes) and the demo site's stories
and pages (real prose, full of quotes and dashes) repeated to the same count.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import generate
from benchmarks.punctuation_oracle import REPO, by_smarty, smarty_converter
from storysite.markup import render_markdown
from storysite.sources import discover, read_document


def cpu_seconds(convert: Callable[[str], object], bodies: Sequence[str], repeat: int) -> float:
    """Best CPU time of `repeat` rounds converting every body."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for body in bodies:
            convert(body)
        best = min(best, time.process_time() - start)
    return best


def demo_bodies(count: int) -> list[str]:
    """The demo site's stories and pages, repeated to `count` bodies."""
    sources = discover(REPO / "content")
    texts = [read_document(path, path.name).body for path in (*sources.stories, *sources.pages)]
    return [texts[index % len(texts)] for index in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=1000, help="bodies per set")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best counts")
    args = parser.parse_args()
    smarty = smarty_converter()
    sets = {"corpus": [story.body for story in generate(args.stories)], "demo prose": demo_bodies(args.stories)}
    print(f"{'bodies':<22}{'smarty (s CPU)':>16}{'storysite (s CPU)':>19}{'ratio':>8}")
    for name, bodies in sets.items():
        old = cpu_seconds(lambda body: by_smarty(smarty, body), bodies, args.repeat)
        new = cpu_seconds(render_markdown, bodies, args.repeat)
        print(f"{f'{len(bodies):,} {name}':<22}{old:>16.2f}{new:>19.2f}{new / old:>8.2f}")


if __name__ == "__main__":
    main()
