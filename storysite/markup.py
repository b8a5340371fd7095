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

EXTENSIONS = ["extra", "sane_lists", "smarty", "toc"]
# What the HTML of a body depends on besides its text: cached results of another engine are stale.
MARKDOWN_ENGINE = f"python-markdown {markdown.__version__} {' '.join(EXTENSIONS)}"
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
            extensions=[*EXTENSIONS, _FactsExtension()],
            extension_configs={"toc": {"permalink": False}, "smarty": {"smart_angled_quotes": False}},
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
