"""The relate stage's values in a form a later build can load fast: what `relate_state` keeps between builds.

Per story: a digest of its text, the plain values scoring reads of it, its vector, candidates and
ranked relations; per term the stories that hold it; per index key its stories (with where each
stands) and its posting list. They are plain values (`relate_file` stores them); vectors, index keys
and relations stay marshalled until a build needs them. `full_relate` works every value out, as
`RelateMemo` does from scratch, with the functions `relate_stories` uses.
"""

from __future__ import annotations

import datetime as dt
import marshal
import math
from array import array
from collections import defaultdict
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, fields
from itertools import compress, repeat
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

from . import __version__
from .cache import content_key
from .config import RELATED_COMPONENTS, Config, RelatedConfig
from .model import Story
from .parallel import fork_map
from .relate import (
    Item,
    Relation,
    Relations,
    Scorer,
    index_keys,
    is_target,
    most_shared,
    newest_target_day,
    pin_warnings,
    ranked_relations,
    story_item,
    strongest_postings,
)
from .related_links import shown_relations
from .textvec import (
    MAX_DF,
    MAX_DF_FLOOR,
    MIN_DF,
    TEXT_ANALYSIS,
    PackedTerms,
    TextTerms,
    kept_terms_idf,
    packed_terms,
    tfidf_vector,
    unpacked_terms,
)

if TYPE_CHECKING:
    from .relate_file import Base

FORMAT = "storysite-relate-state-4"
MARSHAL_VERSION = 4

Meta = tuple[int, str, tuple[str, ...], tuple[str, ...], bool, tuple[str, ...]]
"""What scoring reads of a story besides its text: day, niche, audiences, tags, target, pinned."""


_SLUG = attrgetter("slug")


def story_meta(story: Story, now: dt.datetime) -> Meta:
    """The plain values `story_item` reads of a story (sorted, so equal stories give equal values)."""
    return (
        story.date.toordinal(),
        story.niche.slug,
        tuple(sorted(map(_SLUG, story.audiences))),
        tuple(sorted(map(_SLUG, story.tags))),
        is_target(story, now),
        story.related_slugs,
    )


def text_digest(story: Story) -> str:
    """The key of a story's text: its term counts are stored under it in the build cache."""
    return content_key(story.title, story.summary, story.content)


@dataclass
class RelateState:
    """The relate values of the last build, by story slug (see the module docstring)."""

    scope: str
    slugs: list[str]
    ids: dict[str, int]
    """A number for each story that stays while the story does (its holders entries name it)."""
    texts: dict[str, str]
    metas: dict[str, Meta]
    holders: MutableMapping[str, bytes]
    """Term -> the ids of the stories whose text holds it (an array of ints)."""
    indexed: MutableMapping[str, bytes]
    """Index key -> the stories indexed under it (drafts too: they look for candidates), with their `posting_rank`
    (a dict, marshalled: most keys are not touched by a build)."""
    postings: dict[str, list[str]]
    vectors: MutableMapping[str, bytes]
    """Each story's vector, marshalled: (terms, weights), strongest first."""
    candidates: dict[str, list[str]]
    ranked: MutableMapping[str, bytes]
    """Each story's relations (`plain_relations`, marshalled: each one the fewer objects to load and free)."""
    newest_day: int
    shown: dict[str, bytes]
    """Each story's `related_links.shown_relations`: what its page shows of its relations when it shows no score."""
    base: Base | None = field(default=None, repr=False, compare=False)
    """The state file this state was loaded from (`relate_file`; not stored)."""


STORED = tuple(each.name for each in fields(RelateState) if each.name != "base")


def state_scope(settings: RelatedConfig) -> str:
    """What stored relate values depend on besides the stories: version, text analysis, settings."""
    return content_key(__version__, FORMAT, TEXT_ANALYSIS, repr(_settings_values(settings)))


def _settings_values(settings: RelatedConfig) -> tuple[Any, ...]:
    return (settings.count, settings.threshold, sorted(settings.weights.items()), settings.recency_days)


def plain_relations(ranked: Sequence[Relation]) -> bytes:
    return marshal.dumps(tuple(
        (r.slug, r.score, tuple(r.components.values()), r.pinned, r.shared_audiences, r.shared_tags) for r in ranked
    ), MARSHAL_VERSION)


def relations_of(plain: bytes, names: tuple[str, ...]) -> tuple[Relation, ...]:
    return tuple(Relation(slug, score, dict(zip(names, values)), pinned, audiences, tags)
                 for slug, score, values, pinned, audiences, tags in marshal.loads(plain))


