"""Smart punctuation: straight quotes to curly ones, -- and --- to dashes, ... to an ellipsis.

The rules are those of SmartyPants as Python-Markdown's `smarty` extension applies them by default,
read left to right over the text of one block at a time, so a quote next to emphasis, a link or a
code span sees the character on the other side of the element's edge.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

BLOCK_EDGE = "\x00"
"""Context before the first and after the last character of a block: no character at all."""
OPAQUE = "\x03"
"""Context of something that is neither text, space nor punctuation (an image, a line break)."""

# A greedy run of hyphens or dots is a dash or an ellipsis only at its exact length (see _ENTITY).
_CANDIDATE = re.compile(r"[\"']|-{2,}|\.{3,}")
_WORD = re.compile(r"\w")
_SPACE = re.compile(r"\s")
_DIGIT = re.compile(r"\d")
# A quote at the start of a block, before punctuation and no word: closes (as in "'," or '".').
_BEFORE_PUNCTUATION = re.compile(r"""[!"#$%'()*+,\-./:;<=>?@\[\\\]^_`{|}~]\B""")
_DASH = re.compile(r"(?<!-)--(?!-)|(?<!-)---(?!-)")
_DECADE = re.compile(r"\d\ds")
_NOT_CLOSING_AFTER = " \t\r\n[{(-" + BLOCK_EDGE + OPAQUE
_OPENING_AFTER = "–—"

_ENTITY = {"--": "&ndash;", "---": "&mdash;", "...": "&hellip;"}
LSQUO, RSQUO, LDQUO, RDQUO = "&lsquo;", "&rsquo;", "&ldquo;", "&rdquo;"

# SmartyPants decides a quote by trying its rules in a fixed order over the whole text, and a
# quote decided by an earlier rule no longer counts as a closing character for the later ones (a
# rule that takes a space or an s along hides it from the rules after it). Each rule has a rank in
# that order, so reading left to right and comparing ranks gives the same result.
(
    _DASH_RANK, _START_SINGLE, _START_DOUBLE, _PAIR_DOUBLE_SINGLE, _PAIR_SINGLE_DOUBLE,
    _PAIR_CLOSE_SINGLE_DOUBLE, _PAIR_CLOSE_DOUBLE_SINGLE, _DECADE_RANK, _OPEN_SINGLE, _CLOSE_SINGLE,
    _CLOSE_SINGLE_BEFORE_SPACE, _LATE_SINGLE, _OPEN_DOUBLE, _CLOSE_DOUBLE_BEFORE_SPACE, _CLOSE_DOUBLE,
    _LATE_DOUBLE, _ELLIPSIS_RANK,
) = range(17)


class Run(NamedTuple):
    """A stretch of a block's text: `text` is what the rules see, `live` says whether to convert it."""

    text: str
    live: bool


class _Reader:
    """One block's text, with the rank at which each converted character was decided."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.decided: dict[int, int] = {}

    def at(self, index: int) -> str:
        return self.text[index] if index < len(self.text) else BLOCK_EDGE

    def closes_after(self, index: int, rank: int) -> bool:
        """Whether the character at `index` ends something a quote can close, as seen by rule `rank`."""
        decided = self.decided.get(index)
        if decided is not None and decided <= rank:
            return False
        return self.text[index] not in _NOT_CLOSING_AFTER

    def space_before(self, index: int) -> bool:
        """Whether an opening quote may follow: whitespace, a dash character, or hyphens left as typed."""
        char = self.text[index]
        if index in self.decided:
            return False
        if char == "-":
            return self.text[index - 1] == "-" and index - 1 not in self.decided
        return char in _OPENING_AFTER or bool(_SPACE.match(char))

    def word(self, index: int) -> bool:
        return bool(_WORD.match(self.at(index)))

    def starts_closed(self, i: int) -> bool:
        """A quote first in its block, before punctuation that is not a dash and before no word."""
        return (self.text[i - 1] == BLOCK_EDGE and _BEFORE_PUNCTUATION.match(self.text, i + 1) is not None
                and _DASH.match(self.text, i + 1) is None)

    def opens_pair(self, i: int) -> bool:
        """A " then a ' before a word: both open (the earliest pair rule)."""
        return self.text[i] == '"' and self.at(i + 1) == "'" and self.word(i + 2)

    def pairs_on(self, i: int) -> bool:
        """The ' at `i` and the " after it pair up before a pair starting one earlier would."""
        return self.at(i + 1) == '"' and (self.word(i + 2) or self.closes_after(i - 1, _PAIR_CLOSE_SINGLE_DOUBLE))

    def space_at(self, index: int, rank: int) -> bool:
        """Whitespace at `index`, unless a quote after it opens by an earlier rule and takes it along."""
        if not _SPACE.match(self.at(index)) or index in self.decided:
            return False
        quote, word_after = self.at(index + 1), self.word(index + 2)
        if quote == "'" and word_after and not _DECADE.match(self.text, index + 2):
            return rank < _OPEN_SINGLE
        if quote == '"' and word_after:
            return rank < _OPEN_DOUBLE
        return True

    def ends_word(self, index: int, rank: int) -> bool:
        """Whitespace, or an `s` that ends a word (the boys' toys, the '90s' hits)."""
        return self.space_at(index, rank) or (self.at(index) == "s" and not self.word(index + 1))


