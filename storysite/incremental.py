"""Rebuilds in the preview: reuse what a save did not change, parsed files and rendered pages.

A `Reuse` lives as long as `storysite serve` and remembers the last successful build:

- Parsing: a source file whose signature is unchanged is not read again (one saved moments before
  is also compared by its bytes, as `parsed_files` does).
- Rendering: while a page renders, every attribute its templates read from a story, page, term or
  the site (through Jinja's `getattr`/`getitem`) is recorded. On the next build a page is kept as
  it is on disk when the values handed to its template are the same and none of the attributes it
  read changed; otherwise it renders again. The record is exact for what templates read through
  attributes, the only way Jinja templates reach these objects. Anything else a page depends on
  (templates, theme strings, the config) is outside the record: the preview forgets everything
  when one of those changes.
- The site model: a story, page or term equal to last build's is replaced by last build's object,
  so later stages see what is unchanged by identity (related links of unchanged relations too).
- Rendering, first the cheap check: a page asked to show equal things as last time (same template
  names, title, context objects) is kept without making its template values, unless it read an
  attribute that changed.
- Relating: see `relate_memo.RelateMemo`, which works out again only what the changed stories reach.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment

from .model import Page, RelatedLink, Site, SiteInfo, Story, Term
from .parse import ParsedPage, ParsedStory
from .cache import file_signature
from .parsed_files import changed_at, file_key, settled
from .relate import Relation, Relations
from .relate_memo import RelateMemo
from .render import Output
from .sources import Sources

Key = tuple[str, ...]


def identity(value: object) -> Key | None:
    """The name an object of the site model keeps from build to build, or None for plain values."""
    kind = type(value)
    if kind is Story or kind is Page:
        return (kind.__name__, str(value.source))  # type: ignore[attr-defined]
    if kind is Term:
        return ("Term", value.kind, value.slug)  # type: ignore[attr-defined]
    if kind is SiteInfo:
        return ("SiteInfo",)
    return None


def same_value(old: object, new: object) -> bool:
    """True when a template sees no difference between two values.

    Site-model objects compare by name: what a template reads from them is recorded apart, so a
    list of stories is the same list when it names the same stories in the same order. Functions
    given to templates (t, url, format_date) depend only on the config, the theme and the
    language, which the preview watches apart.
    """
    if old is new:
        return True
    kind = type(old)
    if kind is not type(new):
        return False
    if kind in _PLAIN_TYPES:
        return old == new
    if kind in _IDENTIFIED:
        return identity(old) == identity(new)
    if kind is tuple or kind is list:
        return len(old) == len(new) and all(map(same_value, old, new))  # type: ignore[arg-type, call-overload]
    names = _field_names(kind)
    if names is not None:
        return all(same_value(getattr(old, name), getattr(new, name)) for name in names)
    if isinstance(old, Mapping):
        assert isinstance(new, Mapping)
        if list(old) != list(new):
            return False
        # Plain data (a page's linked data) compares fastest as a whole; equal values are the same.
        return old == new or all(same_value(old[name], new[name]) for name in old)
    if callable(old):
        return True
    return bool(old == new)


_PLAIN_TYPES = {str, int, float, bool, type(None), dt.date, dt.datetime, type(Path())}
_IDENTIFIED = {Story, Page, Term, SiteInfo}
_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(kind: type) -> tuple[str, ...] | None:
    """The field names of a dataclass type (None for other types), looked up once per type."""
    if kind not in _FIELD_NAMES:
        _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else None
    return _FIELD_NAMES[kind]


def site_objects(site: Site) -> dict[Key, object]:
    """The stories, pages, terms and site info of a site, by name."""
    found: dict[Key, object] = {("SiteInfo",): site.info}
    for item in (*site.stories, *site.pages, *site.info.niches, *site.info.audiences, *site.info.tags):
        key = identity(item)
        assert key is not None
        found[key] = item
    return found


def trace_reads(env: Environment, note: Callable[[object, object], None], watched: Collection[type]) -> None:
    """Have `env` call `note(object, name)` on every attribute or item its templates read of an object of
    a `watched` type (once per environment): templates read other values by the million, untraced."""
    if getattr(env, "_storysite_traced", False):
        return
    plain_getattr, plain_getitem = env.getattr, env.getitem
    kinds = frozenset(watched)
    if type(env).getattr is not Environment.getattr or type(env).getitem is not Environment.getitem:
        ours, theirs = plain_getattr, plain_getitem
    else:
        # Jinja's own lookups, with their first try made here: most reads succeed at once.
        def ours(obj: Any, attribute: str) -> Any:
            try:
                return getattr(obj, attribute)
            except AttributeError:
                return plain_getattr(obj, attribute)

        def theirs(obj: Any, argument: Any) -> Any:
            try:
                return obj[argument]
            except (AttributeError, TypeError, LookupError):
                return plain_getitem(obj, argument)

    def traced_getattr(obj: Any, attribute: str) -> Any:
        if type(obj) in kinds:
            note(obj, attribute)
            return plain_getattr(obj, attribute)
        return ours(obj, attribute)

    def traced_getitem(obj: Any, argument: Any) -> Any:
        if type(obj) in kinds:
            note(obj, argument)
            return plain_getitem(obj, argument)
        return theirs(obj, argument)

    env.getattr = traced_getattr  # type: ignore[method-assign]
    env.getitem = traced_getitem  # type: ignore[method-assign]
    env._storysite_traced = True  # type: ignore[attr-defined]


@dataclasses.dataclass
class _PageRecord:
    roots: Mapping[str, Any]
    """The values handed to the template."""
    reads: dict[Key, frozenset[str]]
    """Attributes read from each site-model object."""
    origin: str
    written: tuple[int, int, int] | None = None
    """Size, modification time and inode of the file as this build left it."""
    call: tuple[Any, ...] = ()
    """What the page was asked to show (template names, title, context...), from which `roots` are made."""


class PageMemo:
    """Keeps pages whose inputs did not change; records what each rendered page read."""

    def __init__(self) -> None:
        self._records: dict[str, _PageRecord] = {}
        self._before: dict[Key, object] = {}
        self._now: dict[Key, object] = {}
        self._changed: set[Key] = set()
        self._same: dict[tuple[Key, str], bool] = {}
        self._fresh: dict[str, _PageRecord] = {}
        self._data: dict[str, tuple[object, Output]] = {}
        self._fresh_data: dict[str, tuple[object, Output]] = {}
        self._reading: dict[Key, set[str]] | None = None
        self._shared: dict[frozenset[str], frozenset[str]] = {}
        self.out_dir = Path()
        self.kept = self.rendered = 0

    def clear(self) -> None:
        """Forget every page (templates, theme or config changed)."""
        self._records.clear()
        self._before = {}
        self._data = {}

    def start(self, site: Site, out_dir: Path, env: Environment) -> None:
        """Begin a build: find which site-model objects changed, and trace attribute reads in `env`."""
        if out_dir != self.out_dir:
            self.clear()
        self.out_dir = out_dir
        self._now = site_objects(site)
        self._changed = {key for key, old in self._before.items() if not self._unchanged(old, self._now.get(key))}
        self._changed |= self._now.keys() - self._before.keys()
        self._same = {}
        self._fresh = {}
        self._fresh_data = {}
        self.kept = self.rendered = 0
        self._trace(env)

    @staticmethod
    def _unchanged(old: object, new: object) -> bool:
        if new is None:
            return False
        if isinstance(old, (Story, Page)):
            return old is new or old == new  # their fields hold no other site-model object
        fields = dataclasses.fields(old)  # type: ignore[arg-type]
        return all(same_value(getattr(old, f.name), getattr(new, f.name)) for f in fields)

    def _trace(self, env: Environment) -> None:
        def note(obj: object, name: object) -> None:
            if self._reading is not None and isinstance(name, str):
                key = identity(obj)
                if key is not None:
                    self._reading.setdefault(key, set()).add(name)

        trace_reads(env, note, _IDENTIFIED)

    def kept_call(self, path: str, call: tuple[Any, ...]) -> Output | None:
        """The page as it is on disk, when it was asked to show what it showed last time and read nothing that changed.

        Cheap: the page's template values need not be made. Equal `call`s make equal values.
        """
        record = self._records.get(path)
        if record is None or record.written is None or record.call != call:
            return None
        return self._kept(path, record)

    def kept_output(self, path: str, variables: Mapping[str, Any], call: tuple[Any, ...] = ()) -> Output | None:
        """The page as it is on disk, when nothing it showed has changed; else None."""
        record = self._records.get(path)
        if record is None or record.written is None or list(record.roots) != list(variables):
            return None
        if not all(same_value(record.roots[name], value) for name, value in variables.items()):
            return None
        return self._kept(path, dataclasses.replace(record, call=call))

    def _kept(self, path: str, record: _PageRecord) -> Output | None:
        for key in record.reads.keys() & self._changed:
            if key not in self._now or not all(self._attribute_same(key, name) for name in record.reads[key]):
                return None
        target = self.out_dir / path
        try:
            status = os.stat(target, follow_symlinks=False)
        except OSError:
            return None
        if (status.st_size, status.st_mtime_ns, status.st_ino) != record.written or status.st_nlink != 1:
            return None
        self._fresh[path] = record
        self.kept += 1
        return Output(path, None, target, record.origin, kept=True)

    def _attribute_same(self, key: Key, name: str) -> bool:
        known = self._same.get((key, name))
        if known is None:
            old, new = self._before[key], self._now[key]
            known = same_value(getattr(old, name, None), getattr(new, name, None))
            self._same[(key, name)] = known
        return known

    def render(
        self, path: str, variables: Mapping[str, Any], origin: str, render: Callable[[], str], call: tuple[Any, ...] = ()
    ) -> str:
        """Render a page, recording what it reads."""
        self._reading = {}
        try:
            html = render()
            reads = {key: self._share(frozenset(names)) for key, names in self._reading.items()}
        finally:
            self._reading = None
        self._fresh[path] = _PageRecord(variables, reads, origin, call=call)
        self.rendered += 1
        return html

    def kept_data(self, path: str, inputs: object, make: Callable[[], Output]) -> Output:
        """A file made from `inputs` alone (the sitemap): last build's when they are equal, else `make()`."""
        known = self._data.get(path)
        output = known[1] if known is not None and known[0] == inputs else make()
        self._fresh_data[path] = (inputs, output)
        return output

    def _share(self, names: frozenset[str]) -> frozenset[str]:
        return self._shared.setdefault(names, names)

    def finish(self) -> None:
        """The build was written: remember its pages and objects for the next one."""
        for path, record in self._fresh.items():
            if record.written is None:
                try:
                    status = os.stat(self.out_dir / path, follow_symlinks=False)
                except OSError:
                    continue
                record.written = (status.st_size, status.st_mtime_ns, status.st_ino)
        self._records = self._fresh
        self._before = self._now
        self._fresh = {}
        self._data, self._fresh_data = self._fresh_data, {}


