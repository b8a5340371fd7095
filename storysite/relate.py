"""The relate stage: for each story, the stories a reader of it should read next, and why.

The score of story b for story a is a weighted mean of components, each from 0 to 1:
niche (same niche or not), audience and tags (Jaccard overlap), text (cosine of TF-IDF vectors)
and recency (halves every `recency_days` days b is older than the newest story). Scoring is pure:
plain data in, ranked lists out.

No loop over all pairs: an inverted index over each story's strongest terms and over its
niche+tag and niche+audience pairs, with capped posting lists, names the ten or so stories that
share the most of them; only those are scored exactly. The cost grows with the number of stories, not its square.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, compress, islice
from operator import itemgetter
from typing import TypeVar

from .collector import collector_paused
from .config import RELATED_COMPONENTS, Config, RelatedConfig
from .errors import Problem
from .model import Story
from .parallel import fork_map
from .textvec import TextTerms, Vector, cosine, html_text, text_terms, tfidf_vectors

INDEX_TERMS = 16
"""Each story is found through its strongest few terms..."""
POSTING_CAP = 24
"""...and each term or metadata pair lists at most this many stories (the strongest, or newest)."""
CANDIDATES = 10
"""Stories scored exactly for each story."""

T = TypeVar("T")


@dataclass(frozen=True)
class Item:
    """What scoring knows of one story."""

    slug: str
    day: int
    """Date as a day number (for recency and ties)."""
    niche: str
    audiences: frozenset[str]
    tags: frozenset[str]
    vector: Vector
    target: bool = True
    """May be linked to (false for drafts and future stories)."""
    pinned: tuple[str, ...] = ()


@dataclass(frozen=True)
class Relation:
    """Story `slug` as related to another one, with the scores that put it there."""

    slug: str
    score: float
    components: Mapping[str, float]
    """Each component's value from 0 to 1, before weighting."""
    pinned: bool = False
    shared_audiences: tuple[str, ...] = ()
    shared_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Relations:
    """The relate stage's result: ranked relations by story slug, and warnings about pins."""

    by_slug: Mapping[str, tuple[Relation, ...]]
    warnings: tuple[Problem, ...] = field(default=())
    shown: Mapping[str, bytes] | None = field(default=None, compare=False)
    """Each story's `related_links.shown_relations`, when the relate stage worked them out (a build with a cache)."""


def story_terms(story: Story) -> TextTerms:
    """The term counts of a story's title, summary and body (what a build cache stores)."""
    return text_terms(story.title, story.summary, html_text(story.content))


def relate_stories(
    stories: Sequence[Story],
    config: Config,
    now: dt.datetime,
    terms: Mapping[str, TextTerms] | None = None,
    only: Collection[str] | None = None,
) -> Relations:
    """Related stories for each story (or those in `only`); `terms` by slug skips tokenising those."""
    known = terms or {}
    missing = [story for story in stories if story.slug not in known]
    computed = dict(zip((story.slug for story in missing), fork_map(lambda i: story_terms(missing[i]), len(missing), config.jobs)))
    all_terms = [known[story.slug] if story.slug in known else computed[story.slug] for story in stories]
    with collector_paused():
        items = [story_item(story, vector, now) for story, vector in zip(stories, tfidf_vectors(all_terms))]
        by_slug = score_all(items, config.related, only, config.jobs)
    return Relations(by_slug, pin_warnings(stories, items))


def story_item(story: Story, vector: Vector, now: dt.datetime) -> Item:
    """What scoring knows of a story, with its text vector."""
    return Item(
        slug=story.slug,
        day=story.date.toordinal(),
        niche=story.niche.slug,
        audiences=frozenset(a.slug for a in story.audiences),
        tags=frozenset(t.slug for t in story.tags),
        vector=vector,
        target=is_target(story, now),
        pinned=story.related_slugs,
    )


def is_target(story: Story, now: dt.datetime) -> bool:
    """May other stories link to it (not a draft, not dated in the future)?"""
    return not story.draft and story.date <= now


def pin_warnings(stories: Sequence[Story], items: Sequence[Item]) -> tuple[Problem, ...]:
    """Warnings about pinned slugs that name the story itself or no published story."""
    return tuple(_pin_warnings(stories, {i.slug for i in items if i.target}))


def _pin_warnings(stories: Sequence[Story], targets: set[str]) -> list[Problem]:
    problems = []
    for story in stories:
        for slug in story.related_slugs:
            if slug == story.slug:
                message, hint = "a story cannot be related to itself", "remove it from 'related'"
            elif slug not in targets:
                message = f"related story '{slug}' is not a published story"
                hint = "use the slug of a story that is not a draft or dated in the future"
            else:
                continue
            problems.append(Problem(story.shown, story.lines.get("related"), message, hint))
    return problems


