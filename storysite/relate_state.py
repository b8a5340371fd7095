"""Related stories between builds: the last build's relate values kept in the build cache folder.

A build with a cache relates the whole site once, then stores what `RelateMemo` keeps in the
preview, in a compact form: per story a digest of its text and the plain values scoring reads of
it (date, niche, audiences, tags, draft or future, pinned slugs), its vector, candidates and ranked
relations; per term the stories that hold it; per index key its stories and posting list. The next
build compares digests and values, and works out again only what the changed stories can reach,
step by step as `RelateMemo` does, with the same functions as `relate_stories`, so the relations
are those a full relate gives.

The state is one `marshal` file (plain tuples, lists, dicts, strings, numbers: it loads in a few
milliseconds and, unlike a pickle, cannot run code) with a checksum; vectors stay encoded until a
story needs one. A file that is missing, damaged, or of another storysite version, text analysis
or `related:` setting, or a site with another number of stories or stories in another order, means
a full relate, never a wrong result.
"""

from __future__ import annotations

import datetime as dt
import logging
import marshal
import math
import os
import zlib
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

from . import __version__
from .cache import BuildCache, content_key
from .config import RELATED_COMPONENTS, Config, RelatedConfig
from .model import Story
from .parallel import fork_map
from .relate import (
    Item,
    Relation,
    Relations,
    Scorer,
    _collector_paused,
    _pin_warnings,
    newest_target_day,
    pin_warnings,
    story_item,
    index_keys,
    is_target,
    most_shared,
    posting_rank,
    ranked_relations,
    strongest_postings,
)
from .textvec import MAX_DF, MAX_DF_FLOOR, MIN_DF, TEXT_ANALYSIS, TextTerms, tfidf_vector, tfidf_vectors

log = logging.getLogger(__name__)

STATE_FILE = "relate-state.marshal"
FORMAT = "storysite-relate-state-1"
_MARSHAL_VERSION = 4

TermsOf = Callable[[Sequence[Story]], Mapping[str, TextTerms]]
"""Term counts of some stories by slug (from the parse stage or the build cache)."""
StoredTerms = Callable[[Sequence[str]], Mapping[str, TextTerms]]
"""Term counts by text digest, for those the build cache has."""

Meta = tuple[int, str, tuple[str, ...], tuple[str, ...], bool, tuple[str, ...]]
"""What scoring reads of a story besides its text: day, niche, audiences, tags, target, pinned."""


