"""Pages kept from the last build without rendering them again, remembered in the build cache.

While a page renders, every attribute its templates read from a story, page, term or the site
(through Jinja's getattr/getitem, the only way templates reach them) is recorded with a digest of
its value, and so is a digest of what the page was asked to show (site-model objects by name,
plain values by value; `incremental.same_value` says the same). The objects a page's own values
are made from in Python (its story, the stories of a home page) count as read whole.

The next build keeps a page as it is on disk when it is asked to show the same, every attribute it
read has the same value, and the file is as that build left it (size, modification time, inode):
no render, and the writer need not compare bytes. Everything else a page depends on (templates,
theme files, UI strings, the settings, the versions of storysite, Python and the libraries) is the
records' scope: any change to it renders every page again.

Digests are of values made plain (see `_Digests`); the records are stored in a file beside the
build cache (see `page_store`), which holds those of the last build that kept any.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import marshal
import os
import pickle
import sys
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from itertools import compress, count
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jinja2 import Environment

from .cache import BuildCache, files_key, version_scope
from .collector import collector_paused
from .config import Config
from .incremental import identity, site_objects, trace_reads
from .listing import Listing
from .model import Page, RelatedLink, Site, SiteInfo, Story, Term, TermRef
from .page_store import (
    CALL,
    DIGEST,
    FORMAT,
    RECORDS_FILE,
    WHOLE,
    PageColumns,
    StoredPages,
    Tables,
    load_pages,
    save_pages,
)
from .render import Output, ShownLinks
from .unchanged import library_versions

_RETIRED_NAMESPACE = "page-records"
"""Where the build cache held page records before they had a file of their own: emptied once."""
_SCORE_FIELDS = frozenset(f.name for f in fields(RelatedLink)) - {"story", "reasons", "pinned"}
_DIGEST = DIGEST
SLACK = 1000
"""Reads no page needs that the tables may hold before they are compacted."""

Fresh = tuple[str, bytes, str, tuple[str | tuple[str, ...], ...], bytes]
"""A page just rendered: its path, call digest (see `page_store.CALL`), origin, reads (object key, attribute names, key, names...)
and the digest of each read's value (made where the page rendered: in a render worker, most of them)."""
_NAMED = (Story, Page, Term, SiteInfo)
"""The site model's objects, known by name from build to build (see `incremental.identity`)."""


def records_scope(config: Config, theme_folders: Iterable[Path]) -> str:
    """Everything pages depend on besides what they were asked to show and what they read."""
    files = [path for folder in theme_folders for path in folder.rglob("*") if path.is_file()]
    return version_scope(FORMAT, sys.version, repr(config), *library_versions(), files_key(files))


def _key(value: object) -> str | None:
    found = identity(value)
    return None if found is None else "\x1f".join(found)


_MARK = ...
"""Opens the plain form of every value that is not plain data itself (an Ellipsis in a value is marked too)."""
_ATOMS = frozenset({str, int, float, bool, type(None), bytes})
_MANY = 16
"""Values in a tuple worth looking up as site-model objects all at once."""
_LINK = "link"
"""The mark of a related link whose score a page does not show."""
_PICKLED = "pickle"


