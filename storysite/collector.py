"""When Python's cycle collector runs during a build: seldom or never while many lasting objects are made.

The collector walks every object it tracks; a build holds hundreds of thousands (the site model),
and a stage that makes many small objects would start a collection every few hundred of them, to
find nothing. Reference counting frees what is no longer used in any case.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(set_aside: bool = False) -> Iterator[None]:
    """No collection while the block runs: for work that makes many objects and no reference cycles.

    With `set_aside`, what was made meanwhile is then set aside with the site model (see
    `gc.freeze`), so that the collector does not walk it all at once afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if set_aside:
            gc.freeze()
        if enabled:
            gc.enable()


@contextmanager
def collector_slowed() -> Iterator[None]:
    """Collections seldom while the block runs: for work that leaves some cycles behind (Markdown
    does) among many lasting objects, which the usual pace would walk again and again."""
    before = gc.get_threshold()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*before)
