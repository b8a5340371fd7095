"""The few exceptions storysite raises for user mistakes; the CLI maps them to exit code 1."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


def shown_path(path: Path, root: Path) -> str:
    """A path as messages show it: relative to the site folder when inside it."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


class StorysiteError(Exception):
    """A mistake the user can fix; shown without a traceback."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one file: where, what, and how to fix it."""

    path: Path | str
    line: int | None
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}: {self.message}{hint}"


class ContentError(StorysiteError):
    """One or more problems in the site's files (content, config or templates)."""

    def __init__(self, problems: list[Problem] | Problem) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its problems when it crosses from a worker process.
        return type(self), (self.problems,)


class ConfigError(ContentError):
    """Problems in storysite.yaml or in command-line options."""


class ThemeError(ContentError):
    """A theme that cannot be found or a template that fails."""
