"""The relate state on disk: a state file with all of it, and a small changes file beside it.

The state file holds the state's plain values (`marshal`: plain tuples, lists, dicts, strings,
numbers; unlike a pickle it cannot run code) and, after them, the marshalled values of its large
tables (term holders, index keys, vectors, relations) one after another: a build reads only the
entries it asks for. The changes file holds the entries that changed since the state file was
written (an edit changes a few hundred of the state's entries: writing them all again took longer
than the rest of the stage), the random key of the state file it belongs to, and that file's
signature (`cache.file_signature`) as the last build left it: a state file with another signature
is checked whole before it is trusted. Each file has a checksum; a damaged, cut short or foreign
file means a full relate, never a wrong result. Each is written in one go (a new file put in place),
so a killed build leaves no half of one.
"""

from __future__ import annotations

import logging
import marshal
import os
import weakref
from array import array
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from itertools import compress, filterfalse
from operator import is_not
from pathlib import Path
from typing import Any

from .cache import file_signature, read_beside, write_beside
from .relate_store import MARSHAL_VERSION, STORED, RelateState

log = logging.getLogger(__name__)

STATE_FILE = "relate-state.marshal"
CHANGES_FILE = "relate-state-changes.marshal"
FORMAT = "storysite-relate-state-4"
CHANGES_FORMAT = "storysite-relate-state-changes-2"
TABLES = ("holders", "indexed", "vectors", "ranked")
"""The state's large tables of marshalled values: read from the state file entry by entry."""
PLAIN = ("ids", "texts", "metas", "postings", "candidates", "shown")
"""The state's other values by story or index key: loaded whole."""
REWRITE_SHARE = 8
"""Changes bigger than this share of the state file make the whole state be written again."""
_HEAD = 12
"""Checksum (4 bytes) and the length of the plain values (8 bytes)."""


@dataclass(frozen=True)
class Base:
    """A state file as loaded: what its changes file lists changes against.

    Values of the state are replaced, never changed in place: an entry whose value is another
    object than the file's is one that changed.
    """

    key: bytes
    """A random name of the file, written in it and in its changes file."""
    signature: list[int]
    """`cache.file_signature` of the file as it was loaded, its contents checked or as the last build left it."""
    size: int
    plain: dict[str, dict[str, Any]]
    """The state's `PLAIN` values as the file holds them (copies)."""
    slugs: list[str]


class _Reader:
    """Reads parts of an open file; the file closes when no table needs it any more."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        weakref.finalize(self, os.close, self.fd)

    def read(self, start: int, end: int) -> bytes:
        if hasattr(os, "pread"):
            found = os.pread(self.fd, end - start, start)
        else:  # Windows has no pread
            os.lseek(self.fd, start, os.SEEK_SET)
            found = os.read(self.fd, end - start)
        if len(found) != end - start:
            raise ValueError("the state file was cut short while in use")
        return found


class Table(MutableMapping[str, bytes]):
    """A table of the state file: its entries read when asked for, its changes kept aside (as the changes file lists them)."""

    def __init__(self, reader: _Reader | None = None, keys: list[str] | None = None, bounds: array[int] | None = None) -> None:
        self._reader = reader
        self._index = dict(zip(keys or [], range(len(keys or []))))
        self._bounds = bounds if bounds is not None else array("q", [0])
        if len(self._bounds) != len(self._index) + 1:
            raise ValueError("a table of another length")
        self.changed: dict[str, bytes] = {}
        self.gone: set[str] = set()

    def __getitem__(self, key: str) -> bytes:
        value = self.changed.get(key)
        if value is not None:
            return value
        if key in self.gone:
            raise KeyError(key)
        index = self._index[key]
        assert self._reader is not None
        return self._reader.read(self._bounds[index], self._bounds[index + 1])

    def __setitem__(self, key: str, value: bytes) -> None:
        self.changed[key] = value
        self.gone.discard(key)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self.changed.pop(key, None)
        if key in self._index:
            self.gone.add(key)

    def __contains__(self, key: object) -> bool:
        return key in self.changed or (key in self._index and key not in self.gone)

    def __iter__(self) -> Iterator[str]:
        yield from (key for key in self._index if key not in self.gone and key not in self.changed)
        yield from self.changed

    def __len__(self) -> int:
        return len(self._index) - len(self.gone) + len(self.changed.keys() - self._index.keys())


def load_state(path: Path, scope: str) -> RelateState | None:
    """The state stored at `path` (and the changes beside it), or None when there is none or it cannot be trusted."""
    try:
        changes = _read_changes(path.with_name(CHANGES_FILE))
        reader = _Reader(path)
        signature = file_signature(os.fstat(reader.fd))
        if (changes is None or changes[2] != signature) and read_beside(path) is None:
            return None  # (a file written since the last build noted it may be anything: read_beside checks it whole)
        head = reader.read(0, _HEAD)
        size = int.from_bytes(head[4:], "little")
        if _HEAD + size > signature[0]:
            raise ValueError("another format")  # (a length no file of this format holds: never read that much)
        stored = marshal.loads(reader.read(_HEAD, _HEAD + size))
        if not isinstance(stored, tuple) or len(stored) != 4 or stored[0] != FORMAT:
            raise ValueError("another format")
        _, key, values, tables = stored
        if values["scope"] != scope:
            return None
        region = _HEAD + size
        found: dict[str, Any] = {
            name: Table(reader, keys, array("q", (region + bound for bound in array("q", bounds)))) for name, (keys, bounds) in tables.items()
        }
        state = RelateState(**values, **found)
        state.base = Base(key, signature, signature[0], {name: dict(getattr(state, name)) for name in PLAIN}, state.slugs)
        if changes is not None:
            _apply(state, changes)
    except OSError:
        return None
    except (ValueError, EOFError, TypeError, LookupError, AttributeError) as exc:
        log.info("the stored related stories %s are unreadable (%s); relating every story", path, exc)
        return None
    return state


def _read_changes(path: Path) -> tuple[Any, ...] | None:
    """The changes file's values, or None when there is none (the state file alone is then the state)."""
    data = read_beside(path)
    if data is None:
        return None
    changes = marshal.loads(data)
    if not isinstance(changes, tuple) or len(changes) != 6 or changes[0] != CHANGES_FORMAT:
        raise ValueError("changes of another format")
    return changes