def vector_bytes(vector: Mapping[str, float]) -> bytes:
    return marshal.dumps((tuple(vector), tuple(vector.values())), MARSHAL_VERSION)


def idf_of(df: int, stories: int) -> float | None:
    """A term's weight as `kept_terms_idf` gives it, or None for a term too rare or too common."""
    return math.log((stories + 1) / df) if MIN_DF <= df <= max(MAX_DF * stories, MAX_DF_FLOOR) else None


class Items(Mapping[str, Item]):
    """Each story's Item, its vector decoded when first asked for."""

    def __init__(self, state: RelateState) -> None:
        self.state = state
        self.made: dict[str, Item] = {}

    def __getitem__(self, slug: str) -> Item:
        item = self.made.get(slug)
        if item is None:
            terms, weights = marshal.loads(self.state.vectors[slug])
            day, niche, audiences, tags, target, pinned = self.state.metas[slug]
            item = Item(slug, day, niche, frozenset(audiences), frozenset(tags), dict(zip(terms, weights)), target, pinned)
            self.made[slug] = item
        return item

    def __contains__(self, slug: object) -> bool:
        return slug in self.state.metas

    def __iter__(self) -> Iterator[str]:
        return iter(self.state.slugs)

    def __len__(self) -> int:
        return len(self.state.slugs)


def full_relate(
    stories: Sequence[Story], config: Config, now: dt.datetime, terms: Mapping[str, TextTerms], digests: dict[str, str], scope: str
) -> tuple[Relations, RelateState]:
    """What `relate_stories` gives, worked out as `RelateMemo` does, and the state that lets the next build bring it up to date."""
    # Term counts go through here packed, one story unpacked at a time (here, then on the workers): a
    # large site's counts, all unpacked at once, would take more memory than anything else in the build.
    packed = [_packed(terms, story.slug) for story in stories]
    held = _holder_lists(packed)
    idf = kept_terms_idf({term: len(positions) for term, positions in held.items()}, len(packed))
    same = {term: term for term in idf}
    use_text, use_meta = index_uses(config.related)
    made: dict[int, tuple[Item, list[str], Meta]] = {}

    def take(position: int, stored: bytes) -> None:
        """A story's item, index keys and plain values, made here while the workers work out other vectors."""
        # The vector's terms become the site's one string object for each (as `tfidf_vectors` gives them: the cosines compare pointers).
        terms, weights = marshal.loads(stored)
        story = stories[position]
        item = story_item(story, dict(zip(map(same.__getitem__, terms), weights)), now)
        made[position] = item, index_keys(item, use_text, use_meta), story_meta(story, now)

    # Each story's vector is worked out on any process and comes back as stored.
    stored_vectors = fork_map(lambda position: vector_bytes(tfidf_vector(unpacked_terms(packed[position]), idf)), len(packed), config.jobs, then=take)
    ordered = [made[position] for position in range(len(stories))]
    items = [entry[0] for entry in ordered]
    keys = [entry[1] for entry in ordered]
    slugs = [item.slug for item in items]
    state = RelateState(
        scope, slugs, {slug: position for position, slug in enumerate(slugs)}, digests,
        dict(zip(slugs, [entry[2] for entry in ordered])), {}, {}, {}, dict(zip(slugs, stored_vectors)), {}, {},
        newest_target_day(items), {},
    )
    by_slug = {item.slug: item for item in items}
    indexed = index_all(state, by_slug, keys)
    scorer = Scorer(config.related, state.newest_day)

    def relate(position: int) -> tuple[list[str], bytes, bytes]:
        """A story's candidates, and its relations and what its page shows of them as stored (on any process)."""
        item = items[position]
        candidates = most_shared(keys[position], state.postings, item.slug)
        ranked = ranked_relations(item, [by_slug[slug] for slug in candidates], by_slug, scorer)
        return candidates, plain_relations(ranked), shown_relations(ranked, config.related.weights)

    state.holders.update({term: array("i", positions).tobytes() for term, positions in held.items()})
    del held, packed
    later = [
        lambda: state.indexed.update({key: marshal.dumps(ranked, MARSHAL_VERSION) for key, ranked in indexed.items()}),
    ]

    def meanwhile(position: int, found: object) -> None:
        """What this process stores that relating needs none of: done while the workers relate stories (at their first result)."""
        while later:
            later.pop(0)()

    # Only bytes come back from the workers: relations are decoded when a page asks for them (on the render workers).
    related = fork_map(relate, len(items), config.jobs, then=meanwhile)
    meanwhile(0, None)  # (a site of no stories gives no result)
    state.candidates = {slug: found[0] for slug, found in zip(slugs, related)}
    state.ranked = {slug: found[1] for slug, found in zip(slugs, related)}
    state.shown = {slug: found[2] for slug, found in zip(slugs, related)}
    relations = Relations(KeptRelations(slugs, {}, state.ranked, component_names(config.related)), pin_warnings(stories, items), state.shown)
    return relations, state


