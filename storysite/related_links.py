"""Relations as the theme shows them: each related link with its reasons in the linking story's language.

Also what page records keep a story page by instead of its links (`shown_relations`, with the
attributes of the linked stories `link_reads` names), so that a build makes links only for the pages
it renders.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from .model import RelatedLink, Story
from .relate import Relation, Relations

TEXT_REASON = 0.1
"""A text similarity from which "similar text" is worth saying."""


def related_links(
    stories: Sequence[Story],
    relations: Relations,
    weights: Mapping[str, float],
    translators: Callable[[str], Callable[..., str]],
) -> dict[str, tuple[RelatedLink, ...]]:
    """Relations as the theme shows them: the linked story and its reasons in the linking story's language."""
    return dict(RelatedLinks(stories, relations, weights, translators))


class RelatedLinks(Mapping[str, tuple[RelatedLink, ...]]):
    """`related_links`, each story's links made when first asked for (a build renders few story pages)."""

    def __init__(
        self,
        stories: Sequence[Story],
        relations: Relations,
        weights: Mapping[str, float],
        translators: Callable[[str], Callable[..., str]],
    ) -> None:
        self.by_slug = {story.slug: story for story in stories}
        self.relations = relations.by_slug
        self.weights = weights
        self.translators = translators
        self.languages: dict[str, _Reasons] = {}
        self.made: dict[str, tuple[RelatedLink, ...]] = {}

    def __getitem__(self, slug: str) -> tuple[RelatedLink, ...]:
        links = self.made.get(slug)
        if links is None:
            ranked = self.relations[slug]
            lang = self.by_slug[slug].lang
            said = self.languages.get(lang)
            if said is None:
                said = self.languages[lang] = _Reasons(self.weights, self.translators(lang))
            by_slug = self.by_slug
            links = self.made[slug] = tuple([
                RelatedLink(linked, r.score, said.reasons(r, linked), r.components, r.pinned)
                for r in ranked
                for linked in (by_slug[r.slug],)
            ])
        return links

    def __iter__(self) -> Iterator[str]:
        return iter(self.relations)

    def __len__(self) -> int:
        return len(self.relations)


def reason_kinds(relation: Relation, weights: Mapping[str, float]) -> tuple[int, ...]:
    """Which reasons `reasons` gives besides a pin, strongest first: 0 same niche, 1 audiences, 2 tags, 3 similar text.

    Equals stay in that order, never compared by their words.
    """
    values = relation.components
    found: list[tuple[float, int]] = []
    if values.get("niche"):
        found.append((-weights["niche"] * values["niche"], 0))
    if relation.shared_audiences and values.get("audience"):
        found.append((-weights.get("audience", 0.0) * values.get("audience", 0.0), 1))
    if relation.shared_tags and values.get("tags"):
        found.append((-weights["tags"] * values["tags"], 2))
    if values.get("text", 0.0) >= TEXT_REASON:
        found.append((-weights["text"] * values["text"], 3))
    if len(found) > 1:
        found.sort()
    return tuple([kind for _, kind in found])


def shown_relations(ranked: Sequence[Relation], weights: Mapping[str, float]) -> bytes:
    """A digest of what a story page shows of its relations when it shows no score (see `link_reads`).

    The linked slugs, pins, shared audiences and tags and which reasons are given in which order:
    with the linked stories' attributes `link_reads` names, they make the links' stories and reasons.
    """
    plain = tuple((r.slug, r.pinned, r.shared_audiences, r.shared_tags, reason_kinds(r, weights)) for r in ranked)
    return hashlib.blake2b(marshal.dumps(plain, 2), digest_size=16).digest()


def link_reads(links: Iterable[RelatedLink]) -> list[tuple[Story, str]]:
    """The attributes of the linked stories that links are made from besides their relations (`shown_relations`).

    Its slug (a relation names the story by it), and its audiences or tags when a reason lists their titles.
    """
    reads = []
    for link in links:
        reads.append((link.story, "slug"))
        if link.components.get("audience"):
            reads.append((link.story, "audiences"))
        if link.components.get("tags"):
            reads.append((link.story, "tags"))
    return reads


def reasons(relation: Relation, story: Story, weights: Mapping[str, float], t: Callable[..., str]) -> tuple[str, ...]:
    """Why `story` is related, strongest reason first, through the theme's UI strings."""
    return _Reasons(weights, t).reasons(relation, story)


class _Reasons:
    """`reasons` in one language, each UI string made once: tens of thousands of links say the same few things."""

    def __init__(self, weights: Mapping[str, float], t: Callable[..., str]) -> None:
        self.weights = weights
        self.t = t
        self.made: dict[tuple[str, str | None], str] = {}

    def said(self, key: str, value: str | None = None) -> str:
        """t(key), or t(key) with the one value its string names (audiences, tags)."""
        text = self.made.get((key, value))
        if text is None:
            text = self.made[(key, value)] = self.t(key, **({} if value is None else {key.removeprefix("related_"): value}))
        return text

    def reasons(self, relation: Relation, story: Story) -> tuple[str, ...]:
        said = self.said
        found = [said("related_pinned")] if relation.pinned else []
        for kind in reason_kinds(relation, self.weights):
            if kind == 1:
                shared = relation.shared_audiences
                found.append(said("related_audiences", ", ".join([a.title for a in story.audiences if a.slug in shared])))
            elif kind == 2:
                shared = relation.shared_tags
                found.append(said("related_tags", ", ".join([tag.title for tag in story.tags if tag.slug in shared])))
            else:
                found.append(said("related_same_niche" if kind == 0 else "related_text"))
        return tuple(found)
