"""Page records on disk: one marshalled file beside the build cache, its values in columns.

The file holds the records of the last build that kept any (the output folder and the scope they
were made for are in it): the tables every page points into (objects by name with a digest of each
whole, sets of attribute names, reads as (object, attribute set) with a digest of each value) and,
per page, its path, call digest, file status, origin and reads. Each kind of value is one column, a
list of strings or the bytes of an array of numbers, so the file loads in a few milliseconds and a
page's record is a few indexes into it. It is written whole, to a new file put in place, behind a
CRC-32 checksum; a file that does not match it, or whose columns do not fit each other, is not used.
"""

from __future__ import annotations

import logging
import marshal
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate, compress, count, repeat
from operator import is_
from pathlib import Path
from typing import Any, cast

from .cache import read_beside, write_beside

log = logging.getLogger(__name__)

RECORDS_FILE = "page-records.marshal"
FORMAT = "storysite-page-records-4"
DIGEST = 16
CALL = DIGEST + 1
"""A page's call digest: one byte (1 when the page read the scores of related links), then the digest."""
STATUS = 3
"""Numbers of a page's file status: size, modification time (ns), inode."""
_MARSHAL_VERSION = 4
WHOLE = ("*",)
"""The attribute names of a read of an object whole."""


@dataclass(frozen=True)
class StoredPages:
    """The last build's records, as loaded."""

    keys: list[str]
    wholes: bytes
    """A digest of each object, in the order of `keys`."""
    attrs: list[tuple[str, ...]]
    pairs: list[tuple[int, int]]
    """(key index, attrs index) of each read."""
    pair_keys: array[int]
    pair_attrs: array[int]
    """`pairs` as two columns."""
    pair_digests: bytes
    paths: list[str]
    index: dict[str, int]
    """Each page's place in the page columns, by path."""
    calls: bytes
    """Each page's call digest (`CALL` bytes)."""
    files: array[int]
    """Each page's file status as the build left it (`STATUS` numbers)."""
    origins: list[str]
    reads: array[int]
    """The reads of every page, one page after another (indexes into `pairs`)."""
    ends: array[int]
    """Where each page's reads end in `reads`."""

    def reads_of(self, index: int) -> array[int]:
        return self.reads[self.ends[index - 1] if index else 0 : self.ends[index]]


