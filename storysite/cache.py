"""The on-disk build cache: expensive results (Markdown, text analysis) keyed by a hash of their input.

One SQLite file holds (namespace, key) -> JSON value. Each namespace carries a scope, a string that
names everything its values depend on besides the key (the storysite version, the config, the
theme's files); opening a namespace with another scope forgets its old values. Every value is
stored with its own checksum, and a file SQLite cannot read is deleted and started afresh: a
corrupt or half-written cache is rebuilt, never trusted. Values are JSON (records: `marshal` data
of plain values, checked against their checksum before they are loaded; or bytes stored as given,
which their reader decodes), never pickles, so a cache file that came from elsewhere cannot run code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import marshal
import os
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from . import __version__

log = logging.getLogger(__name__)

CACHE_DIR = ".storysite-cache"
CACHE_FILE = "cache.sqlite"
# Bump when the table layout changes: an older file is then rebuilt.
FORMAT = "storysite-cache-3"
# Keys looked up in one query (SQLite allows 999 parameters in older versions).
_KEYS_PER_QUERY = 500
# Values stored in one statement at most.
_ROWS_PER_WRITE = 500

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS info (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scopes (namespace TEXT PRIMARY KEY, scope TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, checksum BLOB NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""
# A rowid table, not WITHOUT ROWID: values are kilobytes of HTML, and SQLite stores rows that big
# far better beside a key index than inside one (writes about 3x and reads 2x quicker, a smaller file).


def content_key(*parts: str | bytes) -> str:
    """A short, stable hash of some content: the key a cached result is stored under."""
    digest = hashlib.blake2b(digest_size=20)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def files_key(paths: Iterable[Path]) -> str:
    """A hash of files' names and bytes (a theme's templates, say): any edit gives another key."""
    parts: list[str | bytes] = []
    for path in sorted(paths):
        parts += [str(path), path.read_bytes()]
    return content_key(*parts)


def _checksum(value: bytes | memoryview) -> bytes:
    """A CRC-32 of a value's bytes: what zip and PNG files trust to find damage, seven times quicker than a hash."""
    return zlib.crc32(value).to_bytes(4, "little")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


_MARSHAL_VERSION = 4
"""The `marshal` format records are written in (Python 3.4 and later read it)."""


def _record(value: Any, texts: Sequence[str]) -> bytes:
    """A JSON-able value and its texts, marshalled: several times quicker to load than JSON."""
    return marshal.dumps((value, list(texts)), _MARSHAL_VERSION)


def _loaded_record(data: bytes, checksum: bytes) -> tuple[Any, list[str]]:
    """A record back from its bytes; ValueError when they are damaged or of another shape."""
    if _checksum(data) != checksum:
        raise ValueError("checksum mismatch")
    try:
        value, texts = marshal.loads(data)
    except (EOFError, TypeError, ValueError):
        raise ValueError("not a record") from None
    if type(texts) is not list or not all(type(text) is str for text in texts):
        raise ValueError("not a record")
    return value, texts


def _loaded_bytes(value: bytes, checksum: bytes) -> bytes:
    """Bytes stored with put_bytes; ValueError when they do not match their checksum."""
    if _checksum(value) != checksum:
        raise ValueError("checksum mismatch")
    return bytes(value)


def _loaded(value: bytes, checksum: bytes) -> Any:
    """A stored value back from its bytes; ValueError when they do not match their checksum or are not JSON."""
    if _checksum(value) != checksum:
        raise ValueError("checksum mismatch")
    return json.loads(value)


