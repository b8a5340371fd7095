"""Source files parsed by an earlier build, remembered by their signature so that an unchanged file is not read again.

A file's signature is its size, modification and status-change times, inode and device. Any write
moves the status-change time, even one that puts the modification time back. Only a write within
the file system's timestamp granularity of the moment a build looked at the file can keep the
signature (the "racy" case that git guards its index against the same way): so a file whose times
were not older than that moment by a margin wider than any granularity is remembered with a hash
of its bytes, and recalled only when its bytes still give that hash; once its times are old enough,
it is remembered again without them.

What is remembered: the file's front-matter (values as typed JSON), where its body starts, a
story's checked front-matter and the key of its body's converted Markdown, which the cache holds
once for every file with that body (`MARKDOWN`, by the hash of the body); not the Markdown itself,
which nothing after the parse stage reads but a message that names a line (`sources.line_of` reads
the file again then). A file whose converted Markdown the cache no longer has is read again. The
build cache's scope names the storysite version, the Markdown engine, the YAML loader, the site
folder and the settings that the front-matter checks read.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from .cache import BuildCache, content_key, file_signature, version_scope
from .config import Config
from .markup import MARKDOWN_ENGINE, Rendered
from .schema import StoryFrontMatter, meta_settings
from .sources import Document
from .yamlload import YAML_ENGINE

NAMESPACE = "parsed-files"
RECORD = "record-3"
"""The layout of a remembered file: another one forgets what was remembered."""
MARGIN_NS = 3 * 10**9
"""How much older than the build a file's times must be to trust them (FAT keeps times to 2 s)."""
_DATE, _DATETIME = "\x00date", "\x00datetime"
MARKDOWN = "markdown"
"""The namespace of converted Markdown: each body's HTML, first paragraph and word count, by the hash of the body."""
_BODY = "body-record-1"
"""The layout of a converted body in the cache: another one forgets them all."""

Recalled = tuple[Document, StoryFrontMatter | None, Rendered, str]
"""A remembered file: its document, its checked front-matter when it is a story, its HTML and the key of its body."""


class ParsedFiles:
    """The parsed files an earlier build remembered, and the ones this build adds."""

    def __init__(self, cache: BuildCache | None, config: Config) -> None:
        """Remember nothing when `cache` is None or off."""
        self.cache = cache if cache is not None and cache.enabled else None
        self.signatures: dict[Path, list[int]] = {}
        self.changed_at: dict[Path, int] = {}
        self.unsettled_before: set[Path] = set()
        """Files recalled by their bytes whose times can be trusted now: worth remembering again."""
        self.looked_at = time.time_ns()
        if self.cache is not None:
            scope = version_scope(RECORD, MARKDOWN_ENGINE, YAML_ENGINE, str(config.root), *meta_settings(config))
            self.cache.namespace(NAMESPACE, scope)
            self.cache.namespace(MARKDOWN, version_scope(MARKDOWN_ENGINE, _BODY))

    def recall(self, paths: Sequence[Path]) -> dict[Path, Recalled]:
        """The files among `paths` whose signature is the one remembered, as they were parsed then.

        A file remembered while its times were too recent to trust is compared by its bytes too. Its
        converted Markdown comes from the cache's Markdown (which keeps it, as read, for a file whose
        times change and body does not).
        """
        if self.cache is None:
            return {}
        self.looked_at = time.time_ns()
        for path in paths:
            try:
                status = os.stat(path)
            except OSError:
                continue  # reading it reports what is wrong
            self.signatures[path] = file_signature(status)
            self.changed_at[path] = changed_at(status)
        known = [path for path in paths if path in self.signatures]
        stored = self.cache.get_records(NAMESPACE, [str(path) for path in known])
        same = {}
        for path in known:
            record = stored.get(str(path))
            if record is None or not isinstance(record[0], list) or record[0][:1] != [self.signatures[path]] or len(record[0]) < 3:
                continue
            bytes_key = record[0][1]
            if bytes_key is not None and bytes_key != file_key(path):
                continue
            same[path] = record[0]
        bodies = stored_bodies(self.cache, [str(fields[-1]) for fields in same.values()])
        found = {}
        for path, fields in same.items():
            parsed = _decoded(path, fields[2:], bodies)
            if parsed is not None:
                bytes_key = fields[1]
                found[path] = parsed
                if bytes_key is not None and self._settled(path):
                    self.unsettled_before.add(path)  # remember it again, now without the bytes
        return found

    def remember(self, doc: Document, meta: StoryFrontMatter | None, body: Rendered, body_key: str) -> None:
        """Remember a file read by this build; `body_key` names its Markdown in the cache.

        While its times are too recent to trust, a hash of its bytes is remembered with it.
        """
        file_signature = self.signatures.get(doc.path)
        if self.cache is None or file_signature is None:
            return
        bytes_key = None if self._settled(doc.path) else file_key(doc.path)
        front_matter = encoded_value(doc.meta)
        if front_matter is UNSUPPORTED or bytes_key == "":
            return
        tagged = [key for key, value in doc.meta.items() if _tagged(value)]
        checked = _story_fields(meta) if meta is not None else None
        fields = [front_matter, tagged, doc.shown, doc.lines, doc.body_line, doc.removed_lines, checked, body_key]
        self.cache.put_record(NAMESPACE, str(doc.path), [file_signature, bytes_key, *fields], ())

    def _settled(self, path: Path) -> bool:
        """Whether a file's modification and status-change times are older than this build by the margin."""
        return settled(self.changed_at[path], self.looked_at)


