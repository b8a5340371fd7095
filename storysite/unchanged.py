"""Whether a build would make exactly what the last one made: nothing it reads has changed.

A build's output depends on the settings, the theme's files, every file under content/, the
versions of storysite and of the libraries that make its HTML, and the time (which stories are
published yet). The last build into an output folder is remembered in the build cache: a key of
all those inputs (file names, sizes and modification times), when the next story falls due, and
the listing of the output folder it left (`listing.Listing`). When all of them still hold, the
output is already right.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .cache import BuildCache, content_key, file_signature, version_scope
from .config import Config
from .errors import Problem
from .listing import Listing, look
from .sources import Sources

NAMESPACE = "last-build"
FORMAT = "last-build-2"
"""How the last build is stored (a cache record, marshalled): one of another format is not read."""
# The libraries whose versions change the bytes of a build.
LIBRARIES = ("markdown", "jinja2", "markupsafe", "babel", "feedgen", "pyyaml")


@dataclass(frozen=True)
class LastBuild:
    """What the last successful build into an output folder read and made."""

    inputs: str
    output: Listing | None
    """The output folder as the build left it."""
    built_at: dt.datetime
    due: dt.datetime | None
    """The earliest date after built_at of any story: then the published set changes."""
    stories: int
    pages: int
    files: int
    warnings: tuple[Problem, ...]

    def holds(self, inputs: str, out_dir: Path, now: dt.datetime) -> bool:
        """True when the inputs, the time window and the output folder are as this build left them."""
        in_window = self.built_at <= now and (self.due is None or now < self.due)
        return inputs == self.inputs and in_window and self.output is not None and look(out_dir, self.output).as_left(self.output)


def inputs_key(config: Config, theme_folders: list[Path], sources: Sources, statuses: dict[Path, os.stat_result] | None = None) -> str:
    """A key of everything a build reads: any change to a setting or a file gives another key.

    `statuses`, when given, gets the status of each file read (later stages need not ask again).
    """
    parts = [repr(config), *library_versions()]
    files = [*sources.stories, *sources.pages, *sources.static, *(f for files in sources.bundle_files.values() for f in files)]
    for folder in theme_folders:
        files += sorted(path for path in folder.rglob("*") if path.is_file())
    for path in files:
        status = path.stat()
        if statuses is not None:
            statuses[path] = status
        parts.append(f"{path}\0{file_signature(status)}")
    return content_key(*parts)


def load_last_build(cache: BuildCache, out_dir: Path) -> LastBuild | None:
    """The last build into `out_dir` as the cache remembers it, if it does."""
    if not cache.enabled:
        return None
    cache.namespace(NAMESPACE, version_scope(FORMAT))
    found = cache.get_records(NAMESPACE, [str(out_dir)]).get(str(out_dir))
    value = found[0] if found is not None else None
    if not isinstance(value, dict):
        return None
    try:
        return LastBuild(
            inputs=str(value["inputs"]),
            output=Listing.from_plain(value["output"]),
            built_at=dt.datetime.fromisoformat(value["built_at"]),
            due=dt.datetime.fromisoformat(value["due"]) if value["due"] else None,
            stories=int(value["stories"]),
            pages=int(value["pages"]),
            files=int(value["files"]),
            warnings=tuple(Problem(*w) for w in value["warnings"]),
        )
    except (TypeError, KeyError, ValueError):
        return None


def save_last_build(cache: BuildCache, out_dir: Path, last: LastBuild) -> None:
    """Remember a successful build into `out_dir`."""
    if not cache.enabled:
        return
    cache.namespace(NAMESPACE, version_scope(FORMAT))
    cache.put_record(NAMESPACE, str(out_dir), {
        "inputs": last.inputs,
        "output": last.output.plain() if last.output is not None else None,
        "built_at": last.built_at.isoformat(),
        "due": last.due.isoformat() if last.due else None,
        "stories": last.stories,
        "pages": last.pages,
        "files": last.files,
        "warnings": [[str(w.path), w.line, w.message, w.hint] for w in last.warnings],
    }, ())


def next_due(dates: list[dt.datetime], now: dt.datetime) -> dt.datetime | None:
    """The earliest of `dates` after `now`."""
    return min((date for date in dates if date > now), default=None)


def library_versions() -> list[str]:
    """The name and version of each library that changes the bytes of a build."""
    return [f"{name} {_version(name)}" for name in LIBRARIES]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""
