"""Find the site's source files and split each into front-matter and body."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ContentError, Problem, shown_path
from .yamlload import load_yaml

FENCE = "---"
# Characters XML cannot carry (C0 controls but tab and line ends, lone surrogates, U+FFFE, U+FFFF), and
# DEL and C1 controls, which YAML refuses and which are never meant in UTF-8 text.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Sources:
    """Every input file of a site, sorted, as absolute paths."""

    stories: tuple[Path, ...]
    """content/stories/*.md and content/stories/<slug>/index.md."""
    pages: tuple[Path, ...]
    """content/pages/*.md and content/pages/<slug>/index.md."""
    bundle_files: dict[Path, tuple[Path, ...]]
    """For each index.md of a bundle, the other files in its folder (images and such)."""
    static: tuple[Path, ...]
    """Everything under content/static/, dot-files included."""


@dataclass(frozen=True)
class Document:
    """A Markdown file split in two: parsed front-matter and the Markdown body."""

    path: Path
    """Absolute path of the file."""
    shown: str
    """The path as shown in messages (relative to the site folder)."""
    meta: dict[str, Any]
    """The front-matter mapping."""
    lines: dict[str, int]
    """The line of each front-matter key."""
    body: str
    """The Markdown after the front-matter, with "\\n" line ends."""
    body_line: int
    """The file line the body starts on."""
    removed_lines: tuple[int, ...] = ()
    """Lines from which control characters were removed (XML cannot carry them)."""
    body_unread: bool = False
    """The file is as an earlier build parsed it and its body was not read again: `body` is empty."""


def discover(content_dir: Path) -> Sources:
    """Walk content/ once and sort what it holds."""
    stories, bundles_s = _markdown_in(content_dir / "stories")
    pages, bundles_p = _markdown_in(content_dir / "pages")
    static_dir = content_dir / "static"
    static = files_under(static_dir, content_dir.parent) if static_dir.is_dir() else ()
    return Sources(stories, pages, {**bundles_s, **bundles_p}, static)


def files_under(folder: Path, root: Path | None = None) -> tuple[Path, ...]:
    """Every file under `folder`, sorted, dot-files included; a linked file or folder counts as its target.

    The output must hold no links (GitHub Pages refuses them), so the writer copies what a link
    points to; a broken link or a folder that links back to its own parent is an error instead.
    """
    found: list[Path] = []
    problems: list[Problem] = []

    def shown(path: Path) -> str:
        return shown_path(path, root) if root else str(path)

    def walk(current: Path, above: frozenset[Path]) -> None:
        for entry in sorted(current.iterdir()):
            if entry.is_dir():
                target = entry.resolve()
                if target in above:
                    problems.append(Problem(shown(entry), None, f"links back to {target}, a folder it is in",
                                            "remove the link: it would copy the folder into itself forever"))
                else:
                    walk(entry, above | {target})
            elif entry.is_file():
                found.append(entry)
            elif entry.is_symlink():
                problems.append(Problem(shown(entry), None, f"links to {os.readlink(entry)}, which does not exist",
                                        "remove the link or restore what it points to"))

    walk(folder, frozenset({folder.resolve()}))
    if problems:
        raise ContentError(problems)
    return tuple(sorted(found))


def _markdown_in(folder: Path) -> tuple[tuple[Path, ...], dict[Path, tuple[Path, ...]]]:
    if not folder.is_dir():
        return (), {}
    found: list[Path] = []
    bundles: dict[Path, tuple[Path, ...]] = {}
    # os.scandir knows most entries' kinds without asking for their status: quick for thousands of stories.
    with os.scandir(folder) as scanned:
        entries = sorted((entry for entry in scanned if not entry.name.startswith((".", "_"))), key=lambda entry: entry.name)
    for entry in entries:
        if entry.name.endswith(".md") and entry.is_file():
            found.append(folder / entry.name)
        elif entry.is_dir() and (index := folder / entry.name / "index.md").is_file():
            found.append(index)
            bundles[index] = tuple(p for p in files_under(index.parent, folder.parent.parent) if p != index)
    return tuple(found), bundles


def read_text(path: Path, shown: str) -> str:
    """A file's text: UTF-8 (a BOM is fine), line ends made "\\n"; else an error naming the line."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ContentError(
            Problem(shown, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x})", "save the file as UTF-8")
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_document(path: Path, shown: str) -> Document:
    """Read a Markdown file with YAML front-matter between two --- lines."""
    text, removed = _without_control_characters(read_text(path, shown))
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != FENCE:
        raise ContentError(
            Problem(shown, 1, "no front-matter", "start the file with a --- line, then title:, date:, ..., then ---")
        )
    for number, line in enumerate(lines[1:], start=1):
        if line.rstrip() in (FENCE, "..."):
            end = number
            break
    else:
        raise ContentError(Problem(shown, 1, "front-matter is never closed", "end it with a line of three dashes: ---"))
    meta, key_lines = load_yaml("\n".join(lines[1:end]), shown, first_line=2)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ContentError(Problem(shown, 2, "front-matter must be a mapping of keys", "e.g. title: My story"))
    meta, escaped = _meta_without_control_characters(meta)
    removed |= {key_lines.get(key, 2) for key in escaped}
    body = "\n".join(lines[end + 1 :])
    return Document(path, shown, meta, key_lines, body, end + 2, tuple(sorted(removed)))


def _without_control_characters(text: str) -> tuple[str, set[int]]:
    """The text without control characters, and the lines they were on."""
    lines = {text.count("\n", 0, match.start()) + 1 for match in CONTROL_CHARACTERS.finditer(text)}
    return (CONTROL_CHARACTERS.sub("", text) if lines else text), lines


def _meta_without_control_characters(meta: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Front-matter without the control characters that YAML escapes ("\\x01") can still write."""
    found: set[str] = set()

    def clean(key: str, value: Any) -> Any:
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            found.add(key)
            return CONTROL_CHARACTERS.sub("", value)
        if isinstance(value, list):
            return [clean(key, v) for v in value]
        if isinstance(value, dict):
            return {k: clean(key, v) for k, v in value.items()}
        return value

    cleaned = {key: clean(str(key), value) for key, value in meta.items()}
    return cleaned, sorted(found)


def line_of(document: Document, needle: str) -> int | None:
    """The file line where `needle` first appears in the body, for messages."""
    body = document.body
    if document.body_unread:
        try:
            body = read_document(document.path, document.shown).body
        except (ContentError, OSError):
            return None
    index = body.find(needle)
    if index < 0:
        return None
    return document.body_line + body.count("\n", 0, index)