class _Digests:
    """Digests of values: equal digests mean values a template cannot tell apart.

    A value is turned into plain data that `marshal` writes (version 2: no references, so the
    bytes depend on the values alone, not on sharing), which is then hashed. Site-model objects
    count by name; related links count without their scores unless asked to; other dataclasses
    by their fields; a mapping proxy, date and time or path by its type and what it holds; any
    other type by its pickle. Every such form opens with `_MARK` and what it stands for, which
    plain data never does: different values never give the same plain form.
    """

    def __init__(self, keys: Mapping[int, str]) -> None:
        self._keys = keys
        self._scores = True
        self._named: dict[int, tuple[Any, ...]] = {}
        self._convert = _Converters(self)
        self._shared: dict[int, tuple[object, tuple[Any, ...]]] = {}
        """Plain forms of frozen objects of plain data by id, with the object (so that its id is not reused)."""

    def of(self, value: object, scores: bool = True) -> bytes:
        self._scores = scores
        return hashlib.blake2b(marshal.dumps(self.plain(value), 2), digest_size=_DIGEST).digest()

    def of_call(self, call: tuple[Any, ...], scores: bool) -> bytes:
        """`of(call)`, made the quick way for a page's call (`render.Renderer._call`): plain values, then a context."""
        head, context = call
        self._scores = scores
        if not _ATOMS.issuperset(map(type, head)):
            head = self.plain_tuple(head)
        return hashlib.blake2b(marshal.dumps((head, self.plain_dict(context)), 2), digest_size=_DIGEST).digest()

    def of_fields(self, obj: object) -> bytes:
        """The digest of an object's own field values (nested site-model objects by name)."""
        self._scores = True
        return hashlib.blake2b(marshal.dumps(self.plain_tuple(_fields_of(type(obj))[1](obj)), 2), digest_size=_DIGEST).digest()

    def of_story(self, story: Story, text: str) -> bytes:
        """`of_fields` of a story, its title, summary and content taken in as their digest `text` (see `relate_store.text_digest`)."""
        self._scores = True
        values = self.plain_tuple(_STORY_REST(story))
        return hashlib.blake2b(marshal.dumps((_MARK, "text", text, values), 2), digest_size=_DIGEST).digest()

    def plain(self, value: Any) -> Any:
        kind = type(value)
        return value if kind in _ATOMS else self._convert[kind](value)

    def plain_tuple(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        atoms = _ATOMS
        if atoms.issuperset(map(type, values)):
            return values
        if len(values) > _MANY and type(values[0]) in _NAMED and (known := self.all_named(values)) is not None:
            return tuple(known)
        convert = self._convert
        return tuple([value if type(value) in atoms else convert[type(value)](value) for value in values])

    def all_named(self, values: tuple[Any, ...]) -> list[tuple[Any, ...]] | None:
        """The plain forms of many values that are all site-model objects of this build (a term's stories), at once; else None."""
        found = list(map(self._named.get, map(id, values)))
        return None if None in found else found

    def plain_list(self, values: list[Any]) -> list[Any]:
        atoms, convert = _ATOMS, self._convert
        return [value if type(value) in atoms else convert[type(value)](value) for value in values]

    def plain_dict(self, mapping: Mapping[Any, Any]) -> dict[Any, Any]:
        atoms = _ATOMS
        if not atoms.issuperset(map(type, mapping)):
            plain = self.plain
            return {plain(key): plain(value) for key, value in mapping.items()}
        if atoms.issuperset(map(type, mapping.values())):
            return dict(mapping)
        convert = self._convert
        return {key: value if type(value) in atoms else convert[type(value)](value) for key, value in mapping.items()}

    def proxy(self, proxy: MappingProxyType[Any, Any]) -> tuple[Any, ...]:
        return (_MARK, "mappingproxy", self.plain_dict(proxy))

    def named(self, obj: object) -> tuple[Any, ...]:
        known = self._named.get(id(obj))
        if known is not None:
            return known
        key = self._keys.get(id(obj))
        return (_MARK, None, key if key is not None else _key(obj))

    def know(self, objects: Mapping[str, object]) -> None:
        """The plain forms of the site-model objects of this build (alive as long as these records)."""
        self._named = {id(obj): (_MARK, None, key) for key, obj in objects.items()}

    def link(self, link: RelatedLink) -> tuple[Any, ...]:
        if self._scores:
            return self.dataclass(link)
        return (_MARK, _LINK, self.plain(link.story), self.plain_tuple(link.reasons), link.pinned)

    def shown_links(self, value: ShownLinks) -> tuple[Any, ...]:
        """A story page's related links: the digest of what it shows of them, or the links themselves when scores count."""
        if self._scores:
            return (_MARK, "links", self.plain(value.links()))
        return (_MARK, "shown", value.shown)

    def dataclass(self, obj: object) -> tuple[Any, ...]:
        name, values = _fields_of(type(obj))
        return (_MARK, name, self.plain_tuple(values(obj)))

    def shared(self, obj: object) -> tuple[Any, ...]:
        """A frozen dataclass's plain form, made once for an object many values hold (a story's niche and tags)."""
        known = self._shared.get(id(obj))
        if known is None:
            name, values = _fields_of(type(obj))
            plain = self.plain_tuple(values(obj))
            if not _ATOMS.issuperset(map(type, plain)):
                return (_MARK, name, plain)  # it holds values that may change: never remembered
            known = self._shared[id(obj)] = (obj, (_MARK, name, plain))
        return known[1]


class _Converters(dict[type, Callable[[Any], Any]]):
    """What turns a value of each type other than `_ATOMS` into plain data, found when the type is first met."""

    def __init__(self, digests: _Digests) -> None:
        super().__init__({kind: digests.named for kind in _NAMED})
        self.update({
            tuple: digests.plain_tuple, list: digests.plain_list, dict: digests.plain_dict, MappingProxyType: digests.proxy,
            dt.datetime: _plain_datetime, type(Path()): _plain_path, RelatedLink: digests.link, TermRef: digests.shared,
            ShownLinks: digests.shown_links,
        })
        self._digests = digests

    def __missing__(self, kind: type) -> Callable[[Any], Any]:
        found = self[kind] = self._digests.dataclass if is_dataclass(kind) else _pickled
        return found


def _pickled(value: object) -> tuple[Any, ...]:
    return (_MARK, _PICKLED, pickle.dumps(value, protocol=5))


_FIELDS: dict[type, tuple[str, Callable[[Any], tuple[Any, ...]]]] = {}


def _fields_of(kind: type) -> tuple[str, Callable[[Any], tuple[Any, ...]]]:
    """A dataclass type's full name, and what gives the values of its fields (in one call)."""
    found = _FIELDS.get(kind)
    if found is None:
        names = [f.name for f in fields(kind)]
        getter = attrgetter(*names) if len(names) > 1 else (lambda obj: tuple(getattr(obj, name) for name in names))
        found = _FIELDS[kind] = (f"{kind.__module__}.{kind.__qualname__}", getter)  # type: ignore[assignment]
    return found  # type: ignore[return-value]


_STORY_REST = attrgetter(*(f.name for f in fields(Story) if f.name not in ("title", "summary", "content")))
"""A story's fields but those `relate_store.text_digest` digests."""


def _plain_datetime(value: dt.datetime) -> tuple[Any, ...]:
    # The zone's repr tells zones of one offset apart.
    return (_MARK, "datetime", value.isoformat(), repr(value.tzinfo))


def _plain_path(path: Path) -> tuple[Any, ...]:
    return (_MARK, "path", str(path))


class PageRecords:
    """Keeps pages whose inputs did not change since the last build; records what each rendered page read."""

    def __init__(self, out_dir: Path, stored: StoredPages | None = None, status: Callable[[str], os.stat_result] | None = None) -> None:
        """`status`: an output file's status by path, not followed (the writer's look, when the build has one); OSError: none."""
        self.out_dir = out_dir
        self._output_status = status or (lambda path: os.stat(os.path.join(out_dir, path), follow_symlinks=False))
        self._stored = stored
        self._objects: dict[str, object] = {}
        self._keys: dict[int, str] = {}
        self._digests = _Digests(self._keys)
        self._wholes: dict[str, bytes] = {}
        self._pair_values: dict[tuple[str, tuple[str, ...]], bytes] = {}
        self._failing_reads: set[int] | None = None
        self._failing_pages: set[int] | None = None
        self._texts: Mapping[str, str] = {}
        self._known: Mapping[str, bytes] = {}
        self._kept: dict[str, int] = {}
        """Pages kept this build, by path: their places in the stored records."""
        self._fresh: dict[str, tuple[bytes, str, array[int]]] = {}
        """Pages rendered this build, by path: call digest, origin and reads (as places in `_tables`)."""
        self._tables: Tables | None = None
        self._reading: dict[str, set[str]] | None = None
        self._shared_names: dict[tuple[str, ...], tuple[str, ...]] = {WHOLE: WHOLE}
        self._last: Fresh | None = None
        self._scores = False
        self.kept_count = 0

    @property
    def has_stored(self) -> bool:
        """True when the last build left records to keep pages by."""
        return bool(self._stored and self._stored.paths)

    def start(
        self, site: Site, env: Environment, texts: Mapping[str, str] | None = None, digests: Mapping[str, bytes] | None = None,
    ) -> None:
        """Begin rendering `site`: know its objects by name, and trace attribute reads in `env`.

        `texts`, when the caller has them: each story's `relate_store.text_digest` by slug (of its
        title, summary and content, which a story's digest then need not go through again).
        `digests`: stories' digests (`digest_of`) that the caller knows, by slug.
        """
        self._texts = texts or {}
        self._known = digests or {}
        self._objects = {"\x1f".join(key): value for key, value in site_objects(site).items()}
        self._keys.clear()
        self._keys.update((id(value), key) for key, value in self._objects.items())
        self._digests.know(self._objects)
        trace_reads(env, self._note, (*_NAMED, RelatedLink))

    def _note(self, obj: object, name: object) -> None:
        reading = self._reading
        if reading is None or not isinstance(name, str):
            return
        if type(obj) is RelatedLink:
            if name in _SCORE_FIELDS:
                self._scores = True
            return
        key: str = self._keys.get(id(obj)) or _key(obj)  # type: ignore[assignment]
        names = reading.get(key)
        if names is None:
            names = reading[key] = set()
        names.add(name)

    def kept(self, path: str, call: tuple[Any, ...]) -> Output | None:
        """The page as it is on disk, when it is asked to show what it showed and read nothing that changed.

        Its output names no source: the writer need neither copy nor compare it.
        """
        stored = self._stored
        index = stored.index.get(path) if stored is not None else None
        if index is None or index in (self._failing_pages if self._failing_pages is not None else self._failing_at()):
            return None
        recorded = stored.calls[index * CALL : (index + 1) * CALL]  # type: ignore[union-attr]
        if recorded != self._call_digest(call, recorded[0] == 1):
            return None
        try:
            status = self._output_status(path)
        except OSError:
            return None
        files, at = stored.files, index * 3  # type: ignore[union-attr]
        if status.st_size != files[at] or status.st_mtime_ns != files[at + 1] or status.st_ino != files[at + 2] or status.st_nlink != 1:
            return None
        self._kept[path] = index
        self.kept_count += 1
        return Output(path, None, None, stored.origins[index], kept=True)  # type: ignore[union-attr]

    def _failing_at(self) -> set[int]:
        """The stored pages that read a value that changed since the last build (worked out once)."""
        if self._failing_pages is None:
            stored = self._stored
            assert stored is not None
            failing = self._failing()
            reads_failing = compress(count(), map(failing.__contains__, stored.reads)) if failing else ()
            self._failing_pages = {bisect_right(stored.ends, position) for position in reads_failing}
        return self._failing_pages

    def _failing(self) -> set[int]:
        """The stored reads whose values changed since the last build (worked out once)."""
        if self._failing_reads is None:
            stored = self._stored
            assert stored is not None
            changed = {
                index for index, key in enumerate(stored.keys)
                if key not in self._objects or self._whole(key) != stored.wholes[index * _DIGEST : (index + 1) * _DIGEST]
            }
            self._failing_reads = {
                pair for pair, (key_index, attrs_index) in enumerate(stored.pairs)
                if key_index in changed and not self._holds(pair, stored.keys[key_index], stored.attrs[attrs_index])
            }
        return self._failing_reads

    def _holds(self, pair: int, key: str, attrs: tuple[str, ...]) -> bool:
        """Whether the attributes a read names of an object that changed kept their values."""
        stored = self._stored
        assert stored is not None
        return key in self._objects and self._pair_value(key, attrs) == stored.pair_digests[pair * _DIGEST : (pair + 1) * _DIGEST]

    def made(self, path: str, call: tuple[Any, ...], reads: Iterable[tuple[object, str]], make: Callable[[], Output]) -> Output:
        """A file made in Python (the sitemap): kept as the last build wrote it when it is asked to show what it showed
        and the attributes `reads` names (of the objects it is made from) kept their values, else `make()` and recorded."""
        kept = self.kept(path, call)
        if kept is not None:
            return kept
        output = self.render(call, (), make, reads)
        self.collect([self.take()])
        return output

    def _call_digest(self, call: tuple[Any, ...], scores: bool) -> bytes:
        digests = self._digests
        page_call = len(call) == 2 and type(call[0]) is tuple and type(call[1]) is dict
        return (b"\1" if scores else b"\0") + (digests.of_call(call, scores) if page_call else digests.of(call, scores))

    def digest_of(self, story: Story) -> bytes:
        """The digest of a story's values, by which the pages that read it whole are kept."""
        return self._whole(self._keys[id(story)])

    def _whole(self, key: str) -> bytes:
        found = self._wholes.get(key)
        if found is None:
            obj = self._objects[key]
            if type(obj) is Story and (known := self._known.get(obj.slug)) is not None:  # type: ignore[attr-defined]
                found = self._wholes[key] = known
                return found
            text = self._texts.get(obj.slug) if type(obj) is Story else None  # type: ignore[attr-defined]
            found = self._wholes[key] = self._digests.of_fields(obj) if text is None else self._digests.of_story(obj, text)  # type: ignore[arg-type]
        return found

    def _pair_value(self, key: str, attrs: tuple[str, ...]) -> bytes:
        if attrs == WHOLE:
            return self._whole(key)
        found = self._pair_values.get((key, attrs))
        if found is None:
            obj = self._objects[key]
            found = self._pair_values[(key, attrs)] = self._digests.of(tuple(getattr(obj, name, None) for name in attrs))
        return found

    def render(
        self, call: tuple[Any, ...], subjects: Sequence[object], render: Callable[[], Output], also: Iterable[tuple[object, str]] = (),
    ) -> Output:
        """Render a page, recording what it reads; `take()` hands the record over.

        `subjects` count as read whole; `also` names attributes of objects the page's values were made from.
        """
        self._reading = {}
        self._scores = False
        try:
            output = render()
            for obj, name in also:
                self._note(obj, name)
            reading = self._reading
        finally:
            self._reading = None
        reads = {key: self._names(names) for key, names in reading.items()}
        for subject in subjects:
            key = self._key_of(subject)
            if key is not None:
                reads[key] = WHOLE
        flat = tuple(part for read in reads.items() for part in read)
        call_digest = self._call_digest(call, self._scores)
        values = b"".join([self._pair_value(key, names) for key, names in reads.items()])
        self._last = (output.path, call_digest, output.origin, flat, values)
        return output

    def _key_of(self, obj: object) -> str | None:
        return self._keys.get(id(obj)) or _key(obj)

    def _names(self, names: Iterable[str]) -> tuple[str, ...]:
        """Attribute names as one shared tuple per set of them: records of 10,000 pages stay small."""
        ordered = tuple(sorted(names))
        return self._shared_names.setdefault(ordered, ordered)

    def take(self) -> Fresh | None:
        """The record of the page this process rendered last (None when it was kept), handed over once."""
        last, self._last = self._last, None
        return last

    def collect(self, fresh: Iterable[Fresh | None]) -> None:
        """Records of rendered pages, from this process and from workers: their reads go into the tables at once."""
        tables = self._tables
        if tables is None:
            tables = self._tables = Tables(self._stored)
        for record in fresh:
            if record is not None:
                path, call, origin, flat, values = record
                # (The digest of an object read whole is its own: `_save` and `digest_of` need not work it out again.)
                self._fresh[path] = (call, origin, tables.put_all(flat, values, self._wholes))

    def save(self, cache: BuildCache, scope: str, paths: Iterable[str], listing: Listing | None = None) -> None:
        """Remember the pages at `paths` (kept or rendered this build) once they are written (`listing`: as the write left them)."""
        with collector_paused():
            self._save(cache, scope, paths, listing)

    def _save(self, cache: BuildCache, scope: str, paths: Iterable[str], listing: Listing | None) -> None:
        if cache.path is None:
            return
        stored = self._stored
        tables = self._tables or Tables(stored)
        pages = PageColumns()
        fresh = []
        kept = []
        for path in paths:
            index = self._kept.get(path)
            if index is not None:
                kept.append(index)  # its file is as the last build wrote it, and so is all it read
            elif (record := self._fresh.get(path)) is not None:
                fresh.append((path, *record))
        if kept:
            assert stored is not None
            pages.carry(stored, kept)
        # The status each file was left with: from the listing when most are asked for, else from the file system.
        statuses = listing.file_statuses() if listing is not None and len(fresh) * 8 > len(listing.files) else None
        out_dir = str(self.out_dir)
        for path, call, origin, reads in fresh:
            if statuses is not None:
                if (found := statuses.get(path)) is None:
                    continue
                status = (found[1], found[2], found[4])
            else:
                try:
                    stat_result = os.stat(os.path.join(out_dir, path), follow_symlinks=False)
                except OSError:
                    continue
                status = (stat_result.st_size, stat_result.st_mtime_ns, stat_result.st_ino)
            pages.add(path, call, status, origin, reads)
        # Reads no page needs pile up only as the tables grow: only then are they counted.
        if len(tables.pair_keys) > (len(stored.pairs) if stored else 0) and tables.wasteful(pages.reads) > SLACK:
            tables, pages.reads = tables.compacted(pages.reads)
        save_pages(cache.path.parent / RECORDS_FILE, scope, str(self.out_dir), tables.values(self._wholes_of), pages.values())

    def _wholes_of(self, keys: list[str], old: bytes) -> bytes:
        """The digest of each object of `keys` whole (its last build's, `old`, when it is gone)."""
        try:
            return b"".join(map(self._wholes.__getitem__, keys))  # most are known already (from `_failing`)
        except KeyError:
            return b"".join(
                self._whole(key) if key in self._objects else old[index * _DIGEST : (index + 1) * _DIGEST] for index, key in enumerate(keys)
            )


def load_page_records(cache: BuildCache, scope: str, out_dir: Path, status: Callable[[str], os.stat_result] | None = None) -> PageRecords:
    """The records the last build into `out_dir` left, if it left any in this scope (`status`: see PageRecords)."""
    cache.namespace(_RETIRED_NAMESPACE, "")
    if cache.path is None:
        return PageRecords(out_dir, status=status)
    with collector_paused(set_aside=gc.get_freeze_count() > 0):
        return PageRecords(out_dir, load_pages(cache.path.parent / RECORDS_FILE, scope, str(out_dir)), status)
