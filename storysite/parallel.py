"""Work spread over the machine's cores: a process pool that maps a function over chunks of items.

Results come back in the order of the items, so a parallel build makes the same bytes as a serial
one. Small batches run in this process: starting workers costs more than it saves.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.reduction import ForkingPickler
from types import MappingProxyType
from typing import Any, TypeVar

from .stages import Advance, no_progress

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 200
"""Fewer items than this are handled in this process."""
CHUNK = 64
"""Items sent to a worker at once: big enough to make the hand-over cheap, small enough for progress."""
SWITCH_INTERVAL = 0.0005
"""Seconds a thread may hold the interpreter lock while another waits for it, while workers run."""


def _mapping_proxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


def _reduce_mapping_proxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, ...]:
    return _mapping_proxy, (dict(proxy),)


# Frozen domain objects hold read-only mappings; let them cross to and from worker processes.
ForkingPickler.register(MappingProxyType, _reduce_mapping_proxy)


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(jobs: int, items: int) -> int:
    """How many worker processes `items` items are worth: 1 means do them here."""
    wanted = jobs or cores()
    if wanted <= 1 or items < MIN_ITEMS:
        return 1
    return min(wanted, -(-items // CHUNK))


def _serial_map(function: Callable[[T], R], batch: Sequence[T], advance: Advance = no_progress, then: Then | None = None) -> list[R]:
    results = []
    for index, item in enumerate(batch):
        results.append(result := function(item))
        advance(1)
        if then is not None:
            then(index, result)
    return results


Then = Callable[[int, Any], None]
"""Called in this process with each item's index and result, as soon as this process is free to."""

_forked: Callable[[int], Any] | None = None
"""The function fork_map's workers call: set before they start, so each inherits it."""


def fork_map(
    function: Callable[[int], R], count: int, jobs: int, advance: Advance = no_progress, then: Then | None = None
) -> list[R]:
    """[function(0), ..., function(count - 1)], on up to `jobs` processes (0: one per core).

    This process and forked workers share the work as they are free. Workers inherit `function` and all it
    reaches, so nothing is pickled on the way in and it may be a closure; only results travel back.
    Where forking is not safe, it all runs here. An error is the one a serial run would meet first.

    `then(index, result)`, when given, runs here for every result (in no set order) as this process
    comes to it between chunks of its own: work that must happen in this process (storing results,
    say) is then shared out too, since this process takes fewer chunks while it does that.
    """
    global _forked
    processes = worker_count(jobs, count)
    if processes == 1 or not _can_fork():
        return _serial_map(function, range(count), advance, then)
    _forked = function
    # What exists now, the workers only read: keep their garbage collector off it, so that the
    # memory pages they share with this process stay shared instead of being copied.
    frozen_before, switch_interval = gc.get_freeze_count() > 0, sys.getswitchinterval()
    gc.freeze()
    try:
        with ProcessPoolExecutor(processes - 1, mp_context=multiprocessing.get_context("fork")) as executor:
            chunks = [range(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]
            done: dict[int, list[R] | BaseException] = {}
            # Every chunk is offered to the workers; this process takes, in order, each one that no
            # worker has started yet (a cancelled task is one it may do itself). So whoever is quicker
            # does more, and no process sits idle while another has a long list left.
            sent = [executor.submit(_run_forked, chunk) for chunk in chunks]
            waiting: list[int] = []
            """Chunks a worker took, not yet handed to `then`."""

            def settle(number: int) -> None:
                if number not in done:
                    done[number] = sent[number].exception() or sent[number].result()
                    advance(len(chunks[number]))
                outcome = done[number]
                if then is not None and not isinstance(outcome, BaseException):
                    for index, result in zip(chunks[number], outcome):
                        then(index, result)

            # The pool's threads here hand results in and tasks out: let them have the interpreter
            # lock soon after they ask, or the workers wait for their next task.
            sys.setswitchinterval(SWITCH_INTERVAL)
            for number, future in enumerate(sent):
                if not future.cancel():
                    waiting.append(number)
                    continue
                try:
                    done[number] = [function(index) for index in chunks[number]]
                except Exception as exc:  # raised below, in the order a serial run would meet it
                    done[number] = exc
                advance(len(chunks[number]))
                settle(number)
                if then is not None:
                    finished = [other for other in waiting if sent[other].done()]
                    waiting = [other for other in waiting if other not in finished]
                    for other in finished:
                        settle(other)
            for number in waiting:
                settle(number)
            results: list[R] = []
            for number in range(len(chunks)):
                outcome = done[number]
                if isinstance(outcome, BaseException):
                    raise outcome
                results += outcome
            return results
    finally:
        _forked = None
        sys.setswitchinterval(switch_interval)
        if not frozen_before:  # else whoever froze it unfreezes it
            gc.unfreeze()


def _run_forked(indexes: range) -> list[Any]:
    assert _forked is not None
    return [_forked(index) for index in indexes]


def _can_fork() -> bool:
    # Forking a process that runs other threads (the dev server's watcher) can deadlock a child.
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
