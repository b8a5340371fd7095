"""How often related links point to a story of the same hidden topic, on the synthetic corpus.

    python benchmarks/related_quality.py [--stories 1000 10000] [--seed 0]

For each size: the share of all related links (4 per story by default) whose story has the same
hidden topic, for the full scorer and for each component alone (the other weights set to 0).
Chance is about 1/20.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import Synthetic, generate
from storysite.config import RelatedConfig
from storysite.relate import Item, score_all
from storysite.textvec import text_terms, tfidf_vectors

ALONE = {
    "text alone": {"text": 1.0},
    "niche+audience+tags": {"niche": 1.0, "audience": 1.0, "tags": 1.0},
    "niche alone": {"niche": 1.0},
    "audience alone": {"audience": 1.0},
    "tags alone": {"tags": 1.0},
}


def corpus_items(stories: Sequence[Synthetic]) -> list[Item]:
    """Scoring items of the corpus, with vectors from the same text analysis as a build."""
    vectors = tfidf_vectors([text_terms(s.title, s.summary, s.body) for s in stories])
    return [
        Item(s.slug, s.date.toordinal(), s.niche, frozenset(s.audiences), frozenset(s.tags), vector)
        for s, vector in zip(stories, vectors)
    ]


def precision(items: Sequence[Item], topics: Mapping[str, int], settings: RelatedConfig) -> tuple[float, float]:
    """Share of links to the same topic, and links per story."""
    related = score_all(items, settings)
    links = [(slug, r.slug) for slug, ranked in related.items() for r in ranked]
    right = sum(topics[a] == topics[b] for a, b in links)
    return (right / len(links) if links else 0.0), len(links) / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    default = RelatedConfig()
    print("| stories | scorer | same topic | links per story |")
    print("| ---: | --- | ---: | ---: |")
    for n in args.stories:
        stories = generate(n, args.seed)
        topics = {s.slug: s.topic for s in stories}
        items = corpus_items(stories)
        runs = {"full (defaults)": default.weights, **ALONE}
        for name, weights in runs.items():
            # A component alone ranks without a threshold: its best 4 links, however weak.
            settings = dataclasses.replace(
                default,
                weights=MappingProxyType({c: weights.get(c, 0.0) for c in default.weights}),
                threshold=default.threshold if weights is default.weights else 0.0,
            )
            share, per_story = precision(items, topics, settings)
            print(f"| {n} | {name} | {share:.3f} | {per_story:.2f} |", flush=True)


if __name__ == "__main__":
    main()
