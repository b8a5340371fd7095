"""watchdog lives here: watch a site's sources and call back once a burst of saves has settled."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger(__name__)

# Files editors write beside the real one while saving: they change nothing a build reads.
_EDITOR_LITTER = ("~", ".swp", ".swx", ".swo", ".tmp", ".part", ".crdownload")


def is_editor_litter(path: Path) -> bool:
    """True for an editor's swap, backup or lock file (vim's 4913, emacs's .#x and #x#)."""
    name = path.name
    return name.endswith(_EDITOR_LITTER) or name == "4913" or name.startswith(".#") or (name.startswith("#") and name.endswith("#"))


class _Recorder(FileSystemEventHandler):
    """Records which paths changed; doing nothing else keeps watchdog's thread free."""

    def __init__(self, accept: Callable[[Path], bool], changed: Callable[[Path], None]) -> None:
        self.accept = accept
        self.changed = changed

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                path = Path(raw.decode() if isinstance(raw, bytes) else raw)
                if self.accept(path) and not is_editor_litter(path):
                    self.changed(path)


class SourceWatcher:
    """Watches folders (recursively) and single files; calls `on_change` when saves have gone quiet.

    Events only record what changed; one thread waits until nothing has changed for `quiet`
    seconds and then calls `on_change` with the changed paths, so a burst of saves (an editor's
    write-then-rename, a `git checkout`) gives one rebuild, and rebuilds never overlap.
    """

    def __init__(
        self,
        folders: Callable[[], Iterable[Path]],
        files: Iterable[Path],
        on_change: Callable[[set[Path]], object],
        ignore: Iterable[Path] = (),
        quiet: float = 0.05,
        on_start: Callable[[], object] | None = None,
    ) -> None:
        self.folders = folders
        """Called again after every burst, so a folder created later (templates/) is watched too."""
        self.files = {path.resolve() for path in files}
        self.on_change = on_change
        self.ignore = tuple(path.resolve() for path in ignore)
        """Folders whose changes never count (the build's own output and cache)."""
        self.quiet = quiet
        self.on_start = on_start
        """Run first in the rebuild thread (to warm what a first rebuild would otherwise pay for)."""
        self._observer = Observer()
        self._watched: set[Path] = set()
        self._changed: set[Path] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="storysite-rebuild", daemon=True)

    def start(self) -> None:
        """Begin watching."""
        self._watch_new_folders()
        for parent in {path.parent for path in self.files}:
            if parent not in self._watched and parent.is_dir():
                self._observer.schedule(_Recorder(self._top_level, self._record), str(parent))
        self._observer.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; waits for a rebuild in progress to finish."""
        self._stopping = True
        self._wake.set()
        self._observer.stop()
        self._observer.join(timeout=5)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()

    def _top_level(self, path: Path) -> bool:
        """A watched file, or a watched folder appearing (templates/ made after serve started)."""
        return path in self.files or path in {folder.resolve() for folder in self.folders()}

    def _record(self, path: Path) -> None:
        if any(path.is_relative_to(folder) for folder in self.ignore):
            return
        with self._lock:
            self._changed.add(path)
        self._wake.set()

    def _watch_new_folders(self) -> None:
        for folder in self.folders():
            folder = folder.resolve()
            if folder.is_dir() and folder not in self._watched:
                self._observer.schedule(_Recorder(lambda p: True, self._record), str(folder), recursive=True)
                self._watched.add(folder)

    def _loop(self) -> None:
        if self.on_start is not None:
            self.on_start()
        while not self._stopping:
            self._wake.wait()
            # Let the burst settle: wait until `quiet` seconds pass with no new event.
            while not self._stopping:
                self._wake.clear()
                time.sleep(self.quiet)
                if not self._wake.is_set():
                    break
            if self._stopping:
                return
            with self._lock:
                changed, self._changed = self._changed, set()
            if not changed:
                continue
            try:
                self._watch_new_folders()
                self.on_change(changed)
            except Exception:  # a rebuild must never kill the watcher
                log.exception("the rebuild failed unexpectedly")
