"""The only module that touches the output folder: stage what changed, then commit it with renames."""

from __future__ import annotations

import filecmp
import logging
import os
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import ContentError, Problem, StorysiteError, shown_path
from .listing import Listing, Looked, look, packed_status, written
from .model import Asset
from .render import Output
from .sources import files_under
from .urls import safe_site_path

log = logging.getLogger(__name__)

# Every build writes it (GitHub Pages needs it), so its presence tells a folder a build made.
MARKER = ".nojekyll"


def static_outputs(folders: Iterable[Path]) -> list[Output]:
    """Files of theme static folders, in order; a later folder overrides an earlier one's file."""
    found: dict[str, Output] = {}
    for folder in folders:
        for path in files_under(folder):
            rel = path.relative_to(folder).as_posix()
            found[rel] = Output(rel, None, path, f"theme file {path}")
    return list(found.values())


def asset_outputs(assets: Iterable[Asset], root: Path) -> list[Output]:
    """Files copied as they are from content/."""
    return [Output(a.path, None, a.source, shown_path(a.source, root)) for a in assets]


def plan_outputs(theme_files: list[Output], claimed: list[Output]) -> dict[str, Output]:
    """One output per path: site files override theme files; any other clash is an error naming both."""
    plan = {o.path: o for o in theme_files}
    owners: dict[str, Output] = {}
    problems = []
    for output in claimed:
        if not safe_site_path(output.path) or not output.path:
            problems.append(Problem(output.origin, None, f"'{output.path}' would be written outside the output folder"))
        elif output.path in owners:
            other = owners[output.path]
            problems.append(
                Problem(output.origin, None, f"writes {output.path}, which {other.origin} writes too", "change a slug or a file name")
            )
        else:
            owners[output.path] = plan[output.path] = output
    if problems:
        raise ContentError(problems)
    return dict(sorted(plan.items()))


@dataclass(frozen=True)
class WriteReport:
    """What a write changed in the output folder."""

    written: tuple[str, ...]
    """Files that are new or whose bytes changed."""
    removed: tuple[str, ...]
    """Files and folders of the previous build that the new one no longer has."""
    unchanged: int
    state: Listing | None = None
    """The output folder as the write left it, for the next build to look at it by; None when not asked for."""


class Stager:
    """Puts rendered files into the staging folder as they are made, so their bytes need not wait in memory.

    A file the output folder holds already, byte for byte, is not staged; `write_site` then commits
    the staged files with the others. Works in forked render workers too: it only writes files.
    It also looks at the output folder for the build, once (`looked`): by the listing the last build
    `remembered`, if it left one.
    """

    def __init__(self, out_dir: Path, remembered: Listing | None = None) -> None:
        _refuse_foreign_folder(out_dir)
        self.out_dir = out_dir
        self.staging = _staging(out_dir)
        for leftover in (self.staging, _retired(out_dir)):
            _remove(leftover)
        self.fresh = _holds_nothing(out_dir)
        """No earlier build to compare with: every file is staged."""
        self._remembered = remembered
        self._looked: Looked | None = None
        self._folders: set[str] = set()
        """Folders of the output found to be folders, not symlinks (in this process)."""

    @property
    def looked(self) -> Looked:
        """The output folder as this build found it, looked at when first asked for."""
        if self._looked is None:
            self._looked = look(self.out_dir, self._remembered)
        return self._looked

    def left_status(self, path: str) -> os.stat_result:
        """The status of the output file at `path`, not followed, when it is as the last build's write left it.

        FileNotFoundError when there is none, or when it changed since (its page is then rendered again).
        """
        return self.looked.left_status(path)

    def __call__(self, output: Output) -> Output:
        if output.data is None:
            return output
        if not self.fresh and self._unfollowed(output.path) and _same(output, self.out_dir, output.path):
            return replace(output, data=None, kept=True)
        status = _stage(output, self.staging / output.path)
        return replace(output, data=None, source=self.staging / output.path, staged=True, status=status)

    def _unfollowed(self, path: str) -> bool:
        """Whether the folders `path` is in are folders, not symlinks: a file is never compared through one."""
        if self._looked is not None:
            return path in self._looked.entries
        end = path.find("/")
        while end > 0:
            folder = path[:end]
            if folder not in self._folders:
                try:
                    if not stat.S_ISDIR(os.lstat(self.out_dir / folder).st_mode):
                        return False
                except OSError:
                    return False
                self._folders.add(folder)
            end = path.find("/", end + 1)
        return True

    def discard(self) -> None:
        """The build failed before `write_site`: leave no staged file behind."""
        _remove(self.staging)


def _staging(out_dir: Path) -> Path:
    return out_dir.with_name(out_dir.name + ".staging")


def _retired(out_dir: Path) -> Path:
    return out_dir.with_name(out_dir.name + ".old")


