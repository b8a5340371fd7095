"""Smart punctuation: storysite's own against Python-Markdown's `smarty`, body by body.

The reference is the converter storysite used before (extra, sane_lists, smarty, toc), built by
benchmarks/punctuation_oracle.py. Decoded HTML, heading ids, first paragraph and word count must
agree on the synthetic corpus, the demo site and the tricky cases; where storysite writes something
else on purpose, the case is listed with its reason in KNOWN_DIFFERENCES.
"""

from __future__ import annotations

import random

import lxml.html
import pytest

from benchmarks.punctuation_oracle import (
    KNOWN_DIFFERENCES,
    TRICKY,
    bodies,
    by_smarty,
    by_storysite,
    mismatch,
    smarty_converter,
)

from .conftest import build, story

SMARTY = smarty_converter()
# Characters whose neighbours decide every rule: quotes, hyphens, dots, spaces, brackets, digits, s.
FUZZ_ALPHABET = [*"'\"'\"  -..as1(],\t", "80s ", "--", "...", "–"]


def test_corpus_and_demo_site_come_out_as_smarty_writes_them() -> None:
    differing = [
        f"{name}: {problem}"
        for name, body in bodies(2000)
        if not name.startswith("tricky: ") and (problem := mismatch(by_storysite(body), by_smarty(SMARTY, body)))
    ]
    assert differing == []


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_case_comes_out_as_smarty_writes_it(name: str) -> None:
    body = TRICKY[name]
    assert mismatch(by_storysite(body), by_smarty(SMARTY, body)) is None


def test_plain_text_of_quotes_dashes_and_dots_comes_out_as_smarty_writes_it() -> None:
    """Within one run of text the rules and their order are smarty's, however odd the mix."""
    rng = random.Random(8)
    texts = {"".join(rng.choice(FUZZ_ALPHABET) for _ in range(rng.randint(1, 12))).strip() for _ in range(3000)}
    # A leading hyphen or digit would start a list; the lists are in TRICKY.
    bodies_ = sorted(text for text in texts if text and text[0] not in "-1")
    differing = [body for body in bodies_ if mismatch(by_storysite(body), by_smarty(SMARTY, body))]
    assert len(bodies_) > 2000
    assert differing == []


@pytest.mark.parametrize("name", sorted(KNOWN_DIFFERENCES))
def test_known_difference_from_smarty(name: str) -> None:
    case = KNOWN_DIFFERENCES[name]
    ours, theirs = by_storysite(case.markdown), by_smarty(SMARTY, case.markdown)
    assert ours.html == case.ours
    assert theirs.html != case.ours, f"smarty now agrees; drop the case ({case.reason})"


def test_code_attributes_and_raw_html_keep_straight_quotes(scratch_site) -> None:
    body = (
        'Say "hi" -- `"code" -- ...` and [it\'s](https://example.com/x "a \'title\' -- ...").\n\n'
        "    \"block\" -- ...\n\n"
        '<div class="raw">"raw" -- ...</div>\n\n'
        'Press <kbd>"q" -- ...</kbd> to quit.\n'
    )
    root = scratch_site({"content/stories/a.md": story(body=body)})
    config, _ = build(root)
    main = lxml.html.fromstring((config.output_dir / "stories/a/index.html").read_bytes()).xpath("//main")[0]
    paragraph = main.xpath(".//p[code]")[0]
    assert paragraph.text.startswith("Say “hi” – ")
    assert paragraph.xpath("code")[0].text == '"code" -- ...'
    assert paragraph.xpath("a")[0].get("title") == "a 'title' -- ..."
    assert paragraph.xpath("a")[0].text == "it’s"
    assert main.xpath(".//pre/code")[0].text == '"block" -- ...\n'
    assert main.xpath(".//div[@class='raw']")[0].text == '"raw" -- ...'
    assert main.xpath(".//kbd")[0].text == '"q" -- ...'