class Tables:
    """The objects, attribute sets and reads that page records point into, with a digest of each (the last build's, and new ones)."""

    def __init__(self, base: StoredPages | None) -> None:
        self.keys = list(base.keys) if base else []
        self.attrs = list(base.attrs) if base else []
        self.pair_keys = array("I", base.pair_keys if base else b"")
        self.pair_attrs = array("I", base.pair_attrs if base else b"")
        self.digests = bytearray(base.pair_digests if base else b"")
        self.old_wholes = base.wholes if base else b""
        self._old_pairs = len(self.pair_keys)
        self._key_index = dict(zip(self.keys, count()))
        self._attrs_index = dict(zip(self.attrs, count()))
        self._pair_index: dict[tuple[str, tuple[str, ...]], int] = {}
        self._unindexed = set(range(len(self.keys)))
        """The keys of the last build whose reads `_pair_index` does not hold yet (a build that renders few pages needs few)."""

    def expect(self, keys: Iterable[str]) -> None:
        """Make ready for reads of the objects `keys` to be `put` (their reads are found in one pass)."""
        if not self._unindexed:
            return
        found = {self._key_index[key] for key in keys if key in self._key_index} & self._unindexed
        if found:
            self._unindexed -= found
            pair_keys, pair_attrs, key_names, attrs_names = self.pair_keys, self.pair_attrs, self.keys, self.attrs
            self._pair_index.update(
                ((key_names[pair_keys[index]], attrs_names[pair_attrs[index]]), index)
                for index in compress(count(), map(found.__contains__, pair_keys))
            )

    def put(self, key: str, names: tuple[str, ...], digest: bytes) -> int:
        """The index of a read, with the digest of its value now."""
        return self.put_all((key, names), digest)[0]

    def put_all(self, reads: tuple[str | tuple[str, ...], ...], digests: bytes, wholes: dict[str, bytes] | None = None) -> array[int]:
        """The index of each read of `reads` (object key, attribute names, key, names...), with the digests of their values now.

        `wholes` is given the digest of each object read whole (`WHOLE`) by a read new to the tables or taken from the last build.
        """
        keys = cast(tuple[str, ...], reads[0::2])
        self.expect(keys)
        pairs = list(zip(keys, cast(tuple[tuple[str, ...], ...], reads[1::2])))
        found: list[int | None] = list(map(self._pair_index.get, pairs))
        stored, key_index, attrs_index, pair_index = self.digests, self._key_index, self._attrs_index, self._pair_index
        for position in compress(count(), map(is_, found, repeat(None))):
            key, names = pair = pairs[position]
            found_key = key_index.get(key)
            if found_key is None:
                found_key = key_index[key] = len(self.keys)
                self.keys.append(key)
            found_attrs = attrs_index.get(names)
            if found_attrs is None:
                found_attrs = attrs_index[names] = len(self.attrs)
                self.attrs.append(names)
            found[position] = pair_index[pair] = len(self.pair_keys)
            self.pair_keys.append(found_key)
            self.pair_attrs.append(found_attrs)
            digest = digests[position * DIGEST : (position + 1) * DIGEST]
            stored += digest
            if wholes is not None and names == WHOLE:
                wholes.setdefault(key, digest)
        indexes = array("I", cast(list[int], found))
        if self._old_pairs:  # the last build's reads take the digests of their values now (one new this build has one digest)
            for position in compress(count(), map(self._old_pairs.__gt__, indexes)):
                index = indexes[position]
                digest = digests[position * DIGEST : (position + 1) * DIGEST]
                stored[index * DIGEST : (index + 1) * DIGEST] = digest
                if wholes is not None and pairs[position][1] == WHOLE:
                    wholes.setdefault(pairs[position][0], digest)
        return indexes

    def wasteful(self, reads: array[int]) -> int:
        """How many reads the tables hold that no page needs (of stories renamed or deleted over many builds)."""
        return len(self.pair_keys) - len(set(reads))

    def compacted(self, reads: array[int]) -> tuple[Tables, array[int]]:
        """Tables of the reads `reads` name alone, and `reads` as indexes into them."""
        tables = Tables(None)
        carried: dict[int, int] = {}

        def carry(index: int) -> int:
            if index not in carried:
                key, names = self.keys[self.pair_keys[index]], self.attrs[self.pair_attrs[index]]
                carried[index] = tables.put(key, names, bytes(self.digests[index * DIGEST : (index + 1) * DIGEST]))
            return carried[index]

        remapped = array("I", map(carry, reads))
        old_wholes = dict(zip(self.keys, (self.old_wholes[i * DIGEST : (i + 1) * DIGEST] for i in range(len(self.keys)))))
        tables.old_wholes = b"".join(old_wholes.get(key, b"") for key in tables.keys)
        return tables, remapped

    def values(self, wholes: Callable[[list[str], bytes], bytes]) -> tuple[Any, ...]:
        """The tables as stored, `wholes(keys, old_wholes)` giving the digest of each object whole."""
        return (self.keys, wholes(self.keys, self.old_wholes), self.attrs, self.pair_keys.tobytes(), self.pair_attrs.tobytes(), bytes(self.digests))


