"""The relate stage: for each story, the stories a reader of it should read next.

Scoring (same niche, shared audiences and tags, text similarity) is the next piece of work; until
it lands this stage relates nothing, and themes show no related section rather than filler.
"""

from __future__ import annotations

from collections.abc import Sequence

from .config import Config
from .model import RelatedLink, Story


def relate_stories(stories: Sequence[Story], config: Config) -> dict[str, tuple[RelatedLink, ...]]:
    """Related links by story slug; empty until scoring lands (never the newest posts as filler)."""
    return {}