class Scorer:
    """The score of one story for another, with the configured weights."""

    def __init__(self, settings: RelatedConfig, newest_day: int) -> None:
        weights = settings.weights
        self.niche, self.audience, self.tags, self.text, self.recency = (
            weights.get(name, 0.0) for name in RELATED_COMPONENTS
        )
        self.total = sum(weights.get(name, 0.0) for name in RELATED_COMPONENTS) or 1.0
        self.settings = settings
        self.newest_day = newest_day
        self.half_life = settings.recency_days

    def score(self, a: Item, b: Item) -> float:
        """The weighted mean of the components, from 0 to 1."""
        return self._scores(a, (b,))[0][0]

    def _scores(self, a: Item, others: Iterable[Item]) -> tuple[list[float], list[float]]:
        """The score and the text component of each of `others` for `a` (the hot loop: no calls but the cosine)."""
        niche, audience, tags, text, recency = self.niche, self.audience, self.tags, self.text, self.recency
        a_niche, a_audiences, a_tags, a_vector = a.niche, a.audiences, a.tags, a.vector
        a_audience_count, a_tag_count = len(a_audiences), len(a_tags)
        scores, texts = [], []
        # A Jaccard overlap of 0 would add 0.0, which leaves a float sum as it is: skip it.
        for b in others:
            total = niche if niche and a_niche == b.niche else 0.0
            if audience and (shared := len(a_audiences & b.audiences)):
                total += audience * (shared / (a_audience_count + len(b.audiences) - shared))
            if tags and (shared := len(a_tags & b.tags)):
                total += tags * (shared / (a_tag_count + len(b.tags) - shared))
            similarity = cosine(a_vector, b.vector) if text else 0.0
            if text:
                total += text * similarity
            if recency:
                total += recency * _recency(b, self.newest_day, self.half_life)
            scores.append(total / self.total)
            texts.append(similarity)
        return scores, texts

    def components(self, a: Item, b: Item, text: float | None = None) -> dict[str, float]:
        """The value of each component with a weight above 0, for b as related to a (`text`: the cosine, if known)."""
        values = {}
        if self.niche:
            values["niche"] = 1.0 if a.niche == b.niche else 0.0
        if self.audience:
            values["audience"] = _jaccard(a.audiences, b.audiences)
        if self.tags:
            values["tags"] = _jaccard(a.tags, b.tags)
        if self.text:
            values["text"] = cosine(a.vector, b.vector) if text is None else text
        if self.recency:
            values["recency"] = _recency(b, self.newest_day, self.half_life)
        return values

    def relation(self, a: Item, b: Item, score: float | None = None, pinned: bool = False, text: float | None = None) -> Relation:
        """b as related to a, explained (`score` and `text`, when the caller has them already, save work)."""
        return Relation(
            slug=b.slug,
            score=self.score(a, b) if score is None else score,
            components=self.components(a, b, text),
            pinned=pinned,
            shared_audiences=tuple(sorted(a.audiences & b.audiences)),
            shared_tags=tuple(sorted(a.tags & b.tags)),
        )


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def _recency(b: Item, newest_day: int, half_life: int) -> float:
    return float(0.5 ** (max(0, newest_day - b.day) / half_life))


def score_all(
    items: Sequence[Item], settings: RelatedConfig, only: Collection[str] | None = None, jobs: int = 1
) -> dict[str, tuple[Relation, ...]]:
    """Ranked relations of every item (or those in `only`): pinned first, then by score, date, slug.

    A large site is scored on up to `jobs` processes (0: one per core); the result is the same.
    """
    index = _CandidateIndex(items, settings.weights)
    by_slug = {item.slug: item for item in items}
    scorer = Scorer(settings, newest_target_day(items))
    positions = [position for position, item in enumerate(items) if only is None or item.slug in only]

    def ranked(position: int) -> tuple[Relation, ...]:
        return ranked_relations(items[position], index.candidates(position), by_slug, scorer)

    ranks = fork_map(lambda k: ranked(positions[k]), len(positions), jobs)
    return {items[position].slug: rank for position, rank in zip(positions, ranks)}


def newest_target_day(items: Iterable[Item]) -> int:
    """The day of the newest story that may be linked to (where recency is measured from)."""
    return max((item.day for item in items if item.target), default=0)


