"""Text analysis for related stories: a story's term counts, then TF-IDF vectors over the whole site.

Two steps, so the expensive one can be cached:
- `text_terms(title, summary, body_text)` depends on one story's text only. Its result is plain
  JSON-able data (term -> count), the value a content-hash build cache can store and give back.
- `tfidf_vectors(...)` needs every story's terms at once (document frequencies), and is cheap.
"""

from __future__ import annotations

import html
import marshal
import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from itertools import chain, compress, repeat
from operator import ge, mul

from .stopwords import STOP_WORDS

TextTerms = dict[str, int]
"""Term -> how often it occurs (title and summary count extra). Treat it as read-only."""
Vector = dict[str, float]
"""Term -> TF-IDF weight, L2-normalised: the cosine of two vectors is their dot product."""

TEXT_ANALYSIS = "text-terms-2"
"""Names the tokeniser, stop words and boosts: change it when they change, so cached terms are redone."""
TITLE_BOOST = 3
"""A word in the title counts as this many words of the body."""
SUMMARY_BOOST = 2
VECTOR_TERMS = 40
"""A story's text is represented by its strongest terms; the rest add little and cost time."""
MAX_DF = 0.5
"""Terms in more than this share of the stories are too common to tell them apart..."""
MAX_DF_FLOOR = 10
"""...when they are also in more than this many (in a small site, idf alone weighs them down)."""
MIN_DF = 2
"""Terms in fewer stories than this are too rare to link any two."""

# Letters and digits (any script) and hyphens inside a word; a token needs a letter. Apostrophes
# split, so "Sari's" counts as "sari" and "isn't" leaves a stop word.
_TOKEN = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
# The same tokens in casefolded ASCII text, where a letter or digit is one of a-z0-9: a plain class is
# matched quicker than a negated category, and nothing after a token needs to give any of it back.
_ASCII_TOKEN = re.compile(r"[a-z0-9]++(?:-[a-z0-9]++)*+")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_TAG = re.compile(r"<[^>]*>")


def count_tokens(text: str) -> Counter[str]:
    """How often each lower-cased word (any script) occurs, leaving out stop words, numbers, one-letter words."""
    folded = text.casefold()
    counts = Counter((_ASCII_TOKEN if folded.isascii() else _TOKEN).findall(folded))
    # Cheap tests first: this runs over every word of every story. (Counter's own `del` is a Python method; pop is dict's.)
    for token in [t for t in counts if t in STOP_WORDS or len(t) < 2 or (t[0].isdigit() and not _HAS_LETTER.search(t))]:
        counts.pop(token)
    return counts


def text_terms(title: str, summary: str, body_text: str) -> TextTerms:
    """A story's term counts: a pure function of its text, safe to cache by content hash."""
    # One pass over the text with the title and summary repeated: as fast as counting gets.
    return dict(count_tokens(" ".join([body_text, *[title] * TITLE_BOOST, *[summary] * SUMMARY_BOOST])))


def packed_terms(terms: TextTerms) -> bytes:
    """Term counts as one compact object, to keep for a while or send to another process."""
    return marshal.dumps(terms)


def unpacked_terms(packed: bytes) -> TextTerms:
    """Term counts from `packed_terms`."""
    terms: TextTerms = marshal.loads(packed)
    return terms


class PackedTerms(Mapping[str, TextTerms]):
    """Term counts by slug, kept packed (`packed_terms`) and unpacked each time one is asked for.

    Unpacked, a large site's counts take several times the memory (hundreds of MB at 10,000 stories):
    what goes through them once (document frequencies, vectors) unpacks one story at a time.
    """

    def __init__(self, packed: dict[str, bytes | TextTerms]) -> None:
        self._packed = packed

    def packed(self, slug: str) -> bytes:
        """The story's counts as `packed_terms` gives them."""
        found = self._packed[slug]
        return found if isinstance(found, bytes) else packed_terms(found)

    def __getitem__(self, slug: str) -> TextTerms:
        found = self._packed[slug]
        return unpacked_terms(found) if isinstance(found, bytes) else found

    def __iter__(self) -> Iterator[str]:
        return iter(self._packed)

    def __len__(self) -> int:
        return len(self._packed)


def html_text(content: str) -> str:
    """The text of an HTML fragment (a story's rendered body)."""
    return html.unescape(_TAG.sub(" ", content))


def document_frequencies(all_terms: Sequence[Mapping[str, int]]) -> Counter[str]:
    """In how many stories each term occurs."""
    return Counter(chain.from_iterable(all_terms))


def kept_terms_idf(frequencies: Mapping[str, int], stories: int) -> dict[str, float]:
    """Inverse document frequency of each term that is neither too rare nor too common."""
    most = max(MAX_DF * stories, MAX_DF_FLOOR)
    return {
        term: math.log((stories + 1) / df)
        for term, df in frequencies.items()
        if MIN_DF <= df <= most
    }


def tfidf_vector(terms: Mapping[str, int], idf: Mapping[str, float], size: int = VECTOR_TERMS) -> Vector:
    """The story's `size` strongest terms, weighted log(1 + tf) * idf and normalised to length 1."""
    strongest, norm = _strongest(terms, idf, size)
    return {term: weight / norm for weight, term in strongest}


def _strongest(terms: Mapping[str, int], idf: Mapping[str, float], size: int) -> tuple[list[tuple[float, str]], float]:
    """The `size` strongest (weight, term) pairs above 0, strongest first (ties: the later term), and their norm."""
    # map() and sorted() keep the per-term work in C: this runs for every story on every build.
    weights = list(map(mul, _log1p(terms.values()), map(idf.get, terms.keys(), repeat(0.0))))
    # Plain floats sort several times faster than pairs: rank the weights alone, then sort only
    # the terms that reach the weakest one kept (ties at that cut included: the result is the same).
    top = sorted(weights, reverse=True)[:size]
    while top and not top[-1]:
        top.pop()
    if not top:
        return [], 0.0
    pairs: Iterable[tuple[float, str]] = zip(weights, terms.keys())
    if len(top) < len(weights):
        reach = list(map(ge, weights, repeat(top[-1])))
        pairs = zip(compress(weights, reach), compress(terms.keys(), reach))
    return sorted(pairs, reverse=True)[: len(top)], math.hypot(*top)


_LOG1P = [math.log1p(count) for count in range(256)]


def _log1p(counts: Collection[int]) -> list[float]:
    """log(1 + count) of each count: a table holds the usual small counts."""
    try:
        return list(map(_LOG1P.__getitem__, counts))
    except IndexError:
        return list(map(math.log1p, counts))


def tfidf_vectors(all_terms: Sequence[Mapping[str, int]]) -> list[Vector]:
    """TF-IDF vectors of all stories, in the same order."""
    idf = kept_terms_idf(document_frequencies(all_terms), len(all_terms))
    # All vectors name a term with one string object: comparing two is then a pointer test, and
    # the cosines, which probe thousands of vectors, touch less memory.
    same = {term: term for term in idf}
    vectors = []
    for terms in all_terms:
        strongest, norm = _strongest(terms, idf, VECTOR_TERMS)
        vectors.append({same[term]: weight / norm for weight, term in strongest})
    return vectors


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine similarity of two normalised vectors."""
    # Terms of `a` that `b` lacks add 0.0, which leaves a float sum as it was; summing in a's order
    # (strongest first) makes the value the same in every run, whatever the string hash seed.
    return sum(map(mul, map(b.get, a, repeat(0.0)), a.values()))