class PageColumns:
    """The page records of a build being saved, column by column."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.calls = bytearray()
        self.files = array("q")
        self.origins: list[str] = []
        self.reads = array("I")
        self.counts = array("I")

    def carry(self, stored: StoredPages, indexes: Iterable[int]) -> None:
        """The records of pages kept this build, as the last build left them (in runs of neighbours, copied at once)."""
        ordered = sorted(indexes)
        start = 0
        while start < len(ordered):
            end = start + 1
            while end < len(ordered) and ordered[end] == ordered[end - 1] + 1:
                end += 1
            first, last = ordered[start], ordered[end - 1] + 1
            self.paths += stored.paths[first:last]
            self.calls += stored.calls[first * CALL : last * CALL]
            self.files += stored.files[first * STATUS : last * STATUS]
            self.origins += stored.origins[first:last]
            reads_from = stored.ends[first - 1] if first else 0
            self.reads += stored.reads[reads_from : stored.ends[last - 1]]
            self.counts += array("I", (end - begin for begin, end in zip([reads_from, *stored.ends[first : last - 1]], stored.ends[first:last])))
            start = end

    def add(self, path: str, call: bytes, status: tuple[int, int, int], origin: str, reads: array[int]) -> None:
        """The record of a page rendered this build (`status`: its file's size, modification time and inode)."""
        self.paths.append(path)
        self.calls += call
        self.files.extend(status)
        self.origins.append(origin)
        self.reads.extend(reads)
        self.counts.append(len(reads))

    def values(self) -> tuple[Any, ...]:
        return (self.paths, bytes(self.calls), self.files.tobytes(), self.origins, self.reads.tobytes(), self.counts.tobytes())


def save_pages(path: Path, scope: str, out_dir: str, tables: tuple[Any, ...], pages: tuple[Any, ...]) -> None:
    """Store records at `path` in one write (a new file put in place: a reader never sees half of one)."""
    write_beside(path, "the page records", marshal.dumps((FORMAT, scope, out_dir, *tables, *pages), _MARSHAL_VERSION))


def load_pages(path: Path, scope: str, out_dir: str) -> StoredPages | None:
    """The records stored at `path` for `out_dir` in `scope`, or None when there are none or they cannot be trusted."""
    try:
        body = read_beside(path)
        if body is None:
            return None
        value = marshal.loads(body)
        if type(value) is not tuple or len(value) != 15 or value[0] != FORMAT:
            raise ValueError("another format")
        if value[1] != scope or value[2] != out_dir:
            return None
        stored = _stored(*value[3:])
    except (ValueError, EOFError, TypeError, IndexError, OverflowError) as exc:
        log.info("the page records %s are unreadable (%s); rendering every page", path, exc)
        return None
    return stored


def _stored(
    keys: list[str], wholes: bytes, attrs: list[tuple[str, ...]], pair_keys: bytes, pair_attrs: bytes, pair_digests: bytes,
    paths: list[str], calls: bytes, files: bytes, origins: list[str], reads: bytes, counts: bytes,
) -> StoredPages:
    """The stored columns, checked to fit each other (ValueError or TypeError when they do not)."""
    numbers = [array("I", pair_keys), array("I", pair_attrs), array("q", files), array("I", reads), array("I", counts)]
    key_of, attrs_of, file_status, read_pairs, read_counts = numbers
    ends = array("I", accumulate(read_counts))
    if not (
        _all_of(str, keys) and _all_of(str, paths) and _all_of(str, origins) and _all_of(tuple, attrs)
        and all(_all_of(str, names) for names in attrs) and _all_of(bytes, (wholes, pair_digests, calls))
        and len(wholes) == DIGEST * len(keys) and len(key_of) == len(attrs_of) and len(pair_digests) == DIGEST * len(key_of)
        and (not key_of or (max(key_of) < len(keys) and max(attrs_of) < len(attrs)))
        and len(paths) == len(origins) == len(read_counts) and len(calls) == CALL * len(paths) and len(file_status) == STATUS * len(paths)
        and (ends[-1] if ends else 0) == len(read_pairs) and (not read_pairs or max(read_pairs) < len(key_of))
    ):
        raise ValueError("columns that do not fit each other")
    index = dict(zip(paths, count()))
    if len(index) != len(paths):
        raise ValueError("a page recorded twice")
    return StoredPages(keys, wholes, attrs, list(zip(key_of, attrs_of)), key_of, attrs_of, pair_digests, paths, index, calls, file_status, origins, read_pairs, ends)


def _all_of(kind: type, values: Iterable[object]) -> bool:
    return type(values) in (list, tuple) and set(map(type, values)) <= {kind}