def ranked_relations(item: Item, candidates: Iterable[Item], by_slug: Mapping[str, Item], scorer: Scorer) -> tuple[Relation, ...]:
    """The relations of `item`: its pinned stories, then the best-scoring `candidates` above the threshold."""
    settings = scorer.settings
    pinned = [by_slug[s] for s in dict.fromkeys(item.pinned) if s in by_slug and by_slug[s].target and s != item.slug]
    taken = {p.slug for p in pinned}
    others = [other for other in candidates if other.slug not in taken] if taken else list(candidates)
    values, texts = scorer._scores(item, others)
    threshold = settings.threshold
    scored = [entry for entry in zip(values, texts, others) if entry[0] >= threshold]
    if len(scored) > 1:
        scored.sort(key=_rank)
    shown = scored[: max(0, settings.count - len(pinned))]
    return tuple(
        [scorer.relation(item, p, pinned=True) for p in pinned]
        + [scorer.relation(item, other, value, text=text) for value, text, other in shown]
    )


def _rank(entry: tuple[float, float, Item]) -> tuple[float, int, str]:
    """Higher scores first (equal to 9 places), then newer stories, then slugs in order."""
    return -round(entry[0], 9), -entry[2].day, entry[2].slug


class _CandidateIndex:
    """Which stories are worth scoring for a story: those sharing its strongest terms or its metadata."""

    def __init__(self, items: Sequence[Item], weights: Mapping[str, float]) -> None:
        self.items = items
        self.use_text = bool(weights.get("text"))
        self.use_meta = bool(weights.get("niche") or weights.get("audience") or weights.get("tags"))
        self.keys = [index_keys(item, self.use_text, self.use_meta) for item in items]
        ranked: defaultdict[str, list[tuple[float, int]]] = defaultdict(list)
        # Entries go in by position, so each list is in posting order before it is ranked.
        for position, item in enumerate(items):
            if item.target:
                rank, day = item.vector.get, float(item.day)
                for key in self.keys[position]:
                    ranked[key].append((rank(key, day), position))
        postings = {key: strongest_postings(entries) for key, entries in ranked.items()}
        self.postings = postings
        # Each story's keys' posting lists, looked up once (drafts search them too).
        self.lists = [[postings[key] for key in keys if key in postings] for keys in self.keys]

    def candidates(self, position: int) -> list[Item]:
        """Up to CANDIDATES stories sharing the most index keys with the story at `position`."""
        items = self.items
        return [items[other] for other in _most_listed(self.lists[position], position)]


def index_keys(item: Item, use_text: bool, use_meta: bool) -> list[str]:
    """The keys a story is indexed under: its strongest terms, then its niche+tag and niche+audience pairs."""
    keys = list(islice(item.vector, INDEX_TERMS)) if use_text else []
    if use_meta:
        niche = item.niche
        keys += [f"\x00{niche}\x00{tag}" for tag in sorted(item.tags)] + [f"\x01{niche}\x01{a}" for a in sorted(item.audiences)]
    return keys


def posting_rank(item: Item, key: str, position: int) -> tuple[float, int]:
    """Where a story stands in a key's posting list: terms list their strongest stories, metadata pairs their newest.

    Lists are ranked by the first value, highest first; equals stay in position order.
    """
    return (item.vector.get(key, float(item.day)), position)


def strongest_postings(entries: list[tuple[float, int]]) -> list[int]:
    """The positions a key lists: the POSTING_CAP best of its `posting_rank` entries (given in position order), best first."""
    # A stable sort on the rank alone keeps equal ranks in position order.
    return [position for _, position in sorted(entries, key=itemgetter(0), reverse=True)[:POSTING_CAP]]


def most_shared(keys: Iterable[str], postings: Mapping[str, list[T]], own: T) -> list[T]:
    """Up to CANDIDATES entries of the keys' postings that are listed under the most of them (never `own`)."""
    return _most_listed([postings[key] for key in keys if key in postings], own)


def _most_listed(lists: Iterable[list[T]], own: T) -> list[T]:
    counts = Counter(chain.from_iterable(lists))
    counts.pop(own, None)
    chosen: Iterable[T] = counts
    if len(counts) > CANDIDATES:
        # Only entries counted at least as often as the CANDIDATES-th most counted can be chosen;
        # most are counted once, so find that cut from the counts alone and sort only those entries.
        try:
            tally = bytes(counts.values())
        except ValueError:  # a count above 255: more keys than any story has
            tally = None
        if tally is None:
            cut = sorted(counts.values())[-CANDIDATES]
            chosen = compress(counts, map(cut.__le__, counts.values()))
        else:
            cut, more = max(tally), CANDIDATES - tally.count(max(tally))
            while more > 0:
                cut -= 1
                more -= tally.count(cut)
            chosen = compress(counts, tally.translate(_AT_LEAST[cut]))
    # Most shared keys first; a stable sort keeps equals in posting order, so output is reproducible.
    return sorted(chosen, key=counts.__getitem__, reverse=True)[:CANDIDATES]


_AT_LEAST = [bytes(count >= cut for count in range(256)) for cut in range(256)]
"""For each cut, a table that turns a count into 1 when it is at least the cut, else 0."""
