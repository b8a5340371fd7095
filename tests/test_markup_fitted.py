"""The fitted converter (only the processors and patterns a body can use) gives the same HTML as Python-Markdown with all of them.

Each body is converted twice: as a build does, and by a converter that tries every inline pattern
and block processor on every body. Bodies come from the demo site and from a seeded mix of every
kind of Markdown the converter knows, run together in ways writers do and do not intend.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path
from types import SimpleNamespace

from storysite import markup
from storysite.markup import Rendered, render_markdown

DEMO_STORIES = Path(__file__).resolve().parent.parent / "content" / "stories"

FRAGMENTS = [
    "`code`", "``a ` b``", "[a link](other.md)", "[a link](other.md \"it's\")", "![an image](a.png)",
    "![ref image][r]", "[ref][r]", "[r]", "[r]: https://example.org/r", "<https://example.org>",
    "<me@example.org>", "<span>raw</span>", "<b>bold", "AT&amp;T", "&copy;", "& alone", "a;b",
    "\\*escaped\\*", "\\", "*em*", "_under_", "**strong**", "__strong__", "***both***", "a * b * c",
    "snake_case_word", "hard break  \nnext", "# Heading", "## Heading with *em*", "Setext\n======",
    "Setext\n------", "---", "***", "___", "* * *", "> quoted", "> quoted\n> more", "| a | b |\n|---|---|\n| 1 | 2 |",
    "a | b", "Term\n:   Definition", "time: 10:30", "a note[^n]", "[^n]: The note.", "*[HTML]: Hyper Text",
    "HTML", "- one\n- two", "* star item", "+ plus item", "1. first\n2. second", "3) third",
    "    indented code", "```\nfenced * code [x]\n```", "~~~ python\nx = '--'\n~~~",
    "<div markdown=\"1\">*inside*</div>", "<div>\nblock html\n</div>", "<!-- comment -->", "[TOC]",
    "Paragraph {: .cls }", "'single'", '"double"', "it's", "--", "---dash", "...", "1990s", "don't",
    ":", "=", "-", "!", "^", "[", "]", "<", ">", "@", "|", "#hashtag", "word", "Indonesia", "kopi susu",
    "emoji \U0001F600", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629", "AT&amp; T", "&#169;", "AT&amp no semicolon", "&#169", "caf&eacute", "&#x41",
    "line\n# heading within a block", "text #not heading", "   ", "  \n  ", "one\n \ntwo", "{not attributes}", "# Heading {#named .cls}", "```", "~~~~",
    "\u2019curly\u2019", "caf\u00e9-style o'clock",
]
JOINERS = [" ", " ", " ", "\n", "\n\n", "\n\n", "", "\n    ", "\n> ", "\n- "]


def _mixed_bodies(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    bodies = []
    for _ in range(count):
        parts = [rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 12))]
        body = parts[0]
        for part in parts[1:]:
            body += rng.choice(JOINERS) + part
        bodies.append(body)
    return bodies


def _unfitted(bodies: list[str]) -> list[Rendered]:
    """Each body through a converter that keeps every pattern and processor, as Python-Markdown has them (its own thread)."""
    results: list[Rendered] = []

    def convert_all() -> None:
        md = markup._local.md = markup._markdown()
        md.fitted = SimpleNamespace(fit=lambda text: None)  # type: ignore[attr-defined]
        results.extend(render_markdown(body) for body in bodies)

    thread = threading.Thread(target=convert_all)
    thread.start()
    thread.join()
    assert len(results) == len(bodies)
    return results


def _body(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return text.split("\n---\n", 1)[1] if text.startswith("---\n") else text


def test_demo_stories_convert_as_with_every_pattern() -> None:
    bodies = [_body(path) for path in sorted(DEMO_STORIES.glob("*.md"))]
    assert len(bodies) >= 5
    assert [render_markdown(body) for body in bodies] == _unfitted(bodies)


def test_every_mix_of_markdown_converts_as_with_every_pattern() -> None:
    bodies = _mixed_bodies(3000, seed=8)
    fitted = [render_markdown(body) for body in bodies]
    unfitted = _unfitted(bodies)
    differing = [(body, a.html, b.html) for body, a, b in zip(bodies, fitted, unfitted) if a != b]
    assert not differing, differing[:3]
    # The mix reaches every kind of element, or it would prove little.
    joined = "".join(r.html for r in fitted)
    for tag in ("<code>", "<a href", "<img", "<em>", "<strong>", "<br", "<h1", "<h2", "<hr", "<blockquote>",
                "<table>", "<dl>", "<sup", "<abbr", "<ul>", "<ol>", "<pre>", "&amp;", "&ldquo;", "&hellip;", "&ndash;", "class=\"toc\""):
        assert tag in joined, tag