def write_site(plan: dict[str, Output], out_dir: Path, state: bool = True, stager: Stager | None = None) -> WriteReport:
    """Make `out_dir` hold exactly the planned files, rewriting only those whose bytes changed.

    Changed files are first written into a staging folder beside `out_dir`; only when all of them
    are there does a short commit of renames and removals touch `out_dir`. A build that fails or is
    killed before the commit leaves the previous site as it was; one killed during the commit
    leaves a mix that the next build corrects. A new or empty output folder is swapped in whole.

    With `state`, the report carries the listing of the output folder as the write left it: the status
    of every entry is then read on the way, once a build (the `stager`'s look, when it has one); the
    preview, which keeps no listing, saves those calls.
    """
    _refuse_foreign_folder(out_dir)
    staging, retired = _staging(out_dir), _retired(out_dir)
    if not any(output.staged for output in plan.values()):  # else a Stager began the staging folder
        for leftover in (staging, retired):
            _remove(leftover)
    looked = (stager.looked if stager is not None else look(out_dir)) if state else None
    existing = _scan(out_dir) if looked is None else _Existing.of(looked)
    if existing.empty:
        return _write_whole(plan, out_dir, staging, retired, state)
    changed = [path for path, output in plan.items() if not (path in existing.files and _same(output, out_dir, path))]
    wanted_dirs = _folders_of(plan)
    stale = [p for p in existing.files if p not in plan] + [p for p in existing.folders if p not in wanted_dirs] + existing.others
    if changed:
        _stage_all(plan, changed, staging)
    # The commit: removals and renames only.
    for path in sorted(stale, key=lambda p: p.count("/")):
        _remove(out_dir / path)
    for path in changed:
        target = out_dir / path
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / path, target)
    _remove(staging)
    log.debug("wrote %d files to %s, removed %d, kept %d", len(changed), out_dir, len(stale), len(plan) - len(changed))
    listing = looked.left(out_dir, changed, stale, _folders_of(changed)) if looked is not None else None
    return WriteReport(tuple(changed), tuple(sorted(stale)), len(plan) - len(changed), listing)


def _folders_of(paths: Iterable[str]) -> set[str]:
    """The folders that files of the site are in ("a/b/c.html" -> "a/b", "a")."""
    folders: set[str] = set()
    for path in paths:
        end = path.rfind("/")
        while end > 0 and (folder := path[:end]) not in folders:
            folders.add(folder)
            end = path.rfind("/", 0, end)
    return folders


def _write_whole(plan: dict[str, Output], out_dir: Path, staging: Path, retired: Path, state: bool) -> WriteReport:
    statuses = _stage_all(plan, list(plan), staging)
    if out_dir.is_symlink() or out_dir.is_file():
        out_dir.unlink()
    if out_dir.exists():
        os.replace(out_dir, retired)
    os.replace(staging, out_dir)
    _remove(retired)
    log.debug("wrote %d files to %s", len(plan), out_dir)
    if not state:
        return WriteReport(tuple(plan), (), 0)
    # The staging folder was put in place whole: its files keep the status they were written with.
    for path, output in plan.items():
        statuses.setdefault(path, output.status)  # type: ignore[arg-type]
    listing = written(out_dir, statuses) if None not in statuses.values() else look(out_dir).left(out_dir)
    return WriteReport(tuple(plan), (), 0, listing)


def _stage_all(plan: dict[str, Output], paths: list[str], staging: Path) -> dict[str, bytes]:
    """Write the files at `paths` that a Stager did not into the staging folder; their status as written, by path."""
    staging.mkdir(parents=True, exist_ok=True)
    statuses = {}
    try:
        for path in paths:
            if not plan[path].staged:
                statuses[path] = _stage(plan[path], staging / path)
    except BaseException:
        _remove(staging)
        raise
    return statuses


def _stage(output: Output, target: Path) -> bytes:
    """Write an output's file at `target`; its status as written, packed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if output.data is not None:
        with open(target, "wb") as file:
            file.write(output.data)
            file.flush()
            return packed_status(os.fstat(file.fileno()))
    assert output.source is not None
    shutil.copyfile(output.source, target)
    return packed_status(os.lstat(target))


@dataclass(frozen=True)
class _Existing:
    files: set[str]
    """Regular files by path inside the output folder."""
    folders: list[str]
    others: list[str]
    """Anything neither a file nor a folder (symlinks above all): never part of a built site."""

    @property
    def empty(self) -> bool:
        return not (self.files or self.folders or self.others)

    @staticmethod
    def of(looked: Looked) -> _Existing:
        found = _Existing(set(), [], [])
        for path, status in looked.entries.items():
            if stat.S_ISDIR(status.st_mode):
                found.folders.append(path)
            elif stat.S_ISREG(status.st_mode):
                found.files.add(path)
            else:
                found.others.append(path)
        return found


def _scan(out_dir: Path) -> _Existing:
    """What a previous build left in the output folder, by name and kind alone, without following any symlink."""
    found = _Existing(set(), [], [])
    if out_dir.is_symlink() or not out_dir.is_dir():
        return found
    folders: list[tuple[str | Path, str]] = [(out_dir, "")]
    while folders:
        folder, prefix = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    found.folders.append(rel)
                    folders.append((entry.path, rel + "/"))
                elif entry.is_file(follow_symlinks=False):
                    found.files.add(rel)
                else:
                    found.others.append(rel)
    return found


def _holds_nothing(out_dir: Path) -> bool:
    """Whether the output folder is missing or empty (a symlink counts as missing: it is replaced)."""
    if out_dir.is_symlink() or not out_dir.is_dir():
        return True
    with os.scandir(out_dir) as entries:
        return next(entries, None) is None


def _same(output: Output, out_dir: Path, path: str) -> bool:
    """True when the file already holds the output's bytes (and is no hard link to another file)."""
    if output.staged:
        return False  # staged because it differs
    if output.kept:
        return True  # a page kept as the last build wrote it (and no hard link): its bytes need no comparing
    target = out_dir / path
    try:
        status = target.lstat()
    except OSError:
        return False
    if status.st_nlink != 1 or not stat.S_ISREG(status.st_mode):
        return False
    if output.data is not None:
        return status.st_size == len(output.data) and target.read_bytes() == output.data
    assert output.source is not None
    return status.st_size == output.source.stat().st_size and filecmp.cmp(output.source, target, shallow=False)


def _refuse_foreign_folder(out_dir: Path) -> None:
    """The swap replaces the output folder whole: never do that to a folder a build did not make."""
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
        raise StorysiteError(
            f"{out_dir} holds files that storysite did not build; it would replace them all"
            " (choose an empty or new folder for the output)"
        )


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