def story_meta(story: Story, now: dt.datetime) -> Meta:
    """The plain values `story_item` reads of a story (sorted, so equal stories give equal values)."""
    return (
        story.date.toordinal(),
        story.niche.slug,
        tuple(sorted(a.slug for a in story.audiences)),
        tuple(sorted(t.slug for t in story.tags)),
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
    holders: dict[str, bytes]
    """Term -> the ids of the stories whose text holds it (an array of ints)."""
    indexed: dict[str, bytes]
    """Index key -> the stories indexed under it (drafts too: they look for candidates), with their `posting_rank`
    (a dict, marshalled: most keys are not touched by a build)."""
    postings: dict[str, list[str]]
    vectors: dict[str, bytes]
    """Each story's vector, marshalled: (terms, weights), strongest first."""
    candidates: dict[str, list[str]]
    ranked: dict[str, bytes]
    """Each story's relations (`_plain_relations`, marshalled: each one the fewer objects to load and free)."""
    newest_day: int


def state_scope(settings: RelatedConfig) -> str:
    """What stored relate values depend on besides the stories: version, text analysis, settings."""
    return content_key(__version__, FORMAT, TEXT_ANALYSIS, repr(_settings_values(settings)))


def _settings_values(settings: RelatedConfig) -> tuple[Any, ...]:
    return (settings.count, settings.threshold, sorted(settings.weights.items()), settings.recency_days)


def load_state(path: Path, scope: str) -> RelateState | None:
    """The state stored at `path`, or None when there is none or it cannot be trusted."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        checksum, body = data[:4], data[4:]
        if zlib.crc32(body).to_bytes(4, "little") != checksum:
            raise ValueError("checksum mismatch")
        fields = marshal.loads(body)
        if not isinstance(fields, tuple) or len(fields) != 13 or fields[0] != FORMAT:
            raise ValueError("another format")
        state = RelateState(*fields[1:])
    except (ValueError, EOFError, TypeError) as exc:
        log.info("the stored related stories %s are unreadable (%s); relating every story", path, exc)
        return None
    return state if state.scope == scope else None


def save_state(path: Path, state: RelateState) -> None:
    """Store `state` at `path` in one write (a new file put in place, so a reader never sees half of one)."""
    body = marshal.dumps((FORMAT, *vars(state).values()), _MARSHAL_VERSION)
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_bytes(zlib.crc32(body).to_bytes(4, "little") + body)
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("cannot store the related stories in %s (%s)", path, exc)
        temporary.unlink(missing_ok=True)


def _plain_relations(ranked: Sequence[Relation]) -> bytes:
    return marshal.dumps(tuple(
        (r.slug, r.score, tuple(r.components.values()), r.pinned, r.shared_audiences, r.shared_tags) for r in ranked
    ), _MARSHAL_VERSION)


def _relations(plain: bytes, names: tuple[str, ...]) -> tuple[Relation, ...]:
    return tuple(Relation(slug, score, dict(zip(names, values)), pinned, audiences, tags)
                 for slug, score, values, pinned, audiences, tags in marshal.loads(plain))


def _vector_bytes(vector: Mapping[str, float]) -> bytes:
    return marshal.dumps((tuple(vector), tuple(vector.values())), _MARSHAL_VERSION)


def _idf(df: int, stories: int) -> float | None:
    """A term's weight as `kept_terms_idf` gives it, or None for a term too rare or too common."""
    return math.log((stories + 1) / df) if MIN_DF <= df <= max(MAX_DF * stories, MAX_DF_FLOOR) else None


class _Items(Mapping[str, Item]):
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


TERMS_NAMESPACE = "text-terms"
"""The build cache's namespace of term counts by text digest (declared by the caller's `terms_of`)."""


def relate_kept(stories: Sequence[Story], config: Config, now: dt.datetime, cache: BuildCache, terms_of: TermsOf) -> Relations:
    """The same Relations as `relate_stories`, brought up to date from the last build's state when it has one.

    `terms_of` gives term counts of the stories it is asked about and declares TERMS_NAMESPACE.
    """
    assert cache.path is not None
    digests = {story.slug: text_digest(story) for story in stories}
    with _collector_paused():
        # The state is let go before the collector runs again: it would walk all of it once, for nothing.
        relations = _relate_and_store(cache.path.parent / STATE_FILE, stories, config, now, cache, terms_of, digests)
    # Term counts of unchanged stories were not read: keep them in the cache all the same.
    cache.keep(TERMS_NAMESPACE, digests.values())
    return relations


def _relate_and_store(
    path: Path, stories: Sequence[Story], config: Config, now: dt.datetime, cache: BuildCache, terms_of: TermsOf, digests: dict[str, str]
) -> Relations:
    scope = state_scope(config.related)
    state = load_state(path, scope)
    kept, reranked = None, len(stories)
    if state is not None and len(state.slugs) == len(stories):
        update = _Update(state, stories, config.related, now, digests)
        if (kept := update.run(terms_of, cache)) is not None:
            reranked = update.reranked
    relations, changed = kept or _full_relate(stories, config, now, terms_of(stories), digests, scope)
    log.debug("related stories of %d stories ranked again, of %d", reranked, len(stories))
    if changed is not None:
        save_state(path, changed)
    return relations


def _full_relate(
    stories: Sequence[Story], config: Config, now: dt.datetime, terms: Mapping[str, TextTerms], digests: dict[str, str], scope: str
) -> tuple[Relations, RelateState]:
    """What `relate_stories` gives, worked out as `RelateMemo` does, and the state that lets the next build bring it up to date."""
    all_terms = [terms[story.slug] for story in stories]
    items = [story_item(story, vector, now) for story, vector in zip(stories, tfidf_vectors(all_terms))]
    slugs = [item.slug for item in items]
    state = RelateState(
        scope, slugs, {slug: position for position, slug in enumerate(slugs)}, digests,
        {story.slug: story_meta(story, now) for story in stories}, _holders(all_terms), {}, {},
        {item.slug: _vector_bytes(item.vector) for item in items}, {}, {}, newest_target_day(items),
    )
    by_slug = {item.slug: item for item in items}
    keys = _index_all(state, by_slug, config.related)
    scorer = Scorer(config.related, state.newest_day)

    def relate(position: int) -> tuple[list[str], tuple[Relation, ...]]:
        item = items[position]
        candidates = most_shared(keys[position], state.postings, item.slug)
        return candidates, ranked_relations(item, [by_slug[slug] for slug in candidates], by_slug, scorer)

    related = dict(zip(slugs, fork_map(relate, len(items), config.jobs)))
    state.candidates = {slug: candidates for slug, (candidates, _) in related.items()}
    state.ranked = {slug: _plain_relations(ranked) for slug, (_, ranked) in related.items()}
    relations = Relations({slug: ranked for slug, (_, ranked) in related.items()}, pin_warnings(stories, items))
    return relations, state


def _holders(all_terms: Sequence[TextTerms]) -> dict[str, bytes]:
    """Term -> the positions of the stories that hold it."""
    lists: defaultdict[str, list[int]] = defaultdict(list)
    for position, terms in enumerate(all_terms):
        # map() keeps the 2 million appends of a large site in C; list.append gives None, so any() goes through all.
        any(map(list.append, map(lists.__getitem__, terms), repeat(position)))
    return {term: array("i", held).tobytes() for term, held in lists.items()}


def _targets(state: RelateState) -> set[str]:
    return {slug for slug, meta in state.metas.items() if meta[4]}


def _newest_day(state: RelateState) -> int:
    """`newest_target_day` of the stories, from their plain values."""
    return max((meta[0] for meta in state.metas.values() if meta[4]), default=0)


def _uses(settings: RelatedConfig) -> tuple[bool, bool]:
    """Whether stories are indexed by their terms, and by their metadata (as `relate` does)."""
    weights = settings.weights
    return bool(weights.get("text")), bool(weights.get("niche") or weights.get("audience") or weights.get("tags"))


def _index_all(state: RelateState, items: Mapping[str, Item], settings: RelatedConfig) -> list[list[str]]:
    """Index every story and work out every posting list, as `score_all` does; return each story's keys."""
    use_text, use_meta = _uses(settings)
    keys = [index_keys(items[slug], use_text, use_meta) for slug in state.slugs]
    indexed: defaultdict[str, dict[str, float]] = defaultdict(dict)
    for slug, story_keys in zip(state.slugs, keys):
        _index(indexed, items[slug], story_keys)
    for key, ranked in indexed.items():
        _post(state, key, ranked, state.ids)
    state.indexed = {key: marshal.dumps(ranked, _MARSHAL_VERSION) for key, ranked in indexed.items()}
    return keys


def _index(indexed: Mapping[str, dict[str, float]], item: Item, keys: list[str]) -> None:
    """Enter `item` under each of its keys, with where it stands there."""
    for key in keys:
        indexed[key][item.slug] = posting_rank(item, key, 0)[0]


def _post(state: RelateState, key: str, ranked: Mapping[str, float], positions: Mapping[str, int]) -> bool:
    """Work out `key`'s posting list from the stories indexed under it; return whether it changed."""
    metas = state.metas
    entries = [(ranked[slug], positions[slug]) for slug in sorted(ranked, key=positions.__getitem__) if metas[slug][4]]
    postings = [state.slugs[position] for position in strongest_postings(entries)]
    if postings == state.postings.get(key, []):
        return False
    if postings:
        state.postings[key] = postings
    else:
        del state.postings[key]
    return True


class _Update:
    """One build's changes applied to the last build's state, in `RelateMemo`'s steps."""

    def __init__(self, state: RelateState, stories: Sequence[Story], settings: RelatedConfig, now: dt.datetime, digests: dict[str, str]) -> None:
        self.state = state
        self.stories = stories
        self.settings = settings
        self.digests = digests
        self.metas = {story.slug: story_meta(story, now) for story in stories}
        self.items = _Items(state)
        self.old_items: dict[str, Item] = {}
        """The last build's items of the stories that moved (their old index keys)."""
        self._indexed: dict[str, dict[str, float]] = {}
        self.reranked = 0

    def run(self, terms_of: TermsOf, cache: BuildCache) -> tuple[Relations, RelateState | None] | None:
        """The relations and the state if it changed; None when only a full relate will do."""
        state = self.state
        edited = [story for story in self.stories if state.texts.get(story.slug) != self.digests[story.slug]]
        gone = state.metas.keys() - self.metas.keys()
        fresh = dict(terms_of(edited))
        replaced = [slug for slug in [*(story.slug for story in edited), *gone] if slug in state.texts]
        stored = cache.get_many(TERMS_NAMESPACE, [state.texts[slug] for slug in replaced])
        old_terms = {slug: stored[state.texts[slug]] for slug in replaced if isinstance(stored.get(state.texts[slug]), dict)}
        if len(old_terms) < len(replaced):
            return None  # the last build's counts of a changed story are gone: its terms cannot be taken out
        vectors = self._update_texts(fresh, old_terms, gone, terms_of)
        moved = self._update_items(vectors, gone)
        slugs = [story.slug for story in self.stories]
        if [slug for slug in state.slugs if slug not in moved] != [slug for slug in slugs if slug not in moved]:
            return None  # stories other than the changed ones changed places: positions break ties
        state.slugs = slugs
        reposted = self._update_index(moved)
        recounted = self._update_candidates(moved | {slug for key in reposted for slug in self.indexed(key)})
        fresh_ranks = self._update_ranks(moved, recounted)
        names = tuple(name for name in RELATED_COMPONENTS if self.settings.weights.get(name))
        by_slug = {slug: fresh_ranks[slug] if slug in fresh_ranks else _relations(state.ranked[slug], names) for slug in slugs}
        warnings = tuple(_pin_warnings(self.stories, _targets(state)))
        return Relations(by_slug, warnings), state if edited or moved or fresh_ranks else None

    def _update_texts(
        self, fresh: dict[str, TextTerms], old_terms: Mapping[str, TextTerms], gone: set[str], terms_of: TermsOf
    ) -> dict[str, dict[str, float]]:
        """Move term holders and weights; return the new vectors of the stories whose vector must be worked out again."""
        state = self.state
        next_id = max(state.ids.values(), default=-1) + 1
        counted: dict[str, int] = {}
        """Each term whose holders changed, with how many held it before."""
        for slug in gone:
            self._hold(old_terms[slug], {}, state.ids.pop(slug), counted)
            del state.texts[slug]
        for slug, terms in fresh.items():
            if slug not in state.ids:
                state.ids[slug], next_id = next_id, next_id + 1
            self._hold(old_terms.get(slug, {}), terms, state.ids[slug], counted)
            state.texts[slug] = self.digests[slug]
        stories = len(self.stories)
        reweighted = [term for term, before in counted.items() if _idf(before, stories) != _idf(_held(state, term), stories)]
        by_id = {number: slug for slug, number in state.ids.items()}
        again = {by_id[number] for term in reweighted for number in _ids(state, term)} - fresh.keys()
        if again:
            fresh.update(terms_of([story for story in self.stories if story.slug in again]))
        idf = {term: weight for term in set().union(*fresh.values()) if (weight := _idf(_held(state, term), stories)) is not None}
        return {slug: tfidf_vector(terms, idf) for slug, terms in fresh.items()}

    def _hold(self, old: TextTerms, new: TextTerms, number: int, counted: dict[str, int]) -> None:
        """Move story `number` from the holders of its old terms to those of its new ones."""
        holders = self.state.holders
        for term in old.keys() - new.keys():
            counted.setdefault(term, _held(self.state, term))
            held = array("i", holders[term])
            held.remove(number)
            if held:
                holders[term] = held.tobytes()
            else:
                del holders[term]
        for term in new.keys() - old.keys():
            counted.setdefault(term, _held(self.state, term))
            holders[term] = holders.get(term, b"") + array("i", [number]).tobytes()

    def _update_items(self, vectors: Mapping[str, dict[str, float]], gone: set[str]) -> set[str]:
        """Bring each story's values and vector up to date; return the stories whose item changed."""
        state, items = self.state, self.items
        moved = set(gone)
        for slug in gone:
            self.old_items[slug] = items[slug]
            del state.metas[slug], state.vectors[slug], state.candidates[slug], state.ranked[slug]
            items.made.pop(slug, None)
        for slug, meta in self.metas.items():
            vector = vectors.get(slug)
            old = state.metas.get(slug)
            if old == meta and (vector is None or vector == items[slug].vector):
                continue
            moved.add(slug)
            if old is not None:
                self.old_items[slug] = items[slug]
                if vector is None:
                    vector = items[slug].vector
            assert vector is not None
            state.metas[slug] = meta
            state.vectors[slug] = _vector_bytes(vector)
            items.made.pop(slug, None)
        return moved

    def _update_index(self, moved: set[str]) -> set[str]:
        """Re-index the moved stories; return the keys whose posting lists changed."""
        state, items = self.state, self.items
        use_text, use_meta = _uses(self.settings)
        touched = set()
        for slug in moved:
            old = index_keys(self.old_items[slug], use_text, use_meta) if slug in self.old_items else []
            for key in old:
                del self.indexed(key)[slug]
            if slug in state.metas:
                new = index_keys(items[slug], use_text, use_meta)
                _index({key: self.indexed(key) for key in new}, items[slug], new)
                touched.update(new)
            touched.update(old)
        positions = {slug: position for position, slug in enumerate(state.slugs)}
        reposted = set()
        for key in touched:
            ranked = self.indexed(key)
            if ranked:
                state.indexed[key] = marshal.dumps(ranked, _MARSHAL_VERSION)
            else:
                state.indexed.pop(key, None)
            if _post(state, key, ranked, positions):
                reposted.add(key)
        return reposted

    def indexed(self, key: str) -> dict[str, float]:
        """The stories indexed under `key` (decoded once: the caller may change them)."""
        ranked = self._indexed.get(key)
        if ranked is None:
            stored = self.state.indexed.get(key)
            self._indexed[key] = ranked = {} if stored is None else marshal.loads(stored)
        return ranked

    def _update_candidates(self, recount: set[str]) -> set[str]:
        """Candidates of the stories in `recount` afresh; return those whose candidates changed."""
        state, items = self.state, self.items
        use_text, use_meta = _uses(self.settings)
        changed = set()
        for slug in recount:
            if slug not in state.metas:
                continue
            new = most_shared(index_keys(items[slug], use_text, use_meta), state.postings, slug)
            if new != state.candidates.get(slug):
                changed.add(slug)
                state.candidates[slug] = new
        return changed

    def _update_ranks(self, moved: set[str], recounted: set[str]) -> dict[str, tuple[Relation, ...]]:
        """Rank again the stories whose relations may have changed; return their relations."""
        state, items = self.state, self.items
        newest = _newest_day(state)
        if newest != state.newest_day:
            rerank: set[str] | list[str] = state.slugs
            state.newest_day = newest
        else:
            rerank = moved | recounted
            rerank |= {slug for slug, candidates in state.candidates.items() if not moved.isdisjoint(candidates)}
            rerank |= {slug for slug, meta in state.metas.items() if meta[5] and not moved.isdisjoint(meta[5])}
        scorer = Scorer(self.settings, newest)
        ranks = {}
        for slug in rerank:
            if slug in state.metas:
                ranks[slug] = ranked = ranked_relations(items[slug], [items[other] for other in state.candidates[slug]], items, scorer)
                state.ranked[slug] = _plain_relations(ranked)
        self.reranked = len(ranks)
        return ranks


def _held(state: RelateState, term: str) -> int:
    """How many stories hold `term`."""
    return len(state.holders.get(term, b"")) // array("i").itemsize


def _ids(state: RelateState, term: str) -> array[int]:
    return array("i", state.holders.get(term, b""))