class BuildCache:
    """A (namespace, key) -> JSON value store in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path | None) -> None:
        """Open (or create) the cache file at `path`; None gives a cache that remembers nothing."""
        self.path = path
        self._lock = threading.Lock()
        self._unwritten: list[tuple[str, str, bytes, bytes]] = []
        self._db: sqlite3.Connection | None = None
        self._scopes: dict[str, str] = {}
        self._used: dict[str, set[str]] = {}
        self.hits = self.misses = 0
        if path is not None:
            self._db = self._open_or_rebuild(path)

    def _open_or_rebuild(self, path: Path) -> sqlite3.Connection | None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return self._open(path)
        except sqlite3.DatabaseError as exc:
            log.info("the build cache %s is unreadable (%s); starting a new one", path, exc)
        except OSError as exc:
            log.warning("cannot use the build cache %s (%s); building without it", path, exc)
            return None
        try:
            for leftover in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal")):
                leftover.unlink(missing_ok=True)
            return self._open(path)
        except (sqlite3.DatabaseError, OSError) as exc:
            log.warning("cannot use the build cache %s (%s); building without it", path, exc)
            return None

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        as_left = _as_left(path)
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=DELETE")
            db.executescript(_SCHEMA)
            row = db.execute("SELECT value FROM info WHERE name = 'format'").fetchone()
            if row is None or row[0] != FORMAT:
                # The table itself goes: an older layout is made anew, not just emptied.
                db.executescript("DROP TABLE entries; DELETE FROM scopes;" + _SCHEMA)
                db.execute("INSERT OR REPLACE INTO info VALUES ('format', ?)", (FORMAT,))
            # A file just as a build closed it needs no check (it takes a while on a large cache).
            if not as_left and db.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("the file failed SQLite's integrity check")
            db.execute("BEGIN")
        except BaseException:
            db.close()
            raise
        return db

    @property
    def enabled(self) -> bool:
        """False when the cache is off or could not be opened."""
        return self._db is not None

    def namespace(self, name: str, scope: str) -> None:
        """Declare what a namespace's values depend on; a changed scope forgets its values."""
        self._scopes[name] = scope
        self._run(self._set_scope, name, scope)

    def _set_scope(self, db: sqlite3.Connection, name: str, scope: str) -> None:
        row = db.execute("SELECT scope FROM scopes WHERE namespace = ?", (name,)).fetchone()
        if row is None or row[0] != scope:
            db.execute("DELETE FROM entries WHERE namespace = ?", (name,))
            db.execute("INSERT OR REPLACE INTO scopes VALUES (?, ?)", (name, scope))

    def get(self, namespace: str, key: str) -> Any | None:
        """The value stored under (namespace, key), or None; a damaged value counts as missing."""
        assert namespace in self._scopes, f"declare the namespace {namespace!r} first"
        self._used.setdefault(namespace, set()).add(key)
        row = self._run(
            lambda db: db.execute("SELECT value, checksum FROM entries WHERE namespace = ? AND key = ?", (namespace, key)).fetchone()
        )
        if row is None:
            self.misses += 1
            return None
        try:
            result = _loaded(row[0], row[1])
        except ValueError:
            log.info("a damaged build cache entry was dropped (%s)", namespace)
            self._run(lambda db: db.execute("DELETE FROM entries WHERE namespace = ? AND key = ?", (namespace, key)))
            self.misses += 1
            return None
        self.hits += 1
        return result

    def get_many(self, namespace: str, keys: Sequence[str]) -> dict[str, Any]:
        """The values stored under those of `keys` that have one, in a few queries; damaged ones count as missing."""
        return self._read_many(namespace, keys, _loaded)

    def get_many_bytes(self, namespace: str, keys: Sequence[str]) -> dict[str, bytes]:
        """Like get_many, for bytes stored with put_bytes."""
        return self._read_many(namespace, keys, _loaded_bytes)

    def get_records(self, namespace: str, keys: Sequence[str]) -> dict[str, tuple[Any, list[str]]]:
        """Like get_many, for records stored with put_record: each value with its texts."""
        return self._read_many(namespace, keys, _loaded_record)

    def _read_many(self, namespace: str, keys: Sequence[str], load: Callable[[bytes, bytes], T]) -> dict[str, T]:
        assert namespace in self._scopes, f"declare the namespace {namespace!r} first"
        self._used.setdefault(namespace, set()).update(keys)
        found: dict[str, T] = {}
        damaged = []
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            batch = keys[start : start + _KEYS_PER_QUERY]
            query = f"SELECT key, value, checksum FROM entries WHERE namespace = ? AND key IN ({', '.join('?' * len(batch))})"
            for key, value, checksum in self._run(lambda db, q=query, b=batch: db.execute(q, (namespace, *b)).fetchall()) or ():
                try:
                    found[key] = load(value, checksum)
                except ValueError:
                    damaged.append((namespace, key))
        if damaged:
            log.info("%d damaged build cache entries were dropped (%s)", len(damaged), namespace)
            self._run(lambda db: db.executemany("DELETE FROM entries WHERE namespace = ? AND key = ?", damaged))
        self.hits += len(found)
        self.misses += len(set(keys)) - len(found)
        return found

    def all_records(self, namespace: str) -> dict[str, tuple[Any, list[str]]]:
        """Every record stored in `namespace`, read in one query; none counts as used (`keep` those that are).

        A damaged one is left out, and dropped with the unused ones.
        """
        assert namespace in self._scopes, f"declare the namespace {namespace!r} first"
        rows = self._run(lambda db: db.execute("SELECT key, value, checksum FROM entries WHERE namespace = ?", (namespace,)).fetchall())
        found = {}
        for key, value, checksum in rows or ():
            try:
                found[key] = _loaded_record(value, checksum)
            except ValueError:
                pass
        return found

    def count_misses(self, count: int) -> None:
        """Count values looked for without asking (their keys were known to be absent)."""
        self.misses += count

    def keys(self, namespace: str) -> frozenset[str]:
        """The keys that have a value in `namespace` (some may turn out damaged when read)."""
        assert namespace in self._scopes, f"declare the namespace {namespace!r} first"
        rows = self._run(lambda db: db.execute("SELECT key FROM entries WHERE namespace = ?", (namespace,)).fetchall())
        return frozenset(key for (key,) in rows or ())

    def put(self, namespace: str, key: str, value: Any) -> None:
        """Store a JSON-able value under (namespace, key)."""
        self._put(namespace, key, _json(value))

    def _put(self, namespace: str, key: str, data: bytes) -> None:
        assert namespace in self._scopes, f"declare the namespace {namespace!r} first"
        self._used.setdefault(namespace, set()).add(key)
        if self._db is not None:
            # Written many at a time: before the next read, the commit, or when enough have gathered.
            self._unwritten.append((namespace, key, data, _checksum(data)))
            if len(self._unwritten) >= _ROWS_PER_WRITE:
                self._run(lambda db: None)

    def put_bytes(self, namespace: str, key: str, data: bytes) -> None:
        """Store bytes as they are, no JSON made of them (a namespace's scope should say its values are bytes)."""
        self._put(namespace, key, data)

    def put_record(self, namespace: str, key: str, value: Any, texts: Sequence[str]) -> None:
        """Store a JSON-able value with long texts beside it, marshalled rather than as JSON (quicker to read)."""
        self._put(namespace, key, _record(value, texts))

    def memo(self, namespace: str, compute: Callable[[str], T], encode: Callable[[T], Any], decode: Callable[[Any], T]) -> Callable[[str], T]:
        """`compute(text)`, remembered by the hash of `text` in `namespace`."""

        def cached(text: str) -> T:
            if self._db is None:
                return compute(text)
            key = content_key(text)
            stored = self.get(namespace, key)
            if stored is not None:
                try:
                    return decode(stored)
                except (TypeError, ValueError, KeyError):
                    pass  # a value of an unexpected shape: compute it again
            result = compute(text)
            self.put(namespace, key, encode(result))
            return result

        return cached

    def keep(self, namespace: str, keys: Iterable[str]) -> None:
        """Keep the values under `keys` past forget_unused without reading them."""
        self._used.setdefault(namespace, set()).update(keys)

    def forget_unused(self) -> None:
        """Drop the values of each declared namespace that this session neither read nor wrote."""
        for name in self._scopes:
            used = self._used.get(name, set())
            self._run(self._forget, name, used)

    @staticmethod
    def _forget(db: sqlite3.Connection, name: str, used: set[str]) -> None:
        stored = {row[0] for row in db.execute("SELECT key FROM entries WHERE namespace = ?", (name,))}
        db.executemany("DELETE FROM entries WHERE namespace = ? AND key = ?", [(name, key) for key in stored - used])

    def commit(self) -> None:
        """Make what was stored so far durable."""
        self._run(lambda db: (db.execute("COMMIT"), db.execute("BEGIN")))

    def close(self) -> None:
        """Commit and close the file."""
        if self._db is not None:
            self.commit()
            with self._lock:
                if self._db is not None:  # (the commit may have found it broken)
                    self._db.close()
                    self._db = None
                    if self.path is not None:
                        _leave(self.path)

    def __enter__(self) -> BuildCache:  # noqa: PYI034 (Python 3.10 has no typing.Self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, action: Callable[..., Any], *args: Any) -> Any:
        """Run a database step; a database that breaks under us is dropped and the build goes on."""
        if self._db is None:
            return None
        with self._lock:
            try:
                if self._unwritten:
                    rows, self._unwritten = self._unwritten, []
                    self._db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)", rows)
                return action(self._db, *args)
            except sqlite3.DatabaseError as exc:
                log.warning("the build cache failed (%s); going on without it", exc)
                self._db.close()
                self._db = None
                if self.path is not None:
                    self.path.unlink(missing_ok=True)
                return None


