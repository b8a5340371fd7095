"""What the output folder holds, looked at once a build, with as few calls as is sound.

A build remembers, with the last build in the build cache, the output folder as its write left it
(a `Listing`): each file's status, and each folder's signature (`cache.file_signature`). The next
build asks each remembered entry for its status (a file changed in place shows it in its own
times), but lists again only the folders whose signature moved: adding, removing or renaming an
entry moves its folder's modification and status-change times. A folder whose times were not older
than the look that remembered them by the margin source files need (`parsed_files.settled`) is
listed again whatever its times, as is every folder a write touched: a change within the file
system's timestamp granularity of that moment could have kept them. No symlink is followed: an
entry that is no folder any more is not looked into, nor is anything remembered beneath it.
"""

from __future__ import annotations

import os
import stat
import struct
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import file_signature
from .parsed_files import changed_at, settled

_SIGNATURE = struct.Struct("<5q")
"""A folder's signature, packed."""
_UNKNOWN = bytes(_SIGNATURE.size)
"""The packed signature of a folder to list again (no folder has times of 0)."""
_STATUS = struct.Struct("<6q")
"""A file's status, packed: mode, size, modification and status-change times, inode, number of links."""


def _packed_signature(status: os.stat_result) -> bytes:
    try:
        return _SIGNATURE.pack(*file_signature(status))
    except struct.error:
        return _UNKNOWN  # a value beyond 64 bits: list it each time


def packed_status(status: os.stat_result) -> bytes:
    """A file's status as a listing remembers it."""
    try:
        return _STATUS.pack(status.st_mode, status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_nlink)
    except struct.error:
        return bytes(_STATUS.size)  # a value beyond 64 bits: never the same


@dataclass(frozen=True)
class Listing:
    """The output folder as a build's write left it: what the next build looks at it by."""

    looked_at: int
    """When that build looked at the folder (ns since the epoch)."""
    folders: list[str]
    """Every folder by path, parents first, beginning with the output folder itself ("")."""
    signatures: bytes
    """Each folder's packed signature, in the order of `folders` (`_UNKNOWN`: list it again)."""
    files: list[str]
    statuses: bytes
    """Each file's packed status, in the order of `files`."""

    def file_statuses(self) -> dict[str, tuple[int, ...]]:
        """Each file's status by path: mode, size, modification and status-change times, inode, number of links."""
        return dict(zip(self.files, _STATUS.iter_unpack(self.statuses)))

    def plain(self) -> list[Any]:
        """As plain data for the build cache (a few long values: quick to store and load)."""
        return [self.looked_at, "\0".join(self.folders), self.signatures, "\0".join(self.files), self.statuses]

    @staticmethod
    def from_plain(value: Any) -> Listing | None:
        """A listing back from `plain()`, or None when the value has another shape."""
        try:
            looked_at, folders, signatures, files, statuses = value
        except (TypeError, ValueError):
            return None
        if type(looked_at) is not int or not (type(folders) is type(files) is str and type(signatures) is type(statuses) is bytes):
            return None
        listing = Listing(looked_at, folders.split("\0"), signatures, files.split("\0") if files else [], statuses)
        if listing.folders[0] or len(signatures) != _SIGNATURE.size * len(listing.folders) or len(statuses) != _STATUS.size * len(listing.files):
            return None
        return listing


@dataclass(frozen=True)
class Looked:
    """The output folder as a build found it: every entry's status by path, none of them followed."""

    looked_at: int
    root: os.stat_result | None
    """The output folder's own status (None: there is no folder there)."""
    entries: dict[str, os.stat_result]
    """Every entry inside it, parents before what they hold."""
    known: dict[str, bytes]
    """The packed signatures of the folders known by them (not listed)."""
    same: dict[str, bytes] | None
    """The files with the status the listing remembered, packed (None: there was no listing)."""

    def left_status(self, path: str) -> os.stat_result:
        """The status of the file at `path`, when it is as the last build left it (else FileNotFoundError)."""
        found = self.entries.get(path)
        if found is None or (self.same is not None and path not in self.same):
            raise FileNotFoundError(path)
        return found

    def as_left(self, listing: Listing) -> bool:
        """Whether the folder holds what the listing remembers, no more, each file with its remembered status."""
        entries = self.entries
        if self.root is None or self.same is None or len(self.same) != len(listing.files):
            return False
        if len(entries) != len(listing.files) + len(listing.folders) - 1:
            return False
        for path in listing.folders[1:]:
            found = entries.get(path)
            if found is None or not stat.S_ISDIR(found.st_mode):
                return False
        return True

    def left(self, out_dir: Path, changed: Collection[str] = (), removed: Collection[str] = (), made: Collection[str] = ()) -> Listing:
        """The listing of the folder after a write that put the `changed` files in place and the `removed` entries away.

        `made`: every folder the changed files are in. The folders the write touched are listed
        again by the next build; of the files, only those it wrote are asked for their status again.
        """
        gone = set(removed)
        entries = self.entries
        dirs = [path for path, status in entries.items() if stat.S_ISDIR(status.st_mode) and path not in gone]
        new = sorted(set(made).difference(dirs))  # parents sort first
        touched = {_parent(path) for path in (*changed, *gone, *new)}.union(new)
        folders = ["", *dirs, *new]
        signatures = [_UNKNOWN]  # the output folder itself: listed each time (it holds few)
        for path in dirs:
            if path in touched:
                signatures.append(_UNKNOWN)
            elif (known := self.known.get(path)) is not None:
                signatures.append(known)
            else:
                status = entries[path]
                signatures.append(_packed_signature(status) if settled(changed_at(status), self.looked_at) else _UNKNOWN)
        signatures += [_UNKNOWN] * len(new)
        same = self.same or {}
        files = {
            path: same.get(path) or packed_status(status)
            for path, status in entries.items() if stat.S_ISREG(status.st_mode) and path not in gone
        }
        for path in changed:
            try:
                files[path] = packed_status(os.lstat(out_dir / path))
            except OSError:
                files.pop(path, None)
        return Listing(self.looked_at, folders, b"".join(signatures), list(files), b"".join(files.values()))