class ParseMemo:
    """Parsed files by path, kept while the file's signature stays the same (see `cache.file_signature`).

    A file whose times were too recent to trust when it was parsed is kept only while its bytes also
    hash the same: two saves of one size within the file system's timestamp granularity leave the
    signature as it was.
    """

    def __init__(self) -> None:
        self._parsed: dict[Path, tuple[list[int], str | None, ParsedStory | ParsedPage]] = {}
        """path -> (signature, hash of its bytes while its times are recent, parsed file)."""
        self.reused = 0

    def clear(self) -> None:
        """Forget every file (the config changed)."""
        self._parsed.clear()

    def parse(
        self, sources: Sources, parse: Callable[[Sources], tuple[list[ParsedStory], list[ParsedPage]]]
    ) -> tuple[list[ParsedStory], list[ParsedPage]]:
        """Parse only the files that changed since the last successful parse; same result as parsing all."""
        kept: dict[Path, ParsedStory | ParsedPage] = {}
        signatures: dict[Path, list[int]] = {}
        recent: dict[Path, str] = {}
        """The hash of each file whose times are too recent to trust."""
        looked_at = time.time_ns()
        for path in (*sources.stories, *sources.pages):
            status = os.stat(path)
            signatures[path] = file_signature(status)
            if not settled(changed_at(status), looked_at):
                recent[path] = file_key(path)
            remembered = self._parsed.get(path)
            if remembered is not None and remembered[0] == signatures[path] and (remembered[1] is None or remembered[1] == recent.get(path, "")):
                kept[path] = remembered[2]
        changed = dataclasses.replace(
            sources,
            stories=tuple(p for p in sources.stories if p not in kept),
            pages=tuple(p for p in sources.pages if p not in kept),
        )
        stories, pages = parse(changed)
        fresh: dict[Path, ParsedStory | ParsedPage] = dict(kept)
        entries: list[ParsedStory | ParsedPage] = [*stories, *pages]
        for entry in entries:
            fresh[entry.doc.path] = entry
        self._parsed = {path: (signatures[path], recent.get(path), entry) for path, entry in fresh.items()}
        self.reused = len(kept)
        ordered_stories = [fresh[p] for p in sources.stories if p in fresh]
        ordered_pages = [fresh[p] for p in sources.pages if p in fresh]
        return ordered_stories, ordered_pages  # type: ignore[return-value]


