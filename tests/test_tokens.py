"""Counting a text's tokens for related stories: the quicker count finds what the plain definition finds."""

from __future__ import annotations

import random
import re
from collections import Counter

from storysite.stopwords import STOP_WORDS
from storysite.textvec import count_tokens

_TOKEN = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_HAS_LETTER = re.compile(r"[^\W\d_]")


def _defined(text: str) -> Counter[str]:
    """The tokens as defined: casefolded runs of letters and digits of any script joined by hyphens, less stop
    words, one-character tokens and those that start with a digit and hold no letter."""
    counts = Counter(_TOKEN.findall(text.casefold()))
    return Counter({
        token: count for token, count in counts.items()
        if token not in STOP_WORDS and len(token) >= 2 and not (token[0].isdigit() and not _HAS_LETTER.search(token))
    })


PIECES = [
    "The", "market", "and", "Cooperative", "it's", "isn't", "Sari's", "well-known", "-x-", "a--b", "x_y", "__init__",
    "2024", "2024-01-31", "12-34", "3rd", "x2", "B2B", "a", "I", "Café", "déjà-vu", "naïve", "ÜBER", "Straße", "STRASSE",
    "İstanbul", "\u212a", "\u017ftop", "ﬁnance", "Сообщество", "доверие", "日本語", "العربية", "½", "Ⅷ", "²nd", "٣٤",
    "membuka", "yang", "warung", "o’clock", "“quoted”", "—", "…", "&", "/", ".", ",", ":", ";", "!", "?", "(", ")",
    "'", '"', "-", "_", " ", "  ", "\n", "\t",
]


def test_count_tokens_finds_the_defined_tokens_in_any_text() -> None:
    rng = random.Random(8)
    texts = ["", " ".join(PIECES), "".join(PIECES)]
    for _ in range(3000):
        # ASCII-only texts take the quicker path; a single other character takes the general one.
        pieces = [piece for piece in PIECES if piece.isascii()] if rng.random() < 0.5 else PIECES
        texts.append(rng.choice(["", " ", "-"]).join(rng.choice(pieces) for _ in range(rng.randint(1, 40))))
    assert any(text.isascii() for text in texts) and not all(text.isascii() for text in texts)
    for text in texts:
        assert count_tokens(text) == _defined(text), text