def _single(reader: _Reader, i: int) -> tuple[str, int, int]:
    """The entity, rank and length for the ' at `i` (length 2 when it pairs with a following ")."""
    after = reader.at(i + 1)
    if reader.starts_closed(i):
        return RSQUO, _START_SINGLE, 1
    if after == '"' and not reader.opens_pair(i + 1):
        if reader.word(i + 2):
            return LSQUO + LDQUO, _PAIR_SINGLE_DOUBLE, 2
        if reader.closes_after(i - 1, _PAIR_CLOSE_SINGLE_DOUBLE):
            return RSQUO + RDQUO, _PAIR_CLOSE_SINGLE_DOUBLE, 2
    if not reader.word(i - 1) and _DECADE.match(reader.text, i + 1):
        return RSQUO, _DECADE_RANK, 1
    if reader.space_before(i - 1) and reader.word(i + 1):
        return LSQUO, _OPEN_SINGLE, 1
    if reader.closes_after(i - 1, _CLOSE_SINGLE) and not (
        reader.ends_word(i + 1, _CLOSE_SINGLE) or _DIGIT.match(after)
    ):
        return RSQUO, _CLOSE_SINGLE, 1
    if reader.ends_word(i + 1, _CLOSE_SINGLE_BEFORE_SPACE):
        # SmartyPants takes the space or the s along with the quote: the next quote sees neither.
        return RSQUO, _CLOSE_SINGLE_BEFORE_SPACE, 1
    return LSQUO, _LATE_SINGLE, 1


def _double(reader: _Reader, i: int) -> tuple[str, int, int]:
    """The entity, rank and length for the " at `i` (length 2 when it pairs with a following ')."""
    after = reader.at(i + 1)
    if reader.starts_closed(i):
        return RDQUO, _START_DOUBLE, 1
    if reader.opens_pair(i):
        return LDQUO + LSQUO, _PAIR_DOUBLE_SINGLE, 2
    if after == "'" and reader.closes_after(i - 1, _PAIR_CLOSE_DOUBLE_SINGLE) and not reader.pairs_on(i + 1):
        return RDQUO + RSQUO, _PAIR_CLOSE_DOUBLE_SINGLE, 2
    if reader.space_before(i - 1) and reader.word(i + 1):
        return LDQUO, _OPEN_DOUBLE, 1
    if reader.space_at(i + 1, _CLOSE_DOUBLE_BEFORE_SPACE):
        return RDQUO, _CLOSE_DOUBLE_BEFORE_SPACE, 1
    if reader.closes_after(i - 1, _CLOSE_DOUBLE):
        return RDQUO, _CLOSE_DOUBLE, 1
    return LDQUO, _LATE_DOUBLE, 1


def educate(runs: Sequence[Run], mark: Callable[[str], str]) -> list[str]:
    """The text of each run with its punctuation converted; `mark` turns an HTML entity into output text.

    Runs that are not live are context only and come back unchanged.
    """
    starts, position = [], 1
    for run in runs:
        starts.append(position)
        position += len(run.text)
    text = "".join(run.text for run in runs)
    if "'" not in text and '"' not in text and "--" not in text and "..." not in text:
        return [run.text for run in runs]
    reader = _Reader(BLOCK_EDGE + text + BLOCK_EDGE)
    changes: list[list[tuple[int, int, str]]] = [[] for _ in runs]
    run_index, skip_to = 0, 0
    for match in _CANDIDATE.finditer(reader.text):
        start = match.start()
        if start < skip_to:
            continue
        found = match.group()
        if found not in _ENTITY and len(found) > 1:
            continue
        if found == "'":
            entity, rank, length = _single(reader, start)
        elif found == '"':
            entity, rank, length = _double(reader, start)
        else:
            entity, length = _ENTITY[found], len(found)
            rank = _ELLIPSIS_RANK if found == "..." else _DASH_RANK
        end = start + length
        while run_index + 1 < len(runs) and starts[run_index + 1] <= start:
            run_index += 1
        run_start = starts[run_index]
        if not runs[run_index].live or end > run_start + len(runs[run_index].text):
            continue  # code, raw HTML, or a match across an element's edge: left as written
        for index in range(start, end):
            reader.decided[index] = rank
        if rank == _CLOSE_SINGLE_BEFORE_SPACE:
            reader.decided[end] = rank
        skip_to = end
        changes[run_index].append((start - run_start, end - run_start, entity))
    return [_apply(run.text, run_changes, mark) for run, run_changes in zip(runs, changes)]


def _apply(text: str, changes: list[tuple[int, int, str]], mark: Callable[[str], str]) -> str:
    if not changes:
        return text
    parts, done = [], 0
    for start, end, entity in changes:
        parts.append(text[done:start])
        parts.append(mark(entity))
        done = end
    parts.append(text[done:])
    return "".join(parts)
