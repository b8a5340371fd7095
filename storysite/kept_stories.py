"""Stories assembled by the last build, taken as they were when their files did not change.

Editing one story of a large site should not make the build read, parse and assemble the others
again. After a build, each published story is remembered in the build cache as the site model holds
it, with what assembling it read besides its own file: each link target it looked for (the URL of a
story, page or file, or that there was none) and the names of its niche, audiences and tags, whose
links the next build gives it from its own term index (a tag's title is the first one met, so it may
change with other files). The next build takes a story from here when

- its file has the signature remembered (`cache.file_signature`), and that file was older than the
  build that remembered it by the margin (`parsed_files.settled`): no write can hide in the file
  system's timestamp granularity;
- the scope is the same: the storysite version, the Markdown engine, the YAML loader, every setting;
- each link target it looked for is still there with the same URL, or still missing
  (`assemble_site` checks, and has the others parsed again).

The warnings assembling it gave are remembered with it and given again.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .cache import BuildCache, file_signature, version_scope
from .config import Config
from .errors import Problem
from .markup import MARKDOWN_ENGINE
from .model import Story, TermRef
from .parsed_files import NAMESPACE as PARSED_FILES
from .parsed_files import (
    UNSUPPORTED,
    changed_at,
    decoded_value,
    encoded_value,
    moment,
    moment_back,
    settled,
)
from .yamlload import YAML_ENGINE

if TYPE_CHECKING:
    from .assemble import AssembledStory
    from .parse import ParsedStory

NAMESPACE = "kept-stories"
FORMAT = "kept-stories-2"
"""The layout of a remembered story: another one forgets them all."""
_FIELDS = tuple(field.name for field in fields(Story))
"""A story's values are remembered in the order of its fields, those that are not plain data made plain."""
_DATE, _UPDATED, _NICHE, _AUDIENCES, _TAGS, _RELATED, _EXTRA, _SOURCE, _LINES = map(
    _FIELDS.index, ("date", "updated", "niche", "audiences", "tags", "related_slugs", "extra", "source", "lines")
)
_VALUES_OF = attrgetter(*_FIELDS)
_SLUG, _PATH, _DRAFT, _SHOWN = map(_FIELDS.index, ("slug", "path", "draft", "shown"))
_VALUES = 7
"""Where a record's story values begin: [signature, body key, names, lookups, removed, warnings, digests, *values]."""

Ref = Callable[[str, str], TermRef]
"""The link of a niche, audience or tag by kind and name, from the building site's term index."""


@dataclass(frozen=True)
class KeptStory:
    """A story as the last build assembled it, from a file that did not change since."""

    source: Path
    slug: str
    shown: str
    slug_line: int
    """The line of its slug (1 when the slug comes from the file name), for a message about two of one slug."""
    path: str
    draft: bool
    date: dt.datetime
    updated: dt.datetime | None
    lookups: tuple[tuple[Path, str | None], ...]
    """Each link target it looked for, with the URL it found (None: it found nothing there)."""
    record: list[Any]


