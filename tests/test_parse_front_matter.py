"""Front-matter YAML: the quick construction of plain documents gives what PyYAML's constructor gives."""

from __future__ import annotations

import random
from typing import Any

import pytest

from storysite import yamlload
from storysite.errors import ContentError
from storysite.yamlload import load_yaml

VALUES = [
    "plain words", "'single quoted'", '"double \\"quoted\\" \\x41"', "", "~", "null", "Null", "true", "False", "yes",
    "No", "ON", "off", "y", "12", "+12", "-3", "0", "017", "0o17", "0x1F", "0b101", "1_000", "1:30", "190:20:30",
    "1.5", ".5", "-1.5e+3", "1e3", ".inf", "-.Inf", ".NaN", "1_000.5", "2025-01-05", "2025-02-30",
    "2025-01-05T09:30:00+07:00", "2025-01-05 09:30:00", "2025-01-05t09:30:00.25Z", "[a, b, 1]", "[]", "{}",
    "{a: 1, b: [2, 3]}", "[a, {b: c}]", "!!str 123", "!!int '7'", "!!binary aGVsbG8=", "!!set {a, b}",
    "!!omap [a: 1]", "!custom x", "|\n  block text\n  more", ">\n  folded\n  text", "&anchor [x, y]", "*anchor",
    "'it''s'", "x # comment", "@reserved", "[unclosed", "'unclosed", "a: b: c",
]
KEYS = ["title", "date", "tags", "audience", "1", "2025-01-05", "true", "null", "'quoted key'", "=", "<<", "? [a, b]", "[a]"]


def _document(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(1, 7)):
        key, value = rng.choice(KEYS), rng.choice(VALUES)
        if rng.random() < 0.15:
            value = "\n" + "\n".join(f"  - {rng.choice(VALUES[:40])}" for _ in range(rng.randint(1, 3)))
        elif rng.random() < 0.15:
            value = "\n" + "\n".join(f"  {rng.choice(KEYS[:4])}: {rng.choice(VALUES[:40])}" for _ in range(rng.randint(1, 3)))
        lines.append(f"{key}: {value}" if not key.startswith("?") else f"{key}\n: {value}")
    if rng.random() < 0.05:
        lines.append("---\nsecond: document")
    return "\n".join(lines)


def _outcome(text: str) -> Any:
    """What load_yaml gives, types and all (True is not 1), or the problems it reports."""
    try:
        data, lines = load_yaml(text, "story.md", first_line=2)
    except ContentError as exc:
        return "error", [str(problem) for problem in exc.problems]
    return repr(data), lines, _shared(data)


def _shared(data: Any) -> list[tuple[int, int]]:
    """Where one object stands in two places (as a YAML alias makes it)."""
    seen: dict[int, int] = {}
    pairs = []

    def walk(value: Any) -> None:
        if isinstance(value, (list, dict)):
            if id(value) in seen:
                pairs.append((seen[id(value)], len(seen)))
            seen.setdefault(id(value), len(seen))
            for item in value.values() if isinstance(value, dict) else value:
                walk(item)

    walk(data)
    return pairs


def _by_pyyaml(text: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The outcome with every document made by PyYAML's own constructor."""

    def unusual(*args: Any) -> Any:
        raise yamlload._Unusual

    with monkeypatch.context() as patched:
        patched.setattr(yamlload, "_plain", unusual)
        return _outcome(text)


def test_front_matter_is_made_as_pyyaml_makes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(8)
    documents = [_document(rng) for _ in range(3000)]
    documents += ["a: &x [1, 2]\nb: *x", "base: &b {x: 1}\nmore:\n  <<: *b\n  y: 2", "? [a, b]\n: c", "[a]: b", "just text", "- a\n- b"]
    outcomes = [_outcome(document) for document in documents]
    assert outcomes == [_by_pyyaml(document, monkeypatch) for document in documents]
    # The mix holds values, errors and shared objects, or it would prove little.
    kinds = {outcome[0] == "error" for outcome in outcomes} | {bool(outcome[2]) for outcome in outcomes if outcome[0] != "error"}
    assert kinds == {True, False}
    assert any(outcome[2] for outcome in outcomes if outcome[0] != "error")