def component_names(settings: RelatedConfig) -> tuple[str, ...]:
    """The components a relation has a value of (those with a weight), in order."""
    return tuple(name for name in RELATED_COMPONENTS if settings.weights.get(name))


class KeptRelations(Mapping[str, tuple[Relation, ...]]):
    """Relations by slug: those given as they are, the others decoded from their stored bytes when first asked for."""

    def __init__(
        self, slugs: list[str], fresh: dict[str, tuple[Relation, ...]], stored: Mapping[str, bytes], names: tuple[str, ...]
    ) -> None:
        self.slugs = slugs
        self.made = fresh
        self.stored = stored
        self.names = names

    def __getitem__(self, slug: str) -> tuple[Relation, ...]:
        found = self.made.get(slug)
        if found is None:
            found = self.made[slug] = relations_of(self.stored[slug], self.names)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.slugs)

    def __len__(self) -> int:
        return len(self.slugs)


def _packed(terms: Mapping[str, TextTerms], slug: str) -> bytes:
    return terms.packed(slug) if isinstance(terms, PackedTerms) else packed_terms(terms[slug])


def _holder_lists(packed: Sequence[bytes]) -> dict[str, list[int]]:
    """Term -> the positions of the stories that hold it, terms in the order they first come (as
    `document_frequencies` counts them), from each story's packed counts."""
    lists: defaultdict[str, list[int]] = defaultdict(list)
    for position, terms in enumerate(packed):
        # map() keeps the 2 million appends of a large site in C; list.append gives None, so any() goes through all.
        any(map(list.append, map(lists.__getitem__, unpacked_terms(terms)), repeat(position)))
    return lists


def targets(state: RelateState) -> set[str]:
    return set(compress(state.metas, map(itemgetter(4), state.metas.values())))


def newest_day(state: RelateState) -> int:
    """`newest_target_day` of the stories, from their plain values."""
    metas = state.metas.values()
    return max(compress(map(itemgetter(0), metas), map(itemgetter(4), metas)), default=0)


def index_uses(settings: RelatedConfig) -> tuple[bool, bool]:
    """Whether stories are indexed by their terms, and by their metadata (as `relate` does)."""
    weights = settings.weights
    return bool(weights.get("text")), bool(weights.get("niche") or weights.get("audience") or weights.get("tags"))


def index_all(state: RelateState, items: Mapping[str, Item], keys: Sequence[list[str]]) -> dict[str, dict[str, float]]:
    """Index every story under its `index_keys` (`keys`, in story order) and work out every posting list, as `score_all` does.

    Return the stories indexed under each key (`RelateState.indexed` before they are marshalled).
    """
    indexed: defaultdict[str, dict[str, float]] = defaultdict(dict)
    for slug, story_keys in zip(state.slugs, keys):
        index_item(indexed, items[slug], story_keys)
    for key, ranked in indexed.items():
        post(state, key, ranked, state.ids)
    return indexed


def index_item(indexed: Mapping[str, dict[str, float]], item: Item, keys: list[str]) -> None:
    """Enter `item` under each of its keys, with where it stands there (its `posting_rank`)."""
    # map() keeps the loop in C: a full relate enters every story under each of its keys; setitem gives None, so any() goes through all.
    any(map(dict.__setitem__, map(indexed.__getitem__, keys), repeat(item.slug), map(item.vector.get, keys, repeat(float(item.day)))))


def post(state: RelateState, key: str, ranked: Mapping[str, float], positions: Mapping[str, int]) -> bool:
    """Work out `key`'s posting list from the stories indexed under it; return whether it changed."""
    in_order = sorted(ranked, key=positions.__getitem__)
    targets = list(compress(in_order, map(itemgetter(4), map(state.metas.__getitem__, in_order))))
    postings = [state.slugs[position] for position in strongest_postings(list(zip(map(ranked.__getitem__, targets), map(positions.__getitem__, targets))))]
    if postings == state.postings.get(key, []):
        return False
    if postings:
        state.postings[key] = postings
    else:
        del state.postings[key]
    return True


def holder_count(state: RelateState, term: str) -> int:
    """How many stories hold `term`."""
    return len(state.holders.get(term, b"")) // array("i").itemsize


def holder_ids(state: RelateState, term: str) -> array[int]:
    return array("i", state.holders.get(term, b""))