def _apply(state: RelateState, changes: tuple[Any, ...]) -> None:
    """Bring a state as its file holds it up to date with the changes file's entries."""
    _, key, _, slugs, newest, keyed = changes
    assert state.base is not None
    if key != state.base.key:
        raise ValueError("changes to another state")
    if slugs is not None:
        state.slugs = slugs
    state.newest_day = newest
    for name in (*PLAIN, *TABLES):
        changed, gone = keyed[name]
        values = getattr(state, name)
        for entry in gone:
            values.pop(entry, None)
        values.update(changed)


def save_state(path: Path, state: RelateState) -> None:
    """Store `state` at `path`: only its changes when it was loaded from there and they are few, else all of it."""
    base, changes_path = state.base, path.with_name(CHANGES_FILE)
    if base is not None and all(isinstance(getattr(state, name), Table) for name in TABLES):
        body = _changes_body(state, base)
        if len(body) <= base.size // REWRITE_SHARE:
            write_beside(changes_path, "the related stories", body)
            return
    # Changes of another state file must never be read with the new one: they go first.
    changes_path.unlink(missing_ok=True)
    key = os.urandom(16)
    parts, tables = [], {}
    end = 0
    for name in TABLES:
        table: Mapping[str, bytes] = getattr(state, name)
        keys, bounds = list(table), array("q", [end])
        for entry in keys:
            parts.append(value := table[entry])
            end += len(value)
            bounds.append(end)
        tables[name] = (keys, bounds.tobytes())
    values = {name: getattr(state, name) for name in STORED if name not in TABLES}
    head = marshal.dumps((FORMAT, key, values, tables), MARSHAL_VERSION)
    if write_beside(path, "the related stories", len(head).to_bytes(8, "little"), head, *parts):
        # Until the state file changes, the next build need not check what it holds (a large file takes a while).
        none: dict[str, tuple[dict[str, Any], list[str]]] = {name: ({}, []) for name in (*PLAIN, *TABLES)}
        body = marshal.dumps((CHANGES_FORMAT, key, file_signature(os.stat(path)), None, state.newest_day, none), MARSHAL_VERSION)
        write_beside(changes_path, "the related stories", body)


def _changes_body(state: RelateState, base: Base) -> bytes:
    """The changes file of `state`: each entry whose value is not the state file's own object, and the entries gone."""
    keyed: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for name in PLAIN:
        now, before = getattr(state, name), base.plain[name]
        changed = compress(now, map(is_not, now.values(), map(before.get, now)))
        keyed[name] = ({entry: now[entry] for entry in changed}, list(filterfalse(now.__contains__, before)))
    for name in TABLES:
        table: Table = getattr(state, name)
        keyed[name] = (table.changed, sorted(table.gone))
    slugs = None if state.slugs == base.slugs else state.slugs
    return marshal.dumps((CHANGES_FORMAT, base.key, base.signature, slugs, state.newest_day, keyed), MARSHAL_VERSION)