def written(out_dir: Path, files: Mapping[str, bytes]) -> Listing:
    """The listing of an output folder just put in place whole, holding `files` with the status each was written with (packed).

    Its files need not be asked again: renaming the folder that holds them leaves their status as it
    was. Of its folders, only those whose files were written longer ago than the margin could be known
    by their times next build: those are asked for their status and listed, the names in each checked
    to be those written there (anything else: listed again next build, as the others are).
    """
    looked_at = time.time_ns()
    statuses = b"".join(files.values())
    newest: dict[str, int] = {}
    """The folder each file is in, with the latest status-change time of the files written in it."""
    holds: dict[str, set[str]] = {}
    """What each folder holds, by name."""
    for path, (_, _, _, changed, _, _) in zip(files, _STATUS.iter_unpack(statuses)):
        folder = _parent(path)
        if changed > newest.get(folder, 0):
            newest[folder] = changed
        while True:
            parent = _parent(path)
            name = path[len(parent) + 1 if parent else 0 :]
            names = holds.get(parent)
            if names is None:
                names = holds[parent] = {name}
            elif name in names:
                break
            else:
                names.add(name)
            if not parent:
                break
            path = parent
    folders = sorted(holds)  # parents first, beginning with the output folder itself ("")
    signatures = [_UNKNOWN]  # the output folder itself: listed each time (it holds few)
    base = str(out_dir) + os.sep
    for folder in folders[1:]:
        written_at = newest.get(folder)
        if written_at is not None and not settled(written_at, looked_at):
            signatures.append(_UNKNOWN)  # its times are as recent: listed again next build
        else:
            signatures.append(_settled_signature(base + folder, holds[folder], looked_at))
    return Listing(looked_at, folders, b"".join(signatures), list(files), statuses)


def _settled_signature(folder: str, names: set[str], looked_at: int) -> bytes:
    """A folder's packed signature, when its times are older than `looked_at` by the margin and it holds no name but `names`."""
    try:
        status = os.lstat(folder)
        if not stat.S_ISDIR(status.st_mode) or not settled(changed_at(status), looked_at):
            return _UNKNOWN
        if not names.issuperset(os.listdir(folder)):
            return _UNKNOWN
    except OSError:
        return _UNKNOWN
    return _packed_signature(status)


def _parent(path: str) -> str:
    return path[: max(path.rfind("/"), 0)]


def look(out_dir: Path, remembered: Listing | None = None) -> Looked:
    """Every entry of the output folder with its status: those `remembered` asked for it, folders whose signature moved listed."""
    looked_at = time.time_ns()
    try:
        root = os.lstat(out_dir)
    except OSError:
        return Looked(looked_at, None, {}, {}, None)
    if not stat.S_ISDIR(root.st_mode):
        return Looked(looked_at, None, {}, {}, None)  # a symlink or a file: replaced, never followed
    found = Looked(looked_at, root, {}, {}, {} if remembered is not None else None)
    to_list = [""]  # the output folder itself is listed each time
    if remembered is not None:
        to_list += _ask_remembered(str(out_dir) + os.sep, remembered, found)
    _list(out_dir, to_list, found.entries)
    return found


def _ask_remembered(base: str, remembered: Listing, found: Looked) -> list[str]:
    """Ask each remembered entry for its status (into `found`); the folders to list again."""
    lstat, is_dir, signatures, size = os.lstat, stat.S_ISDIR, remembered.signatures, _SIGNATURE.size
    entries, known, same = found.entries, found.known, found.same
    assert same is not None
    to_list = []
    broken: set[str] = set()
    """Remembered folders that are gone or are no folder any more: nothing beneath them is asked."""
    for index, path in enumerate(remembered.folders):
        if not index or (broken and _beneath(path, broken)):
            continue
        try:
            status = entries[path] = lstat(base + path)
        except OSError:
            broken.add(path)
            continue
        if not is_dir(status.st_mode):
            broken.add(path)
            continue
        signature = signatures[index * size : (index + 1) * size]
        if signature != _UNKNOWN and _packed_signature(status) == signature:
            known[path] = signature
        else:
            to_list.append(path)
    statuses, size = remembered.statuses, _STATUS.size
    for index, path in enumerate(remembered.files):
        if broken and _beneath(path, broken):
            continue
        try:
            status = entries[path] = lstat(base + path)
        except OSError:
            continue
        if is_dir(status.st_mode):
            to_list.append(path)  # a folder now: all it holds is new
        elif (packed := packed_status(status)) == statuses[index * size : (index + 1) * size]:
            same[path] = packed
    return to_list


def _beneath(path: str, folders: set[str]) -> bool:
    end = path.rfind("/")
    while end > 0:
        if path[:end] in folders:
            return True
        end = path.rfind("/", 0, end)
    return False


def _list(out_dir: Path, folders: list[str], entries: dict[str, os.stat_result]) -> None:
    """List `folders` (and the new folders in them) into `entries`, each entry not known yet asked for its status."""
    while folders:
        folder = folders.pop()
        prefix = folder + "/" if folder else ""
        try:
            with os.scandir(out_dir / folder if folder else out_dir) as found:
                for entry in found:
                    path = prefix + entry.name
                    if path in entries:
                        continue  # asked already
                    try:
                        status = entries[path] = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if stat.S_ISDIR(status.st_mode):
                        folders.append(path)
        except OSError:
            continue  # gone since it was asked: its parent's times moved
