"""The digests page records keep pages by: values a template can tell apart never share one."""

from __future__ import annotations

import datetime as dt
from itertools import combinations
from pathlib import Path
from types import MappingProxyType

from storysite.model import RelatedLink, TermRef
from storysite.page_records import _Digests
from storysite.render import Paginator

UTC = dt.timezone.utc


def digest(value: object, scores: bool = True) -> bytes:
    return _Digests({}).of(value, scores)


def test_values_a_template_tells_apart_have_different_digests() -> None:
    ref = TermRef("tag", "trust", "Trust", "/tags/trust/")
    values = [
        "a", ("a",), ["a"], {"a": 1}, MappingProxyType({"a": 1}), {"a": 1.0}, {"a": True}, 1, 1.0, True, None, b"a",
        "x", Path("x"), (..., "path", "x"), ..., (...,), (..., None, "x"),
        dt.datetime(2030, 1, 2, tzinfo=UTC), dt.datetime(2030, 1, 2), dt.datetime(2030, 1, 2, tzinfo=dt.timezone(dt.timedelta(0), "Z")),
        (..., "datetime", "2030-01-02T00:00:00+00:00", "datetime.timezone.utc"), dt.date(2030, 1, 2),
        ref, ("tag", "trust", "Trust", "/tags/trust/"), TermRef("tag", "trust", "Trust!", "/tags/trust/"),
        Paginator(1, 2, None, "/page/2/"), Paginator(1, 2, "/page/2/", None), (1, 2, None, "/page/2/"),
        frozenset({"a"}), {"a": ("b", ref)}, {"a": ("b", ref.title)},
    ]
    digests = [digest(value) for value in values]
    for (first, one), (second, other) in combinations(zip(values, digests), 2):
        assert one != other, f"{first!r} and {second!r}"


def test_equal_values_have_equal_digests_however_they_are_shared() -> None:
    title = "".join(["Tr", "ust"])
    shared = TermRef("tag", "trust", title, "/tags/trust/")
    assert digest((shared, shared, [shared])) == digest(
        (TermRef("tag", "trust", "Trust", "/tags/trust/"), TermRef("tag", "trust", "Trust", "/tags/trust/"),
         [TermRef("tag", "trust", "Trust", "/tags/trust/")])
    )
    assert digest({"when": dt.datetime(2030, 1, 2, tzinfo=UTC)}) == digest({"when": dt.datetime(2030, 1, 2, tzinfo=UTC)})


def test_related_links_count_without_their_scores_unless_asked_to() -> None:
    story = TermRef("niche", "n", "N", "/n/")  # any value: the story a link names
    link = RelatedLink(story, 0.5, ("same niche",), {"niche": 1.0}, False)  # type: ignore[arg-type]
    rescored = RelatedLink(story, 0.25, ("same niche",), {"niche": 0.5}, False)  # type: ignore[arg-type]
    reasoned = RelatedLink(story, 0.5, ("similar text",), {"niche": 1.0}, False)  # type: ignore[arg-type]
    pinned = RelatedLink(story, 0.5, ("same niche",), {"niche": 1.0}, True)  # type: ignore[arg-type]
    assert digest((link,), scores=False) == digest((rescored,), scores=False)
    assert digest((link,)) != digest((rescored,))
    assert len({digest((value,), scores=False) for value in (link, reasoned, pinned)}) == 3
