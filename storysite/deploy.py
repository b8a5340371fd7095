"""git lives here: publish the built site on a gh-pages branch without touching the work in progress."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from .errors import StorysiteError

log = logging.getLogger(__name__)


class GitError(StorysiteError):
    """git is missing, or a git command failed."""


def git(repo: Path, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one git command in `repo`; a failure becomes a GitError carrying git's own message."""
    command = ["git", *args]
    log.debug("$ %s", " ".join(command))
    try:
        result = subprocess.run(
            command, check=False, cwd=repo, env={**os.environ, **(env or {})}, input=stdin, capture_output=True, text=True
        )
    except FileNotFoundError:
        raise GitError("git is not installed (install git, then try again)") from None
    if check and result.returncode != 0:
        said = (result.stderr or result.stdout).strip()
        raise GitError(f"git {args[0]} failed: {said}")
    return result


def repository_root(folder: Path) -> Path | None:
    """The top folder of the git work tree `folder` is in, or None outside any."""
    if not folder.is_dir():
        return None
    result = git(folder, "rev-parse", "--show-toplevel", check=False)
    return Path(result.stdout.strip()).resolve() if result.returncode == 0 else None


def current_branch(repo: Path) -> str | None:
    """The branch checked out in `repo`, or None on a detached HEAD."""
    result = git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None
