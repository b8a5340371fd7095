"""Source files parsed by an earlier build, remembered by their signature so that an unchanged file is not read again.

A file's signature is its size, modification and status-change times, inode and device. A file is
remembered only when both its times are older, by a margin wider than any file system's timestamp
granularity, than the moment this build looked at it (before reading it). Any later edit, even one
that keeps the size, then gives the file times that differ from the remembered ones: the "racy"
case that git guards its index against in the same way. Setting a file's modification time by hand
also moves its status-change time. A file edited just before a build is read and hashed as usual.

What is remembered: the file split into front-matter and body (front-matter values as typed JSON)
and its converted Markdown. The front-matter is checked again on every build, since that depends
on the settings. The build cache's scope names the storysite version, the Markdown engine, the
YAML loader and the site folder.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cache import BuildCache, version_scope
from .markup import MARKDOWN_ENGINE, Rendered
from .sources import Document
from .yamlload import YAML_ENGINE

NAMESPACE = "parsed-files"
MARGIN_NS = 3 * 10**9
"""How much older than the build a file's times must be to trust them (FAT keeps times to 2 s)."""
_DATE, _DATETIME = "\x00date", "\x00datetime"


class ParsedFiles:
    """The parsed files an earlier build remembered, and the ones this build adds."""

    def __init__(self, cache: BuildCache | None, root: Path) -> None:
        """Remember nothing when `cache` is None or off."""
        self.cache = cache if cache is not None and cache.enabled else None
        self.signatures: dict[Path, list[int]] = {}
        self.looked_at = time.time_ns()
        if self.cache is not None:
            self.cache.namespace(NAMESPACE, version_scope(MARKDOWN_ENGINE, YAML_ENGINE, str(root)))

    def recall(self, paths: Sequence[Path]) -> dict[Path, tuple[Document, Rendered]]:
        """The files among `paths` whose signature is the one remembered, as they were parsed then."""
        if self.cache is None:
            return {}
        self.looked_at = time.time_ns()
        for path in paths:
            try:
                status = os.stat(path)
            except OSError:
                continue  # reading it reports what is wrong
            self.signatures[path] = [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_dev]
        # A file changed within the margin cannot match what a build remembered: that had older times.
        settled = [path for path in paths if path in self.signatures and self._settled(self.signatures[path])]
        stored = self.cache.get_many(NAMESPACE, [str(path) for path in settled])
        found = {}
        for path in settled:
            value = stored.get(str(path))
            if isinstance(value, list) and len(value) == 2 and value[0] == self.signatures[path]:
                parsed = _decoded(path, value[1])
                if parsed is not None:
                    found[path] = parsed
        return found

    def remember(self, doc: Document, body: Rendered) -> None:
        """Remember a file read by this build, if its signature can be trusted."""
        signature = self.signatures.get(doc.path)
        if self.cache is None or signature is None or not self._settled(signature):
            return
        meta = _encoded(doc.meta)
        if meta is not _UNSUPPORTED:
            fields = [doc.shown, meta, doc.lines, doc.body, doc.body_line, doc.removed_lines, body.html, body.first_paragraph, body.word_count]
            self.cache.put(NAMESPACE, str(doc.path), [signature, fields])


    def _settled(self, signature: list[int]) -> bool:
        """Whether a file's modification and status-change times are older than this build by the margin."""
        return max(signature[1], signature[2]) < self.looked_at - MARGIN_NS


class _Unsupported:
    """A front-matter value JSON cannot carry exactly (a set, bytes, a key that is not text)."""


_UNSUPPORTED = _Unsupported()


def _encoded(value: Any) -> Any:
    """A front-matter value as JSON (dates tagged), or _UNSUPPORTED."""
    kind = type(value)
    if kind in (str, int, float, bool) or value is None:
        return value
    if kind is list:
        items = [_encoded(item) for item in value]
        return _UNSUPPORTED if any(item is _UNSUPPORTED for item in items) else items
    if kind is dict:
        if not all(type(key) is str and not key.startswith("\x00") for key in value):
            return _UNSUPPORTED
        fields = {key: _encoded(item) for key, item in value.items()}
        return _UNSUPPORTED if any(item is _UNSUPPORTED for item in fields.values()) else fields
    if kind is dt.date:
        return {_DATE: value.isoformat()}
    if kind is dt.datetime and (value.tzinfo is None or type(value.tzinfo) is dt.timezone):
        return {_DATETIME: value.isoformat()}
    return _UNSUPPORTED


def _decoded_value(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return [_decoded_value(item) for item in value]
    if kind is dict:
        if _DATE in value:
            return dt.date.fromisoformat(value[_DATE])
        if _DATETIME in value:
            return dt.datetime.fromisoformat(value[_DATETIME])
        return {key: _decoded_value(item) for key, item in value.items()}
    return value


def _decoded(path: Path, fields: Any) -> tuple[Document, Rendered] | None:
    """A remembered file back as a Document and its Markdown; None for a value of another shape."""
    try:
        shown, meta, lines, body, body_line, removed, html, first_paragraph, word_count = fields
        doc = Document(path, shown, _decoded_value(meta), lines, body, body_line, tuple(removed))
        checks = (
            (shown, str), (doc.meta, dict), (lines, dict), (body, str), (body_line, int), (html, str), (first_paragraph, str), (word_count, int),
        )
        if all(isinstance(value, kind) for value, kind in checks) and all(isinstance(line, int) for line in removed):
            return doc, Rendered(html, first_paragraph, word_count)
    except (TypeError, ValueError):
        pass
    return None