class ModelMemo:
    """The site model's objects of the last build, handed out again where the new ones equal them.

    An unchanged story then stays the same object from build to build, and so do the terms and
    related links that hold only unchanged stories: later stages tell what changed by identity.
    """

    def __init__(self) -> None:
        self._stories: dict[Path, Story] = {}
        self._pages: dict[Path, Page] = {}
        self._terms: dict[Key, Term] = {}
        self._relations: Mapping[str, tuple[Relation, ...]] = {}
        self._links: dict[str, tuple[RelatedLink, ...]] = {}
        self._linking: dict[str, Story] = {}
        """The story each links tuple was made for (its language gives the reasons' words)."""

    def clear(self) -> None:
        """Forget every object."""
        self.__init__()  # type: ignore[misc]

    def same_objects(self, site: Site) -> Site:
        """`site` with each story, page, term and site info that equals last build's replaced by that object."""
        stories = {id(story): _kept(self._stories, story.source, story) for story in site.stories}
        self._stories = {story.source: story for story in stories.values()}
        pages = tuple(_kept(self._pages, page.source, page) for page in site.pages)
        self._pages = {page.source: page for page in pages}
        fresh: dict[Key, Term] = {}

        def terms(found: tuple[Term, ...]) -> tuple[Term, ...]:
            kept = []
            for term in found:
                key = ("Term", term.kind, term.slug)
                fresh[key] = _kept(self._terms, key, dataclasses.replace(term, stories=tuple(stories[id(s)] for s in term.stories)))
                kept.append(fresh[key])
            return tuple(kept)

        info = dataclasses.replace(site.info, niches=terms(site.info.niches), audiences=terms(site.info.audiences), tags=terms(site.info.tags))
        self._terms = fresh
        return dataclasses.replace(site, info=info, stories=tuple(stories[id(s)] for s in site.stories), pages=pages)

    def related_links(
        self, stories: tuple[Story, ...], relations: Relations, make: Callable[[Relations], dict[str, tuple[RelatedLink, ...]]]
    ) -> dict[str, tuple[RelatedLink, ...]]:
        """`make(relations)`, made again only for stories whose relations or linked stories are not last build's objects."""
        by_slug = {story.slug: story for story in stories}
        old_relations, old_links, old_linking = self._relations, self._links, self._linking
        links: dict[str, tuple[RelatedLink, ...]] = {}
        redo: dict[str, tuple[Relation, ...]] = {}
        for slug, ranked in relations.by_slug.items():
            before = old_links.get(slug)
            if (
                before is not None and old_relations.get(slug) is ranked and old_linking.get(slug) is by_slug[slug]
                and all(by_slug.get(link.story.slug) is link.story for link in before)
            ):
                links[slug] = before
            else:
                redo[slug] = ranked
        links.update(make(dataclasses.replace(relations, by_slug=redo)))
        self._relations, self._links, self._linking = relations.by_slug, links, by_slug
        return links


def _kept(store: Mapping[Any, Any], key: object, new: Any) -> Any:
    old = store.get(key)
    return old if old is not None and (old is new or old == new) else new


class Reuse:
    """What the preview keeps between builds; `forget()` when templates, theme or config change."""

    def __init__(self) -> None:
        self.parsed = ParseMemo()
        self.model = ModelMemo()
        self.pages = PageMemo()
        self.related = RelateMemo()
        self._environment: Environment | None = None

    def environment(self, make: Callable[[], Environment]) -> Environment:
        """The Jinja environment of the last build, so its compiled templates are kept too."""
        if self._environment is None:
            self._environment = make()
        return self._environment

    def forget(self) -> None:
        """Start afresh: the next build parses and renders everything."""
        self.parsed.clear()
        self.model.clear()
        self.pages.clear()
        self.related.clear()
        self._environment = None
