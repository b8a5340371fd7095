"""The Markdown converter: each body converts the same whatever the converter saw before."""

from __future__ import annotations

import random
import string
import threading

import lxml.html

from storysite import markup
from storysite.markup import Rendered, render_markdown

EVERY_KIND = """\
# A "quoted" heading -- with *emphasis*

[TOC]

Some `code`, a [link](other.md "it's"), an ![image](a.png), <https://example.org>, <me@example.org>,
AT&amp;T, a <span>raw</span> tag, an escaped \\*star\\*, _under_ and **strong**, a hard break  
here, a note[^1] and an HTML abbreviation.

Setext heading
--------------

> A quote... with 'single' quotes

| a | b |
|---|---|
| 1 | 2 |

Term
:   Its definition.

- one
- two

1. first
2. second

***

[ref]: https://example.org/ref
[^1]: The note.
*[HTML]: Hyper Text Markup Language
"""

PLAIN = "Just words in a paragraph.\n\nAnother paragraph of words."


def _fresh(body: str) -> Rendered:
    """The body converted by a converter that has seen nothing else (each thread has its own)."""
    results: list[Rendered] = []
    thread = threading.Thread(target=lambda: results.append(render_markdown(body)))
    thread.start()
    thread.join()
    return results[0]


def test_a_body_converts_the_same_after_any_other() -> None:
    bodies = [EVERY_KIND, PLAIN, "Tabs\tand\r\nreturns *a*", "# Only a heading", EVERY_KIND.replace("[TOC]", "")]
    fresh = [_fresh(body) for body in bodies]
    for _ in range(2):
        assert [render_markdown(body) for body in bodies] == fresh
        assert [render_markdown(body) for body in reversed(bodies)] == fresh[::-1]


def test_every_kind_of_markdown_is_converted() -> None:
    page = lxml.html.fragment_fromstring(render_markdown(EVERY_KIND).html, create_parent="div")
    heading = page.find("h1")
    assert heading.get("id") == "a-quoted-heading-with-emphasis"
    assert [a.get("href") for a in page.xpath("//div[@class='toc']//a")] == [
        "#a-quoted-heading-with-emphasis", "#setext-heading",
    ]
    for path in ("//code", "//a[@href='other.md']", "//img[@src='a.png']", "//a[@href='https://example.org']",
                 "//span", "//em", "//strong", "//br", "//sup/a", "//abbr", "//h2[@id='setext-heading']",
                 "//blockquote", "//table", "//dl", "//ul/li", "//ol/li", "//hr"):
        assert page.xpath(path), path
    assert "\u201cquoted\u201d" in heading.text_content()
    assert "\u2026" in page.find("blockquote").text_content()


def test_a_table_of_contents_only_where_a_body_asks_for_one() -> None:
    page = lxml.html.fragment_fromstring(render_markdown("# One\n\nText [TOC] inline.\n\n## Two").html, create_parent="div")
    assert not page.xpath("//div[@class='toc']")
    assert [h.get("id") for h in page.xpath("//h1|//h2")] == ["one", "two"]


def test_words_of_ascii_text_are_counted_as_in_any_text() -> None:
    # ASCII text is counted with a quicker pattern; it must find the words the general one finds.
    rng = random.Random(8)
    alphabet = string.printable + "  --''"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(3000)]
    texts += ["well-known o'clock rock-'n'-roll x_y 2024 a--b 'quoted' -x- it's- _"]
    for text in texts:
        assert markup._ASCII_WORD.findall(text) == markup._WORD.findall(text), text
    assert render_markdown("Well-known, o'clock: x_y.").word_count == 3
    assert render_markdown("Well-known caf\u00e9 o\u2019clock x_y").word_count == 4
