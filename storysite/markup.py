"""Python-Markdown lives here: body Markdown in, HTML and the facts derived from it out."""

from __future__ import annotations

import html
import re
import threading
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from typing import TypeVar

import markdown
from markdown.blockprocessors import BlockProcessor, HashHeaderProcessor
from markdown.extensions import Extension
from markdown.extensions.toc import TocExtension, TocTreeprocessor
from markdown.inlinepatterns import InlineProcessor as InlinePattern
from markdown.preprocessors import NormalizeWhitespace, Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import ETX, STX, AtomicString, Registry

from storysite.punctuation import OPAQUE, Run, educate

EXTENSIONS = ["extra", "sane_lists", "toc"]
# What the HTML of a body depends on besides its text: cached results of another engine are stale.
MARKDOWN_ENGINE = f"python-markdown {markdown.__version__} {' '.join(EXTENSIONS)} storysite-punctuation 1 storysite-fitted 2"
# Text inside these is written as it stands: code, keys, sample output, scripts and styles.
_VERBATIM = frozenset({"code", "pre", "kbd", "samp", "script", "style"})
# Elements inside a line of text; every other element starts and ends a block of its own.
_INLINE = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "del", "dfn", "em", "i", "img", "ins",
    "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr",
})
_STANDS_APART = frozenset({"br", "img", "wbr", "hr", "input"})
# Stashed raw HTML (\x02wzxhzdk:N\x03) and backslash-escaped characters (\x02N\x03).
_PLACEHOLDER = re.compile("\x02(?:wzxhzdk:(\\d+)|(\\d+)|[^\x03]*)\x03")
_TAG = re.compile(r"<(/?)([A-Za-z][\w-]*)")
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
# The same words in ASCII text, where a word character is one of these: matched quicker, and nothing after
# a word needs to give any of it back.
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]++(?:['-][A-Za-z0-9_]++)*+")
_SPACES_LINE = re.compile(r"(?<=\n) +\n")
_local = threading.local()
T = TypeVar("T")


def _all(*marks: str) -> tuple[tuple[str, ...], ...]:
    return (marks,)


def _any(*marks: str) -> tuple[tuple[str, ...], ...]:
    return tuple((mark,) for mark in marks)


# What a body must hold before an inline pattern or a block processor can do anything with it: each
# string of one of the alternatives. Those not named here are always tried. Most bodies hold no
# backtick, bracket or `<`, and each pattern left out is a search of every text that finds nothing.
_INLINE_NEEDS = {
    "backtick": _all("`"), "escape": _all("\\"), "footnote": _all("[", "^", "]"),
    "reference": _all("["), "link": _all("["), "short_reference": _all("["),
    "image_link": _all("!", "["), "image_reference": _all("!", "["), "short_image_ref": _all("!", "["),
    "autolink": _all("<", ":", ">"), "automail": _all("<", "@", ">"), "linebreak": _all("  \n"),
    "html": _all("<", ">"), "entity": _all("&"), "em_strong": _any("*", "_"),
}
_BLOCK_NEEDS = {
    "hashheader": _all("#"), "setextheader": _any("=", "-"), "hr": _any("-", "_", "*"), "quote": _all(">"),
    "table": _all("|"), "deflist": _all(":"), "footnote": _all("[", "^", "]", ":"),
    "abbr": _all("*", "[", "]", ":"), "reference": _all("[", "]", ":"),
}
# A fence of backticks or tildes, raw HTML or a character reference, an attribute list: what the fenced code
# and raw HTML preprocessors and the attribute list processor look for.
_PRE_NEEDS = {"fenced_code_block": _any("```", "~~~"), "html_block": _any("<", "&")}
_TREE_NEEDS = {"attr_list": _all("{", "}")}
_NEEDS = (_PRE_NEEDS, _BLOCK_NEEDS, _TREE_NEEDS, _INLINE_NEEDS)
"""Of each registry `_Fitted` fits, in its order."""
_MARKS = frozenset(mark for needs in _NEEDS for options in needs.values() for option in options for mark in option)
# What the smart punctuation converts: a body without any of them keeps its text as written.
_PUNCTUATION = ("'", '"', "--", "...")


@dataclass(frozen=True)
class Rendered:
    """A Markdown body as HTML, with its first paragraph and word count."""

    html: str
    first_paragraph: str
    """Plain text of the first paragraph that has text: the default summary."""
    word_count: int


class _Facts(Treeprocessor):
    """Reads the first paragraph and counts words while the tree is still a tree."""

    def run(self, root: etree.Element) -> None:
        self.md.first_paragraph = ""
        for paragraph in root.iter("p"):
            text = _unstash(self.md, " ".join("".join(paragraph.itertext()).split()))
            if text:
                self.md.first_paragraph = text
                break
        text = _unstash(self.md, " ".join(root.itertext()))
        self.md.word_count = len((_ASCII_WORD if text.isascii() else _WORD).findall(text))


class _SmartPunctuation(Treeprocessor):
    """Curly quotes, dashes and ellipses, read block by block across inline elements' edges.

    Each converted character is an HTML entity kept in the stash, as `smarty` wrote them, so the
    HTML of a body stays byte for byte what it was and later readers unstash it as before.
    """

    def run(self, root: etree.Element) -> None:
        source = self.md.source  # type: ignore[attr-defined]
        if not any(mark in source for mark in _PUNCTUATION) and not _joins_apart(source):
            return  # every text of the tree comes from the body, which has nothing to convert
        self.runs: list[Run] = []
        self.places: list[tuple[etree.Element, str, str]] = []
        self.verbatim_depth = 0
        self._walk(root, verbatim=False)
        self._flush()

    def _walk(self, element: etree.Element, verbatim: bool) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag not in _INLINE:
            self._flush()
        verbatim = verbatim or tag in _VERBATIM
        if tag in _STANDS_APART:
            self._add(Run(OPAQUE, False), element, "", "")
        if element.text:
            self._add_text(element.text, verbatim, element, "text")
        for child in element:
            self._walk(child, verbatim)
            if child.tail:
                self._add_text(child.tail, verbatim, child, "tail")
        if tag not in _INLINE:
            self._flush()

    def _add(self, run: Run, element: etree.Element, attribute: str, written: str) -> None:
        self.runs.append(run)
        self.places.append((element, attribute, written))

    def _add_text(self, text: str, verbatim: bool, element: etree.Element, attribute: str) -> None:
        live = not verbatim and not isinstance(text, AtomicString)
        done = 0
        for match in _PLACEHOLDER.finditer(text):
            if match.start() > done:
                self._add_plain(text[done:match.start()], live, element, attribute)
            self._add(Run(self._stand_in(match), False), element, attribute, match.group())
            done = match.end()
        if done < len(text):
            self._add_plain(text[done:], live, element, attribute)

    def _add_plain(self, text: str, live: bool, element: etree.Element, attribute: str) -> None:
        self._add(Run(text, live and not self.verbatim_depth), element, attribute, text)

    def _stand_in(self, placeholder: re.Match[str]) -> str:
        """What a quote beside a placeholder sees: the character it stands for, or nothing for a tag."""
        stashed, escaped = placeholder.group(1, 2)
        if escaped is not None:
            return chr(int(escaped))
        if stashed is None:
            return OPAQUE
        raw = str(self.md.htmlStash.rawHtmlBlocks[int(stashed)])
        tag = _TAG.match(raw)
        if tag is None:
            return html.unescape(raw) if raw.startswith("&") else OPAQUE
        closing, name = tag.group(1), tag.group(2).lower()
        if name in _VERBATIM:
            self.verbatim_depth = max(0, self.verbatim_depth + (-1 if closing else 1))
        return OPAQUE if name in _STANDS_APART else ""

    def _flush(self) -> None:
        if any(run.live for run in self.runs):
            texts = educate(self.runs, self.md.htmlStash.store)
            rebuilt: dict[tuple[int, str], tuple[etree.Element, list[str]]] = {}
            changed: set[tuple[int, str]] = set()
            for (element, attribute, written), run, text in zip(self.places, self.runs, texts):
                key = (id(element), attribute)
                rebuilt.setdefault(key, (element, []))[1].append(text if run.live else written)
                if run.live and text != run.text:
                    changed.add(key)
            for key in changed:
                element, parts = rebuilt[key]
                setattr(element, key[1], "".join(parts))
        self.runs, self.places, self.verbatim_depth = [], [], 0


_Registries = tuple[Registry[Preprocessor], Registry[BlockProcessor], Registry[Treeprocessor], Registry[InlinePattern]]


class _Fitted:
    """Python-Markdown with only the processors and inline patterns that can act on a body.

    Every pattern searches every text of a body and every block processor tests every block; one
    that needs what a body does not hold (a `#`, a bracket, a `<`) finds nothing, so leaving it out
    gives the same HTML sooner. Preprocessors and tree processors that would find nothing to change
    are left out the same way. The subsets are made once per set of marks found.
    """

    def __init__(self, md: markdown.Markdown) -> None:
        self.md = md
        self.inline_processor: Treeprocessor = md.treeprocessors["inline"]
        self.full: _Registries = (
            md.preprocessors, md.parser.blockprocessors, md.treeprocessors, self.inline_processor.inlinePatterns,  # type: ignore[attr-defined]
        )
        self.subsets: dict[frozenset[str], _Registries] = {}

    def fit(self, text: str) -> None:
        """Set up the converter for `text`."""
        if _joins_apart(text):
            chosen = self.full
        else:
            found = frozenset(filter(text.__contains__, _MARKS))
            if found not in self.subsets:
                self.subsets[found] = tuple(_needed(registry, needs, found) for registry, needs in zip(self.full, _NEEDS))  # type: ignore[assignment]
            chosen = self.subsets[found]
        md = self.md
        md.preprocessors, md.parser.blockprocessors, md.treeprocessors, self.inline_processor.inlinePatterns = chosen  # type: ignore[attr-defined]


def _needed(registry: Registry[T], needs: dict[str, tuple[tuple[str, ...], ...]], found: frozenset[str]) -> Registry[T]:
    """The items of `registry` (in their order) that need nothing or find what they need in `found`."""
    subset: Registry[T] = Registry()
    for item in registry._priority:
        options = needs.get(item.name)
        if options is None or any(all(mark in found for mark in option) for option in options):
            subset.register(registry[item.name], item.name, item.priority)
    return subset


def _joins_apart(text: str) -> bool:
    """Whether Markdown may bring together characters that stand apart in `text` (by dropping or expanding some)."""
    return "\x02" in text or "\x03" in text or "\t" in text or "\r" in text


class _HashHeader(HashHeaderProcessor):
    """Python-Markdown's heading block test, with a quick look first: a heading line starts with `#`."""

    def test(self, parent: etree.Element, block: str) -> bool:
        return (block.startswith("#") or "\n#" in block) and super().test(parent, block)


class _NormalizeWhitespace(NormalizeWhitespace):
    """Python-Markdown's, searching for lines of spaces alone only in a body where a line starts with a space."""

    def run(self, lines: list[str]) -> list[str]:
        source = "\n".join(lines)
        source = source.replace(STX, "").replace(ETX, "")
        source = source.replace("\r\n", "\n").replace("\r", "\n") + "\n\n"
        source = source.expandtabs(self.md.tab_length)
        if "\n " in source:
            source = _SPACES_LINE.sub("\n", source)
        return source.split("\n")


def _replace(registry: Registry[T], name: str, item: T) -> None:
    """Put `item` in the place of the registry's item `name`, at its priority."""
    priority = next(entry.priority for entry in registry._priority if entry.name == name)
    registry.register(item, name, priority)


class _HeadingIds(TocTreeprocessor):
    """The toc extension's heading ids; the table of contents itself only for a body that asks for it with [TOC].

    Python-Markdown also keeps every body's table of contents as HTML, which nothing here reads.
    """

    marker: str
    wanted: bool

    def run(self, doc: etree.Element) -> None:
        source = self.md.source  # type: ignore[attr-defined]
        self.wanted = self.marker in source or _joins_apart(source)
        marker = self.marker
        if not self.wanted:
            self.marker = ""  # no paragraph to look for
        try:
            super().run(doc)
        finally:
            self.marker = marker

    def build_toc_div(self, toc_list: list[dict[str, object]]) -> etree.Element:
        return super().build_toc_div(toc_list) if self.wanted else etree.Element("div")


class _HeadingIdsExtension(TocExtension):
    TreeProcessorClass = _HeadingIds


class _SmartPunctuationExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # Where smarty ran: after inline Markdown, before the table of contents names the headings.
        md.treeprocessors.register(_SmartPunctuation(md), "storysite_punctuation", 6)
        md.ESCAPED_CHARS.extend(['"', "'"])  # a backslash keeps a quote straight


class _FactsExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_Facts(md), "storysite_facts", 0)


def _unstash(md: markdown.Markdown, text: str) -> str:
    # Inline HTML and smart quotes wait in a stash until serialisation; take their text back.
    def text_of(match: re.Match[str]) -> str:
        raw = str(md.htmlStash.rawHtmlBlocks[int(match.group(1))])
        return html.unescape(re.sub(r"<[^>]*>", "", raw))

    return re.sub("\x02wzxhzdk:(\\d+)\x03", text_of, text).strip()


def _markdown() -> markdown.Markdown:
    """Python-Markdown with the extensions a body is converted with, each processor as Python-Markdown has it."""
    return markdown.Markdown(
        extensions=["extra", "sane_lists", _HeadingIdsExtension(permalink=False), _SmartPunctuationExtension(), _FactsExtension()],
        output_format="html",
    )


def _converter() -> markdown.Markdown:
    md = getattr(_local, "md", None)
    if md is None:
        md = _markdown()
        # Quicker processors that do just what Python-Markdown's do (tests/test_markup_fitted.py compares them).
        _replace(md.preprocessors, "normalize_whitespace", _NormalizeWhitespace(md))
        _replace(md.parser.blockprocessors, "hashheader", _HashHeader(md.parser))
        md.fitted = _Fitted(md)
        _local.md = md
    return md


def render_markdown(text: str) -> Rendered:
    """Convert one Markdown body; the same text always gives the same result."""
    md = _converter()
    md.reset()
    # Markdown skips its tree processors for a blank body: start from nothing, not the last body's facts.
    md.first_paragraph, md.word_count = "", 0
    md.source = text
    md.fitted.fit(text)
    html = md.convert(text)
    return Rendered(html, md.first_paragraph, md.word_count)
