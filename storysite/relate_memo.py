"""Related stories in the preview: the last result brought up to date by what a save changed.

A save changes one story or a few. Relating the whole site again would cost as much as a cold
build's relate stage; instead `RelateMemo` keeps every intermediate value of the last build and
works out again exactly those that the changed stories can reach:

- document frequencies move only for terms that appear in or vanish from a changed story's text;
- a story's vector changes only when its text changed or it holds a term whose weight (idf) moved;
- a key's posting list changes only when a story indexed under it changed; a story's candidates
  change only when one of its keys' posting lists did (or its own keys did);
- a story's relations change only when it, its candidates, their items, its pinned stories or
  the newest story's day changed.

Each step uses the same functions as `relate_stories`, so the result is the one a full relate
gives. When the number of stories changes, every weight moves (idf counts the stories), and the
memo starts afresh.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from .config import Config, RelatedConfig
from .model import Story
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
    posting_rank,
    ranked_relations,
    story_item,
    story_terms,
    strongest_postings,
)
from .textvec import MAX_DF, MAX_DF_FLOOR, MIN_DF, TextTerms, tfidf_vector

TermsOf = Callable[[Sequence[Story]], Mapping[str, TextTerms]]
"""Term counts of some stories by slug, from the build cache where it has them."""


class RelateMemo:
    """The relate stage's values of the last preview build, by story slug."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget everything: the next relate works the whole site out."""
        self._settings: RelatedConfig | None = None
        self._order: list[str] = []
        self._texts: dict[str, tuple[str, str, str]] = {}
        self._terms: dict[str, TextTerms] = {}
        self._frequencies: Counter[str] = Counter()
        self._idf: dict[str, float] = {}
        self._items: dict[str, Item] = {}
        self._stories: dict[str, Story] = {}
        self._keys: dict[str, list[str]] = {}
        self._indexed: defaultdict[str, set[str]] = defaultdict(set)
        """Key -> the stories indexed under it (drafts too: they look for candidates)."""
        self._postings: dict[str, list[str]] = {}
        self._candidates: dict[str, list[str]] = {}
        self._candidate_of: defaultdict[str, set[str]] = defaultdict(set)
        self._pinned_by: defaultdict[str, set[str]] = defaultdict(set)
        self._ranked: dict[str, tuple[Relation, ...]] = {}
        self._newest_day: int | None = None
        self.reranked = 0
        """Stories whose relations the last call worked out again."""

    def relate(self, stories: Sequence[Story], config: Config, now: dt.datetime, terms_of: TermsOf) -> Relations:
        """The same Relations as `relate_stories(stories, config, now)`, reusing what did not change."""
        if config.related != self._settings or len(stories) != len(self._order):
            self.clear()
            self._settings = config.related
        slugs = [story.slug for story in stories]
        changed = self._update_texts(stories, terms_of)
        items = self._update_items(stories, changed, now)
        before = self._items
        moved = {slug for slug, item in items.items() if before.get(slug) is not item and before.get(slug) != item}
        moved |= before.keys() - items.keys()
        if _without(self._order, moved) != _without(slugs, moved):
            # Stories other than the changed ones changed places: positions break ties, start afresh.
            self.clear()
            return self.relate(stories, config, now, terms_of)
        for slug in moved:
            for pinned in self._items[slug].pinned if slug in self._items else ():
                self._pinned_by[pinned].discard(slug)
            for pinned in items[slug].pinned if slug in items else ():
                self._pinned_by[pinned].add(slug)
        self._items = items
        self._order = slugs
        reposted = self._update_index(moved, {slug: position for position, slug in enumerate(slugs)})
        recounted = self._update_candidates(moved | set().union(*(self._indexed[key] for key in reposted)))
        self._update_ranks(moved, recounted)
        return Relations({slug: self._ranked[slug] for slug in slugs}, pin_warnings(stories, [items[s] for s in slugs]))

    def _update_texts(self, stories: Sequence[Story], terms_of: TermsOf) -> set[str]:
        """Bring term counts and idf up to date; return the stories whose vector must be worked out again."""
        texts = {story.slug: (story.title, story.summary, story.content) for story in stories}
        edited = [story for story in stories if self._texts.get(story.slug) != texts[story.slug]]
        found = terms_of(edited)
        fresh = {story.slug: found[story.slug] if story.slug in found else story_terms(story) for story in edited}
        counted: set[str] = set()
        for slug in self._texts.keys() - texts.keys():
            counted |= self._count(self._terms.pop(slug), {})
        for slug, terms in fresh.items():
            counted |= self._count(self._terms.get(slug, {}), terms)
            self._terms[slug] = terms
        self._texts = texts
        most = max(MAX_DF * len(stories), MAX_DF_FLOOR)
        reweighted = set()
        for term in counted:
            df = self._frequencies[term]
            idf = math.log((len(stories) + 1) / df) if MIN_DF <= df <= most else None
            if idf != self._idf.get(term):
                reweighted.add(term)
                if idf is None:
                    del self._idf[term]
                else:
                    self._idf[term] = idf
            if not df:
                del self._frequencies[term]
        return set(fresh) | _holders(self._terms, reweighted)

    def _count(self, old: TextTerms, new: TextTerms) -> set[str]:
        """Move document frequencies from a story's old terms to its new ones; return the terms that moved."""
        gone, came = old.keys() - new.keys(), new.keys() - old.keys()
        self._frequencies.subtract(gone)
        self._frequencies.update(came)
        return gone | came

    def _update_items(self, stories: Sequence[Story], revector: set[str], now: dt.datetime) -> dict[str, Item]:
        items = {}
        old_items, old_stories = self._items, self._stories
        for story in stories:
            slug = story.slug
            old = old_items.get(slug)
            if old is not None and slug not in revector and old_stories.get(slug) is story and old.target == is_target(story, now):
                items[slug] = old  # the very same story (the preview keeps unchanged ones): the same item
                continue
            vector = tfidf_vector(self._terms[slug], self._idf) if slug in revector else old_items[slug].vector
            items[slug] = story_item(story, vector, now)
        self._stories = {story.slug: story for story in stories}
        return items

    def _update_index(self, moved: set[str], positions: Mapping[str, int]) -> set[str]:
        """Re-index the moved stories; return the keys whose posting lists changed."""
        weights = self._settings.weights if self._settings else {}
        use_text = bool(weights.get("text"))
        use_meta = bool(weights.get("niche") or weights.get("audience") or weights.get("tags"))
        touched: set[str] = set()
        for slug in moved:
            old = self._keys.pop(slug, [])
            for key in old:
                self._indexed[key].discard(slug)
            if slug in self._items:
                self._keys[slug] = new = index_keys(self._items[slug], use_text, use_meta)
                for key in new:
                    self._indexed[key].add(slug)
                touched.update(new)
            touched.update(old)
        reposted = set()
        items, order = self._items, self._order
        for key in touched:
            listed = sorted(self._indexed[key], key=positions.__getitem__)
            entries = [posting_rank(items[s], key, positions[s]) for s in listed if items[s].target]
            postings = [order[position] for position in strongest_postings(entries)]
            if postings != self._postings.get(key, []):
                reposted.add(key)
            if postings:
                self._postings[key] = postings
            else:
                self._postings.pop(key, None)
            if not self._indexed[key]:
                del self._indexed[key]
        return reposted

    def _update_candidates(self, recount: set[str]) -> set[str]:
        """Candidates of the stories in `recount` afresh; return those whose candidates changed."""
        changed = set()
        for slug in recount:
            old = self._candidates.pop(slug, [])
            new = most_shared(self._keys[slug], self._postings, slug) if slug in self._items else []
            if new != old:
                changed.add(slug)
                for other in old:
                    self._candidate_of[other].discard(slug)
                for other in new:
                    self._candidate_of[other].add(slug)
            if slug in self._items:
                self._candidates[slug] = new
        return changed

    def _update_ranks(self, moved: set[str], recounted: set[str]) -> None:
        assert self._settings is not None
        newest = newest_target_day(self._items.values())
        scorer = Scorer(self._settings, newest)
        if newest != self._newest_day:
            rerank: Iterable[str] = list(self._items)
            self._newest_day = newest
        else:
            rerank = moved | recounted
            for slug in moved:
                rerank |= self._candidate_of[slug] | self._pinned_by[slug]
        for slug in moved:
            self._ranked.pop(slug, None)
        items = self._items
        self.reranked = 0
        for slug in rerank:
            if slug in items:
                self._ranked[slug] = ranked_relations(items[slug], [items[c] for c in self._candidates[slug]], items, scorer)
                self.reranked += 1


def _without(slugs: list[str], left_out: set[str]) -> list[str]:
    return [slug for slug in slugs if slug not in left_out]


def _holders(terms_by_slug: Mapping[str, TextTerms], terms: set[str]) -> set[str]:
    """The stories whose text holds any of `terms`."""
    if not terms:
        return set()
    if len(terms) < 32:
        return {slug for slug, counts in terms_by_slug.items() if any(map(counts.__contains__, terms))}
    return {slug for slug, counts in terms_by_slug.items() if not terms.isdisjoint(counts)}
