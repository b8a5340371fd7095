"""Python-Markdown lives here: body Markdown in, HTML and the facts derived from it out."""

from __future__ import annotations

import html
import re
import threading
import xml.etree.ElementTree as etree
from dataclasses import dataclass

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

from storysite.punctuation import OPAQUE, Run, educate

EXTENSIONS = ["extra", "sane_lists", "toc"]
# What the HTML of a body depends on besides its text: cached results of another engine are stale.
MARKDOWN_ENGINE = f"python-markdown {markdown.__version__} {' '.join(EXTENSIONS)} storysite-punctuation 1"
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
_local = threading.local()


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
        self.md.word_count = len(_WORD.findall(_unstash(self.md, " ".join(root.itertext()))))


class _SmartPunctuation(Treeprocessor):
    """Curly quotes, dashes and ellipses, read block by block across inline elements' edges.

    Each converted character is an HTML entity kept in the stash, as `smarty` wrote them, so the
    HTML of a body stays byte for byte what it was and later readers unstash it as before.
    """

    def run(self, root: etree.Element) -> None:
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


def _converter() -> markdown.Markdown:
    md = getattr(_local, "md", None)
    if md is None:
        md = markdown.Markdown(
            extensions=[*EXTENSIONS, _SmartPunctuationExtension(), _FactsExtension()],
            extension_configs={"toc": {"permalink": False}},
            output_format="html",
        )
        _local.md = md
    return md


def render_markdown(text: str) -> Rendered:
    """Convert one Markdown body; the same text always gives the same result."""
    md = _converter()
    md.reset()
    # Markdown skips its tree processors for a blank body: start from nothing, not the last body's facts.
    md.first_paragraph, md.word_count = "", 0
    html = md.convert(text)
    return Rendered(html, md.first_paragraph, md.word_count)