def store_body(cache: BuildCache, key: str, body: Rendered) -> None:
    """Keep a body's converted Markdown in the cache under `key`, the hash of its Markdown."""
    cache.put_record(MARKDOWN, key, body.word_count, (body.html, body.first_paragraph))


def stored_bodies(cache: BuildCache, keys: Sequence[str]) -> dict[str, Rendered]:
    """The converted Markdown the cache holds under those of `keys` it has (one of another shape counts as missing)."""
    found = {}
    for key, (word_count, texts) in cache.get_records(MARKDOWN, keys).items():
        if type(word_count) is int and len(texts) == 2:
            found[key] = Rendered(texts[0], texts[1], word_count)
    return found


def changed_at(status: os.stat_result) -> int:
    """When a file was last written, by its modification or status-change time, whichever is later."""
    return max(status.st_mtime_ns, status.st_ctime_ns)


def settled(changed: int, looked_at: int) -> bool:
    """Whether a file written at `changed` (see `changed_at`) is older than the moment `looked_at` by the margin."""
    return changed < looked_at - MARGIN_NS


def file_key(path: Path) -> str:
    """A hash of a file's bytes ("" when it cannot be read)."""
    try:
        return content_key(path.read_bytes())
    except OSError:
        return ""


class _Unsupported:
    """A value JSON cannot carry exactly (a set, bytes, a key that is not text, a time in another kind of zone)."""


UNSUPPORTED = _Unsupported()


def encoded_value(value: Any) -> Any:
    """A front-matter value as JSON (dates tagged), or UNSUPPORTED."""
    kind = type(value)
    if kind in (str, int, float, bool) or value is None:
        return value
    if kind is list:
        items = [encoded_value(item) for item in value]
        return UNSUPPORTED if any(item is UNSUPPORTED for item in items) else items
    if kind is dict:
        if not all(type(key) is str and not key.startswith("\x00") for key in value):
            return UNSUPPORTED
        fields = {key: encoded_value(item) for key, item in value.items()}
        return UNSUPPORTED if any(item is UNSUPPORTED for item in fields.values()) else fields
    if kind is dt.date:
        return {_DATE: value.isoformat()}
    if kind is dt.datetime and (value.tzinfo is None or type(value.tzinfo) is dt.timezone):
        return {_DATETIME: value.isoformat()}
    return UNSUPPORTED


def _tagged(value: Any) -> bool:
    """Whether a front-matter value is or holds a date (which decoding must turn back from text)."""
    if isinstance(value, dt.date):
        return True
    if isinstance(value, list):
        return any(map(_tagged, value))
    return isinstance(value, dict) and any(map(_tagged, value.values()))


def decoded_value(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return [decoded_value(item) for item in value]
    if kind is dict:
        if _DATE in value:
            return dt.date.fromisoformat(value[_DATE])
        if _DATETIME in value:
            return dt.datetime.fromisoformat(value[_DATETIME])
        return {key: decoded_value(item) for key, item in value.items()}
    return value


def moment(value: dt.datetime | None) -> Any:
    """A checked date as JSON: ISO text with a fixed offset, or local time and the name of its zone."""
    if value is None or type(value.tzinfo) is dt.timezone:
        return value and value.isoformat()
    if isinstance(value.tzinfo, ZoneInfo) and isinstance(value.tzinfo.key, str) and value.fold == 0:
        return [value.replace(tzinfo=None).isoformat(), value.tzinfo.key]
    return UNSUPPORTED


def moment_back(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, list):
        local, zone = value
        return dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone))
    return dt.datetime.fromisoformat(value)


def _story_fields(meta: StoryFrontMatter) -> list[Any] | None:
    """A story's checked front-matter as JSON (None when a date is in a zone that cannot be named)."""
    date, updated = moment(meta.date), moment(meta.updated)
    if date is UNSUPPORTED or updated is UNSUPPORTED:
        return None
    return [
        meta.slug, meta.title, date, updated, meta.niche, meta.audiences, meta.tags, meta.summary, meta.author, meta.cover,
        meta.cover_alt, meta.lang, meta.draft, meta.related, meta.canonical, list(meta.extra),
    ]


def _story_back(fields: list[Any], doc: Document) -> StoryFrontMatter:
    slug, title, date, updated, niche, audiences, tags, summary, author, cover, cover_alt, lang, draft, related, canonical, extra = fields
    return StoryFrontMatter(
        slug=slug, title=title, date=moment_back(date), updated=moment_back(updated), niche=niche,  # type: ignore[arg-type]
        audiences=tuple(audiences), tags=tuple(tags), summary=summary, author=author, cover=cover, cover_alt=cover_alt,
        lang=lang, draft=draft, related=tuple(related), canonical=canonical,
        extra=MappingProxyType({key: doc.meta[key] for key in extra}), lines=MappingProxyType(dict(doc.lines)),
    )


def _decoded(path: Path, fields: list[Any], bodies: dict[str, Rendered]) -> Recalled | None:
    """A remembered file back, with its body from `bodies`; None for a record of another shape or a body not there."""
    try:
        front_matter, tagged, shown, lines, body_line, removed, checked, body_key = fields
        body = bodies.get(body_key)
        if body is None:
            return None
        for key in tagged:
            front_matter[key] = decoded_value(front_matter[key])
        doc = Document(path, shown, front_matter, lines, "", body_line, tuple(removed), body_unread=True)
        meta = _story_back(checked, doc) if checked is not None else None
        if type(shown) is str and type(lines) is dict and type(body_line) is int:
            return doc, meta, body, body_key
    except (TypeError, ValueError, KeyError, AttributeError):
        pass
    return None