def _left_note(path: Path) -> Path:
    return path.with_name(path.name + "-closed")


def file_signature(status: os.stat_result) -> list[int]:
    """What changes when a file is written: size, modification and status-change times, inode and device.

    The status-change time moves on any write, even one that puts the modification time back.
    """
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_dev]


def _signature(path: Path) -> str:
    return " ".join(map(str, file_signature(os.stat(path))))


def _leave(path: Path) -> None:
    """Note the signature of the cache file as a build closed it, sound."""
    try:
        _left_note(path).write_text(_signature(path), encoding="utf-8")
    except OSError:
        pass  # the next build checks the file


def _as_left(path: Path) -> bool:
    """Whether the cache file is as a build closed it: nothing wrote it since."""
    try:
        return _left_note(path).read_text(encoding="utf-8") == _signature(path)
    except (OSError, UnicodeDecodeError):
        return False


def open_cache(site_root: Path, enabled: bool = True) -> BuildCache:
    """The site's build cache, .storysite-cache/cache.sqlite beside storysite.yaml (or a disabled one)."""
    return BuildCache(site_root / CACHE_DIR / CACHE_FILE if enabled else None)


def version_scope(*more: str) -> str:
    """A scope string naming this storysite version and whatever else a namespace depends on."""
    return content_key(__version__, *more)


def write_beside(path: Path, what: str, *parts: bytes) -> bool:
    """Store `parts`, one after another, in a file of their own beside the cache, behind a checksum of them all.

    A new file is put in place, so a reader never sees half of one; `what` names its values in a
    warning. False when it could not be stored.
    """
    checksum = 0
    for part in parts:
        checksum = zlib.crc32(part, checksum)
    temporary = path.with_name(path.name + ".tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(checksum.to_bytes(4, "little"))
            file.writelines(parts)
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("cannot store %s in %s (%s)", what, path, exc)
        temporary.unlink(missing_ok=True)
        return False
    return True


def read_beside(path: Path) -> memoryview | None:
    """What `write_beside` stored at `path`, or None when there is no such file; ValueError when it does not match its checksum."""
    try:
        data = memoryview(path.read_bytes())
    except OSError:
        return None
    if _checksum(data[4:]) != data[:4]:
        raise ValueError("checksum mismatch")
    return data[4:]
