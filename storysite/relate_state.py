"""Related stories between builds: the last build's relate values, brought up to date by what changed.

A build with a cache relates the whole site once and stores its values (`relate_store`): per story
a digest of its text and the plain values scoring reads of it, its vector, candidates and ranked
relations; per term the stories that hold it; per index key its stories and posting list. The next
build compares digests and values and works out again only what the changed stories can reach, in
the steps of the preview's `RelateMemo` and with the same functions as `relate_stories`, so the
relations are those a full relate gives:

- a term's weight moves only when a changed story took it up or let it go, and a story's vector
  only when its text changed or it holds a term whose weight moved;
- a key's posting list changes only when a story indexed under it changed, and a story's
  candidates only when one of its keys' posting lists did;
- a story's relations change only when it, its candidates, their values or its pinned stories
  changed, or the newest story's day did (when recency has a weight).

Stored values that are missing, damaged or of another storysite version, text analysis or
`related:` setting, another number of stories (every term's weight counts them) or stories in
another order mean a full relate, never a wrong result.
"""

from __future__ import annotations

import datetime as dt
import logging
import marshal
from array import array
from collections.abc import Callable, Mapping, Sequence
from itertools import compress
from operator import itemgetter, ne, not_
from pathlib import Path

from .cache import BuildCache, version_scope
from .collector import collector_paused
from .config import Config, RelatedConfig
from .model import Story
from .relate import (
    Item,
    Relation,
    Relations,
    Scorer,
    _pin_warnings,
    index_keys,
    most_shared,
    ranked_relations,
)
from .relate_file import STATE_FILE, load_state, save_state
from .relate_store import (
    MARSHAL_VERSION,
    Items,
    KeptRelations,
    RelateState,
    component_names,
    full_relate,
    holder_count,
    holder_ids,
    idf_of,
    index_item,
    index_uses,
    newest_day,
    plain_relations,
    post,
    state_scope,
    story_meta,
    targets,
    text_digest,
    vector_bytes,
)
from .related_links import shown_relations
from .textvec import TEXT_ANALYSIS, TextTerms, tfidf_vector, unpacked_terms

log = logging.getLogger(__name__)

TermsOf = Callable[[Sequence[Story]], Mapping[str, TextTerms]]
"""Term counts of some stories by slug (from the parse stage or the build cache)."""


TERMS_NAMESPACE = "text-terms"
"""The build cache's namespace of term counts by text digest (declared by the caller's `terms_of`, with TERMS_SCOPE)."""
TERMS_SCOPE = version_scope(TEXT_ANALYSIS, "packed-terms-1")
"""Its values are `textvec.packed_terms` bytes (those of another scope, JSON say, are forgotten, never misread)."""


def stored_terms(cache: BuildCache, keys: Sequence[str]) -> dict[str, TextTerms]:
    """The term counts stored under those of `keys` that have them; a value that is not term counts counts as missing."""
    found = {}
    for key, packed in cache.get_many_bytes(TERMS_NAMESPACE, keys).items():
        try:
            terms = unpacked_terms(packed)
        except (EOFError, ValueError, TypeError):
            continue
        if type(terms) is dict:
            found[key] = terms
    return found


def relate_kept(
    stories: Sequence[Story], config: Config, now: dt.datetime, cache: BuildCache, terms_of: TermsOf, texts: Mapping[str, str] | None = None
) -> Relations:
    """The same Relations as `relate_stories`, brought up to date from the last build's state when it has one.

    `terms_of` gives term counts of the stories it is asked about and declares TERMS_NAMESPACE;
    `texts`, when the caller has them, each story's `text_digest` by slug.
    """
    assert cache.path is not None
    digests = dict(texts) if texts is not None else {story.slug: text_digest(story) for story in stories}
    with collector_paused():
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
        try:
            kept = update.run(terms_of, cache)
        except (LookupError, TypeError, ValueError, EOFError) as exc:
            # Values of another shape (written by other code of this version): start afresh.
            log.info("the stored related stories %s do not fit (%r); relating every story", path, exc)
        if kept is not None:
            reranked = update.reranked
    relations, changed = kept or full_relate(stories, config, now, terms_of(stories), digests, scope)
    log.debug("related stories of %d stories ranked again, of %d", reranked, len(stories))
    if changed is not None:
        save_state(path, changed)
    return relations


