"""storysite's smart punctuation against Python-Markdown's `smarty` extension, body by body.

    python benchmarks/punctuation_oracle.py [--stories 2000]

Each body is converted twice: by storysite.markup, and by Python-Markdown with the real `smarty`
extension (the converter storysite used before it had its own). The two must agree once entities
are decoded: `html.unescape(ours) == html.unescape(smarty's)`, with the same heading ids, first
paragraph and word count. Bodies: the synthetic corpus, every story and page of the demo site, and
the table of tricky cases below. Where the two differ on purpose, KNOWN_DIFFERENCES says what we
write instead and why. Exit code 1 when anything else differs.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import markdown

from benchmarks.corpus import generate
from storysite import markup
from storysite.sources import discover, read_document

REPO = Path(__file__).resolve().parent.parent

TRICKY = {
    "plain": 'He said, "Hello," and left. She\'d say \'hi\' too.',
    "nested": "He said, \"'Quoted' words in a larger quote.\"",
    "nested-closing": "\"She said 'no'\" and \"'Tis,\" he said.",
    "tis": "'Tis the season; 'twas the night. Rock 'n' roll.",
    "word-start apostrophe": "Fish 'n' chips, 'cause we 'd better go.",
    "decade": "In the '80s and '90s' hits; the '20s were loud.",
    "possessive": "The boys' toys and James's hat; the 'boys' room.",
    "dashes": "Pages 10--20, 1990--2000; wait---now. A - B, ---- and ----- stay.",
    "quote after dash": 'He paused -- "Why?" -- and again---"now".',
    "quote after brackets": "(\"quoted\") ['single'] {\"braced\"}",
    "ellipsis": "Wait... what.... And .. two dots. \"So...\"",
    "quote at start before punctuation": "'.\n\n\"...\n\n\"' now",
    "heading": "# \"Quoted\" heading -- with 'single' quotes\n\n## Don't stop...\n\nText.",
    "list": "- \"First\" item\n- It's the 'second'\n\n1. One -- two\n2. Three...",
    "table": "| \"Name\" | It's |\n|---|---|\n| 'a' -- b | c... |",
    "blockquote": "> \"To be,\" she said, \"or not.\"\n>\n> -- Someone",
    "code span": 'Use `"quotes"` and `--flag` or `...`; "after" `code`.',
    "code block": '    "straight" -- kept...\n\n```\nit\'s "code"\n```\n\nAnd "text".',
    "escaped quotes": 'A \\"straight\\" quote and \\\'single\\\'.',
    "raw html block": '<div class="x">\n"raw" -- block...\n</div>\n\n"After" the block.',
    "inline html attribute": 'A <span title="it\'s -- raw">"span"</span> here.',
    "footnote": 'Text "with" a note.[^1]\n\n[^1]: The "note" -- it\'s here...',
    "abbreviation": 'The "HTML" spec -- HTML\'s best.\n\n*[HTML]: Hyper "Text" -- Markup',
    "attribute list": '# Heading "x" {: #custom }\n\nPara \'y\' {: .cls }',
    "definition list": 'Term "one"\n:   It\'s defined -- here.',
    "entity": "AT&amp;T's \"deal\" &mdash; &nbsp;\"x\" &copy; 'y'",
    "link title": '[a "link"](http://x.test "it\'s -- title") and \'[b](http://y.test)\'.',
    "image alt": '![it\'s "alt" -- text](x.png) "after"',
    "emphasis inside quotes": "She said \"**bold** words\" and '*it*'s' fine.",
    "possessive after elements": "[Sari](http://x.test)'s shop, `make`'s flags, *Tempe*'s taste.",
    "quotes inside emphasis": '*"Quoted," she said* and **\'single\'** -- *it\'s*.',
    "line break": 'First line  \n"Second" line',
    "numbers": "Scores 3--2, 7'11\" tall, 5' 10\", the '70s.",
}
"""Tricky bodies that must come out as smarty writes them, or as KNOWN_DIFFERENCES says."""


@dataclass(frozen=True)
class Difference:
    """A case where storysite writes something else than smarty, on purpose."""

    markdown: str
    ours: str
    """The decoded HTML storysite writes."""
    reason: str


KNOWN_DIFFERENCES = {
    "quotes around emphasis": Difference(
        '"*word*" and \'**strong**\'',
        "<p>“<em>word</em>” and ‘<strong>strong</strong>’</p>",
        "smarty reads each element's text alone, so a quote right after </em> sees no word before it "
        "and opens (“word“); we read the character before the element's edge.",
    ),
    "quotes around a link": Difference(
        "'[x](http://x.test)'\n\nRead \"[y](http://y.test)\"",
        '<p>‘<a href="http://x.test">x</a>’</p>\n<p>Read “<a href="http://y.test">y</a>”</p>',
        "as for emphasis: smarty opens the quote after </a> when no space or punctuation follows.",
    ),
    "quotes around a code span": Difference(
        'Run "`make`"',
        "<p>Run “<code>make</code>”</p>",
        "as for emphasis: smarty opens the quote after </code>; the code span itself is untouched "
        "by both.",
    ),
    "quotes around inline html": Difference(
        'A "<span>word</span>".',
        "<p>A “<span>word</span>”.</p>",
        "a raw tag is not text: smarty sees the stash placeholder before the quote and opens it.",
    ),
    "inline kbd": Difference(
        'Press <kbd>"</kbd> -- then <samp>a--b...</samp>.',
        '<p>Press <kbd>"</kbd> – then <samp>a--b...</samp>.</p>',
        "smarty converts text between raw <kbd>/<samp> tags; keys and sample output stay as typed.",
    ),
}
"""Bodies where storysite and smarty differ on purpose: what storysite writes, and why."""


@dataclass(frozen=True)
class Converted:
    """What a converter makes of a body, decoded so entities and characters compare equal."""

    html: str
    heading_ids: tuple[str, ...]
    first_paragraph: str
    word_count: int


def smarty_converter() -> markdown.Markdown:
    """Python-Markdown as storysite configured it before: extra, sane_lists, smarty, toc."""
    return markdown.Markdown(
        extensions=["extra", "sane_lists", "smarty", "toc", markup._FactsExtension()],
        extension_configs={"toc": {"permalink": False}, "smarty": {"smart_angled_quotes": False}},
        output_format="html",
    )


def by_smarty(converter: markdown.Markdown, body: str) -> Converted:
    """The body as the `smarty` extension converts it."""
    converter.reset()
    converter.first_paragraph, converter.word_count = "", 0  # type: ignore[attr-defined]
    text = converter.convert(body)
    return _decoded(text, converter.first_paragraph, converter.word_count)  # type: ignore[attr-defined]


def by_storysite(body: str) -> Converted:
    """The body as storysite converts it."""
    rendered = markup.render_markdown(body)
    return _decoded(rendered.html, rendered.first_paragraph, rendered.word_count)


def _decoded(text: str, first_paragraph: str, word_count: int) -> Converted:
    return Converted(html.unescape(text), tuple(re.findall(r'<h\d[^>]* id="([^"]*)"', text)),
                     first_paragraph, word_count)


def bodies(stories: int) -> Iterator[tuple[str, str]]:
    """(name, Markdown) of the synthetic corpus, the demo site's stories and pages, and TRICKY."""
    for index, synthetic in enumerate(generate(stories)):
        yield f"corpus #{index}", synthetic.body
    sources = discover(REPO / "content")
    for path in (*sources.stories, *sources.pages):
        shown = str(path.relative_to(REPO))
        yield shown, read_document(path, shown).body
    yield from (("tricky: " + name, body) for name, body in TRICKY.items())


def mismatch(ours: Converted, theirs: Converted) -> str | None:
    """How the two conversions differ, or None."""
    for field in ("html", "heading_ids", "first_paragraph", "word_count"):
        mine, smarty = getattr(ours, field), getattr(theirs, field)
        if mine != smarty:
            return f"{field}: storysite {mine!r} != smarty {smarty!r}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=2000, help="synthetic bodies to compare")
    args = parser.parse_args()
    converter, checked, failures = smarty_converter(), 0, 0
    for name, body in bodies(args.stories):
        checked += 1
        problem = mismatch(by_storysite(body), by_smarty(converter, body))
        if problem:
            failures += 1
            print(f"DIFFERS {name}: {problem}")
    for name, case in KNOWN_DIFFERENCES.items():
        checked += 1
        ours, theirs = by_storysite(case.markdown).html, by_smarty(converter, case.markdown).html
        if ours != case.ours or ours == theirs:
            failures += 1
            print(f"KNOWN DIFFERENCE CHANGED {name}: storysite {ours!r}, smarty {theirs!r}")
        else:
            print(f"known difference, {name}: {case.reason}")
    print(f"{checked} bodies compared, {failures} unexpected differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