class KeptStories:
    """The stories of the last build that this one can take as they were, and those it assembles anew.

    With each story it remembers two digests that later stages would otherwise work out again for
    every story: its text's (`relate_store.text_digest`) and its values' (`page_records`), the
    latter good while the titles of its niche, audiences and tags are too.
    """

    def __init__(
        self, cache: BuildCache, config: Config, paths: Sequence[Path], reparse: Callable[[list[Path]], list[ParsedStory]],
        digests_scope: str = "", statuses: Mapping[Path, os.stat_result] | None = None,
    ) -> None:
        """Look at the story files at `paths`: those the cache holds as they are now are kept.

        `reparse` parses files when a kept story's links no longer hold; `digests_scope` names how the
        digests are made (a change forgets them all); `statuses` holds files' status read a moment ago.
        """
        self.cache = cache if cache.enabled else None
        self.reparse = reparse
        self.stories: dict[Path, KeptStory] = {}
        self.texts: dict[str, str] = {}
        """The text digest of each story taken, by slug."""
        self.digests: dict[str, bytes] = {}
        """The digest of each story taken whose term titles are as they were, by slug."""
        self._signatures: dict[Path, list[int]] = {}
        self._settled: set[Path] = set()
        self._taken: list[KeptStory] = []
        self._fresh: list[tuple[Path, str, AssembledStory]] = []
        """Stories assembled from their files: source, key of the Markdown, what assembling made."""
        if self.cache is None:
            return
        self.cache.namespace(NAMESPACE, version_scope(FORMAT, MARKDOWN_ENGINE, YAML_ENGINE, repr(config), digests_scope))
        stored = self.cache.all_records(NAMESPACE)
        looked_at = time.time_ns()
        known = statuses or {}
        for path in paths:
            try:
                status = known.get(path) or os.stat(path)
            except OSError:
                continue  # parsing it reports what is wrong
            signature = self._signatures[path] = file_signature(status)
            if settled(changed_at(status), looked_at):
                self._settled.add(path)
            found = stored.get(str(path))
            if found is not None and type(found[0]) is list and found[0][:1] == [signature]:
                kept = _kept(path, found[0])
                if kept is not None:
                    self.stories[path] = kept

    def take(self, kept: KeptStory, ref: Ref) -> AssembledStory:
        """A kept story as the last build assembled it, its niche, audiences and tags linked by `ref`.

        (`ref` is called in the order a story assembled from its file calls it: a tag's title is the first one met.)
        """
        from .assemble import AssembledStory

        self._taken.append(kept)
        record = kept.record
        names, removed, warnings, (text, digest, titles) = record[2], record[4], record[5], record[6]
        values = record[_VALUES:]
        niche, audiences, tags = names
        values[_NICHE] = ref("niche", niche)
        values[_AUDIENCES] = tuple([ref("audience", name) for name in audiences])
        values[_TAGS] = tuple([ref("tag", name) for name in tags])
        values[_DATE], values[_UPDATED], values[_SOURCE] = kept.date, kept.updated, kept.source
        values[_RELATED] = tuple(values[_RELATED])
        values[_EXTRA] = MappingProxyType(decoded_value(values[_EXTRA]) if values[_EXTRA] else {})
        values[_LINES] = MappingProxyType(values[_LINES])
        story = Story(*values)
        self.texts[kept.slug] = text
        if titles == _titles(story):
            self.digests[kept.slug] = digest
        return AssembledStory(story, (niche, tuple(audiences), tuple(tags)), _problems(removed), _problems(warnings), kept.lookups)

    def note(self, parsed: ParsedStory, assembled: AssembledStory) -> None:
        """A story this build assembled from its file: `save` remembers it."""
        if self.cache is not None:
            self._fresh.append((parsed.doc.path, parsed.key, assembled))  # (not the parsed story: render needs none of it)

    def save(self, texts: Mapping[str, str], digest: Callable[[Story], bytes]) -> None:
        """Once the build has succeeded: remember the stories it assembled, and keep what the ones it took need.

        `texts` holds the text digest of each story by slug, `digest` gives the digest of its values.
        """
        cache = self.cache
        if cache is None:
            return
        taken = [str(kept.source) for kept in self._taken]
        cache.keep(NAMESPACE, taken)
        cache.keep(PARSED_FILES, taken)  # for a build that cannot take them (after a change of settings, say)
        cache.keep("markdown", [kept.record[1] for kept in self._taken])
        for path, body_key, assembled in self._fresh:
            story = assembled.story
            if path in self._settled and body_key and story.slug in texts:
                record = _record(self._signatures[path], body_key, assembled, [texts[story.slug], digest(story), _titles(story)])
                if record is not None:
                    cache.put_record(NAMESPACE, str(path), record, ())


def _titles(story: Story) -> list[str]:
    return [story.niche.title, *(ref.title for ref in story.audiences), *(ref.title for ref in story.tags)]


def _record(signature: list[int], body_key: str, assembled: AssembledStory, digests: list[Any]) -> list[Any] | None:
    """What is remembered of a story (None when a value cannot be turned into plain data and back exactly)."""
    story = assembled.story
    values = list(_VALUES_OF(story))
    values[_DATE], values[_UPDATED] = date, updated = moment(story.date), moment(story.updated)
    values[_NICHE] = values[_AUDIENCES] = values[_TAGS] = None  # linked again from their names
    values[_RELATED], values[_SOURCE] = list(story.related_slugs), str(story.source)
    values[_EXTRA] = extra = encoded_value(dict(story.extra)) if story.extra else {}
    values[_LINES] = dict(story.lines)
    removed = _plain_problems(assembled.removed) if assembled.removed else []
    warnings = _plain_problems(assembled.warnings) if assembled.warnings else []
    if UNSUPPORTED in (date, updated, extra) or removed is None or warnings is None or not isinstance(story.lines, MappingProxyType):
        return None
    niche, audiences, tags = assembled.names
    lookups = [[str(path), url] for path, url in assembled.lookups]
    return [signature, body_key, [niche, list(audiences), list(tags)], lookups, removed, warnings, digests, *values]


def _kept(source: Path, record: list[Any]) -> KeptStory | None:
    """A remembered story back, as far as assembling needs it before taking it; None for a record of another shape."""
    try:
        values = record[_VALUES:]
        if len(values) != len(_FIELDS) or len(record[6]) != 3 or type(values[_LINES]) is not dict:
            return None
        return KeptStory(
            source, values[_SLUG], values[_SHOWN], values[_LINES].get("slug", 1), values[_PATH], values[_DRAFT],
            moment_back(values[_DATE]),  # type: ignore[arg-type]
            moment_back(values[_UPDATED]), tuple([(Path(path), url) for path, url in record[3]]), record,
        )
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


def _plain_problems(problems: Sequence[Problem]) -> list[list[Any]] | None:
    if not all(isinstance(problem.path, str) for problem in problems):
        return None
    return [[problem.path, problem.line, problem.message, problem.hint] for problem in problems]


def _problems(plain: list[list[Any]]) -> tuple[Problem, ...]:
    return tuple([Problem(*problem) for problem in plain]) if plain else ()