class _Update:
    """One build's changes applied to the last build's state, in `RelateMemo`'s steps."""

    def __init__(self, state: RelateState, stories: Sequence[Story], settings: RelatedConfig, now: dt.datetime, digests: dict[str, str]) -> None:
        self.state = state
        self.stories = stories
        self.settings = settings
        self.digests = digests
        self.metas = {story.slug: story_meta(story, now) for story in stories}
        self.items = Items(state)
        self.old_items: dict[str, Item] = {}
        """The last build's items of the stories that moved (their old index keys)."""
        self._indexed: dict[str, dict[str, float]] = {}
        self.reranked = 0

    def run(self, terms_of: TermsOf, cache: BuildCache) -> tuple[Relations, RelateState | None] | None:
        """The relations and the state if it changed; None when only a full relate will do."""
        state = self.state
        slugs = [story.slug for story in self.stories]
        edited = list(compress(self.stories, map(ne, map(state.texts.get, slugs), map(self.digests.__getitem__, slugs))))
        gone = state.metas.keys() - self.metas.keys()
        fresh = dict(terms_of(edited))
        replaced = [slug for slug in [*(story.slug for story in edited), *gone] if slug in state.texts]
        stored = stored_terms(cache, [state.texts[slug] for slug in replaced])
        old_terms = {slug: stored[state.texts[slug]] for slug in replaced if state.texts[slug] in stored}
        if len(old_terms) < len(replaced):
            return None  # the last build's counts of a changed story are gone: its terms cannot be taken out
        vectors = self._update_texts(fresh, old_terms, gone, terms_of)
        moved = self._update_items(vectors, gone)
        if [slug for slug in state.slugs if slug not in moved] != [slug for slug in slugs if slug not in moved]:
            return None  # stories other than the changed ones changed places: positions break ties
        state.slugs = slugs
        reposted = self._update_index(moved)
        recounted = self._update_candidates(moved | {slug for key in reposted for slug in self.indexed(key)})
        fresh_ranks = self._update_ranks(moved, recounted)
        warnings = tuple(_pin_warnings(self.stories, targets(state)))
        by_slug = KeptRelations(slugs, fresh_ranks, state.ranked, component_names(self.settings))
        return Relations(by_slug, warnings, state.shown), state if edited or moved or fresh_ranks else None

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
        reweighted = [term for term, before in counted.items() if idf_of(before, stories) != idf_of(holder_count(state, term), stories)]
        by_id = {number: slug for slug, number in state.ids.items()}
        again = {by_id[number] for term in reweighted for number in holder_ids(state, term)} - fresh.keys()
        if again:
            fresh.update(terms_of([story for story in self.stories if story.slug in again]))
        idf = {term: weight for term in set().union(*fresh.values()) if (weight := idf_of(holder_count(state, term), stories)) is not None}
        return {slug: tfidf_vector(terms, idf) for slug, terms in fresh.items()}

    def _hold(self, old: TextTerms, new: TextTerms, number: int, counted: dict[str, int]) -> None:
        """Move story `number` from the holders of its old terms to those of its new ones."""
        holders = self.state.holders
        for term in old.keys() - new.keys():
            counted.setdefault(term, holder_count(self.state, term))
            held = array("i", holders[term])
            held.remove(number)
            if held:
                holders[term] = held.tobytes()
            else:
                del holders[term]
        for term in new.keys() - old.keys():
            counted.setdefault(term, holder_count(self.state, term))
            holders[term] = holders.get(term, b"") + array("i", [number]).tobytes()

    def _update_items(self, vectors: Mapping[str, dict[str, float]], gone: set[str]) -> set[str]:
        """Bring each story's values and vector up to date; return the stories whose item changed."""
        state, items = self.state, self.items
        moved = set(gone)
        for slug in gone:
            self.old_items[slug] = items[slug]
            del state.metas[slug], state.vectors[slug], state.candidates[slug], state.ranked[slug], state.shown[slug]
            items.made.pop(slug, None)
        metas = self.metas
        changed = set(compress(metas, map(ne, map(state.metas.get, metas), metas.values()))) | vectors.keys()
        for slug in compress(metas, map(changed.__contains__, metas)):
            meta = metas[slug]
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
            state.vectors[slug] = vector_bytes(vector)
            items.made.pop(slug, None)
        return moved

    def _update_index(self, moved: set[str]) -> set[str]:
        """Re-index the moved stories; return the keys whose posting lists changed."""
        state, items = self.state, self.items
        use_text, use_meta = index_uses(self.settings)
        touched = set()
        for slug in moved:
            old = index_keys(self.old_items[slug], use_text, use_meta) if slug in self.old_items else []
            for key in old:
                del self.indexed(key)[slug]
            if slug in state.metas:
                new = index_keys(items[slug], use_text, use_meta)
                index_item({key: self.indexed(key) for key in new}, items[slug], new)
                touched.update(new)
            touched.update(old)
        positions = {slug: position for position, slug in enumerate(state.slugs)}
        reposted = set()
        for key in touched:
            ranked = self.indexed(key)
            if ranked:
                state.indexed[key] = marshal.dumps(ranked, MARSHAL_VERSION)
            else:
                state.indexed.pop(key, None)
            if post(state, key, ranked, positions):
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
        use_text, use_meta = index_uses(self.settings)
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
        newest, before = newest_day(state), state.newest_day
        state.newest_day = newest
        if newest != before and self.settings.weights.get("recency"):
            # Recency is measured from the newest story's day (with no weight, it counts for nothing).
            rerank: set[str] | list[str] = state.slugs
        else:
            rerank = moved | recounted
            rerank.update(compress(state.candidates, map(not_, map(moved.isdisjoint, state.candidates.values()))))
            rerank.update(compress(state.metas, map(not_, map(moved.isdisjoint, map(itemgetter(5), state.metas.values())))))
        scorer = Scorer(self.settings, newest)
        ranks = {}
        for slug in rerank:
            if slug in state.metas:
                ranks[slug] = ranked = ranked_relations(items[slug], [items[other] for other in state.candidates[slug]], items, scorer)
                state.ranked[slug] = plain_relations(ranked)
                state.shown[slug] = shown_relations(ranked, self.settings.weights)
        self.reranked = len(ranks)
        return ranks
