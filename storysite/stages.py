"""Where a build spends its time: each pipeline stage timed, and its progress told to a watcher."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol


class Watcher(Protocol):
    """Someone who shows how far a build got (the CLI's progress line)."""

    def start(self, stage: str, total: int) -> None:
        """A stage begins that will handle `total` items (0: unknown)."""

    def advance(self, count: int) -> None:
        """`count` more items of the current stage are done."""

    def finish(self) -> None:
        """The current stage ended."""


@dataclass(frozen=True)
class StageTime:
    """What one stage took."""

    name: str
    seconds: float
    """Wall-clock time."""
    cpu_seconds: float
    """CPU time of this process and of the worker processes it waited for."""
    items: int
    """How many things it handled (files, stories, pages), 0 when not counted."""


Advance = Callable[[int], None]


def no_progress(count: int) -> None:
    """An `advance` for callers that do not watch."""


class Stages:
    """Times the stages of one build, in order."""

    def __init__(self, watcher: Watcher | None = None) -> None:
        self.watcher = watcher
        self.times: list[StageTime] = []

    @contextmanager
    def stage(self, name: str, total: int = 0) -> Iterator[Advance]:
        """Time the block as stage `name`; it gets a function to call as items are done."""
        done = 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if self.watcher:
                self.watcher.advance(count)

        if self.watcher:
            self.watcher.start(name, total)
        wall, cpu = time.perf_counter(), _cpu_seconds()
        try:
            yield advance
        finally:
            if self.watcher:
                self.watcher.finish()
        self.times.append(StageTime(name, time.perf_counter() - wall, _cpu_seconds() - cpu, done or total))


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
